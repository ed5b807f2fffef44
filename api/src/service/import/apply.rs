//! Writes a checked import plan: inserts new records, updates those matched by external id
//! (bumping their version, restoring them if deleted), and replaces deals' stage history.

use chrono::{DateTime, Utc};
use entity::{contact, deal, deal_stage_event, meeting};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, NotSet, PrimaryKeyTrait, QueryFilter,
    Set, Value,
};

use super::check::{Plan, Target};
use super::{Counts, ImportSummary};
use crate::error::{ApiError, ApiResult};
use crate::service::metrics::funnel_cells::{self, Touched};

/// The bookkeeping columns `save` fills in.
struct Columns<C> {
    id: C,
    version: C,
    updated_at: C,
    deleted_at: C,
}

pub(super) async fn apply(db: &impl ConnectionTrait, plan: Plan) -> ApiResult<ImportSummary> {
    let now = crate::service::now();
    let mut summary = ImportSummary::default();

    // The funnel cells of every deal the import changes: the deals it updates and those of
    // the contacts it updates (a contact's source is part of their key).
    let updated_contacts: Vec<i64> = plan.contacts.iter().filter_map(|c| c.existing).collect();
    let mut touched = funnel_cells::deals_of_contacts(db, &updated_contacts).await?;
    touched.extend(plan.deals.iter().filter_map(|d| d.existing));
    touched.sort_unstable();
    touched.dedup();
    funnel_cells::retract(db, Touched::Deals(&touched)).await?;

    let contact_cols = Columns {
        id: contact::Column::Id,
        version: contact::Column::Version,
        updated_at: contact::Column::UpdatedAt,
        deleted_at: contact::Column::DeletedAt,
    };
    let mut contact_ids = Vec::with_capacity(plan.contacts.len());
    for planned in plan.contacts {
        contact_ids.push(save(db, &contact_cols, planned.existing, planned.row, now, &mut summary.contacts).await?);
    }
    let resolve = |ids: &[i64], target: Target| match target {
        Target::Existing(id) => Ok(id),
        Target::Batch(i) => ids.get(i).copied().ok_or_else(|| ApiError::internal("import target out of range")),
    };

    let deal_cols = Columns {
        id: deal::Column::Id,
        version: deal::Column::Version,
        updated_at: deal::Column::UpdatedAt,
        deleted_at: deal::Column::DeletedAt,
    };
    let mut deal_ids = Vec::with_capacity(plan.deals.len());
    for mut planned in plan.deals {
        planned.row.contact_id = Set(resolve(&contact_ids, planned.contact)?);
        let id = save(db, &deal_cols, planned.existing, planned.row, now, &mut summary.deals).await?;
        replace_history(db, id, &planned.steps).await?;
        deal_ids.push(id);
    }

    let meeting_cols = Columns {
        id: meeting::Column::Id,
        version: meeting::Column::Version,
        updated_at: meeting::Column::UpdatedAt,
        deleted_at: meeting::Column::DeletedAt,
    };
    for mut planned in plan.meetings {
        planned.row.contact_id = Set(resolve(&contact_ids, planned.contact)?);
        planned.row.deal_id = Set(planned.deal.map(|d| resolve(&deal_ids, d)).transpose()?);
        save(db, &meeting_cols, planned.existing, planned.row, now, &mut summary.meetings).await?;
    }
    touched.extend(deal_ids);
    touched.sort_unstable();
    touched.dedup();
    funnel_cells::add(db, Touched::Deals(&touched)).await?;
    Ok(summary)
}

/// Inserts `row`, or updates row `existing` with it; either way the record ends up
/// not deleted and stamped `updated_at = now`. Returns the record's id.
async fn save<E, A>(
    db: &impl ConnectionTrait,
    cols: &Columns<E::Column>,
    existing: Option<i64>,
    mut row: A,
    now: DateTime<Utc>,
    counts: &mut Counts,
) -> ApiResult<i64>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<A>,
    E::PrimaryKey: PrimaryKeyTrait<ValueType = i64>,
    A: ActiveModelTrait<Entity = E> + Send,
{
    row.set(cols.updated_at, Value::from(now));
    row.set(cols.deleted_at, Value::from(None::<DateTime<Utc>>));
    match existing {
        Some(id) => {
            E::update_many()
                .set(row)
                .col_expr(cols.version, Expr::col(cols.version).add(1))
                .filter(cols.id.eq(id))
                .exec(db)
                .await?;
            counts.updated += 1;
            Ok(id)
        }
        None => {
            row.set(cols.version, Value::from(1i32));
            let id = E::insert(row).exec(db).await?.last_insert_id;
            counts.created += 1;
            Ok(id)
        }
    }
}

/// Replaces a deal's stage events with its imported history, each step's `from` being the
/// step before it.
async fn replace_history(db: &impl ConnectionTrait, deal_id: i64, steps: &[(i64, DateTime<Utc>)]) -> ApiResult<()> {
    deal_stage_event::Entity::delete_many().filter(deal_stage_event::Column::DealId.eq(deal_id)).exec(db).await?;
    let events = steps.iter().enumerate().map(|(k, &(to, at))| deal_stage_event::ActiveModel {
        id: NotSet,
        deal_id: Set(deal_id),
        from_stage_id: Set(k.checked_sub(1).map(|p| steps[p].0)),
        to_stage_id: Set(to),
        moved_at: Set(at),
        moved_by: Set(None),
        left_at: Set(steps.get(k + 1).map(|next| next.1)),
        created_at: Set(at),
        updated_at: Set(at),
    });
    deal_stage_event::Entity::insert_many(events).exec(db).await?;
    Ok(())
}
