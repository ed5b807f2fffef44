//! Writes a checked import plan: inserts new records, updates those matched by external id
//! (bumping their version, restoring them if deleted), and replaces deals' stage history.

use chrono::{DateTime, Utc};
use entity::{company, contact, deal, deal_stage_event, meeting, note, task};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, IntoActiveModel, Iterable, ModelTrait,
    NotSet, QueryFilter, Set, Value,
};

use super::check::{AboutTarget, Plan, Target};
use super::{Counts, ImportSummary};
use crate::error::{ApiError, ApiResult};
use crate::service::work::tracked::{Tracked, int};
use crate::service::work::{Target as WorkTarget, Work};

pub(super) async fn apply(work: &mut Work, plan: Plan) -> ApiResult<ImportSummary> {
    let now = crate::service::now();
    let mut summary = ImportSummary::default();

    // Derived data of every record the import updates, prepared in two batches rather than
    // row by row (see `Work::prepare_updates`).
    let updated_contacts: Vec<i64> = plan.contacts.iter().filter_map(|c| c.existing).collect();
    if let Some(first) = plan.contacts.iter().find(|c| c.existing.is_some()) {
        work.prepare_updates::<contact::Entity>(&updated_contacts, &first.row).await?;
    }
    let updated_deals: Vec<i64> = plan.deals.iter().filter_map(|d| d.existing).collect();
    if let Some(first) = plan.deals.iter().find(|d| d.existing.is_some()) {
        work.prepare_updates::<deal::Entity>(&updated_deals, &first.row).await?;
    }
    let updated_meetings: Vec<i64> = plan.meetings.iter().filter_map(|m| m.existing).collect();
    if let Some(first) = plan.meetings.iter().find(|m| m.existing.is_some()) {
        work.prepare_updates::<meeting::Entity>(&updated_meetings, &first.row).await?;
    }

    let resolve = |ids: &[i64], target: Target| match target {
        Target::Existing(id) => Ok(id),
        Target::Batch(i) => ids.get(i).copied().ok_or_else(|| ApiError::internal("import target out of range")),
    };
    let mut company_ids = Vec::with_capacity(plan.companies.len());
    for planned in plan.companies {
        let id = save::<company::Entity>(work, planned.existing, planned.row, now, &mut summary.companies).await?;
        company_ids.push(id);
    }

    let mut contact_ids = Vec::with_capacity(plan.contacts.len());
    for mut planned in plan.contacts {
        planned.row.company_id = Set(planned.company.map(|c| resolve(&company_ids, c)).transpose()?);
        let id = save::<contact::Entity>(work, planned.existing, planned.row, now, &mut summary.contacts).await?;
        contact_ids.push(id);
    }

    let mut deal_ids = Vec::with_capacity(plan.deals.len());
    let mut histories = Vec::with_capacity(plan.deals.len());
    let replaced: Vec<i64> = plan.deals.iter().filter_map(|d| d.existing).collect();
    for mut planned in plan.deals {
        planned.row.contact_id = Set(resolve(&contact_ids, planned.contact)?);
        planned.row.company_id = Set(planned.company.map(|c| resolve(&company_ids, c)).transpose()?);
        let id = save::<deal::Entity>(work, planned.existing, planned.row, now, &mut summary.deals).await?;
        histories.push((id, planned.steps));
        deal_ids.push(id);
    }
    replace_histories(work.db(), &replaced, &histories).await?;

    for mut planned in plan.meetings {
        planned.row.contact_id = Set(resolve(&contact_ids, planned.contact)?);
        planned.row.deal_id = Set(planned.deal.map(|d| resolve(&deal_ids, d)).transpose()?);
        save::<meeting::Entity>(work, planned.existing, planned.row, now, &mut summary.meetings).await?;
    }

    for mut planned in plan.notes {
        let (contact, company, deal) = match planned.about {
            AboutTarget::Contact(t) => (Some(resolve(&contact_ids, t)?), None, None),
            AboutTarget::Company(t) => (None, Some(resolve(&company_ids, t)?), None),
            AboutTarget::Deal(t) => (None, None, Some(resolve(&deal_ids, t)?)),
        };
        (planned.row.contact_id, planned.row.company_id, planned.row.deal_id) = (Set(contact), Set(company), Set(deal));
        save::<note::Entity>(work, planned.existing, planned.row, now, &mut summary.notes).await?;
    }

    for mut planned in plan.tasks {
        let (contact, company, deal) = match planned.about {
            None => (None, None, None),
            Some(AboutTarget::Contact(t)) => (Some(resolve(&contact_ids, t)?), None, None),
            Some(AboutTarget::Company(t)) => (None, Some(resolve(&company_ids, t)?), None),
            Some(AboutTarget::Deal(t)) => (None, None, Some(resolve(&deal_ids, t)?)),
        };
        (planned.row.contact_id, planned.row.company_id, planned.row.deal_id) = (Set(contact), Set(company), Set(deal));
        save::<task::Entity>(work, planned.existing, planned.row, now, &mut summary.tasks).await?;
    }
    Ok(summary)
}

/// Inserts `row`, or updates row `existing` with it; either way the record ends up
/// not deleted and stamped `updated_at = now`. Returns the record's id.
async fn save<E>(
    work: &mut Work,
    existing: Option<i64>,
    mut row: E::ActiveModel,
    now: DateTime<Utc>,
    counts: &mut Counts,
) -> ApiResult<i64>
where
    E: Tracked,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send + Clone,
{
    let column = |name: &str| E::Column::iter().find(|c| c.as_str() == name);
    if let Some(c) = column("updated_at") {
        row.set(c, Value::from(now));
    }
    if let Some(c) = E::deleted_column() {
        row.set(c, Value::from(None::<DateTime<Utc>>));
    }
    match existing {
        Some(id) => {
            work.update::<E>(WorkTarget::new(id, E::NAME).include_deleted(), row).await?;
            counts.updated += 1;
            Ok(id)
        }
        None => {
            if let Some(c) = E::version_column() {
                row.set(c, Value::from(1i32));
            }
            let created = work.insert::<E, E::ActiveModel>(row).await?;
            counts.created += 1;
            Ok(int(created.get(E::id_column())).unwrap_or_default())
        }
    }
}

/// A deal's imported history: (stage id, entered at), oldest first.
type Steps = Vec<(i64, DateTime<Utc>)>;

/// Stage events per INSERT: 9 values each, well below either engine's parameter limit.
const EVENTS_PER_INSERT: usize = 2000;

/// Replaces the stage events of the deals `replaced` (updated by the import) and writes
/// every deal's imported history, each step's `from` being the step before it: one DELETE
/// and an INSERT per 2,000 events for the whole batch rather than two statements per deal.
async fn replace_histories(db: &impl ConnectionTrait, replaced: &[i64], histories: &[(i64, Steps)]) -> ApiResult<()> {
    for ids in replaced.chunks(EVENTS_PER_INSERT) {
        let ids = ids.iter().copied();
        deal_stage_event::Entity::delete_many().filter(deal_stage_event::Column::DealId.is_in(ids)).exec(db).await?;
    }
    let events: Vec<deal_stage_event::ActiveModel> = histories
        .iter()
        .flat_map(|(deal_id, steps)| {
            steps.iter().enumerate().map(move |(k, &(to, at))| deal_stage_event::ActiveModel {
                id: NotSet,
                deal_id: Set(*deal_id),
                from_stage_id: Set(k.checked_sub(1).map(|p| steps[p].0)),
                to_stage_id: Set(to),
                moved_at: Set(at),
                moved_by: Set(None),
                left_at: Set(steps.get(k + 1).map(|next| next.1)),
                created_at: Set(at),
                updated_at: Set(at),
            })
        })
        .collect();
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        deal_stage_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}
