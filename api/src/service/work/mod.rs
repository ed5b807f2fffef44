//! The one write path (SPEC section 8.1). Every write — mutations, imports, the CLI,
//! seeding, stage reordering — is a `Work`: it owns, in this order, the transaction
//! (`BEGIN IMMEDIATE` on SQLite), the idempotency claim, the writes, the upkeep of derived
//! data for the records it touched, the change events, the commit, and after the commit
//! the cache invalidation and the wake-up of listeners.
//!
//! A write function only says what to write (`insert`, `update`); which events that makes,
//! which funnel cells it touches and whether credentials change follows from the table's
//! `Tracked` declaration. So a new mutation cannot forget any of these steps.

mod diff;
pub mod tracked;
mod upkeep;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, IdenStatic, IntoActiveModel,
    Iterable, ModelTrait, QueryFilter, QuerySelect,
};

use self::tracked::{Derived, Tracked, int};
use super::changes::log::{self, NewEvent};
use super::idempotency::{self, Claim};
use crate::auth::Principal;
use crate::bus::Bus;
use crate::error::{ApiError, ApiResult, duplicate_as};

/// What every write needs: the primary database and the bus to wake after commits.
#[derive(Clone, Debug)]
pub struct Writer {
    pub db: DatabaseConnection,
    pub bus: Bus,
}

/// Who a change is attributed to in the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self { user_id: Some(p.user_id), api_key_id: p.api_key_id }
    }
}

/// How a keyed write starts: a unit of work holding the claimed key, or the remembered result.
pub enum Begun {
    Fresh(Box<Work>),
    Replay(String),
}

/// Which row an update may change: `id` within `scope`, at `version` when given. A row
/// outside the scope is NOT_FOUND (`label`), a stale version CONFLICT.
pub struct Target {
    pub id: i64,
    pub scope: Condition,
    pub version: Option<i32>,
    pub label: &'static str,
    /// Field and message for a unique-constraint violation.
    pub unique: (&'static str, &'static str),
    /// Soft-deleted rows may be written too (an import restores them).
    pub include_deleted: bool,
}

impl Target {
    pub fn new(id: i64, label: &'static str) -> Self {
        Self {
            id,
            scope: Condition::all(),
            version: None,
            label,
            unique: ("id", "duplicate value"),
            include_deleted: false,
        }
    }
    pub fn scope(mut self, scope: Condition) -> Self {
        self.scope = scope;
        self
    }
    pub fn version(mut self, version: Option<i32>) -> Self {
        self.version = version;
        self
    }
    pub fn unique(mut self, field: &'static str, message: &'static str) -> Self {
        self.unique = (field, message);
        self
    }
    pub fn include_deleted(mut self) -> Self {
        self.include_deleted = true;
        self
    }
}

pub struct Work {
    tx: DatabaseTransaction,
    /// For what happens after the commit.
    db: DatabaseConnection,
    bus: Bus,
    actor: Actor,
    claim: Option<(i64, String)>,
    cells: upkeep::Cells,
    events: Vec<NewEvent>,
    credentials_changed: bool,
    /// A trial run that is never committed (an import's validating pass): no events are
    /// kept, so its memory does not grow with the records it writes.
    trial: bool,
}

impl Writer {
    pub fn new(db: DatabaseConnection, bus: Bus) -> Self {
        Self { db, bus }
    }

    /// Opens a unit of work acting as `actor`.
    pub async fn begin(&self, actor: impl Into<Actor>) -> ApiResult<Work> {
        let tx = crate::db::begin_write(&self.db).await?;
        Ok(self.work(tx, actor.into()))
    }

    /// A unit of work for a bulk job (seeding, rebuilding): no statement timeout, and
    /// every funnel cell recomputed at the end.
    pub async fn begin_bulk(&self, actor: impl Into<Actor>) -> ApiResult<Work> {
        let tx = crate::db::begin_bulk(&self.db).await?;
        let mut work = self.work(tx, actor.into());
        work.cells.everything();
        Ok(work)
    }

    /// Opens a unit of work and claims `claim` (if any) in it before any write; a key used
    /// before replays its first result instead.
    pub async fn begin_keyed(&self, actor: impl Into<Actor>, claim: Option<&Claim<'_>>) -> ApiResult<Begun> {
        let tx = crate::db::begin_write(&self.db).await?;
        let Some(claim) = claim else { return Ok(Begun::Fresh(Box::new(self.work(tx, actor.into())))) };
        if let Some(previous) = idempotency::replay(&tx, claim).await? {
            tx.rollback().await?;
            return Ok(Begun::Replay(previous));
        }
        if idempotency::remember(&tx, claim, "").await? {
            let mut work = self.work(tx, actor.into());
            work.claim = Some((claim.user_id, claim.key.to_owned()));
            return Ok(Begun::Fresh(Box::new(work)));
        }
        // Another copy of this request committed first: replay its result.
        tx.rollback().await?;
        let previous = idempotency::replay(&self.db, claim).await?;
        previous
            .map(Begun::Replay)
            .ok_or_else(|| ApiError::Conflict("this request is already being processed; retry".into()))
    }

    fn work(&self, tx: DatabaseTransaction, actor: Actor) -> Work {
        Work {
            tx,
            db: self.db.clone(),
            bus: self.bus.clone(),
            actor,
            claim: None,
            cells: upkeep::Cells::default(),
            events: Vec::new(),
            credentials_changed: false,
            trial: false,
        }
    }
}

impl Work {
    /// The transaction, for reads and for writes that are not records of their own (a
    /// deal's stage history, derived columns).
    pub fn db(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Inserts `row` and logs it as CREATED.
    pub async fn insert<E, A>(&mut self, row: A) -> ApiResult<E::Model>
    where
        E: Tracked,
        E::Model: IntoActiveModel<A>,
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + Into<E::ActiveModel> + Clone,
    {
        self.insert_mapped(row, ApiError::from).await
    }

    /// `insert`, reporting a unique-constraint violation as BAD_USER_INPUT on `field`.
    pub async fn insert_unique<E, A>(
        &mut self,
        row: A,
        field: &'static str,
        message: &'static str,
    ) -> ApiResult<E::Model>
    where
        E: Tracked,
        E::Model: IntoActiveModel<A>,
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + Into<E::ActiveModel> + Clone,
    {
        self.insert_mapped(row, duplicate_as(field, message)).await
    }

    async fn insert_mapped<E, A>(&mut self, row: A, map: impl Fn(sea_orm::DbErr) -> ApiError) -> ApiResult<E::Model>
    where
        E: Tracked,
        E::Model: IntoActiveModel<A>,
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + Into<E::ActiveModel> + Clone,
    {
        let changes: E::ActiveModel = row.clone().into();
        let derived = E::derived(&changes);
        if let Some(meeting) = E::meeting_changes(&changes) {
            self.cells.before_meetings(&self.tx, &[], meeting).await?;
        }
        let created = row.insert(&self.tx).await.map_err(map)?;
        match derived {
            Derived::Deal => self.cells.created_deal(int(created.get(E::id_column())).unwrap_or_default()),
            Derived::Credentials => self.credentials_changed = true,
            // A new stage or contact changes no deal's cells (a reorder after it is tracked).
            Derived::StagePositions | Derived::Nothing | Derived::ContactSource => {}
        }
        self.record::<E>(None, &created);
        Ok(created)
    }

    /// Applies `changes` to the row `target` names, bumps its version, and logs the fields
    /// that changed with their values before and after. Returns the row as written.
    pub async fn update<E>(&mut self, target: Target, changes: E::ActiveModel) -> ApiResult<E::Model>
    where
        E: Tracked,
        E::ActiveModel: Send,
    {
        let derived = E::derived(&changes);
        let Target { id, scope, version, label, unique, include_deleted } = target;
        // Derived data locks first (see `funnel_cells::retract`: one lock order for all).
        self.prepare_updates::<E>(&[id], &changes).await?;
        // Nested, not added to: a scope may be an `any` (visible by owner OR by record).
        let mut visible = Condition::all().add(scope).add(E::id_column().eq(id));
        if let Some(deleted) = E::deleted_column().filter(|_| !include_deleted) {
            visible = visible.add(deleted.is_null());
        }
        let before =
            E::find().filter(visible).lock_exclusive().one(&self.tx).await?.ok_or(ApiError::NotFound(label))?;
        if let (Some(wanted), Some(column)) = (version, E::version_column())
            && int(before.get(column)) != Some(i64::from(wanted))
        {
            return Err(ApiError::Conflict(format!(
                "this {} was changed by someone else since version {wanted}; reload it and retry",
                label.to_lowercase()
            )));
        }
        if derived == Derived::StagePositions
            && let Some(pipeline) = stage_pipeline::<E>(&before)
        {
            self.cells.before_positions(&self.tx, pipeline).await?;
        }
        let mut update = E::update_many().set(changes).filter(E::id_column().eq(id));
        if let Some(column) = E::version_column() {
            update = update.col_expr(column, Expr::col(column).add(1));
        }
        let written = update.exec_with_returning(&self.tx).await.map_err(duplicate_as(unique.0, unique.1))?;
        let after = written.into_iter().next().ok_or(ApiError::NotFound(label))?;
        if derived == Derived::Credentials {
            self.credentials_changed = true;
        }
        self.record::<E>(Some(&before), &after);
        Ok(after)
    }

    /// Records a change that the caller wrote with statements of its own (a multi-step
    /// update such as renumbering stages), exactly as `update` would have.
    pub async fn track<E>(&mut self, before: &E::Model, after: &E::Model) -> ApiResult<()>
    where
        E: Tracked,
    {
        let mut changes = <E::ActiveModel as ActiveModelTrait>::default();
        for column in E::Column::iter() {
            let now = after.get(column);
            if before.get(column) != now {
                changes.set(column, now);
            }
        }
        match E::derived(&changes) {
            Derived::StagePositions => {
                if let Some(pipeline) = stage_pipeline::<E>(after) {
                    self.cells.before_positions(&self.tx, pipeline).await?;
                }
            }
            Derived::Credentials => self.credentials_changed = true,
            // Rows with cells are changed through `update`, which retracts them first.
            Derived::Deal | Derived::ContactSource | Derived::Nothing => {}
        }
        self.record::<E>(Some(before), after);
        Ok(())
    }

    /// Prepares derived data for updating rows `ids` with changes like `changes`, all at
    /// once. Only an optimization for batches: `update` prepares each row it changes that
    /// was not prepared before.
    pub async fn prepare_updates<E: Tracked>(&mut self, ids: &[i64], changes: &E::ActiveModel) -> ApiResult<()> {
        if let Some(meeting) = E::meeting_changes(changes) {
            self.cells.before_meetings(&self.tx, ids, meeting).await?;
        }
        match E::derived(changes) {
            Derived::Deal => self.cells.before_deals(&self.tx, ids).await,
            Derived::ContactSource => self.cells.before_contact_sources(&self.tx, ids).await,
            _ => Ok(()),
        }
    }

    /// Logs the change and counts it in the cells it touches (meetings' cells are counted
    /// per write; deals' when the work settles).
    fn record<E: Tracked>(&mut self, before: Option<&E::Model>, after: &E::Model) {
        if let Some(meeting) = E::as_meeting(after) {
            self.cells.meeting_written(before.and_then(E::as_meeting), meeting);
        }
        if self.trial {
            return;
        }
        if let Some(event) = diff::event::<E>(before, after, self.actor) {
            self.events.push(event);
        }
    }

    /// Settles derived data, stores `response` under the claimed idempotency key, appends
    /// the events, commits, then invalidates caches and wakes listeners.
    pub async fn commit_with(self, response: &str) -> ApiResult<()> {
        let Work { tx, db, bus, claim, cells, events, credentials_changed, .. } = self;
        cells.settle(&tx).await?;
        if let Some((user_id, key)) = claim {
            idempotency::store(&tx, user_id, &key, response).await?;
        }
        // Last before the commit: on PostgreSQL it takes the lock that orders the log.
        let last = log::append(&tx, events).await?;
        tx.commit().await?;
        if credentials_changed {
            bus.credentials_changed();
        }
        if let Some(seq) = last {
            bus.committed(seq);
        }
        // The write is done; a replica that misses this hears of it within a second anyway
        // (its log reader also looks once a second, and its credential cache expires).
        if let Err(err) = log::notify(&db, last, credentials_changed.then(|| bus.origin())).await {
            tracing::warn!(error = %err, "notifying the other replicas failed");
        }
        Ok(())
    }

    pub async fn commit(self) -> ApiResult<()> {
        if self.trial {
            return Err(ApiError::internal("a trial unit of work cannot commit"));
        }
        self.commit_with("").await
    }

    /// Makes this a trial run: its writes are checked like any other but keep no events,
    /// and it can only be rolled back (dropped).
    pub fn trial(&mut self) {
        self.trial = true;
    }
}

/// A stage row's pipeline (for the recompute a position change needs).
fn stage_pipeline<E: Tracked>(model: &E::Model) -> Option<i64> {
    let column = E::Column::iter().find(|c| c.as_str() == "pipeline_id")?;
    int(model.get(column))
}
