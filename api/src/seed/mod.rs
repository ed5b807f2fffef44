//! Generated CRM data: the demo organization of `serve --demo` and `crm-api seed` at any size.
//!
//! Everything is drawn from one RNG seeded with `--seed` and anchored at `--end-date`, so the
//! same arguments always produce the same rows. Rows are built in memory with explicit ids
//! (1M deals, 3M stage events and 2M meetings take about 2 GB) and inserted with multi-row
//! statements in one write transaction, with a progress line on stderr.

mod activity;
mod fields;
mod org;
mod progress;
mod random;
mod words;

use std::fmt;

use chrono::{Duration, NaiveTime, Utc};
use entity::enums::DealStatus;
use entity::prelude::*;
use entity::user_password;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, Statement,
};

use crate::auth::password::hash_password;
use crate::bus::Bus;
use crate::config::SeedConfig;
use crate::error::ApiResult;
use crate::service::work::{Actor, Writer};
use progress::Progress;

pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.example";
/// Rows per multi-row INSERT: below SQLite's 32,766 bound parameters for the widest table.
const CHUNK: usize = 1000;

/// Counts of what was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub teams: usize,
    pub users: usize,
    pub companies: usize,
    pub contacts: usize,
    pub deals: usize,
    pub won: usize,
    pub lost: usize,
    pub stage_events: usize,
    pub meetings: usize,
    pub tasks: usize,
    pub targets: usize,
}

impl Summary {
    /// Every row the summary stands for (the pipeline included).
    pub fn rows(&self) -> usize {
        self.teams
            + self.users
            + 1
            + STAGE_COUNT
            + LOST_REASON_COUNT
            + self.targets
            + self.companies
            + self.contacts
            + self.deals
            + self.stage_events
            + self.meetings
            + self.tasks
    }
}

const STAGE_COUNT: usize = words::STAGES.len();
const LOST_REASON_COUNT: usize = words::LOST_REASONS.len();

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} teams, {} users, {} companies, {} contacts, {} deals ({} won, {} lost), {} stage events, {} meetings, {} tasks, {} targets",
            self.teams,
            self.users,
            self.companies,
            self.contacts,
            self.deals,
            self.won,
            self.lost,
            self.stage_events,
            self.meetings,
            self.tasks,
            self.targets
        )
    }
}

/// True when no user exists yet: seeding only ever fills an empty database.
pub async fn is_empty(db: &impl ConnectionTrait) -> ApiResult<bool> {
    Ok(User::find().count(db).await? == 0)
}

pub async fn generate(db: &DatabaseConnection, cfg: &SeedConfig) -> ApiResult<Summary> {
    let end_day = cfg.end_date.unwrap_or_else(|| Utc::now().date_naive());
    let end = end_day.and_time(NaiveTime::MIN).and_utc();
    let start = end - Duration::days(30 * i64::from(cfg.months.max(1)));
    // Every generated user shares the one demo password, so one hash serves them all.
    let password_hash = hash_password(&cfg.password)?;
    let mut rng = StdRng::seed_from_u64(cfg.seed);

    let org = org::build(&mut rng, cfg, start, end);
    let passwords: Vec<user_password::Model> = org
        .users
        .iter()
        .map(|u| user_password::Model { user_id: u.id, password_hash: password_hash.clone() })
        .collect();
    let act = activity::build(&mut rng, cfg, &org, start, end);

    let summary = Summary {
        teams: org.teams.len(),
        users: org.users.len(),
        companies: act.companies.len(),
        contacts: act.contacts.len(),
        deals: act.deals.len(),
        won: act.deals.iter().filter(|d| d.status == DealStatus::Won).count(),
        lost: act.deals.iter().filter(|d| d.status == DealStatus::Lost).count(),
        stage_events: act.events.len(),
        meetings: act.meetings.len(),
        tasks: act.tasks.len(),
        targets: org.targets.len(),
    };
    let mut progress = Progress::new(!cfg.quiet, summary.rows() + passwords.len());
    // A bulk unit of work: no per-record events (the log of a freshly seeded database
    // starts after the seed), every funnel cell recomputed when it commits.
    let work = Writer::new(db.clone(), Bus::detached()).begin_bulk(Actor::default()).await?;
    let tx = work.db();
    insert_all(tx, org.teams, &mut progress).await?;
    insert_all(tx, org.users, &mut progress).await?;
    insert_all(tx, passwords, &mut progress).await?;
    insert_all(tx, vec![org.pipeline], &mut progress).await?;
    insert_all(tx, org.stages, &mut progress).await?;
    insert_all(tx, org.lost_reasons, &mut progress).await?;
    insert_all(tx, org.targets, &mut progress).await?;
    let definitions = fields::definitions(start);
    for field in &definitions {
        let field = crate::service::custom_fields::Definition::from_model(field.clone())?;
        if let Some(ddl) = crate::service::custom_fields::query::index_sql(tx.get_database_backend(), &field)? {
            tx.execute_unprepared(&ddl).await?;
        }
    }
    insert_all(tx, definitions, &mut progress).await?;
    insert_all(tx, act.companies, &mut progress).await?;
    insert_all(tx, act.contacts, &mut progress).await?;
    insert_all(tx, act.deals, &mut progress).await?;
    insert_all(tx, act.events, &mut progress).await?;
    // Newest first: a rescheduled meeting links to the one after it, which must exist first.
    insert_all(tx, act.meetings.into_iter().rev().collect(), &mut progress).await?;
    insert_all(tx, act.tasks, &mut progress).await?;
    if tx.get_database_backend() == DatabaseBackend::Postgres {
        // Rows were inserted with explicit ids: move each sequence past them.
        for table in [
            "teams",
            "users",
            "pipelines",
            "stages",
            "lost_reasons",
            "targets",
            "custom_field_definitions",
            "companies",
            "contacts",
            "deals",
            "deal_stage_events",
            "meetings",
            "tasks",
        ] {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            );
            tx.execute_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await?;
        }
    }
    work.commit().await?;
    progress.finish();
    settle(db).await?;
    Ok(summary)
}

/// After a bulk load the planner's statistics are stale, and on SQLite the whole load sits in
/// the write-ahead log (2 GB at the benchmark size): refresh the statistics and fold the log
/// into the database file, truncating it.
async fn settle(db: &DatabaseConnection) -> ApiResult<()> {
    let backend = db.get_database_backend();
    let statements: &[&str] = match backend {
        DatabaseBackend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)", "ANALYZE"],
        _ => &["ANALYZE"],
    };
    for sql in statements {
        db.execute_raw(Statement::from_string(backend, (*sql).to_owned())).await?;
    }
    Ok(())
}

async fn insert_all<M, A>(db: &impl ConnectionTrait, models: Vec<M>, progress: &mut Progress) -> ApiResult<()>
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let mut rows = models.into_iter().map(|m| m.into_active_model().reset_all()).peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        let len = chunk.len();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(db).await?;
        progress.advance(len);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(seed: u64) -> (org::Org, activity::Activity) {
        let cfg = SeedConfig { seed, end_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30), ..SeedConfig::default() };
        let end = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).map(|d| d.and_time(NaiveTime::MIN).and_utc());
        let end = end.expect("valid date");
        let start = end - Duration::days(360);
        let mut rng = StdRng::seed_from_u64(seed);
        let org = org::build(&mut rng, &cfg, start, end);
        let act = activity::build(&mut rng, &cfg, &org, start, end);
        (org, act)
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        let (org_a, act_a) = rows(7);
        let (org_b, act_b) = rows(7);
        assert_eq!(org_a.users, org_b.users);
        assert_eq!(org_a.targets, org_b.targets);
        assert_eq!(act_a.contacts, act_b.contacts);
        assert_eq!(act_a.deals, act_b.deals);
        assert_eq!(act_a.events, act_b.events);
        assert_eq!(act_a.meetings, act_b.meetings);
        let (_, act_c) = rows(8);
        assert_ne!(act_a.deals, act_c.deals);
    }

    #[test]
    fn each_stay_ends_when_the_next_move_of_its_deal_starts() {
        let (_, act) = rows(7);
        assert!(act.events.len() > act.deals.len(), "some deals must have moved");
        for pair in act.events.windows(2) {
            let (this, next) = (&pair[0], &pair[1]);
            if this.deal_id == next.deal_id {
                assert_eq!(this.left_at, Some(next.moved_at), "{this:?}");
            } else {
                assert_eq!(this.left_at, None, "the last stay of deal {} is still open", this.deal_id);
            }
        }
    }
}
