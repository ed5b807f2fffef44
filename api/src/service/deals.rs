//! Deals: scoped reads, filters, ordering, and the writes that move them through a
//! pipeline. Every stage change writes its `deal_stage_events` row in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use entity::deal::{self, Column};
use entity::enums::DealStatus;
use entity::{deal_stage_event, lost_reason, stage};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set,
};

use super::columns::Columns;
use super::custom_fields::query::Sorted;
use super::custom_fields::{self, Object, values::Patch};
use super::filter::{self, OneOf, Range};
use super::page::{self, KeyKind, Page, PageRequest, Partial, SortKey};
use super::scope::{ensure_can_own, ensure_can_write, owner_condition};
use super::work::{Target, Work, Writer};
use super::{contacts, pipelines, read, validate};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const LABEL: &str = "Deal";
const DUPLICATE: (&str, &str) = ("externalId", "another deal already has this external id");

#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    pub ids: Option<OneOf<i64>>,
    pub owner: Option<OneOf<i64>>,
    pub contact: Option<OneOf<i64>>,
    pub company: Option<OneOf<i64>>,
    pub pipeline: Option<OneOf<i64>>,
    pub stage: Option<OneOf<i64>>,
    pub status: Option<OneOf<DealStatus>>,
    pub lost_reason: Option<OneOf<i64>>,
    pub amount: Option<Range<i64>>,
    pub created_at: Option<Range<DateTime<Utc>>>,
    pub updated_at: Option<Range<DateTime<Utc>>>,
    pub closed_at: Option<Range<DateTime<Utc>>>,
    pub expected_close_date: Option<Range<NaiveDate>>,
    /// Substring of the title.
    pub search: Option<String>,
    pub include_deleted: bool,
    /// Conditions on custom fields (`custom_fields::query::condition`).
    pub custom: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealSort {
    CreatedAt,
    UpdatedAt,
    Amount,
    Title,
    StageEnteredAt,
}

pub fn visible(principal: &Principal) -> Select<deal::Entity> {
    deal::Entity::find().filter(owner_condition(principal, Column::OwnerId))
}

pub fn query(principal: &Principal, f: &DealFilter) -> Select<deal::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, Column::Id, &f.ids);
    cond = filter::one_of(cond, Column::OwnerId, &f.owner);
    cond = filter::one_of(cond, Column::ContactId, &f.contact);
    cond = filter::one_of(cond, Column::CompanyId, &f.company);
    cond = filter::one_of(cond, Column::PipelineId, &f.pipeline);
    cond = filter::one_of(cond, Column::StageId, &f.stage);
    cond = filter::one_of(cond, Column::Status, &f.status);
    cond = filter::one_of(cond, Column::LostReasonId, &f.lost_reason);
    cond = filter::range(cond, Column::Amount, &f.amount);
    cond = filter::range(cond, Column::CreatedAt, &f.created_at);
    cond = filter::range(cond, Column::UpdatedAt, &f.updated_at);
    cond = filter::range(cond, Column::ClosedAt, &f.closed_at);
    cond = filter::range(cond, Column::ExpectedCloseDate, &f.expected_close_date);
    cond = filter::search(cond, &[col(Column::Title)], &f.search);
    cond = filter::deleted(cond, Column::DeletedAt, f.include_deleted);
    if let Some(custom) = &f.custom {
        cond = cond.add(custom.clone());
    }
    visible(principal).filter(cond)
}

fn col(c: Column) -> Expr {
    Expr::col((deal::Entity, c))
}

pub async fn list(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &DealFilter,
    order: &[(Sorted<DealSort>, bool)],
    page: &PageRequest,
    asked: Columns<Column>,
) -> ApiResult<Page<deal::Model>> {
    let newest = [(Sorted::Field(DealSort::CreatedAt), true)];
    let order = if order.is_empty() { &newest[..] } else { order };
    page_of(db, query(principal, f), order, page, asked).await
}

/// One page of `select` (filtered and scoped already) in `order`, ids breaking ties, reading
/// the `asked` columns (and those of the cursors).
pub async fn page_of(
    db: &impl ConnectionTrait,
    select: Select<deal::Entity>,
    order: &[(Sorted<DealSort>, bool)],
    page: &PageRequest,
    asked: Columns<Column>,
) -> ApiResult<Page<deal::Model>> {
    let columns = order.iter().fold(asked.with(Column::Id), |c, (sort, _)| c.with(sort_column(sort)));
    let partial = Partial { columns, decode: super::partial::deal_of };
    page::fetch_partial(db, select, &sort_keys(order), page, partial).await
}

fn sort_column(sort: &Sorted<DealSort>) -> Column {
    let Sorted::Field(sort) = sort else { return Column::CustomFields };
    match sort {
        DealSort::CreatedAt => Column::CreatedAt,
        DealSort::UpdatedAt => Column::UpdatedAt,
        DealSort::Amount => Column::Amount,
        DealSort::Title => Column::Title,
        DealSort::StageEnteredAt => Column::StageEnteredAt,
    }
}

fn sort_keys(order: &[(Sorted<DealSort>, bool)]) -> Vec<SortKey<deal::Model>> {
    type M = deal::Model;
    let own = |field, desc| match field {
        DealSort::CreatedAt => SortKey::new(col(Column::CreatedAt), KeyKind::Time, desc, |m: &M| m.created_at.into()),
        DealSort::UpdatedAt => SortKey::new(col(Column::UpdatedAt), KeyKind::Time, desc, |m: &M| m.updated_at.into()),
        DealSort::Amount => SortKey::new(col(Column::Amount), KeyKind::Int, desc, |m: &M| m.amount.into()),
        DealSort::Title => SortKey::new(col(Column::Title), KeyKind::Text, desc, |m: &M| m.title.as_str().into()),
        DealSort::StageEnteredAt => {
            SortKey::new(col(Column::StageEnteredAt), KeyKind::Time, desc, |m: &M| m.stage_entered_at.into())
        }
    };
    let keys = Sorted::keys(order, own, |m: &M| &m.custom_fields);
    page::with_id_tiebreak(keys, col(Column::Id), |m: &M| m.id.into())
}

pub async fn get(principal: &Principal, db: &impl ConnectionTrait, id: i64) -> ApiResult<deal::Model> {
    read::one(db, visible(principal), (Column::Id, Column::DeletedAt), id, LABEL).await
}

/// Stage history of visible deals, oldest first.
pub async fn history_of(
    principal: &Principal,
    db: &impl ConnectionTrait,
    deal_ids: &[i64],
) -> ApiResult<Vec<deal_stage_event::Model>> {
    let visible_ids = visible(principal).select_only().column(Column::Id).into_query();
    Ok(deal_stage_event::Entity::find()
        .filter(deal_stage_event::Column::DealId.is_in(deal_ids.iter().copied()))
        .filter(deal_stage_event::Column::DealId.in_subquery(visible_ids))
        .order_by_asc(deal_stage_event::Column::MovedAt)
        .order_by_asc(deal_stage_event::Column::Id)
        .all(db)
        .await?)
}

/// One stage event whose deal is visible.
pub async fn event(
    principal: &Principal,
    db: &impl ConnectionTrait,
    id: i64,
) -> ApiResult<Option<deal_stage_event::Model>> {
    let visible_ids = visible(principal).select_only().column(Column::Id).into_query();
    Ok(deal_stage_event::Entity::find_by_id(id)
        .filter(deal_stage_event::Column::DealId.in_subquery(visible_ids))
        .one(db)
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct DealForCreate {
    pub contact_id: i64,
    /// The contact's company when omitted.
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub pipeline_id: Option<i64>,
    pub stage_id: Option<i64>,
    pub title: String,
    pub amount: i64,
    /// ISO 4217 code of `amount`; the base currency when omitted.
    pub currency: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
    pub external_id: Option<String>,
    pub custom_fields: Patch,
    /// Problems found while reading the input (ids, amounts), reported with the others.
    pub checks: validate::Checks,
}

/// Creates an OPEN deal in the given (or first) stage and records that first event.
pub async fn create(principal: &Principal, w: &Writer, input: DealForCreate) -> ApiResult<deal::Model> {
    ensure_can_write(principal)?;
    let mut checks = input.checks;
    let title = checks.take(validate::required("title", &input.title, 300));
    let amount = checks.take(validate::non_negative("amount", input.amount));
    let external_id = checks.take(validate::optional("externalId", input.external_id, 255));
    let custom = checks.take(custom_fields::for_new(&w.db, Object::Deal, &input.custom_fields).await);
    checks.done()?;
    let owner_id = input.owner_id.unwrap_or(principal.user_id);
    let mut work = w.begin(principal).await?;
    let tx = work.db();
    ensure_can_own(principal, tx, owner_id).await?;
    let contact = contacts::get(principal, tx, input.contact_id)
        .await
        .map_err(|_| ApiError::bad_input("contactId", "no such contact"))?;
    super::companies::ensure_linkable(principal, tx, "companyId", input.company_id).await?;
    let pipeline = pipelines::resolve(tx, input.pipeline_id).await?;
    let stage = stage_in_pipeline(tx, pipeline.id, input.stage_id).await?;
    let currency = stored_currency(tx, input.currency.as_deref()).await?;
    let now = super::now();
    let row = deal::ActiveModel {
        id: NotSet,
        contact_id: Set(input.contact_id),
        company_id: Set(input.company_id.or(contact.company_id)),
        owner_id: Set(owner_id),
        pipeline_id: Set(pipeline.id),
        stage_id: Set(stage.id),
        title: Set(title),
        amount: Set(amount),
        currency: Set(currency),
        status: Set(DealStatus::Open),
        lost_reason_id: Set(None),
        lost_note: Set(None),
        expected_close_date: Set(input.expected_close_date),
        closed_at: Set(None),
        stage_entered_at: Set(now),
        max_stage_position: Set(stage.position),
        external_id: Set(external_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        custom_fields: Set(custom),
    };
    let created = work.insert_unique(row, DUPLICATE.0, DUPLICATE.1).await?;
    record_move(work.db(), created.id, None, stage.id, now, Some(principal.user_id)).await?;
    work.commit().await?;
    Ok(created)
}

/// A deal's currency as stored (`None`: the base), or BAD_USER_INPUT on `currency`.
async fn stored_currency(db: &impl ConnectionTrait, code: Option<&str>) -> ApiResult<Option<String>> {
    let Some(code) = code else { return Ok(None) };
    super::currency::deal_currency(db, code).await?.map_err(|message| ApiError::bad_input("currency", message))
}

/// The stage `stage_id` of `pipeline_id`, or that pipeline's first stage.
async fn stage_in_pipeline(
    db: &impl ConnectionTrait,
    pipeline_id: i64,
    stage_id: Option<i64>,
) -> ApiResult<stage::Model> {
    let mut q = stage::Entity::find().filter(stage::Column::PipelineId.eq(pipeline_id));
    if let Some(id) = stage_id {
        q = q.filter(stage::Column::Id.eq(id));
    }
    q.order_by_asc(stage::Column::Position).one(db).await?.ok_or_else(|| match stage_id {
        Some(_) => ApiError::bad_input("stageId", "is not a stage of the deal's pipeline"),
        None => ApiError::bad_input("pipelineId", "the pipeline has no stages"),
    })
}

pub async fn record_move(
    db: &impl ConnectionTrait,
    deal_id: i64,
    from: Option<i64>,
    to: i64,
    at: DateTime<Utc>,
    by: Option<i64>,
) -> ApiResult<()> {
    // The stage the deal is leaving ends its stay now (same transaction as the move).
    deal_stage_event::Entity::update_many()
        .col_expr(deal_stage_event::Column::LeftAt, Expr::value(at))
        .filter(deal_stage_event::Column::DealId.eq(deal_id))
        .filter(deal_stage_event::Column::LeftAt.is_null())
        .exec(db)
        .await?;
    deal_stage_event::ActiveModel {
        id: NotSet,
        deal_id: Set(deal_id),
        from_stage_id: Set(from),
        to_stage_id: Set(to),
        moved_at: Set(at),
        moved_by: Set(by),
        left_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Loads a visible deal for a write and checks the version the client read.
async fn for_write(principal: &Principal, db: &impl ConnectionTrait, id: i64, version: i32) -> ApiResult<deal::Model> {
    ensure_can_write(principal)?;
    let deal = get(principal, db, id).await?;
    if deal.version != version {
        return Err(ApiError::Conflict(format!(
            "this deal was changed by someone else (now at version {}); reload it and retry",
            deal.version
        )));
    }
    Ok(deal)
}

fn ensure_open(deal: &deal::Model) -> ApiResult<()> {
    match deal.status {
        DealStatus::Open => Ok(()),
        closed => Err(ApiError::bad_input(
            "id",
            format!("the deal is already {}; only open deals change stage or close", closed.to_value()),
        )),
    }
}

/// Moves an open deal to another stage of its pipeline, recording the move.
pub async fn move_to(
    principal: &Principal,
    w: &Writer,
    id: i64,
    version: i32,
    stage_id: i64,
) -> ApiResult<deal::Model> {
    let mut work = w.begin(principal).await?;
    let deal = for_write(principal, work.db(), id, version).await?;
    ensure_open(&deal)?;
    let target = stage_in_pipeline(work.db(), deal.pipeline_id, Some(stage_id)).await?;
    if target.id == deal.stage_id {
        return Ok(deal);
    }
    let now = super::now();
    let changes = deal::ActiveModel {
        stage_id: Set(target.id),
        stage_entered_at: Set(now),
        max_stage_position: Set(Ord::max(deal.max_stage_position, target.position)),
        updated_at: Set(now),
        ..Default::default()
    };
    let moved = save(principal, &mut work, id, Some(version), changes).await?;
    record_move(work.db(), id, Some(deal.stage_id), target.id, now, Some(principal.user_id)).await?;
    work.commit().await?;
    Ok(moved)
}

/// Closes an open deal as WON or LOST.
pub async fn close(
    principal: &Principal,
    w: &Writer,
    id: i64,
    version: i32,
    outcome: Outcome,
) -> ApiResult<deal::Model> {
    let mut work = w.begin(principal).await?;
    let deal = for_write(principal, work.db(), id, version).await?;
    ensure_open(&deal)?;
    let now = super::now();
    let mut changes = deal::ActiveModel { closed_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    match outcome {
        Outcome::Won => changes.status = Set(DealStatus::Won),
        Outcome::Lost { reason_id, note } => {
            let reason = lost_reason::Entity::find_by_id(reason_id).one(work.db()).await?;
            if !reason.is_some_and(|r| r.active) {
                return Err(ApiError::bad_input("lostReasonId", "no such active lost reason"));
            }
            changes.status = Set(DealStatus::Lost);
            changes.lost_reason_id = Set(Some(reason_id));
            changes.lost_note = Set(validate::optional("note", note, 2000)?);
        }
    }
    let closed = save(principal, &mut work, id, Some(version), changes).await?;
    work.commit().await?;
    Ok(closed)
}

pub enum Outcome {
    Won,
    Lost { reason_id: i64, note: Option<String> },
}

#[derive(Debug, Clone, Default)]
pub struct DealForUpdate {
    pub version: i32,
    pub title: Option<String>,
    pub amount: Option<i64>,
    /// The amount's currency (the base currency's code returns it to the base).
    pub currency: Option<String>,
    pub owner_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub company_id: Option<Option<i64>>,
    pub expected_close_date: Option<Option<NaiveDate>>,
    pub external_id: Option<Option<String>>,
    pub custom_fields: Patch,
    /// Problems found while reading the input (ids, amounts), reported with the others.
    pub checks: validate::Checks,
}

pub async fn update(principal: &Principal, w: &Writer, id: i64, input: DealForUpdate) -> ApiResult<deal::Model> {
    ensure_can_write(principal)?;
    let mut changes = deal::ActiveModel { updated_at: Set(super::now()), ..Default::default() };
    let mut checks = input.checks;
    if let Some(title) = &input.title {
        changes.title = Set(checks.take(validate::required("title", title, 300)));
    }
    if let Some(amount) = input.amount {
        changes.amount = Set(checks.take(validate::non_negative("amount", amount)));
    }
    if let Some(date) = input.expected_close_date {
        changes.expected_close_date = Set(date);
    }
    if let Some(v) = checks.take(validate::optional_patch("externalId", input.external_id, 255)) {
        changes.external_id = Set(v);
    }
    checks.done()?;
    let mut work = w.begin(principal).await?;
    if let Some(owner_id) = input.owner_id {
        ensure_can_own(principal, work.db(), owner_id).await?;
        changes.owner_id = Set(owner_id);
    }
    if let Some(contact_id) = input.contact_id {
        contacts::get(principal, work.db(), contact_id)
            .await
            .map_err(|_| ApiError::bad_input("contactId", "no such contact"))?;
        changes.contact_id = Set(contact_id);
    }
    if let Some(company_id) = input.company_id {
        super::companies::ensure_linkable(principal, work.db(), "companyId", company_id).await?;
        changes.company_id = Set(company_id);
    }
    if input.currency.is_some() {
        changes.currency = Set(stored_currency(work.db(), input.currency.as_deref()).await?);
    }
    if let Some(values) = custom_fields::after_patch(work.db(), Object::Deal, id, &input.custom_fields).await? {
        changes.custom_fields = Set(values);
    }
    let updated = save(principal, &mut work, id, Some(input.version), changes).await?;
    work.commit().await?;
    Ok(updated)
}

pub async fn delete(principal: &Principal, w: &Writer, id: i64, version: Option<i32>) -> ApiResult<()> {
    ensure_can_write(principal)?;
    let now = super::now();
    let changes = deal::ActiveModel { deleted_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    let mut work = w.begin(principal).await?;
    save(principal, &mut work, id, version, changes).await?;
    work.commit().await
}

/// Writes `changes` to the caller's deal `id`, at `version` when given.
async fn save(
    principal: &Principal,
    work: &mut Work,
    id: i64,
    version: Option<i32>,
    changes: deal::ActiveModel,
) -> ApiResult<deal::Model> {
    let target = Target::new(id, LABEL)
        .scope(owner_condition(principal, Column::OwnerId))
        .version(version)
        .unique(DUPLICATE.0, DUPLICATE.1);
    work.update::<deal::Entity>(target, changes).await
}
