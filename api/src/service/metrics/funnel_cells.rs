//! Keeps the funnel's summary cells (`funnel_deal_cells`, `funnel_stay_cells` and their
//! per-day twins) equal to what the funnel's raw statements compute from the deals: a write retracts the contribution of
//! the deals it touches before changing them and adds it back after, in its transaction.
//!
//! A cell holds, for one pipeline, creation month (or day: `Grain`), owner and lead source,
//! exactly the sums the funnel's one pass groups by (status, highest position, current
//! stage, and the currency and rate day that convert its amounts), and the stays per stage: closed stays as a summed length, open ones as a count
//! and a sum of their start instants, so "up to now" is computed when the funnel is read.

use sea_orm::{ConnectionTrait, DbBackend};

use super::sql::Sql;
use crate::error::ApiResult;

/// The deals a write changes.
#[derive(Debug, Clone, Copy)]
pub enum Touched<'a> {
    /// These deals; each id once.
    Deals(&'a [i64]),
    Pipeline(i64),
    All,
}

/// Ids per statement: far below either engine's limit on bound parameters.
const CHUNK: usize = 500;

/// How finely the cells are keyed by creation time: each grain has its pair of tables, kept
/// alike. Whole months read the month cells; other whole days the day cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Month,
    Day,
}

impl Grain {
    pub const ALL: [Grain; 2] = [Grain::Month, Grain::Day];

    pub fn deal_table(self) -> &'static str {
        match self {
            Grain::Month => "funnel_deal_cells",
            Grain::Day => "funnel_deal_day_cells",
        }
    }

    pub fn stay_table(self) -> &'static str {
        match self {
            Grain::Month => "funnel_stay_cells",
            Grain::Day => "funnel_stay_day_cells",
        }
    }

    /// The key column of creation time: a month index (`year × 12 + month − 1`) or a day.
    pub fn column(self) -> &'static str {
        match self {
            Grain::Month => "created_month",
            Grain::Day => "created_day",
        }
    }

    /// The key of a deal `r`'s creation time.
    fn of_created(self, sql: &Sql) -> String {
        match self {
            Grain::Month => sql.month_index("r.created_at"),
            Grain::Day => sql.day_of("r.created_at"),
        }
    }
}

/// Locks the touched deals and takes their contribution out of the cells. Call it before
/// changing them, in the write's transaction; `add` after.
pub async fn retract(db: &impl ConnectionTrait, touched: Touched<'_>) -> ApiResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        if nothing(touched) {
            return Ok(());
        }
        // Every writer locks in one order, so that writers wait for each other instead of
        // deadlocking: the cell tables (as `lock_for_rebuild` does), the contacts (their
        // source is in the key; `deals_of_contacts` locks them for its change), the deals
        // (by id), then the deals' cell groups. After the locks, statements see the rows as
        // last committed (READ COMMITTED takes a snapshot per statement).
        execute(db, Sql::new(DbBackend::Postgres).push(LOCK_FOR_WRITE)).await?;
        lock_rows(db, touched, " FOR SHARE OF c").await?;
        lock_rows(db, touched, " ORDER BY r.id FOR UPDATE OF r").await?;
        lock_groups(db, touched).await?;
    }
    apply(db, touched, -1).await
}

/// Adds the contribution of the touched deals, as they are now, to the cells.
pub async fn add(db: &impl ConnectionTrait, touched: Touched<'_>) -> ApiResult<()> {
    if db.get_database_backend() == DbBackend::Postgres && matches!(touched, Touched::Deals(_)) {
        // A deal may have a new contact, whose source must not change before this commits,
        // or a new owner, whose cells another writer may be changing.
        lock_rows(db, touched, " FOR SHARE OF c").await?;
        lock_groups(db, touched).await?;
    }
    apply(db, touched, 1).await
}

/// The deals of these contacts, for a write that changes the contacts' lead source. On
/// PostgreSQL the contacts are locked first, so no deal joins them until the write commits.
pub async fn deals_of_contacts(db: &impl ConnectionTrait, contact_ids: &[i64]) -> ApiResult<Vec<i64>> {
    let backend = db.get_database_backend();
    let mut deal_ids = Vec::new();
    for chunk in contact_ids.chunks(CHUNK) {
        if backend == DbBackend::Postgres {
            let mut sql = Sql::new(backend);
            sql.push("SELECT id FROM contacts WHERE id IN ").list(chunk).push(" FOR UPDATE");
            execute(db, &mut sql).await?;
        }
        let mut sql = Sql::new(backend);
        sql.push("SELECT id FROM deals WHERE contact_id IN ").list(chunk);
        for row in db.query_all_raw(sql.statement()).await? {
            deal_ids.push(row.try_get_by_index::<i64>(0)?);
        }
    }
    Ok(deal_ids)
}

/// Locks the touched deals `r` or their contacts `c` (PostgreSQL) as `clause` says.
async fn lock_rows(db: &impl ConnectionTrait, touched: Touched<'_>, clause: &str) -> ApiResult<()> {
    let lock = |selector: &dyn Fn(&mut Sql)| {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("SELECT r.id FROM deals r JOIN contacts c ON c.id = r.contact_id WHERE ");
        selector(&mut sql);
        sql.push(clause);
        sql
    };
    for_each_chunk(touched, lock, db).await
}

/// Takes a transaction-long advisory lock per (owner, creation month) of the touched deals,
/// in key order. All cells of a deal share its owner and month, so two writers that would
/// update the same cells take the same lock first, and never hold cell rows the other
/// needs: without it, deals moving between the same stages deadlock on their shared cells.
async fn lock_groups(db: &impl ConnectionTrait, touched: Touched<'_>) -> ApiResult<()> {
    let lock = |selector: &dyn Fn(&mut Sql)| {
        let mut sql = Sql::new(DbBackend::Postgres);
        let month = sql.month_index("r.created_at");
        sql.push("SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended('funnel_cells ' || ");
        sql.push(&format!("r.owner_id || ' ' || {month}, 0) AS k FROM deals r WHERE "));
        selector(&mut sql);
        sql.push(" ORDER BY k) groups");
        sql
    };
    for_each_chunk(touched, lock, db).await
}

fn nothing(touched: Touched<'_>) -> bool {
    matches!(touched, Touched::Deals([]))
}

/// Blocks every other cell write until the transaction ends; call it before changing many
/// deals at once (stage reordering), then `rebuild`.
pub async fn lock_for_rebuild(db: &impl ConnectionTrait) -> ApiResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        let lock = "LOCK TABLE funnel_deal_cells, funnel_stay_cells, funnel_deal_day_cells, funnel_stay_day_cells \
                    IN SHARE ROW EXCLUSIVE MODE";
        execute(db, Sql::new(DbBackend::Postgres).push(lock)).await?;
    }
    Ok(())
}

/// Recomputes the cells of one pipeline, or all of them, from the deals.
pub async fn rebuild(db: &impl ConnectionTrait, pipeline_id: Option<i64>) -> ApiResult<()> {
    lock_for_rebuild(db).await?;
    for table in Grain::ALL.iter().flat_map(|g| [g.deal_table(), g.stay_table()]) {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("DELETE FROM ").push(table);
        if let Some(id) = pipeline_id {
            sql.push(" WHERE pipeline_id = ").param(id);
        }
        execute(db, &mut sql).await?;
    }
    let touched = match pipeline_id {
        Some(id) => Touched::Pipeline(id),
        None => Touched::All,
    };
    apply(db, touched, 1).await
}

const LOCK_FOR_WRITE: &str = "LOCK TABLE funnel_deal_cells, funnel_stay_cells, funnel_deal_day_cells, funnel_stay_day_cells IN ROW EXCLUSIVE MODE";

/// Adds `sign` × the touched deals' contribution to every table.
async fn apply(db: &impl ConnectionTrait, touched: Touched<'_>, sign: i8) -> ApiResult<()> {
    let backend = db.get_database_backend();
    for grain in Grain::ALL {
        for_each_chunk(touched, |selector| deal_cells(backend, grain, selector, sign), db).await?;
        for_each_chunk(touched, |selector| stay_cells(backend, grain, selector, sign), db).await?;
    }
    Ok(())
}

/// Runs the statement `build` makes for each chunk of the touched deals; the selector it
/// gets appends the condition on `deals r` for that chunk.
async fn for_each_chunk(
    touched: Touched<'_>,
    build: impl Fn(&dyn Fn(&mut Sql)) -> Sql,
    db: &impl ConnectionTrait,
) -> ApiResult<()> {
    let ids = match touched {
        Touched::Deals(ids) => ids,
        Touched::Pipeline(id) => {
            let mut sql = build(&|sql: &mut Sql| {
                sql.push("r.pipeline_id = ").param(id);
            });
            return execute(db, &mut sql).await;
        }
        Touched::All => {
            let mut sql = build(&|sql: &mut Sql| {
                sql.push("1 = 1");
            });
            return execute(db, &mut sql).await;
        }
    };
    for chunk in ids.chunks(CHUNK) {
        let mut sql = build(&|sql: &mut Sql| {
            sql.push("r.id IN ").list(chunk);
        });
        execute(db, &mut sql).await?;
    }
    Ok(())
}

/// The key columns of a cell, computed from a deal `r` and its contact `c`, in the order of
/// `key_columns`.
fn key_select(sql: &Sql, grain: Grain) -> String {
    format!("r.pipeline_id, {}, r.owner_id, COALESCE(c.source, '')", grain.of_created(sql))
}

fn key_columns(grain: Grain) -> String {
    format!("pipeline_id, {}, owner_id, source", grain.column())
}

/// `INSERT INTO funnel_deal_cells … SELECT … ON CONFLICT DO UPDATE`: the touched deals'
/// counts and sums by cell, times `sign`.
fn deal_cells(backend: DbBackend, grain: Grain, selector: &dyn Fn(&mut Sql), sign: i8) -> Sql {
    let mut sql = Sql::new(backend);
    let (key, key_columns, table) = (key_select(&sql, grain), key_columns(grain), grain.deal_table());
    let won_seconds = format!("{} - {}", sql.epoch("r.closed_at"), sql.epoch("r.created_at"));
    // Amounts in other currencies are kept apart per currency and rate day: they convert
    // when the funnel is read, at the rates of that moment.
    let money = format!("COALESCE(r.currency, ''), {}", sql.rate_day("r"));
    sql.push("INSERT INTO ").push(table).push(" (").push(&key_columns);
    sql.push(", status, max_position, stage_id, currency, rate_day, deals, amount, won_seconds) SELECT ").push(&key);
    sql.push(", CAST(r.status AS TEXT), r.max_stage_position, r.stage_id, ").push(&money);
    sql.push(&format!(", {sign} * COUNT(*), {sign} * SUM(r.amount)"));
    sql.push(&format!(", {sign} * SUM(CASE WHEN r.status = 'WON' THEN {won_seconds} ELSE 0 END)"));
    sql.push(" FROM deals r JOIN contacts c ON c.id = r.contact_id WHERE r.deleted_at IS NULL AND (");
    selector(&mut sql);
    let groups = format!("{key}, r.status, r.max_stage_position, r.stage_id, {money}");
    // In key order: a rebuild then lays the cells of a day or month next to each other on
    // disk (PostgreSQL keeps rows in insertion order), so reading a range touches few pages.
    sql.push(") GROUP BY ").push(&groups).push(" ORDER BY ").push(&groups);
    sql.push(" ON CONFLICT (").push(&key_columns);
    sql.push(", status, max_position, stage_id, currency, rate_day) DO UPDATE SET ");
    sql.push(&add_columns(table, &["deals", "amount", "won_seconds"]));
    sql
}

/// The same for the stays: each stage event of a touched deal ends when the deal left the
/// stage (`left_at`) or closed; without either it is still open.
fn stay_cells(backend: DbBackend, grain: Grain, selector: &dyn Fn(&mut Sql), sign: i8) -> Sql {
    let mut sql = Sql::new(backend);
    let (key, key_columns, table) = (key_select(&sql, grain), key_columns(grain), grain.stay_table());
    let end = "COALESCE(e.left_at, r.closed_at)";
    let length = sql.stay_length(end, "e.moved_at");
    let start = sql.stay_instant("e.moved_at");
    sql.push("INSERT INTO ").push(table).push(" (").push(&key_columns);
    sql.push(", stage_id, stays, closed_time, open_stays, open_since) SELECT ").push(&key);
    sql.push(&format!(", e.to_stage_id, {sign} * COUNT(*)"));
    sql.push(&format!(", {sign} * SUM(CASE WHEN {end} IS NULL THEN 0 ELSE {length} END)"));
    sql.push(&format!(", {sign} * SUM(CASE WHEN {end} IS NULL THEN 1 ELSE 0 END)"));
    sql.push(&format!(", {sign} * SUM(CASE WHEN {end} IS NULL THEN {start} ELSE 0 END)"));
    sql.push(" FROM deals r JOIN contacts c ON c.id = r.contact_id JOIN deal_stage_events e ON e.deal_id = r.id");
    sql.push(" WHERE r.deleted_at IS NULL AND (");
    selector(&mut sql);
    let groups = format!("{key}, e.to_stage_id");
    sql.push(") GROUP BY ").push(&groups).push(" ORDER BY ").push(&groups);
    sql.push(" ON CONFLICT (").push(&key_columns).push(", stage_id) DO UPDATE SET ");
    sql.push(&add_columns(table, &["stays", "closed_time", "open_stays", "open_since"]));
    sql
}

/// `a = table.a + excluded.a, …`
fn add_columns(table: &str, columns: &[&str]) -> String {
    columns.iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect::<Vec<_>>().join(", ")
}

async fn execute(db: &impl ConnectionTrait, sql: &mut Sql) -> ApiResult<()> {
    let statement = std::mem::replace(sql, Sql::new(db.get_database_backend())).statement();
    db.execute_raw(statement).await?;
    Ok(())
}
