//! `Deal` and `DealStageEvent`: an opportunity and its stage history.

use super::always;
use crate::graphql::types::custom_field::{self, CustomFieldValue};
use crate::graphql::types::date::Date;
use crate::graphql::types::timestamp::Timestamp;
use crate::service::custom_fields::Object as RecordObject;
use async_graphql::{Context, ID, Object, Result, SelectionField};
use entity::{deal, deal_stage_event, stage, user};

use super::connection::child_limit;
use super::enums::DealStatus;
use super::no_show::NoShowStats;
use super::pipeline::{LostReason, Pipeline, Stage};
use super::{Company, Contact, Meeting, Money, User};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::query::{NoteFilter, NoteOrderBy, TaskFilter, TaskOrderBy, note_page, task_page};
use crate::graphql::types::Connection;
use crate::graphql::types::note::Note;
use crate::graphql::types::task::Task;
use crate::service::columns::Columns;
use crate::service::deal_relations::{DealRead, DealWithRelations};
use crate::service::filter::OneOf;
use crate::service::page::PageRequest;

/// An opportunity moving through the stages of a pipeline: the row (whole, or the columns
/// the query selected: `Deal::read_of`) and the stage and owner read with it, if they were.
pub struct Deal(pub deal::Model, Joined);

#[derive(Default)]
pub struct Joined {
    stage: Option<stage::Model>,
    owner: Option<user::Model>,
}

impl Deal {
    pub fn new(row: deal::Model) -> Self {
        Self(row, Joined::default())
    }

    pub fn joined(read: DealWithRelations) -> Self {
        Self(read.deal, Joined { stage: read.stage, owner: read.owner })
    }

    /// What the fields selected under `field` (a field whose type is `Deal`) read of a deal,
    /// its stage and its owner. A field not named here reads everything: a new field is
    /// correct before it is fast. `read_only_what_the_query_selects` checks every field.
    pub fn read_of(field: SelectionField<'_>) -> DealRead {
        use deal::Column as C;
        let nothing = DealRead::nothing();
        let mut read = nothing;
        for selected in field.selection_set() {
            let more = match selected.name() {
                "stage" => DealRead { stage: Some(Stage::columns_of(selected)), ..nothing },
                "owner" => DealRead { owner: Some(User::columns_of(selected)), ..nothing },
                "isStale" => DealRead {
                    deal: Columns::of(&[C::Status, C::StageEnteredAt]),
                    stage: Some(Columns::of(&[stage::Column::StaleAfterDays])),
                    ..nothing
                },
                name => match own_columns(name) {
                    Some(columns) => DealRead { deal: Columns::of(columns), ..nothing },
                    None => return DealRead::whole(),
                },
            };
            read = read.union(more);
        }
        read
    }

    /// The deal's stage: the one read with it, else from the loader.
    async fn stage_model(&self, ctx: &Context<'_>) -> Result<stage::Model> {
        if let Some(stage) = &self.1.stage {
            return Ok(stage.clone());
        }
        Ok(always(ctx.loaders().await?.stages.load_one(self.0.stage_id).await?, "the deal's stage")?)
    }
}

/// The deal columns a field of `Deal` other than its stage and owner reads; `None` for a
/// field not named here (which reads everything).
fn own_columns(name: &str) -> Option<&'static [deal::Column]> {
    use deal::Column as C;
    Some(match name {
        "__typename" | "id" | "stageHistory" | "meetings" | "noShowStats" | "notes" | "tasks" | "nextTask" => &[],
        "title" => &[C::Title],
        "amount" => &[C::Amount],
        "currency" => &[C::Currency],
        "baseAmount" => &[C::Amount, C::Currency, C::ClosedAt],
        "status" => &[C::Status],
        "contact" => &[C::ContactId],
        "company" => &[C::CompanyId],
        "pipeline" => &[C::PipelineId],
        "stageEnteredAt" => &[C::StageEnteredAt],
        "daysInStage" => &[C::StageEnteredAt, C::ClosedAt],
        "lostReason" => &[C::LostReasonId],
        "lostNote" => &[C::LostNote],
        "expectedCloseDate" => &[C::ExpectedCloseDate],
        "closedAt" => &[C::ClosedAt],
        "externalId" => &[C::ExternalId],
        "customFields" => &[C::CustomFields],
        "version" => &[C::Version],
        "createdAt" => &[C::CreatedAt],
        "updatedAt" => &[C::UpdatedAt],
        "deletedAt" => &[C::DeletedAt],
        _ => return None,
    })
}

/// An opportunity moving through the stages of a pipeline.
#[Object]
impl Deal {
    /// Its custom field values (SPEC 11), in the order the fields were defined; fields without
    /// a value and archived fields are left out. `keys`: only these fields.
    async fn custom_fields(&self, ctx: &Context<'_>, keys: Option<Vec<String>>) -> Result<Vec<CustomFieldValue>> {
        custom_field::values_of(ctx, RecordObject::Deal, &self.0.custom_fields, keys).await
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Deal, self.0.id)
    }
    /// What is being sold, e.g. "Acme – annual licence".
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Value of the deal, in its `currency`.
    async fn amount(&self) -> Money {
        Money::from_cents(self.0.amount)
    }
    /// ISO 4217 code of `amount`.
    async fn currency(&self, ctx: &Context<'_>) -> Result<String> {
        match &self.0.currency {
            Some(code) => Ok(code.clone()),
            None => Ok(ctx.loaders().await?.exchange().await?.base().to_owned()),
        }
    }
    /// `amount` in the base currency, as metrics count it: at the rate of the close date
    /// (open deals: today's), rounded to cents.
    async fn base_amount(&self, ctx: &Context<'_>) -> Result<Money> {
        let exchange = ctx.loaders().await?.exchange().await?;
        let day = self.0.closed_at.map(|at| at.date_naive());
        let base = exchange.value_in_base(self.0.currency.as_deref(), day, i128::from(self.0.amount))?;
        Ok(Money::from_cents(crate::service::currency::cents(base)))
    }
    /// OPEN, WON or LOST.
    async fn status(&self) -> DealStatus {
        self.0.status.into()
    }
    /// The contact the deal is with (null if not visible to the caller).
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        Ok(ctx.loaders().await?.contacts.load_one(self.0.contact_id).await?.map(Contact))
    }
    /// The company the deal is with (null when none, deleted or not visible to the caller).
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<Company>> {
        let Some(id) = self.0.company_id else { return Ok(None) };
        Ok(ctx.loaders().await?.companies.load_one(id).await?.map(Company))
    }
    /// The user responsible for the deal.
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        if let Some(owner) = &self.1.owner {
            return Ok(User(owner.clone()));
        }
        Ok(User(always(ctx.loaders().await?.users.load_one(self.0.owner_id).await?, "the deal's owner")?))
    }
    /// The pipeline the deal moves through.
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Pipeline> {
        let found = ctx.loaders().await?.pipelines.load_one(self.0.pipeline_id).await?;
        Ok(Pipeline(always(found, "the deal's pipeline")?))
    }
    /// The current stage (for a closed deal, the stage it closed in).
    async fn stage(&self, ctx: &Context<'_>) -> Result<Stage> {
        Ok(Stage(self.stage_model(ctx).await?))
    }
    /// When the deal entered its current stage.
    async fn stage_entered_at(&self) -> Timestamp {
        Timestamp(self.0.stage_entered_at)
    }
    /// Days in the current stage (two decimals): since `stageEnteredAt` until now, or until
    /// the deal closed.
    async fn days_in_stage(&self) -> Money {
        let seconds = crate::service::stale::seconds_in_stage(&self.0, crate::service::now());
        Money::from_cents(crate::service::metrics::arith::average_days(seconds, 1).unwrap_or(0))
    }
    /// Open and in its stage longer than the stage's `staleAfterDays` (false when the stage
    /// has none).
    async fn is_stale(&self, ctx: &Context<'_>) -> Result<bool> {
        let stage = self.stage_model(ctx).await?;
        Ok(crate::service::stale::is_stale(&self.0, &stage, crate::service::now()))
    }
    /// Every stage change, oldest first; the first entry is the creation.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<DealStageEvent>> {
        let events = ctx.loaders().await?.history_of_deal.load_one(self.0.id).await?.unwrap_or_default();
        Ok(events.into_iter().map(DealStageEvent).collect())
    }
    /// The deal's latest meetings by scheduled time (at most `first`, ≤ 100).
    async fn meetings(&self, ctx: &Context<'_>, #[graphql(default = 10)] first: i32) -> Result<Vec<Meeting>> {
        let key = (self.0.id, child_limit(first)?);
        let meetings = ctx.loaders().await?.latest_meetings_of_deal.load_one(key).await?.unwrap_or_default();
        Ok(meetings.into_iter().map(Meeting).collect())
    }
    /// Why the deal was lost (LOST deals only).
    async fn lost_reason(&self, ctx: &Context<'_>) -> Result<Option<LostReason>> {
        match self.0.lost_reason_id {
            Some(id) => Ok(ctx.loaders().await?.lost_reasons.load_one(id).await?.map(LostReason)),
            None => Ok(None),
        }
    }
    /// No-show stats of the meetings linked to this deal, all time.
    async fn no_show_stats(&self, ctx: &Context<'_>) -> Result<NoShowStats> {
        super::metric_fields::parent_no_show(&ctx.loaders().await?.metrics.deal_no_show, self.0.id).await
    }
    /// What losing this deal cost (SPEC 6.3); null unless the deal is LOST.
    async fn lost_cost(&self) -> Option<DealLostCost> {
        (self.0.status == entity::enums::DealStatus::Lost).then(|| DealLostCost(self.0.clone()))
    }
    /// Free-text note on the loss.
    async fn lost_note(&self) -> Option<&str> {
        self.0.lost_note.as_deref()
    }
    /// When the deal is expected to close.
    async fn expected_close_date(&self) -> Option<Date> {
        self.0.expected_close_date.map(Date)
    }
    /// When the deal was won or lost.
    async fn closed_at(&self) -> Option<Timestamp> {
        self.0.closed_at.map(Timestamp)
    }
    /// Id of this deal in the system it was imported from.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Notes about this deal that you may see, newest first: `notes(where:)` with this deal.
    #[allow(clippy::too_many_arguments)]
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<NoteFilter>,
        order_by: Option<Vec<NoteOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Note>> {
        let mut f = filter.unwrap_or_default().to_service()?;
        f.deal = OneOf::and_eq(f.deal, self.0.id);
        Box::pin(note_page(ctx, f, order_by, PageRequest { first, after, last, before })).await
    }
    /// Tasks about this deal that you may see, soonest due first: `tasks(where:)` with this deal.
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<TaskFilter>,
        order_by: Option<Vec<TaskOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Task>> {
        let mut f = filter.unwrap_or_default().to_service()?;
        f.deal = OneOf::and_eq(f.deal, self.0.id);
        Box::pin(task_page(ctx, f, order_by, PageRequest { first, after, last, before })).await
    }
    /// The open task to do next on this deal (the soonest due; tasks without a due time after
    /// those with one), if there is one you may see.
    async fn next_task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        Ok(ctx.loaders().await?.next_task_of_deal.load_one(self.0.id).await?.map(Task))
    }
    /// Optimistic-concurrency version: send it back with updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the deal was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the deal was last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When the deal was deleted (only seen with `includeDeleted`).
    async fn deleted_at(&self) -> Option<Timestamp> {
        self.0.deleted_at.map(Timestamp)
    }
}

/// One stage change of a deal.
pub struct DealStageEvent(pub deal_stage_event::Model);

/// One stage change of a deal.
#[Object]
impl DealStageEvent {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::DealStageEvent, self.0.id)
    }
    /// The stage left; null on the event that records the deal's creation.
    #[graphql(name = "fromStage")]
    async fn left_stage(&self, ctx: &Context<'_>) -> Result<Option<Stage>> {
        match self.0.from_stage_id {
            Some(id) => Ok(ctx.loaders().await?.stages.load_one(id).await?.map(Stage)),
            None => Ok(None),
        }
    }
    /// The stage entered.
    async fn to_stage(&self, ctx: &Context<'_>) -> Result<Stage> {
        Ok(Stage(always(ctx.loaders().await?.stages.load_one(self.0.to_stage_id).await?, "the entered stage")?))
    }
    /// When the move happened.
    async fn moved_at(&self) -> Timestamp {
        Timestamp(self.0.moved_at)
    }
    /// Who moved the deal.
    async fn moved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.moved_by {
            Some(id) => Ok(ctx.loaders().await?.users.load_one(id).await?.map(User)),
            None => Ok(None),
        }
    }
}

/// The cost of one lost deal.
pub struct DealLostCost(deal::Model);

/// The cost of one lost deal.
#[Object]
impl DealLostCost {
    /// Its amount: revenue forfeited.
    async fn amount(&self) -> Money {
        Money::from_cents(self.0.amount)
    }
    /// Amount × probability of the stage it was lost in / 100.
    async fn weighted_amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let stage = ctx.loaders().await?.stages.load_one(self.0.stage_id).await?;
        Ok(stage.map(|s| {
            let weighted = i128::from(self.0.amount) * i128::from(s.probability);
            Money::from_cents(crate::service::metrics::arith::ratio(weighted, 10_000).unwrap_or(0))
        }))
    }
    /// Why it was lost.
    async fn reason(&self, ctx: &Context<'_>) -> Result<Option<LostReason>> {
        match self.0.lost_reason_id {
            Some(id) => Ok(ctx.loaders().await?.lost_reasons.load_one(id).await?.map(LostReason)),
            None => Ok(None),
        }
    }
    /// The stage it was lost in.
    async fn stage(&self, ctx: &Context<'_>) -> Result<Stage> {
        Ok(Stage(always(ctx.loaders().await?.stages.load_one(self.0.stage_id).await?, "the stage lost in")?))
    }
    /// Its contact's acquisition cost (null when the contact is not visible to you).
    async fn acquisition_cost(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let contact = ctx.loaders().await?.contacts.load_one(self.0.contact_id).await?;
        Ok(contact.map(|c| Money::from_cents(c.acquisition_cost)))
    }
}
