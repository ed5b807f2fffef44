//! Stale deals (SPEC section 10): an open deal that has been in its stage longer than the
//! stage's `stale_after_days` (strictly longer: exactly that many days is not yet stale).
//! Time in the current stage counts from `stage_entered_at`, up to now, or to the close.

use chrono::{DateTime, Utc};
use entity::enums::DealStatus;
use entity::{contact, deal, stage, user};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use super::columns::Columns;
use super::custom_fields::query::Sorted;
use super::deals::{self, DealFilter, DealSort};
use super::filter::OneOf;
use super::metrics::MetricFilter;
use super::page::{Page, PageRequest};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Seconds the deal has been in its current stage: until now, or until it closed.
pub fn seconds_in_stage(deal: &deal::Model, now: DateTime<Utc>) -> i64 {
    (deal.closed_at.unwrap_or(now) - deal.stage_entered_at).num_seconds().max(0)
}

/// The instant an open deal must have entered `stage` before to be stale at `now`;
/// `None` when the stage has no threshold. The one rule every stale check applies.
pub fn entered_before(stage: &stage::Model, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    stage.stale_after_days.map(|days| now - chrono::Duration::days(i64::from(days)))
}

/// Whether `deal` (in `stage`) is stale at `now`.
pub fn is_stale(deal: &deal::Model, stage: &stage::Model, now: DateTime<Utc>) -> bool {
    deal.status == DealStatus::Open && entered_before(stage, now).is_some_and(|before| deal.stage_entered_at < before)
}

/// The caller's stale deals, those in the stage longest first.
pub async fn stale_deals(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    page: &PageRequest,
) -> ApiResult<(Page<deal::Model>, Select<deal::Entity>)> {
    let select = query(principal, db, filter, super::now()).await?;
    let rows =
        deals::page_of(db, select.clone(), &[(Sorted::Field(DealSort::StageEnteredAt), false)], page, Columns::all())
            .await?;
    Ok((rows, select))
}

/// The caller's deals stale at `now` under `filter`: open, in a stage with a threshold, and
/// entered before now − threshold (one range of the stage-and-entry index per stage).
async fn query(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    now: DateTime<Utc>,
) -> ApiResult<Select<deal::Entity>> {
    if filter.period.is_some() {
        let message = "staleDeals has no period: a deal is stale now, by the time it has been in its stage";
        return Err(ApiError::bad_input("filter.period", message));
    }
    let thresholds = stage::Entity::find()
        .filter(stage::Column::StaleAfterDays.is_not_null())
        .apply_if(filter.pipeline_id, |q, id| q.filter(stage::Column::PipelineId.eq(id)))
        .all(db)
        .await?;
    let mut stale = Condition::any();
    for stage in &thresholds {
        let Some(entered_before) = entered_before(stage, now) else { continue };
        stale = stale.add(
            Condition::all()
                .add(deal::Column::StageId.eq(stage.id))
                .add(deal::Column::StageEnteredAt.lt(entered_before)),
        );
    }
    if thresholds.is_empty() {
        stale = stale.add(deal::Column::Id.eq(-1));
    }
    let narrowed = DealFilter {
        owner: filter.owner_ids.clone().map(|ids| OneOf { eq: None, any: Some(ids) }),
        pipeline: filter.pipeline_id.map(|id| OneOf { eq: Some(id), any: None }),
        status: Some(OneOf { eq: Some(DealStatus::Open), any: None }),
        ..Default::default()
    };
    let mut select = deals::query(principal, &narrowed).filter(stale);
    if let Some(teams) = &filter.team_ids {
        let members = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::TeamId.is_in(teams.iter().copied()))
            .into_query();
        select = select.filter(deal::Column::OwnerId.in_subquery(members));
    }
    if let Some(source) = &filter.source {
        let contacts = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .filter(contact::Column::Source.eq(source.clone()))
            .into_query();
        select = select.filter(deal::Column::ContactId.in_subquery(contacts));
    }
    Ok(select)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(entered: DateTime<Utc>, status: DealStatus, closed_at: Option<DateTime<Utc>>) -> deal::Model {
        deal::Model {
            id: 1,
            contact_id: 1,
            company_id: None,
            owner_id: 1,
            pipeline_id: 1,
            stage_id: 1,
            title: "t".into(),
            amount: 0,
            currency: None,
            status,
            lost_reason_id: None,
            lost_note: None,
            expected_close_date: None,
            closed_at,
            stage_entered_at: entered,
            max_stage_position: 1,
            external_id: None,
            version: 1,
            created_at: entered,
            updated_at: entered,
            deleted_at: None,
            custom_fields: serde_json::json!({}),
        }
    }

    #[test]
    fn stale_is_strictly_longer_than_the_threshold_and_only_open() {
        let now: DateTime<Utc> = "2026-06-11T12:00:00Z".parse().expect("a time");
        let stage = stage::Model {
            id: 1,
            pipeline_id: 1,
            name: "Demo".into(),
            position: 1,
            probability: 20,
            stale_after_days: Some(10),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let ten_days = now - chrono::Duration::days(10);
        assert!(!is_stale(&deal(ten_days, DealStatus::Open, None), &stage, now), "exactly 10 days: not yet");
        let longer = ten_days - chrono::Duration::seconds(1);
        assert!(is_stale(&deal(longer, DealStatus::Open, None), &stage, now));
        assert!(!is_stale(&deal(longer, DealStatus::Won, Some(now)), &stage, now), "closed deals are never stale");
        let never = stage::Model { stale_after_days: None, ..stage };
        assert!(!is_stale(&deal(longer, DealStatus::Open, None), &never, now));
        // A closed deal's time in stage ends at its close.
        let closed = deal(ten_days, DealStatus::Lost, Some(now - chrono::Duration::days(4)));
        assert_eq!(seconds_in_stage(&closed, now), 6 * 86_400);
    }
}
