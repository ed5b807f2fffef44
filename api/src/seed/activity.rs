//! Sales activity: contacts, deals with their stage history, and meetings with outcomes.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{DealStatus, Lifecycle, MeetingKind, MeetingStatus, TaskPriority};
use entity::{company, contact, deal, deal_stage_event, meeting, task};
use rand::Rng;
use rand::rngs::StdRng;

use super::org::Org;
use super::random::{days, instant, pick, weighted_index};
use super::words::{
    COMPANIES, DISQUALIFY_REASONS, FIRST_NAMES, INDUSTRIES, LAST_NAMES, LOST_REASONS, MEETING_NOTES, SOURCES,
    TASK_TITLES,
};
use crate::config::SeedConfig;

pub struct Activity {
    pub companies: Vec<company::Model>,
    pub contacts: Vec<contact::Model>,
    pub deals: Vec<deal::Model>,
    pub events: Vec<deal_stage_event::Model>,
    pub meetings: Vec<meeting::Model>,
    pub tasks: Vec<task::Model>,
}

/// Chance that a deal moves on from a stage, and that it skips the next one when it does.
const ADVANCE: f64 = 0.75;
const SKIP: f64 = 0.08;
/// Chance that a deal in the last stage is won.
const WIN_FROM_LAST: f64 = 0.6;

pub fn build(rng: &mut StdRng, cfg: &SeedConfig, org: &Org, start: DateTime<Utc>, end: DateTime<Utc>) -> Activity {
    let companies = build_companies(org, start);
    let mut contacts: Vec<contact::Model> = (0..cfg.contacts).map(|i| new_contact(rng, org, i, start, end)).collect();
    let (deals, events) = build_deals(rng, cfg, org, &mut contacts, end);
    let meetings = build_meetings(rng, cfg, &contacts, &deals, end);
    let tasks = build_tasks(rng, &deals, end);
    Activity { companies, contacts, deals, events, meetings, tasks }
}

/// Chance that an open deal has a next task planned, and that some earlier one was done.
const PLANNED: f64 = 0.7;
const DONE_BEFORE: f64 = 0.3;

/// Tasks of the open deals, assigned to the deal's owner: most have a next task due in the
/// fortnight around `end` (so some are overdue), some have a done one before it, and the rest
/// have none (the "open deals without a next task" of `dataQuality`).
fn build_tasks(rng: &mut StdRng, deals: &[deal::Model], end: DateTime<Utc>) -> Vec<task::Model> {
    let mut tasks = Vec::new();
    for deal in deals.iter().filter(|d| d.status == DealStatus::Open) {
        let mut add = |rng: &mut StdRng, done: bool| {
            let created_at = instant(rng, deal.created_at, end);
            let due_at = if done { instant(rng, created_at, end) } else { end + days(rng, -10, 14) };
            let priority =
                *pick(rng, &[TaskPriority::Low, TaskPriority::Normal, TaskPriority::Normal, TaskPriority::High]);
            tasks.push(task::Model {
                id: tasks.len() as i64 + 1,
                title: (*pick(rng, TASK_TITLES)).to_owned(),
                due_at: Some(due_at),
                done,
                done_at: done.then_some(due_at),
                priority,
                assignee_id: deal.owner_id,
                created_by: deal.owner_id,
                contact_id: None,
                company_id: None,
                deal_id: Some(deal.id),
                external_id: None,
                version: 1,
                created_at,
                updated_at: if done { due_at } else { created_at },
                deleted_at: None,
            });
        };
        if rng.random_bool(DONE_BEFORE) {
            add(rng, true);
        }
        if rng.random_bool(PLANNED) {
            add(rng, false);
        }
    }
    tasks
}

/// One company per name of `COMPANIES` (ids from 1 in that order), owned by the reps in turn.
fn build_companies(org: &Org, start: DateTime<Utc>) -> Vec<company::Model> {
    const SIZES: [i32; 5] = [12, 45, 230, 1_200, 5_400];
    COMPANIES
        .iter()
        .enumerate()
        .map(|(i, name)| company::Model {
            id: i as i64 + 1,
            owner_id: org.rep_ids[i % org.rep_ids.len()],
            name: (*name).into(),
            domain: Some(format!("{}.example", domain_of(name))),
            industry: Some(INDUSTRIES[i % INDUSTRIES.len()].into()),
            size: Some(SIZES[i % SIZES.len()]),
            external_id: None,
            version: 1,
            created_at: start,
            updated_at: start,
            deleted_at: None,
            custom_fields: serde_json::json!({}),
        })
        .collect()
}

/// The name of the seeded company a contact works for.
fn company_name(contact: &contact::Model) -> &'static str {
    contact
        .company_id
        .and_then(|id| COMPANIES.get(usize::try_from(id).ok()?.checked_sub(1)?))
        .copied()
        .unwrap_or("Deal")
}

/// `Acme Corp` → `acmecorp`.
fn domain_of(company: &str) -> String {
    company.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect()
}

fn new_contact(rng: &mut StdRng, org: &Org, i: usize, start: DateTime<Utc>, end: DateTime<Utc>) -> contact::Model {
    let created = instant(rng, start, end);
    let first = *pick(rng, FIRST_NAMES);
    let last = *pick(rng, LAST_NAMES);
    let company_index = rng.random_range(0..COMPANIES.len());
    let source = &SOURCES[weighted_index(rng, SOURCES.iter().map(|s| s.1))];
    let (lo, hi) = source.2;
    let disqualified = rng.random_bool(0.12);
    let domain = domain_of(COMPANIES[company_index]);
    contact::Model {
        id: i as i64 + 1,
        owner_id: *pick(rng, &org.rep_ids),
        first_name: first.into(),
        last_name: last.into(),
        email: Some(format!("{}.{}{}@{domain}.example", first.to_lowercase(), last.to_lowercase(), i + 1)),
        phone: Some(format!("+1-555-{:04}", rng.random_range(0..10_000))),
        company_id: Some(company_index as i64 + 1),
        source: Some(source.0.into()),
        lifecycle: if disqualified { Lifecycle::Disqualified } else { Lifecycle::Lead },
        disqualify_reason: disqualified.then(|| (*pick(rng, DISQUALIFY_REASONS)).to_owned()),
        disqualified_at: disqualified.then(|| (created + days(rng, 1, 10)).min(end)),
        acquisition_cost: rng.random_range(lo..=hi) * 100,
        external_id: None,
        version: 1,
        created_at: created,
        updated_at: created,
        deleted_at: None,
        custom_fields: serde_json::json!({ "tier": super::fields::TIERS[i % super::fields::TIERS.len()] }),
        merged_into_id: None,
    }
}

fn build_deals(
    rng: &mut StdRng,
    cfg: &SeedConfig,
    org: &Org,
    contacts: &mut [contact::Model],
    end: DateTime<Utc>,
) -> (Vec<deal::Model>, Vec<deal_stage_event::Model>) {
    let mut deals = Vec::with_capacity(cfg.deals);
    let mut events = Vec::with_capacity(cfg.deals * 3);
    if contacts.is_empty() {
        return (deals, events);
    }
    let last_position = org.stages.len() as i32;
    for i in 0..cfg.deals {
        let c = rng.random_range(0..contacts.len());
        let contact = &contacts[c];
        let deal_id = i as i64 + 1;
        let created = (contact.created_at + days(rng, 0, 14)).min(end - Duration::hours(1));
        let mut position = 1;
        let mut moved = created;
        let push_event = |events: &mut Vec<deal_stage_event::Model>, from: Option<i32>, to: i32, at| {
            if from.is_some()
                && let Some(previous) = events.last_mut()
            {
                previous.left_at = Some(at);
            }
            events.push(deal_stage_event::Model {
                id: events.len() as i64 + 1,
                deal_id,
                from_stage_id: from.map(|p| org.stages[(p - 1) as usize].id),
                to_stage_id: org.stages[(to - 1) as usize].id,
                moved_at: at,
                moved_by: Some(contact.owner_id),
                left_at: None,
                created_at: at,
                updated_at: at,
            });
        };
        push_event(&mut events, None, 1, created);
        // A disqualified lead's deal never leaves the first stage.
        let disqualified = contact.lifecycle == Lifecycle::Disqualified;
        while !disqualified && position < last_position && rng.random_bool(ADVANCE) {
            let next_at = moved + days(rng, 2, 21);
            if next_at >= end {
                break;
            }
            let step = if position + 2 <= last_position && rng.random_bool(SKIP) { 2 } else { 1 };
            push_event(&mut events, Some(position), position + step, next_at);
            position += step;
            moved = next_at;
        }
        let (status, closed_at) = close(rng, position == last_position, disqualified, moved, end);
        let lost = status == DealStatus::Lost;
        let reason_index = weighted_index(rng, LOST_REASONS.iter().map(|r| r.1));
        let amount = (1_500 + (rng.random::<f64>().powi(2) * 48_500.0) as i64) / 50 * 50 * 100;
        deals.push(deal::Model {
            id: deal_id,
            contact_id: contact.id,
            company_id: contact.company_id,
            owner_id: contact.owner_id,
            pipeline_id: org.pipeline.id,
            stage_id: org.stages[(position - 1) as usize].id,
            title: format!("{} – {}", company_name(contact), pick(rng, DEAL_KINDS)),
            amount,
            currency: None,
            status,
            lost_reason_id: lost.then(|| org.lost_reasons[reason_index].id),
            lost_note: (lost && rng.random_bool(0.3)).then(|| "Noted in the last call.".to_owned()),
            expected_close_date: Some((created + Duration::days(45)).date_naive()),
            closed_at,
            stage_entered_at: moved,
            max_stage_position: position,
            external_id: None,
            version: 1,
            created_at: created,
            updated_at: closed_at.unwrap_or(moved),
            deleted_at: None,
            custom_fields: serde_json::json!({ "contract_months": super::fields::contract_months(deal_id) }),
        });
        let contact = &mut contacts[c];
        contact.lifecycle = match (contact.lifecycle, status) {
            (Lifecycle::Disqualified, _) => Lifecycle::Disqualified,
            (_, DealStatus::Won) | (Lifecycle::Customer, _) => Lifecycle::Customer,
            _ => Lifecycle::Qualified,
        };
    }
    (deals, events)
}

const DEAL_KINDS: &[&str] = &["Annual plan", "Pilot", "Expansion", "Renewal", "Team licenses", "Onboarding package"];

/// How a deal ends: won from the last stage, lost when it stalled long enough ago, else open.
fn close(
    rng: &mut StdRng,
    at_last_stage: bool,
    disqualified: bool,
    last_move: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (DealStatus, Option<DateTime<Utc>>) {
    let closed = last_move + days(rng, 1, 25);
    if closed >= end {
        return (DealStatus::Open, None);
    }
    if disqualified {
        return (DealStatus::Lost, Some(closed));
    }
    if at_last_stage && rng.random_bool(WIN_FROM_LAST) {
        return (DealStatus::Won, Some(closed));
    }
    if end - last_move > Duration::days(30) && rng.random_bool(0.9) {
        return (DealStatus::Lost, Some(closed));
    }
    (DealStatus::Open, None)
}

fn build_meetings(
    rng: &mut StdRng,
    cfg: &SeedConfig,
    contacts: &[contact::Model],
    deals: &[deal::Model],
    end: DateTime<Utc>,
) -> Vec<meeting::Model> {
    let mut meetings: Vec<meeting::Model> = Vec::with_capacity(cfg.meetings);
    if contacts.is_empty() {
        return meetings;
    }
    let horizon = end + Duration::days(21);
    let mut deal_of_contact = std::collections::HashMap::new();
    for d in deals {
        deal_of_contact.entry(d.contact_id).or_insert(d.id);
    }
    while meetings.len() < cfg.meetings {
        let contact = pick(rng, contacts);
        let deal_id = deal_of_contact.get(&contact.id).copied().filter(|_| rng.random_bool(0.7));
        let scheduled = instant(rng, contact.created_at + Duration::hours(2), horizon);
        let kind = [MeetingKind::Call, MeetingKind::Demo, MeetingKind::Meeting, MeetingKind::FollowUp]
            [weighted_index(rng, [40u32, 25, 25, 10].into_iter())];
        let created = (scheduled - days(rng, 1, 10)).max(contact.created_at);
        let id = meetings.len() as i64 + 1;
        let mut m = new_meeting(rng, id, contact, deal_id, kind, scheduled, created);
        if scheduled < end {
            m.status = [
                MeetingStatus::Completed,
                MeetingStatus::NoShow,
                MeetingStatus::Canceled,
                MeetingStatus::Rescheduled,
                MeetingStatus::Scheduled,
            ][weighted_index(rng, [700u32, 135, 70, 50, 45].into_iter())];
            if m.status != MeetingStatus::Scheduled {
                m.outcome_logged_at =
                    Some(scheduled + Duration::minutes(i64::from(m.duration_minutes) + rng.random_range(0..180)));
            }
        }
        let status = m.status;
        let logged = m.outcome_logged_at;
        meetings.push(m);
        // A no-show is often followed up (within the hour about half the time); a
        // rescheduled meeting always gets its replacement, linked from the original.
        if let Some(logged) = logged
            && meetings.len() < cfg.meetings
            && (status == MeetingStatus::Rescheduled || (status == MeetingStatus::NoShow && rng.random_bool(0.5)))
        {
            let next_id = meetings.len() as i64 + 1;
            let created = logged + Duration::minutes(rng.random_range(5..120));
            let next_at = created + days(rng, 1, 6);
            let next_kind = if status == MeetingStatus::NoShow { MeetingKind::FollowUp } else { kind };
            let mut next =
                new_meeting(rng, next_id, contact, meetings[meetings.len() - 1].deal_id, next_kind, next_at, created);
            if next_at < end {
                next.status = if rng.random_bool(0.8) { MeetingStatus::Completed } else { MeetingStatus::NoShow };
                next.outcome_logged_at = Some(next_at + Duration::minutes(i64::from(next.duration_minutes) + 15));
            }
            if status == MeetingStatus::Rescheduled
                && let Some(original) = meetings.last_mut()
            {
                original.rescheduled_to_id = Some(next_id);
            }
            meetings.push(next);
        }
    }
    meetings
}

fn new_meeting(
    rng: &mut StdRng,
    id: i64,
    contact: &contact::Model,
    deal_id: Option<i64>,
    kind: MeetingKind,
    scheduled: DateTime<Utc>,
    created: DateTime<Utc>,
) -> meeting::Model {
    meeting::Model {
        id,
        contact_id: contact.id,
        deal_id,
        owner_id: contact.owner_id,
        kind,
        scheduled_at: scheduled,
        duration_minutes: [15, 30, 45, 60][rng.random_range(0..4)],
        status: MeetingStatus::Scheduled,
        outcome_logged_at: None,
        notes: rng.random_bool(0.4).then(|| (*pick(rng, MEETING_NOTES)).to_owned()),
        client_key: None,
        rescheduled_to_id: None,
        followed_up: false,
        external_id: None,
        version: 1,
        created_at: created,
        updated_at: created,
        deleted_at: None,
    }
}
