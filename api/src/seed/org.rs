//! The organization: teams, users, the sales pipeline, lost reasons and revenue targets.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use entity::enums::Role;
use entity::{lost_reason, pipeline, stage, target, team, user};
use rand::Rng;
use rand::rngs::StdRng;

use super::DEMO_ADMIN_EMAIL;
use super::words::{FIRST_NAMES, LAST_NAMES, LOST_REASONS, STAGES, TEAMS};
use crate::config::SeedConfig;

pub struct Org {
    pub teams: Vec<team::Model>,
    pub users: Vec<user::Model>,
    /// Ids of the sales reps, who own the contacts, deals and meetings.
    pub rep_ids: Vec<i64>,
    pub pipeline: pipeline::Model,
    pub stages: Vec<stage::Model>,
    pub lost_reasons: Vec<lost_reason::Model>,
    pub targets: Vec<target::Model>,
}

pub fn build(rng: &mut StdRng, cfg: &SeedConfig, start: DateTime<Utc>, end: DateTime<Utc>) -> Org {
    let created = start - Duration::days(30);
    let team_count = cfg.teams.max(1);
    let teams: Vec<team::Model> = (0..team_count)
        .map(|i| {
            let base = TEAMS[i % TEAMS.len()];
            let name = if i < TEAMS.len() { base.to_owned() } else { format!("{base} {}", i / TEAMS.len() + 1) };
            team::Model { id: i as i64 + 1, name, version: 1, created_at: created, updated_at: created }
        })
        .collect();

    let mut users = Vec::new();
    let mut add_user = |email: String, name: String, role: Role, team_id: Option<i64>| {
        let id = users.len() as i64 + 1;
        users.push(user::Model {
            id,
            email,
            name,
            role,
            team_id,
            active: true,
            token_version: 0,
            version: 1,
            created_at: created,
            updated_at: created,
        });
        id
    };
    add_user(DEMO_ADMIN_EMAIL.into(), "Ada Admin".into(), Role::Admin, None);
    add_user("analyst@demo.example".into(), "Alan Analyst".into(), Role::Analyst, None);
    let mut rep_ids = Vec::new();
    for t in &teams {
        let name = person(rng);
        add_user(format!("manager{}@demo.example", t.id), name, Role::Manager, Some(t.id));
        for _ in 0..cfg.reps_per_team.max(1) {
            let n = rep_ids.len() + 1;
            let name = person(rng);
            rep_ids.push(add_user(format!("rep{n}@demo.example"), name, Role::SalesRep, Some(t.id)));
        }
    }

    let pipeline = pipeline::Model {
        id: 1,
        name: "Sales".into(),
        is_default: true,
        version: 1,
        created_at: created,
        updated_at: created,
    };
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(i, (name, probability))| stage::Model {
            id: i as i64 + 1,
            pipeline_id: pipeline.id,
            name: (*name).into(),
            position: i as i32 + 1,
            probability: *probability,
            stale_after_days: None,
            version: 1,
            created_at: created,
            updated_at: created,
        })
        .collect();
    let lost_reasons = LOST_REASONS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| lost_reason::Model {
            id: i as i64 + 1,
            name: (*name).into(),
            active: true,
            version: 1,
            created_at: created,
            updated_at: created,
        })
        .collect();

    let targets = quarterly_targets(rng, &users, start, end, created);
    Org { teams, users, rep_ids, pipeline, stages, lost_reasons, targets }
}

/// A target per rep and per team for every quarter the history touches.
fn quarterly_targets(
    rng: &mut StdRng,
    users: &[user::Model],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    created: DateTime<Utc>,
) -> Vec<target::Model> {
    let mut targets = Vec::new();
    let mut quarter = quarter_start(start.date_naive());
    while quarter < end.date_naive() {
        let next = quarter_start(quarter + Duration::days(100));
        let (from, to) = (midnight(quarter), midnight(next));
        let mut team_totals: Vec<(i64, i64)> = Vec::new();
        for rep in users.iter().filter(|u| u.role == Role::SalesRep) {
            // 30,000–90,000 a quarter, in whole hundreds, as minor units.
            let amount = rng.random_range(300..900) * 100 * 100;
            targets.push(target(targets.len(), Some(rep.id), None, from, to, amount, created));
            if let Some(team_id) = rep.team_id {
                match team_totals.iter_mut().find(|(t, _)| *t == team_id) {
                    Some((_, sum)) => *sum += amount,
                    None => team_totals.push((team_id, amount)),
                }
            }
        }
        for (team_id, sum) in team_totals {
            // Team plans are set a little under the sum of their reps' plans.
            targets.push(target(targets.len(), None, Some(team_id), from, to, sum / 10 * 9, created));
        }
        quarter = next;
    }
    targets
}

fn target(
    index: usize,
    user_id: Option<i64>,
    team_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    amount: i64,
    created: DateTime<Utc>,
) -> target::Model {
    target::Model {
        id: index as i64 + 1,
        user_id,
        team_id,
        period_start: from,
        period_end: to,
        amount,
        version: 1,
        created_at: created,
        updated_at: created,
    }
}

fn quarter_start(day: NaiveDate) -> NaiveDate {
    let month = (day.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn person(rng: &mut StdRng) -> String {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    format!("{first} {last}")
}
