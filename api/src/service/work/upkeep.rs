//! Derived data a unit of work keeps for the records it touched: the funnel's summary
//! cells and the no-show cells. A touched deal's contribution is taken out before its first
//! change and added back, as it is then, when the work commits; a stage reorder recomputes
//! its pipeline; a meeting's contribution before and after each write is counted as it
//! happens (`meeting_cells`).

use std::collections::BTreeSet;

use entity::meeting;
use sea_orm::ConnectionTrait;

use crate::error::ApiResult;
use crate::service::metrics::funnel_cells::{self, Touched};
use crate::service::metrics::meeting_cells;

#[derive(Debug, Default)]
pub struct Cells {
    /// Deals whose contribution is out of the cells until the commit.
    retracted: BTreeSet<i64>,
    /// Deals created by this work (nothing to retract).
    created: BTreeSet<i64>,
    /// Pipelines to recompute whole.
    pipelines: BTreeSet<i64>,
    /// Everything is recomputed (bulk writes).
    all: bool,
    meetings: meeting_cells::Pending,
}

impl Cells {
    /// Before deals change: take out what they contribute now (once per deal).
    pub async fn before_deals(&mut self, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<()> {
        let fresh: Vec<i64> =
            ids.iter().copied().filter(|id| !self.retracted.contains(id) && !self.created.contains(id)).collect();
        if fresh.is_empty() || self.all {
            return Ok(());
        }
        funnel_cells::retract(db, Touched::Deals(&fresh)).await?;
        self.retracted.extend(fresh);
        Ok(())
    }

    /// Before contacts' lead source changes: their deals' cells move to another key.
    pub async fn before_contact_sources(&mut self, db: &impl ConnectionTrait, contact_ids: &[i64]) -> ApiResult<()> {
        let deals = funnel_cells::deals_of_contacts(db, contact_ids).await?;
        self.before_deals(db, &deals).await
    }

    pub fn created_deal(&mut self, id: i64) {
        self.created.insert(id);
    }

    /// Stage positions of `pipeline_id` change: lock now, recompute at the end.
    pub async fn before_positions(&mut self, db: &impl ConnectionTrait, pipeline_id: i64) -> ApiResult<()> {
        if self.pipelines.is_empty() && !self.all {
            funnel_cells::lock_for_rebuild(db).await?;
        }
        self.pipelines.insert(pipeline_id);
        Ok(())
    }

    /// Before meetings `ids` change (or, without ids, one is created) as `changes` says.
    pub async fn before_meetings(
        &mut self,
        db: &impl ConnectionTrait,
        ids: &[i64],
        changes: &meeting::ActiveModel,
    ) -> ApiResult<()> {
        self.meetings.before(db, ids, changes).await
    }

    /// A meeting was written: it was `before` (none when created) and is `after`.
    pub fn meeting_written(&mut self, before: Option<&meeting::Model>, after: &meeting::Model) {
        if let Some(before) = before {
            self.meetings.count(before, -1);
        }
        self.meetings.count(after, 1);
    }

    /// A bulk write: every cell is recomputed at the end.
    pub fn everything(&mut self) {
        self.all = true;
        self.meetings.everything();
    }

    /// Brings the cells up to date with what the work wrote; the last step before the log.
    pub async fn settle(self, db: &impl ConnectionTrait) -> ApiResult<()> {
        self.meetings.settle(db).await?;
        if self.all {
            return funnel_cells::rebuild(db, None).await;
        }
        let touched: Vec<i64> = self.retracted.union(&self.created).copied().collect();
        match (self.pipelines.is_empty(), touched.is_empty()) {
            (true, true) => {}
            (true, false) => funnel_cells::add(db, Touched::Deals(&touched)).await?,
            (false, true) => {
                for pipeline_id in &self.pipelines {
                    funnel_cells::rebuild(db, Some(*pipeline_id)).await?;
                }
            }
            // Deals retracted elsewhere as well: recompute everything rather than track which.
            (false, false) => funnel_cells::rebuild(db, None).await?,
        }
        Ok(())
    }
}
