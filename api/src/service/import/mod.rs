//! History import: companies, contacts, deals with their stage history, and meetings from another CRM,
//! keyed by external id, validated as a whole and written in one transaction.

mod apply;
mod check;

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{DealStatus, Lifecycle, MeetingKind, MeetingStatus};

use super::scope::ensure_admin;
use super::work::{Work, Writer};
use crate::auth::Principal;
use crate::error::ApiResult;

/// A reference to another record, by database id or by a human key (an email, a name or
/// an external id, depending on what is referenced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Id(i64),
    Key(String),
}

/// Everything one import writes, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub companies: Vec<CompanyRecord>,
    pub contacts: Vec<ContactRecord>,
    pub deals: Vec<DealRecord>,
    pub meetings: Vec<MeetingRecord>,
    pub notes: Vec<NoteRecord>,
    pub tasks: Vec<TaskRecord>,
}

#[derive(Debug, Clone, Default)]
pub struct CompanyRecord {
    pub external_id: String,
    /// A user, by id or email; the importing admin when omitted.
    pub owner: Option<Ref>,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    /// Custom field values: they replace the record's (omitted: its values stay).
    pub custom_fields: Option<crate::service::custom_fields::values::Patch>,
}

/// Which company a contact works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanyRef {
    /// By database id or by external id (in this batch or imported before).
    Ref(Ref),
    /// By name, ignoring case and runs of spaces: a company of this batch or of the database,
    /// else a new one owned by the contact's owner (how other CRMs export a contact's company).
    Name(String),
}

#[derive(Debug, Clone, Default)]
pub struct ContactRecord {
    pub external_id: String,
    /// A user, by id or email; the importing admin when omitted.
    pub owner: Option<Ref>,
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<CompanyRef>,
    pub source: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    pub disqualify_reason: Option<String>,
    pub disqualified_at: Option<DateTime<Utc>>,
    pub acquisition_cost: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    /// Custom field values: they replace the record's (omitted: its values stay).
    pub custom_fields: Option<crate::service::custom_fields::values::Patch>,
}

/// One entry of a deal's stage history: the stage (by id or name) and when the deal entered it.
#[derive(Debug, Clone)]
pub struct StageStep {
    pub stage: Ref,
    pub moved_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DealRecord {
    pub external_id: String,
    /// A contact, by id or by external id (in this batch or imported before).
    pub contact: Ref,
    /// A company, by id or external id; the contact's company when omitted.
    pub company: Option<Ref>,
    /// A user, by id or email; the contact's owner when omitted.
    pub owner: Option<Ref>,
    /// A pipeline, by id or name; the default pipeline when omitted.
    pub pipeline: Option<Ref>,
    pub title: String,
    pub amount: i64,
    /// ISO 4217 code of `amount`; the base currency when omitted.
    pub currency: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
    pub created_at: Option<DateTime<Utc>>,
    /// Oldest first; the last entry is the deal's current stage.
    pub stage_history: Vec<StageStep>,
    pub status: Option<DealStatus>,
    pub closed_at: Option<DateTime<Utc>>,
    /// A lost reason, by id or name; required for LOST deals.
    pub lost_reason: Option<Ref>,
    pub lost_note: Option<String>,
    /// Custom field values: they replace the record's (omitted: its values stay).
    pub custom_fields: Option<crate::service::custom_fields::values::Patch>,
}

#[derive(Debug, Clone)]
pub struct MeetingRecord {
    pub external_id: String,
    pub contact: Ref,
    /// A deal of the same contact, by id or external id.
    pub deal: Option<Ref>,
    /// A user, by id or email; the contact's owner when omitted.
    pub owner: Option<Ref>,
    pub kind: MeetingKind,
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: Option<i32>,
    pub status: Option<MeetingStatus>,
    pub outcome_logged_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// The record a note is about, by id or external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AboutRef {
    Contact(Ref),
    Company(Ref),
    Deal(Ref),
}

#[derive(Debug, Clone)]
pub struct NoteRecord {
    pub external_id: String,
    pub about: AboutRef,
    /// A user, by id or email; the importing admin when omitted.
    pub author: Option<Ref>,
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub external_id: String,
    /// The record it is about, if any.
    pub about: Option<AboutRef>,
    /// A user, by id or email; the importing admin when omitted.
    pub assignee: Option<Ref>,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub priority: Option<entity::enums::TaskPriority>,
    pub done: bool,
    /// When it was done (done tasks only); its `createdAt` when omitted.
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

/// How many records of one kind the import created and updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub companies: Counts,
    pub contacts: Counts,
    pub deals: Counts,
    pub meetings: Counts,
    pub notes: Counts,
    pub tasks: Counts,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
    }
}

impl ImportSummary {
    /// The sum of two imports' counts (the batches of one streamed import).
    pub fn add(&mut self, other: &ImportSummary) {
        self.companies.add(other.companies);
        self.contacts.add(other.contacts);
        self.deals.add(other.deals);
        self.meetings.add(other.meetings);
        self.notes.add(other.notes);
        self.tasks.add(other.tasks);
    }

    /// One line of counts, as the command line prints it.
    pub fn line(&self) -> String {
        let lists = [
            ("companies", self.companies),
            ("contacts", self.contacts),
            ("deals", self.deals),
            ("meetings", self.meetings),
            ("notes", self.notes),
            ("tasks", self.tasks),
        ];
        let parts: Vec<String> =
            lists.iter().map(|(list, c)| format!("{list} {} created, {} updated", c.created, c.updated)).collect();
        parts.join("; ")
    }
}

/// Imports `batch` (ADMIN only). Every record is checked first; if any is invalid the
/// error lists each one by list, index and field, and nothing is written. Records whose
/// external id already exists are updated in place (a deal's stage history is replaced),
/// so running the same import twice changes nothing the second time but versions.
pub async fn import(principal: &Principal, w: &Writer, batch: &ImportBatch) -> ApiResult<ImportSummary> {
    let mut work = w.begin(principal).await?;
    let summary = import_into(principal, &mut work, batch).await?;
    work.commit().await?;
    Ok(summary)
}

/// `import` inside `work`, which the caller commits: a streamed import writes batch after
/// batch, each referring to the records of the ones before.
pub async fn import_into(principal: &Principal, work: &mut Work, batch: &ImportBatch) -> ApiResult<ImportSummary> {
    ensure_admin(principal)?;
    let known = check::Known::load(work.db(), batch).await?;
    let plan = check::plan(principal, batch, &known)?;
    apply::apply(work, plan).await
}
