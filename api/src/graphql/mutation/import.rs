//! `importRecords`: history from another CRM. The same input, read from a JSON file, is
//! what `crm-api import FILE.json` sends through `import_batch`.

use crate::graphql::types::custom_field::{self as custom_input, CustomFieldInput};
use crate::graphql::types::date::Date;
use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, InputObject, InputType, Object, Result, SimpleObject};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, InvalidRecord};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Money;
use crate::graphql::types::enums::{DealStatus, Lifecycle, MeetingKind, MeetingStatus, TaskPriority};
use crate::service::import::{
    self, AboutRef, CompanyRecord, CompanyRef, ContactRecord, Counts, DealRecord, ImportBatch, ImportSummary,
    MeetingRecord, NoteRecord, Ref, StageStep, TaskRecord,
};

/// Records to import in one all-or-nothing batch. Each list is matched by `externalId`:
/// a record seen before is updated, a new one created. Records refer to each other by
/// external id (`companyExternalId`, `contactExternalId`, `dealExternalId`), so one batch can
/// hold a company, its contacts, their deals and their meetings.
#[derive(InputObject, Default)]
pub struct ImportRecordsInput {
    /// Companies (organizations, accounts).
    #[graphql(default)]
    pub companies: Vec<ImportCompanyInput>,
    /// Contacts (leads).
    #[graphql(default)]
    pub contacts: Vec<ImportContactInput>,
    /// Deals with their stage history and close data.
    #[graphql(default)]
    pub deals: Vec<ImportDealInput>,
    /// Meetings with their original times and outcomes.
    #[graphql(default)]
    pub meetings: Vec<ImportMeetingInput>,
    /// Notes about contacts, companies and deals.
    #[graphql(default)]
    pub notes: Vec<ImportNoteInput>,
    /// Tasks, about at most one contact, company or deal each.
    #[graphql(default)]
    pub tasks: Vec<ImportTaskInput>,
}

/// A task from another system, about at most one contact, company or deal (each by external
/// id, in this batch or imported before, or by ID).
#[derive(InputObject)]
pub struct ImportTaskInput {
    /// The task's id in the system it comes from; re-importing it updates this task.
    pub external_id: String,
    /// What to do.
    pub title: String,
    /// When it is due.
    pub due_at: Option<Timestamp>,
    /// How urgent; NORMAL when omitted.
    pub priority: Option<TaskPriority>,
    /// Whether it was done.
    #[graphql(default)]
    pub done: bool,
    /// When it was done (done tasks only); `createdAt` when omitted.
    pub done_at: Option<Timestamp>,
    /// Assignee by ID; give this or `assigneeEmail`, or neither for yourself.
    pub assignee_id: Option<ID>,
    /// Assignee by email.
    pub assignee_email: Option<String>,
    /// About this contact.
    pub contact_external_id: Option<String>,
    /// About this contact, by ID.
    pub contact_id: Option<ID>,
    /// About this company.
    pub company_external_id: Option<String>,
    /// About this company, by ID.
    pub company_id: Option<ID>,
    /// About this deal.
    pub deal_external_id: Option<String>,
    /// About this deal, by ID.
    pub deal_id: Option<ID>,
    /// When it was made; now when omitted.
    pub created_at: Option<Timestamp>,
}

/// A note from another system, about exactly one contact, company or deal (each by external
/// id, in this batch or imported before, or by ID).
#[derive(InputObject)]
pub struct ImportNoteInput {
    /// The note's id in the system it comes from; re-importing it updates this note.
    pub external_id: String,
    /// About this contact.
    pub contact_external_id: Option<String>,
    /// About this contact, by ID.
    pub contact_id: Option<ID>,
    /// About this company.
    pub company_external_id: Option<String>,
    /// About this company, by ID.
    pub company_id: Option<ID>,
    /// About this deal.
    pub deal_external_id: Option<String>,
    /// About this deal, by ID.
    pub deal_id: Option<ID>,
    /// Author by ID; give this or `authorEmail`, or neither for yourself.
    pub author_id: Option<ID>,
    /// Author by email.
    pub author_email: Option<String>,
    /// The text.
    pub body: String,
    /// When it was written; now when omitted.
    pub created_at: Option<Timestamp>,
}

/// A company from another system.
#[derive(InputObject)]
pub struct ImportCompanyInput {
    /// The company's id in the system it comes from; re-importing it updates this company.
    pub external_id: String,
    /// Owner by ID; give this or `ownerEmail`, or neither for yourself.
    pub owner_id: Option<ID>,
    /// Owner by email.
    pub owner_email: Option<String>,
    /// The company's name (required).
    pub name: String,
    /// Web domain, e.g. `acme.com`.
    pub domain: Option<String>,
    /// Its industry.
    pub industry: Option<String>,
    /// Number of employees.
    pub size: Option<i32>,
    /// When the company was created; now when omitted.
    pub created_at: Option<Timestamp>,
    /// Custom field values (see `customFields`); they replace the record's values, and
    /// without them a re-imported record keeps its own.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A contact from another system.
#[derive(InputObject)]
pub struct ImportContactInput {
    /// The contact's id in the system it comes from; re-importing it updates this contact.
    pub external_id: String,
    /// Owner by ID; give this or `ownerEmail`, or neither for yourself.
    pub owner_id: Option<ID>,
    /// Owner by email.
    pub owner_email: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// The company by name, as other CRMs export it: the company of this name (ignoring
    /// case and runs of spaces) in this batch or imported before, else a new company owned
    /// by the contact's owner. Give at most one of `company`, `companyExternalId`, `companyId`.
    pub company: Option<String>,
    /// The company by external id (in this batch or imported before).
    pub company_external_id: Option<String>,
    /// The company by ID.
    pub company_id: Option<ID>,
    /// Lead source.
    pub source: Option<String>,
    /// Lifecycle; LEAD when omitted.
    pub lifecycle: Option<Lifecycle>,
    /// Why it was disqualified (DISQUALIFIED only).
    pub disqualify_reason: Option<String>,
    /// When it was disqualified (DISQUALIFIED only; `createdAt` when omitted).
    pub disqualified_at: Option<Timestamp>,
    /// Money spent to acquire the lead.
    pub acquisition_cost: Option<Money>,
    /// When the lead came in; now when omitted.
    pub created_at: Option<Timestamp>,
    /// Custom field values (see `customFields`); they replace the record's values, and
    /// without them a re-imported record keeps its own.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// One entry of a deal's stage history: the stage it entered, and when.
#[derive(InputObject)]
pub struct ImportStageStepInput {
    /// The stage by ID; give this or `stageName`.
    pub stage_id: Option<ID>,
    /// The stage by name (within the deal's pipeline, case-insensitive).
    pub stage_name: Option<String>,
    /// When the deal entered the stage.
    pub moved_at: Timestamp,
}

/// A deal from another system.
#[derive(InputObject)]
pub struct ImportDealInput {
    /// The deal's id in the system it comes from; re-importing it updates this deal.
    pub external_id: String,
    /// The contact by external id (in this batch or imported before); or `contactId`.
    pub contact_external_id: Option<String>,
    /// The contact by ID.
    pub contact_id: Option<ID>,
    /// The company by external id; the contact's company when neither this nor `companyId`
    /// is given.
    pub company_external_id: Option<String>,
    /// The company by ID.
    pub company_id: Option<ID>,
    /// Owner by ID; the contact's owner when neither this nor `ownerEmail` is given.
    pub owner_id: Option<ID>,
    /// Owner by email.
    pub owner_email: Option<String>,
    /// Pipeline by ID; the default pipeline when neither this nor `pipelineName` is given.
    pub pipeline_id: Option<ID>,
    /// Pipeline by name.
    pub pipeline_name: Option<String>,
    /// What is being sold (required).
    pub title: String,
    /// Amount (≥ 0), in `currency`.
    pub amount: Money,
    /// ISO 4217 code of `amount`: the base currency when omitted; another one needs an
    /// exchange rate first.
    pub currency: Option<String>,
    /// Expected close date.
    pub expected_close_date: Option<Date>,
    /// When the deal was created; the first history entry's time when omitted.
    pub created_at: Option<Timestamp>,
    /// Stages the deal entered, oldest first; the last is its current stage. Empty means
    /// it was created in the pipeline's first stage and never moved.
    #[graphql(default)]
    pub stage_history: Vec<ImportStageStepInput>,
    /// OPEN when omitted.
    pub status: Option<DealStatus>,
    /// When it was won or lost (required for WON and LOST).
    pub closed_at: Option<Timestamp>,
    /// Lost reason by ID (LOST only; this or `lostReasonName` is required for LOST).
    pub lost_reason_id: Option<ID>,
    /// Lost reason by name.
    pub lost_reason_name: Option<String>,
    /// Note on the loss.
    pub lost_note: Option<String>,
    /// Custom field values (see `customFields`); they replace the record's values, and
    /// without them a re-imported record keeps its own.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A meeting from another system.
#[derive(InputObject)]
pub struct ImportMeetingInput {
    /// The meeting's id in the system it comes from; re-importing it updates this meeting.
    pub external_id: String,
    /// The contact by external id; or `contactId`.
    pub contact_external_id: Option<String>,
    /// The contact by ID.
    pub contact_id: Option<ID>,
    /// The deal (of the same contact) by external id; or `dealId`; or neither.
    pub deal_external_id: Option<String>,
    /// The deal by ID.
    pub deal_id: Option<ID>,
    /// Owner by ID; the contact's owner when neither this nor `ownerEmail` is given.
    pub owner_id: Option<ID>,
    /// Owner by email.
    pub owner_email: Option<String>,
    /// Kind of meeting.
    pub kind: MeetingKind,
    /// When it was (or is) scheduled.
    pub scheduled_at: Timestamp,
    /// Length in minutes (1–1440, default 30).
    pub duration_minutes: Option<i32>,
    /// SCHEDULED when omitted.
    pub status: Option<MeetingStatus>,
    /// When the outcome was logged (not for SCHEDULED); the meeting's end when omitted.
    pub outcome_logged_at: Option<Timestamp>,
    /// Free-text notes about the meeting.
    pub notes: Option<String>,
    /// When the meeting was booked; `scheduledAt` (or now, if earlier) when omitted.
    pub created_at: Option<Timestamp>,
}

/// How many records of one kind an import created and updated.
#[derive(SimpleObject)]
pub struct ImportCounts {
    /// New records.
    pub created: u32,
    /// Records matched by external id and updated.
    pub updated: u32,
}

impl From<Counts> for ImportCounts {
    fn from(c: Counts) -> Self {
        Self { created: c.created, updated: c.updated }
    }
}

/// What an import wrote.
#[derive(SimpleObject)]
pub struct ImportRecordsPayload {
    /// Companies created and updated (with those made from contacts' company names).
    pub companies: ImportCounts,
    /// Contacts created and updated.
    pub contacts: ImportCounts,
    /// Deals created and updated.
    pub deals: ImportCounts,
    /// Meetings created and updated.
    pub meetings: ImportCounts,
    /// Notes created and updated.
    pub notes: ImportCounts,
    /// Tasks created and updated.
    pub tasks: ImportCounts,
}

impl From<ImportSummary> for ImportRecordsPayload {
    fn from(s: ImportSummary) -> Self {
        Self {
            companies: s.companies.into(),
            contacts: s.contacts.into(),
            deals: s.deals.into(),
            meetings: s.meetings.into(),
            notes: s.notes.into(),
            tasks: s.tasks.into(),
        }
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports history (ADMIN). All-or-nothing: when any record is invalid nothing is
    /// written and the error's `extensions.records` lists every bad record with its list,
    /// index and field (`extensions.field` is the first, e.g. `deals[3].stageHistory[1].stageId`).
    async fn import_records(&self, ctx: &Context<'_>, input: ImportRecordsInput) -> Result<ImportRecordsPayload> {
        Ok(import_batch(ctx.principal().await?, ctx.writer(), input).await?.into())
    }
}

/// Reads the import input from JSON (the CLI's file), with the same parsing as GraphQL.
pub fn parse_json(json: serde_json::Value) -> ApiResult<ImportRecordsInput> {
    let value = async_graphql::Value::from_json(json).map_err(|e| ApiError::bad_input("file", e.to_string()))?;
    ImportRecordsInput::parse(Some(value)).map_err(|e| {
        ApiError::bad_input(
            "file",
            format!("does not match ImportRecordsInput: {}", e.into_server_error(Default::default()).message),
        )
    })
}

impl ImportRecordsInput {
    /// Adds `other`'s records after this input's, list by list.
    pub fn append(&mut self, other: ImportRecordsInput) {
        self.companies.extend(other.companies);
        self.contacts.extend(other.contacts);
        self.deals.extend(other.deals);
        self.meetings.extend(other.meetings);
        self.notes.extend(other.notes);
        self.tasks.extend(other.tasks);
    }
}

/// Converts the input and imports it inside `work` (a streamed import's batch).
pub async fn import_batch_into(
    principal: &Principal,
    work: &mut crate::service::work::Work,
    input: ImportRecordsInput,
) -> ApiResult<ImportSummary> {
    crate::service::scope::ensure_admin(principal)?;
    let batch = to_batch(input)?;
    import::import_into(principal, work, &batch).await
}

/// Converts the input and imports it. Shared by the mutation and the CLI.
pub async fn import_batch(
    principal: &Principal,
    w: &crate::service::work::Writer,
    input: ImportRecordsInput,
) -> ApiResult<ImportSummary> {
    crate::service::scope::ensure_admin(principal)?;
    let batch = to_batch(input)?;
    import::import(principal, w, &batch).await
}

/// Collects the problems of converting one record's references and amounts.
struct Convert<'a> {
    errors: &'a mut Vec<InvalidRecord>,
    list: &'static str,
    index: usize,
}

impl Convert<'_> {
    fn ok<T>(&mut self, result: ApiResult<T>) -> Option<T> {
        result
            .map_err(|err| {
                let (field, message) = match err {
                    ApiError::BadInput { field, message } => (field, message),
                    other => (String::new(), other.to_string()),
                };
                self.errors.push(InvalidRecord { list: self.list, index: self.index, field, message });
            })
            .ok()
    }

    /// A reference given either by ID or by key, not both.
    fn reference(
        &mut self,
        (id_field, id): (&str, Option<&ID>),
        (key_field, key): (&str, Option<&String>),
        kind: NodeKind,
    ) -> Option<Option<Ref>> {
        match (id, key) {
            (Some(_), Some(_)) => {
                self.ok::<()>(Err(ApiError::bad_input(id_field, format!("give {id_field} or {key_field}, not both"))));
                None
            }
            (Some(id), None) => self.ok(decode(id_field, id, kind)).map(|id| Some(Ref::Id(id))),
            (None, Some(key)) => Some(Some(Ref::Key(key.clone()))),
            (None, None) => Some(None),
        }
    }

    /// The record a note or task is about, from its contact, company and deal references (by
    /// ID or external id): `Some(None)` when none is given, `None` (an error) when more than one is.
    fn about(
        &mut self,
        (contact_id, contact_key): (Option<&ID>, Option<&String>),
        (company_id, company_key): (Option<&ID>, Option<&String>),
        (deal_id, deal_key): (Option<&ID>, Option<&String>),
    ) -> Option<Option<AboutRef>> {
        let contact = self.reference(("contactId", contact_id), ("contactExternalId", contact_key), NodeKind::Contact);
        let company = self.reference(("companyId", company_id), ("companyExternalId", company_key), NodeKind::Company);
        let deal = self.reference(("dealId", deal_id), ("dealExternalId", deal_key), NodeKind::Deal);
        match (contact?, company?, deal?) {
            (None, None, None) => Some(None),
            (Some(r), None, None) => Some(Some(AboutRef::Contact(r))),
            (None, Some(r), None) => Some(Some(AboutRef::Company(r))),
            (None, None, Some(r)) => Some(Some(AboutRef::Deal(r))),
            _ => {
                let why = "give at most one of contactExternalId, companyExternalId and dealExternalId (or their ID)";
                self.ok(Err(ApiError::bad_input("contactExternalId", why)))
            }
        }
    }

    fn required(&mut self, id: (&str, Option<&ID>), key: (&str, Option<&String>), kind: NodeKind) -> Option<Ref> {
        let (id_field, key_field) = (id.0, key.0);
        match self.reference(id, key, kind)? {
            Some(r) => Some(r),
            None => self.ok(Err(ApiError::bad_input(key_field, format!("give {key_field} or {id_field}")))),
        }
    }
}

fn to_batch(input: ImportRecordsInput) -> ApiResult<ImportBatch> {
    let mut errors = Vec::new();
    let companies: Vec<Option<CompanyRecord>> = input
        .companies
        .into_iter()
        .enumerate()
        .map(|(index, c)| {
            let cv = &mut Convert { errors: &mut errors, list: "companies", index };
            let owner =
                cv.reference(("ownerId", c.owner_id.as_ref()), ("ownerEmail", c.owner_email.as_ref()), NodeKind::User);
            let custom_fields = c.custom_fields.as_ref().map(|_| cv.ok(custom_input::patch(&c.custom_fields)));
            Some(CompanyRecord {
                custom_fields: custom_fields.map_or(Some(None), |v| v.map(Some))?,
                external_id: c.external_id,
                owner: owner?,
                name: c.name,
                domain: c.domain,
                industry: c.industry,
                size: c.size,
                created_at: c.created_at.map(Into::into),
            })
        })
        .collect();
    let contacts: Vec<Option<ContactRecord>> = input
        .contacts
        .into_iter()
        .enumerate()
        .map(|(index, c)| {
            let cv = &mut Convert { errors: &mut errors, list: "contacts", index };
            let owner =
                cv.reference(("ownerId", c.owner_id.as_ref()), ("ownerEmail", c.owner_email.as_ref()), NodeKind::User);
            let cost =
                c.acquisition_cost.map(|m| cv.ok(m.cents("acquisitionCost"))).map_or(Some(None), |v| v.map(Some));
            let by_ref = cv.reference(
                ("companyId", c.company_id.as_ref()),
                ("companyExternalId", c.company_external_id.as_ref()),
                NodeKind::Company,
            );
            let company = match (by_ref, c.company) {
                (Some(Some(_)), Some(_)) => cv.ok(Err(ApiError::bad_input(
                    "company",
                    "give company, companyExternalId or companyId, not more than one",
                ))),
                (Some(Some(r)), None) => Some(Some(CompanyRef::Ref(r))),
                (Some(None), name) => Some(name.map(CompanyRef::Name)),
                (None, _) => None,
            };
            let custom_fields = c.custom_fields.as_ref().map(|_| cv.ok(custom_input::patch(&c.custom_fields)));
            Some(ContactRecord {
                custom_fields: custom_fields.map_or(Some(None), |v| v.map(Some))?,
                external_id: c.external_id,
                owner: owner?,
                first_name: c.first_name,
                last_name: c.last_name,
                email: c.email,
                phone: c.phone,
                company: company?,
                source: c.source,
                lifecycle: c.lifecycle.map(Into::into),
                disqualify_reason: c.disqualify_reason,
                disqualified_at: c.disqualified_at.map(Into::into),
                acquisition_cost: cost?,
                created_at: c.created_at.map(Into::into),
            })
        })
        .collect();
    let deals: Vec<Option<DealRecord>> = input
        .deals
        .into_iter()
        .enumerate()
        .map(|(index, d)| {
            let cv = &mut Convert { errors: &mut errors, list: "deals", index };
            let contact = cv.required(
                ("contactId", d.contact_id.as_ref()),
                ("contactExternalId", d.contact_external_id.as_ref()),
                NodeKind::Contact,
            );
            let company = cv.reference(
                ("companyId", d.company_id.as_ref()),
                ("companyExternalId", d.company_external_id.as_ref()),
                NodeKind::Company,
            );
            let owner =
                cv.reference(("ownerId", d.owner_id.as_ref()), ("ownerEmail", d.owner_email.as_ref()), NodeKind::User);
            let pipeline = cv.reference(
                ("pipelineId", d.pipeline_id.as_ref()),
                ("pipelineName", d.pipeline_name.as_ref()),
                NodeKind::Pipeline,
            );
            let lost_reason = cv.reference(
                ("lostReasonId", d.lost_reason_id.as_ref()),
                ("lostReasonName", d.lost_reason_name.as_ref()),
                NodeKind::LostReason,
            );
            let amount = cv.ok(d.amount.cents("amount"));
            let steps: Vec<Option<StageStep>> = d
                .stage_history
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let stage = cv.required(
                        (&format!("stageHistory[{k}].stageId"), s.stage_id.as_ref()),
                        (&format!("stageHistory[{k}].stageName"), s.stage_name.as_ref()),
                        NodeKind::Stage,
                    );
                    Some(StageStep { stage: stage?, moved_at: s.moved_at.0 })
                })
                .collect();
            let custom_fields = d.custom_fields.as_ref().map(|_| cv.ok(custom_input::patch(&d.custom_fields)));
            Some(DealRecord {
                custom_fields: custom_fields.map_or(Some(None), |v| v.map(Some))?,
                external_id: d.external_id,
                contact: contact?,
                company: company?,
                owner: owner?,
                pipeline: pipeline?,
                title: d.title,
                amount: amount?,
                currency: d.currency,
                expected_close_date: d.expected_close_date.map(|d| d.0),
                created_at: d.created_at.map(Into::into),
                stage_history: steps.into_iter().collect::<Option<Vec<_>>>()?,
                status: d.status.map(Into::into),
                closed_at: d.closed_at.map(Into::into),
                lost_reason: lost_reason?,
                lost_note: d.lost_note,
            })
        })
        .collect();
    let meetings: Vec<Option<MeetingRecord>> = input
        .meetings
        .into_iter()
        .enumerate()
        .map(|(index, m)| {
            let cv = &mut Convert { errors: &mut errors, list: "meetings", index };
            let contact = cv.required(
                ("contactId", m.contact_id.as_ref()),
                ("contactExternalId", m.contact_external_id.as_ref()),
                NodeKind::Contact,
            );
            let deal = cv.reference(
                ("dealId", m.deal_id.as_ref()),
                ("dealExternalId", m.deal_external_id.as_ref()),
                NodeKind::Deal,
            );
            let owner =
                cv.reference(("ownerId", m.owner_id.as_ref()), ("ownerEmail", m.owner_email.as_ref()), NodeKind::User);
            Some(MeetingRecord {
                external_id: m.external_id,
                contact: contact?,
                deal: deal?,
                owner: owner?,
                kind: m.kind.into(),
                scheduled_at: m.scheduled_at.0,
                duration_minutes: m.duration_minutes,
                status: m.status.map(Into::into),
                outcome_logged_at: m.outcome_logged_at.map(Into::into),
                notes: m.notes,
                created_at: m.created_at.map(Into::into),
            })
        })
        .collect();
    let notes: Vec<Option<NoteRecord>> = input
        .notes
        .into_iter()
        .enumerate()
        .map(|(index, n)| {
            let cv = &mut Convert { errors: &mut errors, list: "notes", index };
            let about = cv.about(
                (n.contact_id.as_ref(), n.contact_external_id.as_ref()),
                (n.company_id.as_ref(), n.company_external_id.as_ref()),
                (n.deal_id.as_ref(), n.deal_external_id.as_ref()),
            );
            let author = cv.reference(
                ("authorId", n.author_id.as_ref()),
                ("authorEmail", n.author_email.as_ref()),
                NodeKind::User,
            );
            let Some(about) = about? else {
                let why = "give exactly one of contactExternalId, companyExternalId and dealExternalId (or their ID)";
                return cv.ok(Err(ApiError::bad_input("contactExternalId", why)));
            };
            Some(NoteRecord {
                external_id: n.external_id,
                about,
                author: author?,
                body: n.body,
                created_at: n.created_at.map(Into::into),
            })
        })
        .collect();
    let tasks: Vec<Option<TaskRecord>> = input
        .tasks
        .into_iter()
        .enumerate()
        .map(|(index, t)| {
            let cv = &mut Convert { errors: &mut errors, list: "tasks", index };
            let about = cv.about(
                (t.contact_id.as_ref(), t.contact_external_id.as_ref()),
                (t.company_id.as_ref(), t.company_external_id.as_ref()),
                (t.deal_id.as_ref(), t.deal_external_id.as_ref()),
            );
            let assignee = cv.reference(
                ("assigneeId", t.assignee_id.as_ref()),
                ("assigneeEmail", t.assignee_email.as_ref()),
                NodeKind::User,
            );
            Some(TaskRecord {
                external_id: t.external_id,
                about: about?,
                assignee: assignee?,
                title: t.title,
                due_at: t.due_at.map(Into::into),
                priority: t.priority.map(Into::into),
                done: t.done,
                done_at: t.done_at.map(Into::into),
                created_at: t.created_at.map(Into::into),
            })
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::InvalidRecords(errors));
    }
    Ok(ImportBatch {
        notes: notes.into_iter().flatten().collect(),
        tasks: tasks.into_iter().flatten().collect(),
        companies: companies.into_iter().flatten().collect(),
        contacts: contacts.into_iter().flatten().collect(),
        deals: deals.into_iter().flatten().collect(),
        meetings: meetings.into_iter().flatten().collect(),
    })
}
