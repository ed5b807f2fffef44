//! Validates an import batch against itself and the database, and turns it into rows to
//! write. Every problem is collected (list, index, field), not just the first.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use entity::enums::{DealStatus, Lifecycle, MeetingStatus};
use entity::{company, contact, deal, lost_reason, meeting, note, pipeline, stage, task, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, Set};

use super::{
    AboutRef, CompanyRecord, CompanyRef, ContactRecord, DealRecord, ImportBatch, MeetingRecord, NoteRecord, Ref,
    TaskRecord,
};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, InvalidRecord};
use crate::service::custom_fields::values::{self, Patch};
use crate::service::custom_fields::{Definition, Object};
use crate::service::validate;
use sea_orm::ActiveValue;
use serde_json::Value as Json;

/// Where a referenced contact or deal is: already in the database, or the n-th new record
/// of this batch (its id is known only once it is inserted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Existing(i64),
    Batch(usize),
}

pub(super) struct PlannedCompany {
    pub existing: Option<i64>,
    pub owner_id: i64,
    pub row: company::ActiveModel,
}

/// Where a note's record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AboutTarget {
    Contact(Target),
    Company(Target),
    Deal(Target),
}

pub(super) struct PlannedNote {
    pub existing: Option<i64>,
    pub about: AboutTarget,
    pub row: note::ActiveModel,
}

pub(super) struct PlannedTask {
    pub existing: Option<i64>,
    pub about: Option<AboutTarget>,
    pub row: task::ActiveModel,
}

pub(super) struct PlannedContact {
    pub existing: Option<i64>,
    pub owner_id: i64,
    pub company: Option<Target>,
    pub row: contact::ActiveModel,
}

pub(super) struct PlannedDeal {
    pub existing: Option<i64>,
    pub contact: Target,
    pub company: Option<Target>,
    pub owner_id: i64,
    pub row: deal::ActiveModel,
    /// (stage id, entered at), oldest first.
    pub steps: Vec<(i64, DateTime<Utc>)>,
}

pub(super) struct PlannedMeeting {
    pub existing: Option<i64>,
    pub contact: Target,
    pub deal: Option<Target>,
    pub row: meeting::ActiveModel,
}

pub(super) struct Plan {
    /// The batch's companies, then those created from contacts' company names.
    pub companies: Vec<PlannedCompany>,
    pub contacts: Vec<PlannedContact>,
    pub deals: Vec<PlannedDeal>,
    pub meetings: Vec<PlannedMeeting>,
    pub notes: Vec<PlannedNote>,
    pub tasks: Vec<PlannedTask>,
}

/// The database rows a batch refers to, loaded up front in a few statements.
pub(super) struct Known {
    users_by_id: HashSet<i64>,
    users_by_email: HashMap<String, i64>,
    pipelines: Vec<pipeline::Model>,
    stages: Vec<stage::Model>,
    lost_reasons: Vec<lost_reason::Model>,
    /// Companies the batch refers to by id or external id.
    companies: Vec<company::Model>,
    /// Live companies by `name_key` (the oldest of a name), when any contact names one.
    companies_by_name: HashMap<String, i64>,
    contacts: Vec<contact::Model>,
    deals: Vec<deal::Model>,
    meetings_by_external_id: HashMap<String, i64>,
    notes_by_external_id: HashMap<String, i64>,
    tasks_by_external_id: HashMap<String, i64>,
    base_currency: String,
    /// Currencies with at least one exchange rate.
    rated_currencies: HashSet<String>,
    custom_fields: HashMap<Object, Vec<Definition>>,
}

/// Bound parameters per `IN (...)` list, well below SQLite's and PostgreSQL's limits.
const CHUNK: usize = 1000;

impl Known {
    pub async fn load(db: &impl ConnectionTrait, batch: &ImportBatch) -> ApiResult<Self> {
        let (mut contact_keys, mut contact_ids) = (HashSet::new(), HashSet::new());
        let (mut deal_keys, mut deal_ids) = (HashSet::new(), HashSet::new());
        contact_keys.extend(batch.contacts.iter().map(|c| c.external_id.trim().to_owned()));
        deal_keys.extend(batch.deals.iter().map(|d| d.external_id.trim().to_owned()));
        let note_refs = |wanted: fn(&AboutRef) -> Option<&Ref>| {
            let abouts = batch.notes.iter().map(|n| Some(&n.about)).chain(batch.tasks.iter().map(|t| t.about.as_ref()));
            abouts.flatten().filter_map(wanted)
        };
        let contact_refs = batch
            .deals
            .iter()
            .map(|d| &d.contact)
            .chain(batch.meetings.iter().map(|m| &m.contact))
            .chain(note_refs(|a| if let AboutRef::Contact(r) = a { Some(r) } else { None }));
        for r in contact_refs {
            match r {
                Ref::Id(id) => contact_ids.insert(*id),
                Ref::Key(key) => contact_keys.insert(key.trim().to_owned()),
            };
        }
        let deal_refs = batch
            .meetings
            .iter()
            .filter_map(|m| m.deal.as_ref())
            .chain(note_refs(|a| if let AboutRef::Deal(r) = a { Some(r) } else { None }));
        for r in deal_refs {
            match r {
                Ref::Id(id) => deal_ids.insert(*id),
                Ref::Key(key) => deal_keys.insert(key.trim().to_owned()),
            };
        }
        let meeting_keys: Vec<String> = batch.meetings.iter().map(|m| m.external_id.trim().to_owned()).collect();
        let (mut company_keys, mut company_ids) = (HashSet::new(), HashSet::new());
        company_keys.extend(batch.companies.iter().map(|c| c.external_id.trim().to_owned()));
        let company_refs = batch
            .contacts
            .iter()
            .filter_map(|c| match &c.company {
                Some(CompanyRef::Ref(r)) => Some(r),
                _ => None,
            })
            .chain(batch.deals.iter().filter_map(|d| d.company.as_ref()))
            .chain(note_refs(|a| if let AboutRef::Company(r) = a { Some(r) } else { None }));
        for r in company_refs {
            match r {
                Ref::Id(id) => company_ids.insert(*id),
                Ref::Key(key) => company_keys.insert(key.trim().to_owned()),
            };
        }
        let mut companies = by_keys::<company::Entity, _>(db, company::Column::ExternalId, company_keys).await?;
        companies.extend(by_keys::<company::Entity, _>(db, company::Column::Id, company_ids).await?);
        let mut companies_by_name = HashMap::new();
        if batch.contacts.iter().any(|c| matches!(c.company, Some(CompanyRef::Name(_)))) {
            // Names compare in Rust (Unicode case), so every live company's name is read.
            let named = company::Entity::find()
                .filter(company::Column::DeletedAt.is_null())
                .order_by_desc(company::Column::Id)
                .all(db)
                .await?;
            companies_by_name.extend(named.into_iter().map(|c| (name_key(&c.name), c.id)));
        }

        let users = user::Entity::find().all(db).await?;
        let mut contacts = by_keys::<contact::Entity, _>(db, contact::Column::ExternalId, contact_keys).await?;
        contacts.extend(by_keys::<contact::Entity, _>(db, contact::Column::Id, contact_ids).await?);
        let mut deals = by_keys::<deal::Entity, _>(db, deal::Column::ExternalId, deal_keys).await?;
        deals.extend(by_keys::<deal::Entity, _>(db, deal::Column::Id, deal_ids).await?);
        let meetings = by_keys::<meeting::Entity, _>(db, meeting::Column::ExternalId, meeting_keys).await?;
        let note_keys = batch.notes.iter().map(|n| n.external_id.trim().to_owned());
        let notes = by_keys::<note::Entity, _>(db, note::Column::ExternalId, note_keys).await?;
        let task_keys = batch.tasks.iter().map(|t| t.external_id.trim().to_owned());
        let tasks = by_keys::<task::Entity, _>(db, task::Column::ExternalId, task_keys).await?;
        let base_currency = crate::service::currency::base_currency(db).await?;
        let rated_currencies =
            crate::service::currency::rates(db, None).await?.into_iter().map(|r| r.currency).collect();
        let mut custom_fields: HashMap<Object, Vec<Definition>> = HashMap::new();
        for field in crate::service::custom_fields::all(db).await? {
            custom_fields.entry(field.object).or_default().push(field);
        }
        Ok(Self {
            base_currency,
            rated_currencies,
            custom_fields,
            users_by_id: users.iter().map(|u| u.id).collect(),
            users_by_email: users.into_iter().map(|u| (u.email.to_lowercase(), u.id)).collect(),
            pipelines: pipeline::Entity::find()
                .order_by_desc(pipeline::Column::IsDefault)
                .order_by_asc(pipeline::Column::Id)
                .all(db)
                .await?,
            stages: stage::Entity::find().order_by_asc(stage::Column::Position).all(db).await?,
            lost_reasons: lost_reason::Entity::find().all(db).await?,
            companies,
            companies_by_name,
            contacts,
            deals,
            meetings_by_external_id: meetings.into_iter().filter_map(|m| Some((m.external_id?, m.id))).collect(),
            notes_by_external_id: notes.into_iter().filter_map(|n| Some((n.external_id?, n.id))).collect(),
            tasks_by_external_id: tasks.into_iter().filter_map(|t| Some((t.external_id?, t.id))).collect(),
        })
    }

    fn user(&self, r: &Ref, (id_field, key_field): (&str, &str)) -> ApiResult<i64> {
        match r {
            Ref::Id(id) if self.users_by_id.contains(id) => Ok(*id),
            Ref::Id(_) => Err(ApiError::bad_input(id_field, "no such user")),
            Ref::Key(email) => self
                .users_by_email
                .get(&email.trim().to_lowercase())
                .copied()
                .ok_or_else(|| ApiError::bad_input(key_field, "no user has this email")),
        }
    }

    fn pipeline(&self, r: Option<&Ref>) -> ApiResult<&pipeline::Model> {
        match r {
            None => self.pipelines.first().ok_or_else(|| ApiError::bad_input("pipelineId", "there is no pipeline yet")),
            Some(Ref::Id(id)) => self
                .pipelines
                .iter()
                .find(|p| p.id == *id)
                .ok_or_else(|| ApiError::bad_input("pipelineId", "no such pipeline")),
            Some(Ref::Key(name)) => self
                .pipelines
                .iter()
                .find(|p| same_name(&p.name, name))
                .ok_or_else(|| ApiError::bad_input("pipelineName", "no pipeline has this name")),
        }
    }

    fn stage(&self, pipeline_id: i64, r: &Ref, field: &str) -> ApiResult<&stage::Model> {
        let mut of_pipeline = self.stages.iter().filter(|s| s.pipeline_id == pipeline_id);
        match r {
            Ref::Id(id) => of_pipeline.find(|s| s.id == *id).ok_or_else(|| {
                ApiError::bad_input(format!("{field}.stageId"), "is not a stage of the deal's pipeline")
            }),
            Ref::Key(name) => of_pipeline.find(|s| same_name(&s.name, name)).ok_or_else(|| {
                ApiError::bad_input(format!("{field}.stageName"), "the deal's pipeline has no such stage")
            }),
        }
    }

    fn lost_reason(&self, r: &Ref) -> ApiResult<i64> {
        match r {
            Ref::Id(id) => self
                .lost_reasons
                .iter()
                .find(|l| l.id == *id)
                .map(|l| l.id)
                .ok_or_else(|| ApiError::bad_input("lostReasonId", "no such lost reason")),
            Ref::Key(name) => self
                .lost_reasons
                .iter()
                .find(|l| same_name(&l.name, name))
                .map(|l| l.id)
                .ok_or_else(|| ApiError::bad_input("lostReasonName", "no lost reason has this name")),
        }
    }

    fn company_by_external_id(&self, key: &str) -> Option<&company::Model> {
        self.companies.iter().find(|c| c.external_id.as_deref() == Some(key))
    }

    fn contact_by_external_id(&self, key: &str) -> Option<&contact::Model> {
        self.contacts.iter().find(|c| c.external_id.as_deref() == Some(key))
    }

    fn deal_by_external_id(&self, key: &str) -> Option<&deal::Model> {
        self.deals.iter().find(|d| d.external_id.as_deref() == Some(key))
    }
}

async fn by_keys<E, V>(
    db: &impl ConnectionTrait,
    column: E::Column,
    keys: impl IntoIterator<Item = V>,
) -> ApiResult<Vec<E::Model>>
where
    E: EntityTrait,
    V: Into<sea_orm::Value>,
{
    let keys: Vec<sea_orm::Value> = keys.into_iter().map(Into::into).collect();
    let mut found = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        found.extend(E::find().filter(column.is_in(chunk.iter().cloned())).all(db).await?);
    }
    Ok(found)
}

/// How company names compare: trimmed, runs of white space as one space, Unicode lowercase
/// (as the migration that made companies from contacts' company texts compared them).
pub(super) fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn same_name(stored: &str, given: &str) -> bool {
    stored.trim().eq_ignore_ascii_case(given.trim())
}

/// Collects the problems of one record.
struct At<'a> {
    errors: &'a mut Vec<InvalidRecord>,
    list: &'static str,
    index: usize,
    failed: bool,
}

impl At<'_> {
    fn ok<T>(&mut self, result: ApiResult<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(ApiError::BadInput { field, message }) => {
                self.fail(field, message);
                None
            }
            Err(ApiError::InvalidFields(fields)) => {
                for (field, message) in fields {
                    self.fail(field, message);
                }
                None
            }
            Err(other) => {
                self.fail("", other.to_string());
                None
            }
        }
    }

    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.failed = true;
        self.errors.push(InvalidRecord {
            list: self.list,
            index: self.index,
            field: field.into(),
            message: message.into(),
        });
    }

    /// The record's external id: required and unique within its list.
    fn external_id(&mut self, value: &str, seen: &mut HashMap<String, usize>) -> Option<String> {
        let id = self.ok(validate::required("externalId", value, 255))?;
        if let Some(first) = seen.insert(id.clone(), self.index) {
            seen.insert(id, first);
            self.fail("externalId", format!("repeats {}[{first}]", self.list));
            return None;
        }
        Some(id)
    }
}

fn optional_past(field: &str, at: Option<DateTime<Utc>>) -> ApiResult<Option<DateTime<Utc>>> {
    at.map(|at| validate::past(field, at)).transpose()
}

/// Checks every record and resolves its references; any problem anywhere fails the batch.
pub(super) fn plan(principal: &Principal, batch: &ImportBatch, known: &Known) -> ApiResult<Plan> {
    let mut errors = Vec::new();
    let now = crate::service::now();
    let mut planner = Planner {
        principal,
        known,
        now,
        company_index: HashMap::new(),
        company_targets: HashMap::new(),
        company_names: HashMap::new(),
        named_companies: Vec::new(),
        batch_companies: batch.companies.len(),
        contact_index: HashMap::new(),
        deal_index: HashMap::new(),
    };
    let companies: Vec<Option<PlannedCompany>> = batch
        .companies
        .iter()
        .enumerate()
        .map(|(index, r)| planner.company(&mut At { errors: &mut errors, list: "companies", index, failed: false }, r))
        .collect();
    planner.know_batch_companies(&batch.companies, &companies);
    let contacts: Vec<Option<PlannedContact>> = batch
        .contacts
        .iter()
        .enumerate()
        .map(|(index, r)| planner.contact(&mut At { errors: &mut errors, list: "contacts", index, failed: false }, r))
        .collect();
    let deals: Vec<Option<PlannedDeal>> = batch
        .deals
        .iter()
        .enumerate()
        .map(|(index, r)| {
            planner.deal(&mut At { errors: &mut errors, list: "deals", index, failed: false }, r, &contacts)
        })
        .collect();
    let mut seen_meetings = HashMap::new();
    let meetings: Vec<Option<PlannedMeeting>> = batch
        .meetings
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let at = &mut At { errors: &mut errors, list: "meetings", index, failed: false };
            planner.meeting(at, r, &contacts, &deals, &mut seen_meetings)
        })
        .collect();
    let mut seen_notes = HashMap::new();
    let notes: Vec<Option<PlannedNote>> = batch
        .notes
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let at = &mut At { errors: &mut errors, list: "notes", index, failed: false };
            planner.note(at, r, (&contacts, &deals), &mut seen_notes)
        })
        .collect();
    let mut seen_tasks = HashMap::new();
    let tasks: Vec<Option<PlannedTask>> = batch
        .tasks
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let at = &mut At { errors: &mut errors, list: "tasks", index, failed: false };
            planner.task(at, r, (&contacts, &deals), &mut seen_tasks)
        })
        .collect();
    if !errors.is_empty() {
        errors.sort_by_key(|e| (list_order(e.list), e.index));
        return Err(ApiError::InvalidRecords(errors));
    }
    // No errors means every record planned.
    Ok(Plan {
        companies: companies.into_iter().flatten().chain(planner.named_companies).collect(),
        contacts: contacts.into_iter().flatten().collect(),
        deals: deals.into_iter().flatten().collect(),
        meetings: meetings.into_iter().flatten().collect(),
        notes: notes.into_iter().flatten().collect(),
        tasks: tasks.into_iter().flatten().collect(),
    })
}

fn list_order(list: &str) -> u8 {
    match list {
        "companies" => 0,
        "contacts" => 1,
        "deals" => 2,
        "meetings" => 3,
        "notes" => 4,
        _ => 5,
    }
}

struct Planner<'a> {
    principal: &'a Principal,
    known: &'a Known,
    now: DateTime<Utc>,
    /// External id → index in the batch's companies (valid or not).
    company_index: HashMap<String, usize>,
    /// External id → where the batch's valid companies end up, and their owners.
    company_targets: HashMap<String, (Target, i64)>,
    /// `name_key` → the batch's valid companies and those made from contacts' names.
    company_names: HashMap<String, Target>,
    /// Companies to create from contacts' company names (planned after the batch's own).
    named_companies: Vec<PlannedCompany>,
    batch_companies: usize,
    /// External id → index in the batch's contacts (valid or not).
    contact_index: HashMap<String, usize>,
    deal_index: HashMap<String, usize>,
}

/// A contact reference resolved: where the contact is, its owner and its company.
type ContactTarget = (Target, i64, Option<Target>);

impl Planner<'_> {
    fn company(&mut self, at: &mut At, r: &CompanyRecord) -> Option<PlannedCompany> {
        let custom_fields = self.custom_fields(at, Object::Company, &r.custom_fields);
        let external_id = at.external_id(&r.external_id, &mut self.company_index);
        let owner_id = match &r.owner {
            Some(owner) => at.ok(self.known.user(owner, ("ownerId", "ownerEmail"))),
            None => Some(self.principal.user_id),
        };
        let name = at.ok(validate::required("name", &r.name, 200));
        let domain = at.ok(crate::service::companies::domain("domain", r.domain.clone()));
        let industry = at.ok(validate::optional("industry", r.industry.clone(), 100));
        if r.size.is_some_and(|size| size < 0) {
            at.fail("size", "must not be negative");
        }
        let created_at = at.ok(optional_past("createdAt", r.created_at)).map(|c| c.unwrap_or(self.now));
        if at.failed {
            return None;
        }
        let external_id = external_id?;
        let existing = self.known.company_by_external_id(&external_id).map(|c| c.id);
        Some(PlannedCompany {
            existing,
            owner_id: owner_id?,
            row: company::ActiveModel {
                id: NotSet,
                owner_id: Set(owner_id?),
                name: Set(name?),
                domain: Set(domain?),
                industry: Set(industry?),
                size: Set(r.size),
                external_id: Set(Some(external_id)),
                version: NotSet,
                created_at: Set(created_at?),
                updated_at: NotSet,
                deleted_at: NotSet,
                custom_fields: custom_fields?,
            },
        })
    }

    /// A record's custom fields as imported: `customFields` replaces its values (checked as
    /// a new record's); without it they stay as they are.
    fn custom_fields(&self, at: &mut At, object: Object, given: &Option<Patch>) -> Option<ActiveValue<Json>> {
        let Some(patch) = given else { return Some(NotSet) };
        let fields = self.known.custom_fields.get(&object).map(Vec::as_slice).unwrap_or_default();
        at.ok(values::apply(fields, None, patch)).map(Set)
    }

    /// Remembers where the batch's valid companies end up, by external id and by name.
    fn know_batch_companies(&mut self, records: &[CompanyRecord], planned: &[Option<PlannedCompany>]) {
        for (i, (record, planned)) in records.iter().zip(planned).enumerate() {
            let Some(planned) = planned else { continue };
            let target = planned.existing.map_or(Target::Batch(i), Target::Existing);
            self.company_targets.insert(record.external_id.trim().to_owned(), (target, planned.owner_id));
            self.company_names.entry(name_key(&record.name)).or_insert(target);
        }
    }

    /// Resolves a company reference by id or external id.
    fn company_ref(&self, at: &mut At, r: &Ref) -> Option<Target> {
        self.company_and_owner(at, r).map(|(target, _)| target)
    }

    /// A company reference resolved, with the company's owner (after the import). `None`
    /// without an error entry when it names a batch company that is itself invalid.
    fn company_and_owner(&self, at: &mut At, r: &Ref) -> Option<(Target, i64)> {
        match r {
            Ref::Key(key) => {
                let key = key.trim();
                if self.company_index.contains_key(key) {
                    return self.company_targets.get(key).copied();
                }
                match self.known.company_by_external_id(key) {
                    Some(c) if c.deleted_at.is_none() => Some((Target::Existing(c.id), c.owner_id)),
                    _ => {
                        at.fail("companyExternalId", "no company has this external id, in this batch or before");
                        None
                    }
                }
            }
            Ref::Id(id) => {
                if let Some(found) = self.company_targets.values().find(|(t, _)| *t == Target::Existing(*id)) {
                    return Some(*found);
                }
                match self.known.companies.iter().find(|c| c.id == *id && c.deleted_at.is_none()) {
                    Some(c) => Some((Target::Existing(c.id), c.owner_id)),
                    None => {
                        at.fail("companyId", "no such company");
                        None
                    }
                }
            }
        }
    }

    /// A contact's company: by reference, or by name (a company of the batch or the database
    /// with that name, else a new one owned by the contact's owner, created with the contact).
    fn company_of_contact(
        &mut self,
        at: &mut At,
        company: &CompanyRef,
        owner_id: Option<i64>,
        created_at: Option<DateTime<Utc>>,
    ) -> Option<Option<Target>> {
        let name = match company {
            CompanyRef::Ref(r) => return self.company_ref(at, r).map(Some),
            CompanyRef::Name(name) => name,
        };
        let key = name_key(name);
        if key.is_empty() {
            return Some(None);
        }
        if let Some(target) = self.company_names.get(&key) {
            return Some(Some(*target));
        }
        if let Some(id) = self.known.companies_by_name.get(&key) {
            return Some(Some(Target::Existing(*id)));
        }
        let spelled = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let name = at.ok(validate::required("company", &spelled, 200))?;
        let (owner_id, created_at) = (owner_id?, created_at?);
        let target = Target::Batch(self.batch_companies + self.named_companies.len());
        self.named_companies.push(PlannedCompany {
            existing: None,
            owner_id,
            row: company::ActiveModel {
                id: NotSet,
                owner_id: Set(owner_id),
                name: Set(name),
                domain: Set(None),
                industry: Set(None),
                size: Set(None),
                external_id: Set(None),
                version: NotSet,
                created_at: Set(created_at),
                updated_at: NotSet,
                deleted_at: NotSet,
                custom_fields: NotSet,
            },
        });
        self.company_names.insert(key, target);
        Some(Some(target))
    }

    fn note(
        &self,
        at: &mut At,
        r: &NoteRecord,
        (contacts, deals): (&[Option<PlannedContact>], &[Option<PlannedDeal>]),
        seen: &mut HashMap<String, usize>,
    ) -> Option<PlannedNote> {
        let external_id = at.external_id(&r.external_id, seen);
        let about = self.about(at, &r.about, (contacts, deals));
        let author_id = match &r.author {
            Some(author) => at.ok(self.known.user(author, ("authorId", "authorEmail"))),
            None => Some(self.principal.user_id),
        };
        let body = at.ok(validate::required("body", &r.body, crate::service::notes::MAX_BODY));
        let created_at = at.ok(optional_past("createdAt", r.created_at)).map(|c| c.unwrap_or(self.now));
        if at.failed {
            return None;
        }
        let (about, owner_id) = about?;
        let external_id = external_id?;
        Some(PlannedNote {
            existing: self.known.notes_by_external_id.get(&external_id).copied(),
            about,
            row: note::ActiveModel {
                id: NotSet,
                author_id: Set(author_id?),
                owner_id: Set(owner_id),
                contact_id: NotSet,
                company_id: NotSet,
                deal_id: NotSet,
                body: Set(body?),
                external_id: Set(Some(external_id)),
                version: NotSet,
                created_at: Set(created_at?),
                updated_at: NotSet,
                deleted_at: NotSet,
            },
        })
    }

    /// The record a note or task is about, resolved, with its owner (after the import).
    fn about(
        &self,
        at: &mut At,
        r: &AboutRef,
        (contacts, deals): (&[Option<PlannedContact>], &[Option<PlannedDeal>]),
    ) -> Option<(AboutTarget, i64)> {
        match r {
            AboutRef::Contact(c) => {
                self.contact_target(at, c, contacts).map(|(t, owner, _)| (AboutTarget::Contact(t), owner))
            }
            AboutRef::Company(c) => self.company_and_owner(at, c).map(|(t, owner)| (AboutTarget::Company(t), owner)),
            AboutRef::Deal(d) => self.deal_and_owner(at, d, deals).map(|(t, owner)| (AboutTarget::Deal(t), owner)),
        }
    }

    fn task(
        &self,
        at: &mut At,
        r: &TaskRecord,
        records: (&[Option<PlannedContact>], &[Option<PlannedDeal>]),
        seen: &mut HashMap<String, usize>,
    ) -> Option<PlannedTask> {
        let external_id = at.external_id(&r.external_id, seen);
        let about = r.about.as_ref().map(|a| self.about(at, a, records).map(|(t, _)| t));
        let assignee_id = match &r.assignee {
            Some(assignee) => at.ok(self.known.user(assignee, ("assigneeId", "assigneeEmail"))),
            None => Some(self.principal.user_id),
        };
        let title = at.ok(validate::required("title", &r.title, crate::service::tasks::MAX_TITLE));
        let due_at = at.ok(r.due_at.map(|d| validate::plausible("dueAt", d).map(|()| validate::micros(d))).transpose());
        let created_at = at.ok(optional_past("createdAt", r.created_at)).map(|c| c.unwrap_or(self.now));
        let done_at = match (r.done, r.done_at) {
            (false, Some(_)) => at.ok(Err(ApiError::bad_input("doneAt", "only a done task has doneAt"))),
            (false, None) => Some(None),
            (true, at_time) => at.ok(optional_past("doneAt", at_time)).map(|d| d.or(created_at)),
        };
        if at.failed {
            return None;
        }
        let external_id = external_id?;
        Some(PlannedTask {
            existing: self.known.tasks_by_external_id.get(&external_id).copied(),
            about: about.map(|a| a.ok_or(())).transpose().ok()?,
            row: task::ActiveModel {
                id: NotSet,
                title: Set(title?),
                due_at: Set(due_at?),
                done: Set(r.done),
                done_at: Set(done_at?),
                priority: Set(r.priority.unwrap_or(entity::enums::TaskPriority::Normal)),
                assignee_id: Set(assignee_id?),
                created_by: Set(self.principal.user_id),
                contact_id: NotSet,
                company_id: NotSet,
                deal_id: NotSet,
                external_id: Set(Some(external_id)),
                version: NotSet,
                created_at: Set(created_at?),
                updated_at: NotSet,
                deleted_at: NotSet,
            },
        })
    }

    /// A deal reference resolved, with the deal's owner (after the import). `None` without
    /// an error entry when it names a batch deal that is itself invalid.
    fn deal_and_owner(&self, at: &mut At, r: &Ref, deals: &[Option<PlannedDeal>]) -> Option<(Target, i64)> {
        if let Ref::Key(key) = r
            && let Some(&i) = self.deal_index.get(key.trim())
        {
            let planned = deals.get(i)?.as_ref()?;
            return Some((planned.existing.map_or(Target::Batch(i), Target::Existing), planned.owner_id));
        }
        if let Ref::Id(id) = r
            && let Some(planned) = deals.iter().flatten().find(|d| d.existing == Some(*id))
        {
            return Some((Target::Existing(*id), planned.owner_id));
        }
        let found = match r {
            Ref::Id(id) => self.known.deals.iter().find(|d| d.id == *id),
            Ref::Key(key) => self.known.deal_by_external_id(key.trim()),
        };
        match found {
            Some(d) if d.deleted_at.is_none() => Some((Target::Existing(d.id), d.owner_id)),
            _ => {
                let field = if matches!(r, Ref::Id(_)) { "dealId" } else { "dealExternalId" };
                at.fail(field, "no such deal, in this batch or before");
                None
            }
        }
    }

    fn contact(&mut self, at: &mut At, r: &ContactRecord) -> Option<PlannedContact> {
        let custom_fields = self.custom_fields(at, Object::Contact, &r.custom_fields);
        let external_id = at.external_id(&r.external_id, &mut self.contact_index);
        let owner_id = match &r.owner {
            Some(owner) => at.ok(self.known.user(owner, ("ownerId", "ownerEmail"))),
            None => Some(self.principal.user_id),
        };
        let first_name = at.ok(validate::required("firstName", &r.first_name, 200));
        let last_name = at.ok(validate::optional("lastName", r.last_name.clone(), 200));
        let email = at.ok(validate::email("email", r.email.clone()));
        let phone = at.ok(validate::optional("phone", r.phone.clone(), 64));
        let source = at.ok(validate::optional("source", r.source.clone(), 100));
        let reason = at.ok(validate::optional("disqualifyReason", r.disqualify_reason.clone(), 500));
        let cost = at.ok(validate::non_negative("acquisitionCost", r.acquisition_cost.unwrap_or(0)));
        let created_at = at.ok(optional_past("createdAt", r.created_at)).map(|c| c.unwrap_or(self.now));
        let company = match &r.company {
            Some(company) => self.company_of_contact(at, company, owner_id, created_at),
            None => Some(None),
        };
        let lifecycle = r.lifecycle.unwrap_or(Lifecycle::Lead);
        let disqualified_at = at.ok(optional_past("disqualifiedAt", r.disqualified_at));
        if lifecycle != Lifecycle::Disqualified && r.disqualified_at.is_some() {
            at.fail("disqualifiedAt", "only a DISQUALIFIED contact has a disqualification date");
        }
        if let (Some(Some(d)), Some(c)) = (disqualified_at, created_at)
            && d < c
        {
            at.fail("disqualifiedAt", "must not be earlier than createdAt");
        }
        if at.failed {
            return None;
        }
        let created_at = created_at?;
        let disqualified_at =
            if lifecycle == Lifecycle::Disqualified { Some(disqualified_at?.unwrap_or(created_at)) } else { None };
        let external_id = external_id?;
        let existing = self.known.contact_by_external_id(&external_id);
        if let Some(merged) = existing.and_then(|c| c.merged_into_id) {
            let why =
                format!("this contact was merged into contact {merged}; import it under that contact's externalId");
            at.fail("externalId", why);
            return None;
        }
        let existing = existing.map(|c| c.id);
        Some(PlannedContact {
            existing,
            owner_id: owner_id?,
            company: company?,
            row: contact::ActiveModel {
                id: NotSet,
                owner_id: Set(owner_id?),
                first_name: Set(first_name?),
                last_name: Set(last_name?.unwrap_or_default()),
                email: Set(email?),
                phone: Set(phone?),
                company_id: NotSet,
                source: Set(source?),
                lifecycle: Set(lifecycle),
                disqualify_reason: Set(reason?),
                disqualified_at: Set(disqualified_at),
                acquisition_cost: Set(cost?),
                external_id: Set(Some(external_id)),
                version: NotSet,
                created_at: Set(created_at),
                updated_at: NotSet,
                deleted_at: NotSet,
                custom_fields: custom_fields?,
                merged_into_id: NotSet,
            },
        })
    }

    /// Resolves a contact reference to a target, that contact's owner and its company (after
    /// the import). `None` without an error entry when it names a batch contact that is
    /// itself invalid.
    fn contact_target(&self, at: &mut At, r: &Ref, contacts: &[Option<PlannedContact>]) -> Option<ContactTarget> {
        match r {
            Ref::Key(key) => {
                let key = key.trim();
                if let Some(&i) = self.contact_index.get(key) {
                    let planned = contacts.get(i)?.as_ref()?;
                    let target = planned.existing.map_or(Target::Batch(i), Target::Existing);
                    return Some((target, planned.owner_id, planned.company));
                }
                match self.known.contact_by_external_id(key) {
                    Some(c) if c.deleted_at.is_none() => {
                        Some((Target::Existing(c.id), c.owner_id, c.company_id.map(Target::Existing)))
                    }
                    _ => {
                        at.fail("contactExternalId", "no contact has this external id, in this batch or before");
                        None
                    }
                }
            }
            Ref::Id(id) => {
                if let Some(planned) = contacts.iter().flatten().find(|c| c.existing == Some(*id)) {
                    return Some((Target::Existing(*id), planned.owner_id, planned.company));
                }
                match self.known.contacts.iter().find(|c| c.id == *id && c.deleted_at.is_none()) {
                    Some(c) => Some((Target::Existing(c.id), c.owner_id, c.company_id.map(Target::Existing))),
                    None => {
                        at.fail("contactId", "no such contact");
                        None
                    }
                }
            }
        }
    }

    fn deal(&mut self, at: &mut At, r: &DealRecord, contacts: &[Option<PlannedContact>]) -> Option<PlannedDeal> {
        let custom_fields = self.custom_fields(at, Object::Deal, &r.custom_fields);
        let external_id = at.external_id(&r.external_id, &mut self.deal_index);
        let contact = self.contact_target(at, &r.contact, contacts);
        let owner_id = match (&r.owner, contact) {
            (Some(owner), _) => at.ok(self.known.user(owner, ("ownerId", "ownerEmail"))),
            (None, contact) => contact.map(|(_, owner, _)| owner),
        };
        let company = match &r.company {
            Some(company) => self.company_ref(at, company).map(Some),
            None => Some(contact.and_then(|(_, _, company)| company)),
        };
        let title = at.ok(validate::required("title", &r.title, 300));
        let amount = at.ok(validate::non_negative("amount", r.amount));
        let currency = match &r.currency {
            Some(code) => {
                let known = self.known;
                let stored = crate::service::currency::stored_code(code, &known.base_currency, |c| {
                    known.rated_currencies.contains(c)
                });
                at.ok(stored.map_err(|message| ApiError::bad_input("currency", message)))
            }
            None => Some(None),
        };
        let created_at = at.ok(optional_past("createdAt", r.created_at));
        if let Some(date) = r.expected_close_date
            && !(1970..=2200).contains(&date.year())
        {
            at.fail("expectedCloseDate", "must be between the years 1970 and 2200");
        }
        let pipeline = at.ok(self.known.pipeline(r.pipeline.as_ref()));
        // A deal with neither history nor createdAt was created no later than it closed.
        let mut created_hint = created_at.flatten();
        if r.stage_history.is_empty() && created_hint.is_none() {
            created_hint = r.closed_at.map(validate::micros).filter(|c| *c < self.now);
        }
        let steps = pipeline.and_then(|p| self.history(at, r, p.id, created_hint));
        let status = r.status.unwrap_or(DealStatus::Open);
        let closed_at = at.ok(optional_past("closedAt", r.closed_at));
        let lost_reason_id = match (status, &r.lost_reason) {
            (DealStatus::Lost, Some(reason)) => at.ok(self.known.lost_reason(reason)).map(Some),
            (DealStatus::Lost, None) => {
                at.fail("lostReasonId", "a LOST deal needs a lost reason");
                None
            }
            (_, Some(_)) => {
                at.fail("lostReasonId", "only a LOST deal has a lost reason");
                None
            }
            (_, None) => Some(None),
        };
        let lost_note = at.ok(validate::optional("lostNote", r.lost_note.clone(), 2000));
        if status != DealStatus::Lost && r.lost_note.is_some() {
            at.fail("lostNote", "only a LOST deal has a lost note");
        }
        match (status, r.closed_at) {
            (DealStatus::Open, Some(_)) => at.fail("closedAt", "an OPEN deal has no closing date"),
            (DealStatus::Won | DealStatus::Lost, None) => at.fail("closedAt", "a closed deal needs its closing date"),
            _ => {}
        }
        if let (Some(Some(closed)), Some(steps)) = (closed_at, &steps)
            && steps.last().is_some_and(|(_, moved)| closed < *moved)
        {
            at.fail("closedAt", "must not be earlier than the last stage move");
        }
        if at.failed {
            return None;
        }
        let steps: Vec<(&stage::Model, DateTime<Utc>)> = steps?;
        let (current, entered_at) = *steps.last()?;
        let created_at = created_at?.unwrap_or(steps[0].1);
        let external_id = external_id?;
        let existing = self.known.deal_by_external_id(&external_id).map(|d| d.id);
        Some(PlannedDeal {
            existing,
            contact: contact?.0,
            company: company?,
            owner_id: owner_id?,
            row: deal::ActiveModel {
                id: NotSet,
                contact_id: NotSet,
                company_id: NotSet,
                owner_id: Set(owner_id?),
                pipeline_id: Set(pipeline?.id),
                stage_id: Set(current.id),
                title: Set(title?),
                amount: Set(amount?),
                currency: Set(currency?),
                status: Set(status),
                lost_reason_id: Set(lost_reason_id?),
                lost_note: Set(lost_note?),
                expected_close_date: Set(r.expected_close_date),
                closed_at: Set(closed_at?),
                stage_entered_at: Set(entered_at),
                max_stage_position: Set(steps.iter().map(|(s, _)| s.position).max()?),
                external_id: Set(Some(external_id)),
                version: NotSet,
                created_at: Set(created_at),
                updated_at: NotSet,
                deleted_at: NotSet,
                custom_fields: custom_fields?,
            },
            steps: steps.iter().map(|(s, at)| (s.id, *at)).collect(),
        })
    }

    /// The deal's stages with their entry times, checked to be in its pipeline and in time
    /// order; an empty history means "created in the first stage".
    fn history<'k>(
        &'k self,
        at: &mut At,
        r: &DealRecord,
        pipeline_id: i64,
        created_at: Option<DateTime<Utc>>,
    ) -> Option<Vec<(&'k stage::Model, DateTime<Utc>)>> {
        if r.stage_history.is_empty() {
            let Some(first) = self.known.stages.iter().find(|s| s.pipeline_id == pipeline_id) else {
                at.fail("pipelineId", "the pipeline has no stages");
                return None;
            };
            return Some(vec![(first, created_at.unwrap_or(self.now))]);
        }
        let mut steps: Vec<(&stage::Model, DateTime<Utc>)> = Vec::with_capacity(r.stage_history.len());
        let mut complete = true;
        for (k, step) in r.stage_history.iter().enumerate() {
            let field = format!("stageHistory[{k}]");
            let stage = at.ok(self.known.stage(pipeline_id, &step.stage, &field));
            let moved_at = at.ok(validate::past(&format!("{field}.movedAt"), step.moved_at));
            let (Some(stage), Some(moved_at)) = (stage, moved_at) else {
                complete = false;
                continue;
            };
            if let Some((previous, previous_at)) = steps.last() {
                if previous.id == stage.id {
                    at.fail(format!("{field}.stageId"), "repeats the previous entry's stage");
                }
                if moved_at < *previous_at {
                    at.fail(format!("{field}.movedAt"), "must not be earlier than the previous entry");
                }
            } else if created_at.is_some_and(|c| moved_at < c) {
                at.fail(format!("{field}.movedAt"), "must not be earlier than the deal's createdAt");
            }
            steps.push((stage, moved_at));
        }
        complete.then_some(steps)
    }

    /// Resolves a meeting's deal and checks it belongs to the meeting's contact.
    fn deal_target(
        &self,
        at: &mut At,
        r: &Ref,
        contact: Option<Target>,
        deals: &[Option<PlannedDeal>],
    ) -> Option<Target> {
        let field = match r {
            Ref::Id(_) => "dealId",
            Ref::Key(_) => "dealExternalId",
        };
        let (target, deal_contact) = match r {
            Ref::Key(key) if self.deal_index.contains_key(key.trim()) => {
                let i = self.deal_index[key.trim()];
                let planned = deals.get(i)?.as_ref()?;
                (planned.existing.map_or(Target::Batch(i), Target::Existing), planned.contact)
            }
            Ref::Id(id) if deals.iter().flatten().any(|d| d.existing == Some(*id)) => {
                let planned = deals.iter().flatten().find(|d| d.existing == Some(*id))?;
                (Target::Existing(*id), planned.contact)
            }
            _ => {
                let found = match r {
                    Ref::Id(id) => self.known.deals.iter().find(|d| d.id == *id),
                    Ref::Key(key) => self.known.deal_by_external_id(key.trim()),
                };
                match found {
                    Some(d) if d.deleted_at.is_none() => (Target::Existing(d.id), Target::Existing(d.contact_id)),
                    _ => {
                        at.fail(field, "no such deal, in this batch or before");
                        return None;
                    }
                }
            }
        };
        if contact.is_some_and(|c| c != deal_contact) {
            at.fail(field, "the deal belongs to another contact");
            return None;
        }
        Some(target)
    }

    fn meeting(
        &self,
        at: &mut At,
        r: &MeetingRecord,
        contacts: &[Option<PlannedContact>],
        deals: &[Option<PlannedDeal>],
        seen: &mut HashMap<String, usize>,
    ) -> Option<PlannedMeeting> {
        let external_id = at.external_id(&r.external_id, seen);
        let contact = self.contact_target(at, &r.contact, contacts);
        let deal = match &r.deal {
            Some(d) => self.deal_target(at, d, contact.map(|(t, _, _)| t), deals).map(Some),
            None => Some(None),
        };
        let owner_id = match (&r.owner, contact) {
            (Some(owner), _) => at.ok(self.known.user(owner, ("ownerId", "ownerEmail"))),
            (None, contact) => contact.map(|(_, owner, _)| owner),
        };
        let scheduled_at =
            at.ok(validate::plausible("scheduledAt", r.scheduled_at).map(|()| validate::micros(r.scheduled_at)));
        let duration = r.duration_minutes.unwrap_or(30);
        if !(1..=24 * 60).contains(&duration) {
            at.fail("durationMinutes", "must be between 1 and 1440");
        }
        let status = r.status.unwrap_or(MeetingStatus::Scheduled);
        let logged_at = at.ok(optional_past("outcomeLoggedAt", r.outcome_logged_at));
        if status == MeetingStatus::Scheduled && r.outcome_logged_at.is_some() {
            at.fail("outcomeLoggedAt", "a SCHEDULED meeting has no outcome yet");
        }
        let notes = at.ok(validate::optional("notes", r.notes.clone(), 5000));
        let created_at = at.ok(optional_past("createdAt", r.created_at));
        if at.failed {
            return None;
        }
        let scheduled_at = scheduled_at?;
        let logged_at = match status {
            MeetingStatus::Scheduled => None,
            _ => Some(
                logged_at?.unwrap_or_else(|| Ord::min(scheduled_at + Duration::minutes(i64::from(duration)), self.now)),
            ),
        };
        let external_id = external_id?;
        Some(PlannedMeeting {
            existing: self.known.meetings_by_external_id.get(&external_id).copied(),
            contact: contact?.0,
            deal: deal?,
            row: meeting::ActiveModel {
                id: NotSet,
                contact_id: NotSet,
                deal_id: NotSet,
                owner_id: Set(owner_id?),
                kind: Set(r.kind),
                scheduled_at: Set(scheduled_at),
                duration_minutes: Set(duration),
                status: Set(status),
                outcome_logged_at: Set(logged_at),
                notes: Set(notes?),
                client_key: NotSet,
                rescheduled_to_id: NotSet,
                followed_up: NotSet,
                external_id: Set(Some(external_id)),
                version: NotSet,
                created_at: Set(created_at?.unwrap_or(Ord::min(scheduled_at, self.now))),
                updated_at: NotSet,
                deleted_at: NotSet,
            },
        })
    }
}
