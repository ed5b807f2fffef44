//! Per-request DataLoaders: relations and computed fields are fetched in one batch per
//! type, always through the service layer with the caller's principal (so scoping holds).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    company, contact, deal_stage_event, lost_reason, meeting, note, pipeline, stage, task, team, user, webhook_attempt,
    webhook_endpoint,
};
use sea_orm::DatabaseConnection;

use crate::app::Services;
use crate::auth::{Caller, Principal};
use crate::error::{ApiResult, SharedError};
use crate::graphql::batching::PollGate;
pub use crate::graphql::metric_loaders::MetricLoaders;
use crate::service::deal_relations::{self, DealRead, DealWithRelations};
use crate::service::heavy::Heavy;
use crate::service::webhooks::{endpoints, queue};
use crate::service::{companies, contacts, deals, directory, meetings, notes, pipelines, tasks, users};

#[derive(Clone)]
pub struct LoaderCtx {
    pub(super) db: DatabaseConnection,
    /// Where metric queries take their turns (`service::heavy`).
    heavy: Arc<Heavy>,
    caller: Caller,
}

impl LoaderCtx {
    /// Loads run only in resolvers, after authentication; before it, nothing is visible.
    pub(super) fn principal(&self) -> &Principal {
        self.caller.principal_or_nobody()
    }

    /// Runs a metric query in the caller's turn, on a lane's connection.
    pub(super) async fn metric<T, F, Fut>(&self, query: F) -> ApiResult<T>
    where
        F: FnOnce(Principal, DatabaseConnection) -> Fut,
        Fut: std::future::Future<Output = ApiResult<T>>,
    {
        self.heavy.run_as(self.principal(), query).await
    }
}

/// Defines a loader of rows by id: `$load(ctx, ids)` returns the rows that exist and are visible.
macro_rules! by_id_loader {
    ($name:ident, $model:ty, |$ctx:ident, $ids:ident| $load:expr) => {
        pub struct $name(LoaderCtx);

        impl Loader<i64> for $name {
            type Value = $model;
            type Error = SharedError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, $model>, SharedError> {
                let ($ctx, $ids) = (&self.0, keys);
                Ok($load.await?.into_iter().map(|m| (m.id, m)).collect())
            }
        }
    };
}

by_id_loader!(TeamsById, team::Model, |c, ids| directory::teams_by_ids(&c.db, ids));
by_id_loader!(UsersById, user::Model, |c, ids| users::by_ids(&c.db, ids));
by_id_loader!(ContactsById, contact::Model, |c, ids| contacts::by_ids(c.principal(), &c.db, ids));
by_id_loader!(CompaniesById, company::Model, |c, ids| companies::by_ids(c.principal(), &c.db, ids));
by_id_loader!(NotesById, note::Model, |c, ids| notes::by_ids(c.principal(), &c.db, ids));
by_id_loader!(TasksById, task::Model, |c, ids| tasks::by_ids(c.principal(), &c.db, ids));
by_id_loader!(MeetingsById, meeting::Model, |c, ids| meetings::by_ids(c.principal(), &c.db, ids));
by_id_loader!(PipelinesById, pipeline::Model, |c, ids| pipelines::by_ids(&c.db, ids));
by_id_loader!(StagesById, stage::Model, |c, ids| pipelines::stages_by_ids(&c.db, ids));
by_id_loader!(LostReasonsById, lost_reason::Model, |c, ids| pipelines::lost_reasons_by_ids(&c.db, ids));
by_id_loader!(WebhookEndpointsById, webhook_endpoint::Model, |c, ids| endpoints::by_ids(c.principal(), &c.db, ids));

/// The loaders a deal read primes with the stage and owner it joined whole (`deal_relations`),
/// so that other fields showing those stages and users cost no statement of their own.
#[derive(Clone)]
pub struct DealRelationCaches {
    stages: Arc<DataLoader<StagesById, HashMapCache>>,
    users: Arc<DataLoader<UsersById, HashMapCache>>,
}

impl DealRelationCaches {
    /// Primes the caches with the stages and owners read whole (a partial row would show
    /// placeholders to the fields that did not ask for it), and passes the rows on.
    async fn feed(&self, read: DealRead, rows: Vec<DealWithRelations>) -> Vec<DealWithRelations> {
        if read.stage.is_some_and(|s| s.is_all()) {
            self.stages.feed_many(rows.iter().filter_map(|r| r.stage.clone().map(|s| (s.id, s)))).await;
        }
        if read.owner.is_some_and(|u| u.is_all()) {
            self.users.feed_many(rows.iter().filter_map(|r| r.owner.clone().map(|u| (u.id, u)))).await;
        }
        rows
    }
}

/// Deals by id, each read as its key's `DealRead` asks (one statement per distinct read).
pub struct DealsById(LoaderCtx, DealRelationCaches);

impl Loader<(i64, DealRead)> for DealsById {
    type Value = DealWithRelations;
    type Error = SharedError;

    async fn load(&self, keys: &[(i64, DealRead)]) -> Result<HashMap<(i64, DealRead), DealWithRelations>, SharedError> {
        let mut out = HashMap::new();
        for (read, ids) in by_args(keys) {
            let rows = deal_relations::by_ids(self.0.principal(), &self.0.db, &ids, read).await?;
            out.extend(self.1.feed(read, rows).await.into_iter().map(|r| ((r.deal.id, read), r)));
        }
        Ok(out)
    }
}

/// The ids of `keys` under each distinct argument, in a stable order.
fn by_args<A: Clone + Eq + std::hash::Hash>(keys: &[(i64, A)]) -> Vec<(A, Vec<i64>)> {
    let mut out: Vec<(A, Vec<i64>)> = Vec::new();
    for (id, args) in keys {
        match out.iter_mut().find(|(a, _)| a == args) {
            Some((_, ids)) => ids.push(*id),
            None => out.push((args.clone(), vec![*id])),
        }
    }
    out
}

/// Groups child rows under their parent id (every requested parent gets a list).
fn group<M>(keys: &[i64], rows: Vec<M>, parent: impl Fn(&M) -> i64) -> HashMap<i64, Vec<M>> {
    let mut grouped: HashMap<i64, Vec<M>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        grouped.entry(parent(&row)).or_default().push(row);
    }
    grouped
}

/// Stages of each pipeline, in position order.
pub struct StagesOfPipeline(LoaderCtx);

impl Loader<i64> for StagesOfPipeline {
    type Value = Vec<stage::Model>;
    type Error = SharedError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, SharedError> {
        Ok(group(keys, pipelines::stages_of(&self.0.db, keys).await?, |s| s.pipeline_id))
    }
}

/// The attempts of each webhook delivery, oldest first (deliveries are ADMIN-only already).
pub struct AttemptsOfDelivery(LoaderCtx);

impl Loader<i64> for AttemptsOfDelivery {
    type Value = Vec<webhook_attempt::Model>;
    type Error = SharedError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, SharedError> {
        Ok(group(keys, queue::attempts_of(&self.0.db, keys).await?, |a| a.delivery_id))
    }
}

/// Members of each team, by name.
pub struct MembersOfTeam(LoaderCtx);

impl Loader<i64> for MembersOfTeam {
    type Value = Vec<user::Model>;
    type Error = SharedError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, SharedError> {
        Ok(group(keys, directory::members_of(&self.0.db, keys).await?, |u| u.team_id.unwrap_or_default()))
    }
}

/// Stage history of each deal, oldest first.
pub struct HistoryOfDeal(LoaderCtx);

impl Loader<i64> for HistoryOfDeal {
    type Value = Vec<deal_stage_event::Model>;
    type Error = SharedError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, SharedError> {
        Ok(group(keys, deals::history_of(self.0.principal(), &self.0.db, keys).await?, |e| e.deal_id))
    }
}

/// The next open task of each deal that the caller may see (`tasks::next_of_deals`).
pub struct NextTaskOfDeal(LoaderCtx);

impl Loader<i64> for NextTaskOfDeal {
    type Value = task::Model;
    type Error = SharedError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, SharedError> {
        let rows = tasks::next_of_deals(self.0.principal(), &self.0.db, keys).await?;
        Ok(rows.into_iter().filter_map(|t| Some((t.deal_id?, t))).collect())
    }
}

/// Loads children keyed by (parent id, arguments such as N): one statement per distinct
/// arguments (in practice one), each row grouped under its parent in the order the statement
/// returns.
async fn latest_by_args<A, M, F, Fut>(
    keys: &[(i64, A)],
    parent_of: impl Fn(&M) -> i64,
    load: F,
) -> Result<HashMap<(i64, A), Vec<M>>, SharedError>
where
    A: Clone + Eq + std::hash::Hash,
    F: Fn(Vec<i64>, A) -> Fut,
    Fut: std::future::Future<Output = crate::error::ApiResult<Vec<M>>>,
{
    let mut out = HashMap::new();
    for (args, ids) in by_args(keys) {
        let rows = load(ids.clone(), args.clone()).await?;
        for (parent, list) in group(&ids, rows, &parent_of) {
            out.insert((parent, args.clone()), list);
        }
    }
    Ok(out)
}

/// The newest N deals of each contact, keyed by (contact id, (N, what to read of them)).
pub struct LatestDealsOfContact(LoaderCtx, DealRelationCaches);

impl Loader<(i64, (u64, DealRead))> for LatestDealsOfContact {
    type Value = Vec<DealWithRelations>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[(i64, (u64, DealRead))],
    ) -> Result<HashMap<(i64, (u64, DealRead)), Self::Value>, SharedError> {
        let (c, caches) = (&self.0, &self.1);
        latest_by_args(
            keys,
            |r: &DealWithRelations| r.deal.contact_id,
            |ids, (limit, read)| async move {
                let rows = deal_relations::latest_of_contacts(c.principal(), &c.db, &ids, limit, read).await?;
                Ok(caches.feed(read, rows).await)
            },
        )
        .await
    }
}

/// The latest N meetings of each contact or deal, keyed by (parent id, N).
pub struct LatestMeetingsOf(LoaderCtx, meeting::Column);

impl Loader<(i64, u64)> for LatestMeetingsOf {
    type Value = Vec<meeting::Model>;
    type Error = SharedError;

    async fn load(&self, keys: &[(i64, u64)]) -> Result<HashMap<(i64, u64), Self::Value>, SharedError> {
        let (c, parent) = (&self.0, self.1);
        let parent_of = move |m: &meeting::Model| match parent {
            meeting::Column::DealId => m.deal_id.unwrap_or_default(),
            _ => m.contact_id,
        };
        latest_by_args(keys, parent_of, |ids, limit| async move {
            meetings::latest_of(c.principal(), &c.db, parent, &ids, limit).await
        })
        .await
    }
}

/// Everything a request batch-loads; built once per authenticated request.
pub struct Loaders {
    pub users: Arc<DataLoader<UsersById, HashMapCache>>,
    pub teams: DataLoader<TeamsById>,
    pub members_of_team: DataLoader<MembersOfTeam>,
    pub contacts: DataLoader<ContactsById>,
    pub companies: DataLoader<CompaniesById>,
    pub notes: DataLoader<NotesById>,
    pub tasks: DataLoader<TasksById>,
    pub next_task_of_deal: DataLoader<NextTaskOfDeal>,
    pub deals: DataLoader<DealsById>,
    pub pipelines: DataLoader<PipelinesById>,
    pub stages: Arc<DataLoader<StagesById, HashMapCache>>,
    pub lost_reasons: DataLoader<LostReasonsById>,
    pub stages_of_pipeline: DataLoader<StagesOfPipeline>,
    pub history_of_deal: DataLoader<HistoryOfDeal>,
    pub latest_deals_of_contact: DataLoader<LatestDealsOfContact>,
    pub meetings: DataLoader<MeetingsById>,
    pub latest_meetings_of_contact: DataLoader<LatestMeetingsOf>,
    pub latest_meetings_of_deal: DataLoader<LatestMeetingsOf>,
    pub webhook_endpoints: DataLoader<WebhookEndpointsById>,
    pub attempts_of_delivery: DataLoader<AttemptsOfDelivery>,
    pub metrics: MetricLoaders,
    /// The exchange rates, read once per request when a field converts an amount.
    exchange: tokio::sync::OnceCell<crate::service::currency::Exchange>,
    /// Where the exchange rates and custom field definitions are read.
    settings_db: sea_orm::DatabaseConnection,
    /// The custom field definitions, read once per request when a field needs them.
    custom_fields: tokio::sync::OnceCell<Vec<crate::service::custom_fields::Definition>>,
}

impl Loaders {
    /// The base currency and exchange rates as this request sees them.
    pub async fn exchange(&self) -> crate::error::ApiResult<&crate::service::currency::Exchange> {
        self.exchange.get_or_try_init(|| crate::service::currency::Exchange::load(&self.settings_db)).await
    }

    /// Every custom field definition as this request sees them.
    pub async fn custom_fields(&self) -> crate::error::ApiResult<&[crate::service::custom_fields::Definition]> {
        let all = self.custom_fields.get_or_try_init(|| crate::service::custom_fields::all(&self.settings_db)).await?;
        Ok(all.as_slice())
    }

    /// Loaders for one request; their batches are sent when `gate` says the request is quiet.
    pub fn new(services: &Services, caller: &Caller, gate: &PollGate) -> Self {
        let ctx = LoaderCtx { db: services.dbs.primary.clone(), heavy: services.heavy.clone(), caller: caller.clone() };
        let caches = DealRelationCaches {
            stages: Arc::new(gated_cached(StagesById(ctx.clone()), gate)),
            users: Arc::new(gated_cached(UsersById(ctx.clone()), gate)),
        };
        Self {
            users: caches.users.clone(),
            teams: gated(TeamsById(ctx.clone()), gate),
            members_of_team: gated(MembersOfTeam(ctx.clone()), gate),
            contacts: gated(ContactsById(ctx.clone()), gate),
            companies: gated(CompaniesById(ctx.clone()), gate),
            notes: gated(NotesById(ctx.clone()), gate),
            tasks: gated(TasksById(ctx.clone()), gate),
            next_task_of_deal: gated(NextTaskOfDeal(ctx.clone()), gate),
            deals: gated(DealsById(ctx.clone(), caches.clone()), gate),
            pipelines: gated(PipelinesById(ctx.clone()), gate),
            stages: caches.stages.clone(),
            lost_reasons: gated(LostReasonsById(ctx.clone()), gate),
            stages_of_pipeline: gated(StagesOfPipeline(ctx.clone()), gate),
            history_of_deal: gated(HistoryOfDeal(ctx.clone()), gate),
            latest_deals_of_contact: gated(LatestDealsOfContact(ctx.clone(), caches.clone()), gate),
            meetings: gated(MeetingsById(ctx.clone()), gate),
            latest_meetings_of_contact: gated(LatestMeetingsOf(ctx.clone(), meeting::Column::ContactId), gate),
            latest_meetings_of_deal: gated(LatestMeetingsOf(ctx.clone(), meeting::Column::DealId), gate),
            webhook_endpoints: gated(WebhookEndpointsById(ctx.clone()), gate),
            attempts_of_delivery: gated(AttemptsOfDelivery(ctx.clone()), gate),
            metrics: MetricLoaders::new(&ctx, gate),
            exchange: tokio::sync::OnceCell::new(),
            settings_db: services.dbs.primary.clone(),
            custom_fields: tokio::sync::OnceCell::new(),
        }
    }
}

impl Loaders {
    /// The loaders that keep what they loaded, for a subscription to empty before each
    /// event: a connection lives long, and its events must not show old names.
    pub fn caches(&self) -> LoaderCaches {
        LoaderCaches { users: self.users.clone(), stages: self.stages.clone() }
    }
}

pub struct LoaderCaches {
    users: Arc<DataLoader<UsersById, HashMapCache>>,
    stages: Arc<DataLoader<StagesById, HashMapCache>>,
}

impl LoaderCaches {
    pub fn forget(&self) {
        self.users.clear::<i64>();
        self.stages.clear::<i64>();
    }
}

/// A DataLoader whose batches start when the request is quiet (see `batching`), never on a timer.
pub(super) fn gated<L: Send + Sync + 'static>(loader: L, gate: &PollGate) -> DataLoader<L> {
    DataLoader::new(loader, gate.spawner()).delay(Duration::ZERO)
}

/// `gated`, keeping what it loaded or was fed for the rest of the request.
fn gated_cached<L: Send + Sync + 'static>(loader: L, gate: &PollGate) -> DataLoader<L, HashMapCache> {
    DataLoader::with_cache(loader, gate.spawner(), HashMapCache::default()).delay(Duration::ZERO)
}
