//! DataLoaders for metric fields on objects (`User.funnel`, `Team.funnel`, `Pipeline.funnel`,
//! `Stage.conversionFromPrevious`, `User.noShowStats`, `Contact.noShowStats`, …): the keys of
//! one batch that share a filter become one grouped metric query, so a list of 50 users
//! with their funnel costs the same statements as a list of 5.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};

use super::batching::PollGate;
use super::loaders::{LoaderCtx, gated};
use crate::error::SharedError;
use crate::service::metrics::forecast::{self, StageRate};
use crate::service::metrics::funnel::{self, Funnel, FunnelMode, FunnelParts};
use crate::service::metrics::no_show::{self, NoShowStats, Parent};
use crate::service::metrics::{GroupBy, GroupKey, Grouping, MetricFilter};

/// A metric of one object (`id`) under the field's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricKey<A> {
    pub args: A,
    pub id: i64,
}

/// Groups keys by their arguments.
fn by_args<A: Clone + Eq + std::hash::Hash>(keys: &[MetricKey<A>]) -> HashMap<A, Vec<i64>> {
    let mut out: HashMap<A, Vec<i64>> = HashMap::new();
    for k in keys {
        out.entry(k.args.clone()).or_default().push(k.id);
    }
    out
}

/// A funnel field's arguments, and the parts of the funnel its selection needs.
pub type FunnelArgs = (MetricFilter, FunnelMode, FunnelParts);

/// Groups funnel keys by filter and mode; the keys of one group share one funnel with
/// every part any of them needs (`Stage.conversionFromPrevious` and `Stage.avgDaysInStage`
/// of one pipeline are one statement set, not two).
fn by_funnel_args(keys: &[MetricKey<FunnelArgs>]) -> HashMap<(MetricFilter, FunnelMode), (FunnelParts, Vec<i64>)> {
    let mut out: HashMap<(MetricFilter, FunnelMode), (FunnelParts, Vec<i64>)> = HashMap::new();
    for key in keys {
        let (filter, mode, parts) = &key.args;
        let entry = out.entry((filter.clone(), *mode)).or_default();
        entry.0 = entry.0.union(*parts);
        if !entry.1.contains(&key.id) {
            entry.1.push(key.id);
        }
    }
    out
}

/// `filter` narrowed to `ids` on top of its own owner (or team) list.
fn narrowed(ids: &[i64], own: &Option<Vec<i64>>) -> Option<Vec<i64>> {
    Some(match own {
        Some(list) => ids.iter().copied().filter(|id| list.contains(id)).collect(),
        None => ids.to_vec(),
    })
}

pub struct UserNoShow(LoaderCtx);

impl Loader<MetricKey<MetricFilter>> for UserNoShow {
    type Value = NoShowStats;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[MetricKey<MetricFilter>],
    ) -> Result<HashMap<MetricKey<MetricFilter>, NoShowStats>, SharedError> {
        let mut out = HashMap::new();
        for (filter, ids) in by_args(keys) {
            let scoped = MetricFilter { owner_ids: narrowed(&ids, &filter.owner_ids), ..filter.clone() };
            let by_owner = Grouping::by(Some(GroupBy::Owner));
            let grouped =
                self.0.metric(|p, db| async move { no_show::no_show_stats(&p, &db, &scoped, by_owner).await }).await?;
            let found: HashMap<GroupKey, NoShowStats> = grouped.groups.into_iter().collect();
            for id in ids {
                let stats = found.get(&GroupKey::Owner(id)).copied().unwrap_or_default();
                out.insert(MetricKey { args: filter.clone(), id }, stats);
            }
        }
        Ok(out)
    }
}

/// No-show stats per contact or per deal (all time).
pub struct ParentNoShow(LoaderCtx, Parent);

impl Loader<i64> for ParentNoShow {
    type Value = NoShowStats;
    type Error = SharedError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, NoShowStats>, SharedError> {
        let found = self.0.metric(|p, db| async move { no_show::stats_of(&p, &db, self.1, keys).await }).await?;
        Ok(keys.iter().map(|id| (*id, found.get(id).copied().unwrap_or_default())).collect())
    }
}

/// Who a grouped funnel is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelOf {
    Owner,
    Team,
}

/// Funnels of users or teams: one grouped funnel per distinct (filter, mode).
pub struct GroupFunnel(LoaderCtx, FunnelOf);

/// The funnel of one object: its pipeline (for the `pipeline` field) and the numbers.
pub type FunnelOfObject = (i64, Funnel);

impl Loader<MetricKey<FunnelArgs>> for GroupFunnel {
    type Value = FunnelOfObject;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[MetricKey<FunnelArgs>],
    ) -> Result<HashMap<MetricKey<FunnelArgs>, FunnelOfObject>, SharedError> {
        let mut found: HashMap<(MetricFilter, FunnelMode, i64), FunnelOfObject> = HashMap::new();
        for ((filter, mode), (parts, ids)) in by_funnel_args(keys) {
            let (scoped, by) = match self.1 {
                FunnelOf::Owner => {
                    (MetricFilter { owner_ids: narrowed(&ids, &filter.owner_ids), ..filter.clone() }, GroupBy::Owner)
                }
                FunnelOf::Team => {
                    (MetricFilter { team_ids: narrowed(&ids, &filter.team_ids), ..filter.clone() }, GroupBy::Team)
                }
            };
            let grouping = Grouping::by(Some(by));
            let report = self
                .0
                .metric(|p, db| async move { funnel::funnel(&p, &db, &scoped, mode, grouping, parts).await })
                .await?;
            let empty = report.empty();
            let groups: HashMap<GroupKey, Funnel> = report.groups.into_iter().collect();
            for id in ids {
                let key = match self.1 {
                    FunnelOf::Owner => GroupKey::Owner(id),
                    FunnelOf::Team => GroupKey::Team(Some(id)),
                };
                let funnel = groups.get(&key).cloned().unwrap_or_else(|| empty.clone());
                found.insert((filter.clone(), mode, id), (report.pipeline_id, funnel));
            }
        }
        Ok(answer(keys, found))
    }
}

/// Each key's funnel, from the funnels computed per (filter, mode, object).
fn answer(
    keys: &[MetricKey<FunnelArgs>],
    found: HashMap<(MetricFilter, FunnelMode, i64), FunnelOfObject>,
) -> HashMap<MetricKey<FunnelArgs>, FunnelOfObject> {
    keys.iter()
        .filter_map(|key| {
            let (filter, mode, _) = &key.args;
            let funnel = found.get(&(filter.clone(), *mode, key.id))?;
            Some((key.clone(), funnel.clone()))
        })
        .collect()
}

/// The funnel of a pipeline (keyed by pipeline id): one funnel per pipeline and arguments.
pub struct PipelineFunnel(LoaderCtx);

impl Loader<MetricKey<FunnelArgs>> for PipelineFunnel {
    type Value = FunnelOfObject;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[MetricKey<FunnelArgs>],
    ) -> Result<HashMap<MetricKey<FunnelArgs>, FunnelOfObject>, SharedError> {
        let mut found = HashMap::new();
        for ((filter, mode), (parts, ids)) in by_funnel_args(keys) {
            for id in ids {
                let scoped = MetricFilter { pipeline_id: Some(id), ..filter.clone() };
                let report = self
                    .0
                    .metric(
                        |p, db| async move { funnel::funnel(&p, &db, &scoped, mode, Grouping::default(), parts).await },
                    )
                    .await?;
                found.insert((filter.clone(), mode, id), (report.pipeline_id, report.total));
            }
        }
        Ok(answer(keys, found))
    }
}

/// Stages' historical win rates (keyed by stage id) under (lookback months, minimum
/// sample): one statement for every stage of every pipeline.
pub struct StageWinRate(LoaderCtx);

impl Loader<MetricKey<(u32, i64)>> for StageWinRate {
    type Value = StageRate;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[MetricKey<(u32, i64)>],
    ) -> Result<HashMap<MetricKey<(u32, i64)>, StageRate>, SharedError> {
        let mut out = HashMap::new();
        for ((lookback, minimum), ids) in by_args(keys) {
            let rates = self
                .0
                .metric(|p, db| async move {
                    let all = MetricFilter::default();
                    forecast::historical_win_rates(&p, &db, &all, lookback, minimum, crate::service::now()).await
                })
                .await?;
            for rate in rates.into_iter().filter(|r| ids.contains(&r.stage.id)) {
                out.insert(MetricKey { args: (lookback, minimum), id: rate.stage.id }, rate);
            }
        }
        Ok(out)
    }
}

pub struct MetricLoaders {
    pub user_no_show: DataLoader<UserNoShow>,
    pub contact_no_show: DataLoader<ParentNoShow>,
    pub deal_no_show: DataLoader<ParentNoShow>,
    pub user_funnel: DataLoader<GroupFunnel>,
    pub team_funnel: DataLoader<GroupFunnel>,
    pub pipeline_funnel: DataLoader<PipelineFunnel>,
    pub stage_win_rate: DataLoader<StageWinRate>,
}

impl MetricLoaders {
    pub fn new(ctx: &LoaderCtx, gate: &PollGate) -> Self {
        Self {
            user_no_show: gated(UserNoShow(ctx.clone()), gate),
            contact_no_show: gated(ParentNoShow(ctx.clone(), Parent::Contact), gate),
            deal_no_show: gated(ParentNoShow(ctx.clone(), Parent::Deal), gate),
            user_funnel: gated(GroupFunnel(ctx.clone(), FunnelOf::Owner), gate),
            team_funnel: gated(GroupFunnel(ctx.clone(), FunnelOf::Team), gate),
            pipeline_funnel: gated(PipelineFunnel(ctx.clone()), gate),
            stage_win_rate: gated(StageWinRate(ctx.clone()), gate),
        }
    }
}
