//! The CRM record model of SPEC section 11 — companies (their API, scope, links from contacts
//! and deals, import, change log and subscriptions, metrics by company, and the migration that
//! made them from contacts' company names), notes, tasks, data quality and custom fields
//! (`custom_fields`) — on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::Duration;

use entity::enums::Role;
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, Statement, Value as SqlValue};
use tests::ws::WsClient;
use tests::{Engine, TestApp, Value, db_test, gid, json};

#[path = "records/custom_fields.rs"]
mod custom_fields;

const CREATE_COMPANY: &str = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) {
    company { id name domain industry size version owner { email } } } }";
const UPDATE_COMPANY: &str = "mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) {
    company { id name domain size version } } }";
const CREATE_CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) {
    contact { id company { name } } } }";
const CREATE_DEAL: &str = "mutation($i: CreateDealInput!) { createDeal(input: $i) {
    deal { id company { name } } } }";

async fn company(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_COMPANY, json!({ "i": input })).await["createCompany"]["company"].clone()
}

async fn contact(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_CONTACT, json!({ "i": input })).await["createContact"]["contact"].clone()
}

async fn deal(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_DEAL, json!({ "i": input })).await["createDeal"]["deal"].clone()
}

/// (index, field) of each invalid record an `importRecords` error lists.
fn invalid_records(answer: &Value) -> Vec<(u64, String)> {
    answer["errors"][0]["extensions"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["field"].as_str().unwrap().to_owned()))
        .collect()
}

async fn sales_pipeline(app: &TestApp, admin: &str) {
    app.ok(
        admin,
        "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [
            { name: \"Lead\", probability: 10 }, { name: \"Demo\", probability: 50 }] }) { pipeline { id } } }",
        json!({}),
    )
    .await;
}

db_test!(company_fields_are_validated_and_versioned, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let acme = company(
        &app,
        &rep,
        json!({ "name": "  Acme  ", "domain": "https://www.Acme.com/about", "industry": "Tools", "size": 40 }),
    )
    .await;
    assert_eq!(
        (&acme["name"], &acme["domain"], &acme["size"], &acme["version"]),
        (&json!("Acme"), &json!("acme.com"), &json!(40), &json!(1)),
        "trimmed, the domain reduced to its host"
    );
    assert_eq!(acme["owner"]["email"], "rep@example.com", "owned by the caller");

    let bad = app.gql(Some(&rep), CREATE_COMPANY, json!({ "i": { "name": " ", "domain": "acme", "size": -1 } })).await;
    let error = &bad["errors"][0]["extensions"];
    assert_eq!(error["code"], "BAD_USER_INPUT");
    let fields: Vec<&str> = error["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "domain", "size"], "every bad field at once: {bad}");
    assert_eq!(app.count("SELECT COUNT(*) FROM companies").await, 1, "nothing written");

    let updated = app
        .ok(&rep, UPDATE_COMPANY, json!({ "i": { "id": acme["id"], "version": 1, "domain": null, "size": 45 } }))
        .await["updateCompany"]["company"]
        .clone();
    assert_eq!(updated, json!({ "id": acme["id"], "name": "Acme", "domain": null, "size": 45, "version": 2 }));
    let stale = app.err(&rep, UPDATE_COMPANY, json!({ "i": { "id": acme["id"], "version": 1, "name": "Old" } })).await;
    assert_eq!(stale["code"], "CONFLICT");
    let external = json!({ "name": "Twin", "externalId": "hub-1" });
    company(&app, &rep, external.clone()).await;
    let duplicate = app.err(&rep, CREATE_COMPANY, json!({ "i": external })).await;
    assert_eq!((&duplicate["code"], &duplicate["field"]), (&json!("BAD_USER_INPUT"), &json!("externalId")));
});

db_test!(contacts_and_deals_belong_to_a_company, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let acme = company(&app, &rep, json!({ "name": "ACME Industries" })).await;
    let globex = company(&app, &rep, json!({ "name": "Globex" })).await;
    let ada = contact(&app, &rep, json!({ "firstName": "Ada", "companyId": acme["id"] })).await;
    let bob = contact(&app, &rep, json!({ "firstName": "Bob" })).await;
    assert_eq!((&ada["company"], &bob["company"]), (&json!({ "name": "ACME Industries" }), &Value::Null));

    // A deal is with its contact's company unless it names another.
    let inherited = deal(&app, &rep, json!({ "contactId": ada["id"], "title": "Licence", "amount": "100" })).await;
    let other = deal(
        &app,
        &rep,
        json!({ "contactId": ada["id"], "companyId": globex["id"], "title": "Pilot", "amount": "50" }),
    )
    .await;
    assert_eq!(inherited["company"], json!({ "name": "ACME Industries" }));
    assert_eq!(other["company"], json!({ "name": "Globex" }));

    let lists = app
        .ok(
            &rep,
            "query($acme: ID!) { company(id: $acme) {
                contacts { totalCount nodes { firstName } }
                deals(orderBy: [{ field: TITLE }]) { totalCount nodes { title } }
                narrowed: deals(where: { search: \"pil\" }) { totalCount } }
              byCompany: contacts(where: { companyId: { eq: $acme } }) { totalCount }
              search: contacts(where: { search: \"acme ind\" }) { nodes { firstName } }
              companies(where: { search: \"GLOB\" }) { nodes { name } } }",
            json!({ "acme": acme["id"] }),
        )
        .await;
    assert_eq!(lists["company"]["contacts"], json!({ "totalCount": 1, "nodes": [{ "firstName": "Ada" }] }));
    assert_eq!(lists["company"]["deals"], json!({ "totalCount": 1, "nodes": [{ "title": "Licence" }] }));
    assert_eq!(lists["company"]["narrowed"]["totalCount"], 0, "the caller's filter and the company's both hold");
    assert_eq!(lists["byCompany"]["totalCount"], 1);
    assert_eq!(lists["search"]["nodes"], json!([{ "firstName": "Ada" }]), "contact search reads company names");
    assert_eq!(lists["companies"]["nodes"], json!([{ "name": "Globex" }]));

    // Moving Bob to Globex, then deleting Globex: its contacts and deals keep the link but
    // show no company while it is deleted.
    let moved = app
        .ok(
            &rep,
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { company { name } } } }",
            json!({ "i": { "id": bob["id"], "version": 1, "companyId": globex["id"] } }),
        )
        .await;
    assert_eq!(moved["updateContact"]["contact"]["company"], json!({ "name": "Globex" }));
    app.ok(
        &rep,
        "mutation($i: DeleteCompanyInput!) { deleteCompany(input: $i) { deletedCompanyId } }",
        json!({ "i": { "id": globex["id"] } }),
    )
    .await;
    let after = app
        .ok(
            &rep,
            "query($b: ID!, $d: ID!) { contact(id: $b) { company { name } } deal(id: $d) { company { name } } }",
            json!({ "b": bob["id"], "d": other["id"] }),
        )
        .await;
    assert_eq!(after, json!({ "contact": { "company": null }, "deal": { "company": null } }));
    let relink = app
        .err(
            &rep,
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            json!({ "i": { "firstName": "Cy", "companyId": globex["id"] } }),
        )
        .await;
    assert_eq!((&relink["code"], &relink["field"]), (&json!("BAD_USER_INPUT"), &json!("companyId")));
    let wrong_kind = app
        .err(
            &rep,
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            json!({ "i": { "firstName": "Cy", "companyId": ada["id"] } }),
        )
        .await;
    assert_eq!((&wrong_kind["code"], &wrong_kind["field"]), (&json!("BAD_USER_INPUT"), &json!("input.companyId")));
});

db_test!(companies_are_scoped_by_owner_like_contacts, |app| {
    let north = app.team("North").await;
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, analyst) = app.signed_in("analyst@example.com", Role::Analyst, None).await;
    let (_, manager) = app.signed_in("m@example.com", Role::Manager, Some(north)).await;
    let (_, rep_a) = app.signed_in("a@example.com", Role::SalesRep, Some(north)).await;
    let (_, rep_b) = app.signed_in("b@example.com", Role::SalesRep, None).await;
    let a_co = company(&app, &rep_a, json!({ "name": "A Co" })).await;
    company(&app, &rep_b, json!({ "name": "B Co" })).await;
    let names = |token: &str| {
        let app = app.clone();
        let token = token.to_owned();
        let id = a_co["id"].clone();
        async move {
            let read = app
                .ok(
                    &token,
                    "query($id: ID!) { companies { nodes { name } } company(id: $id) { name } node(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            let list: Vec<String> = read["companies"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_owned())
                .collect();
            (list, read["company"]["name"].as_str().map(str::to_owned), read["node"].is_object())
        }
    };
    let a = Some("A Co".to_owned());
    assert_eq!(names(&admin).await, (vec!["A Co".into(), "B Co".into()], a.clone(), true));
    assert_eq!(names(&analyst).await, (vec!["A Co".into(), "B Co".into()], a.clone(), true));
    assert_eq!(names(&manager).await, (vec!["A Co".into()], a.clone(), true), "the team's companies");
    assert_eq!(names(&rep_a).await, (vec!["A Co".into()], a, true));
    assert_eq!(names(&rep_b).await, (vec!["B Co".into()], None, false), "another rep's company is invisible");

    // Writes follow the contacts' rules: analysts write nothing, reps only their own.
    let write = json!({ "i": { "id": a_co["id"], "version": 1, "name": "Taken" } });
    assert_eq!(app.err(&analyst, UPDATE_COMPANY, write.clone()).await["code"], "FORBIDDEN");
    assert_eq!(app.err(&rep_b, UPDATE_COMPANY, write.clone()).await["code"], "NOT_FOUND");
    assert_eq!(app.err(&analyst, CREATE_COMPANY, json!({ "i": { "name": "X" } })).await["code"], "FORBIDDEN");
    let given_away = app.err(&rep_a, CREATE_COMPANY, json!({ "i": { "name": "X", "ownerId": gid("User", 1) } })).await;
    assert_eq!(given_away["code"], "FORBIDDEN");
    // Rep B may not link a contact to a company it cannot see.
    let link = app.err(&rep_b, CREATE_CONTACT, json!({ "i": { "firstName": "Cy", "companyId": a_co["id"] } })).await;
    assert_eq!((&link["code"], &link["field"]), (&json!("BAD_USER_INPUT"), &json!("companyId")));
    assert_eq!(app.ok(&manager, UPDATE_COMPANY, write).await["updateCompany"]["company"]["name"], "Taken");
});

db_test!(company_changes_are_logged_and_streamed, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep_a) = app.signed_in("a@example.com", Role::SalesRep, None).await;
    let (_, rep_b) = app.signed_in("b@example.com", Role::SalesRep, None).await;
    let start = app.ok(&admin, "{ changeCursor }", json!({})).await["changeCursor"].clone();
    let watch = "subscription { companyChanged { op changedFields node { name } } }";
    let mut own = WsClient::connect(&app.url, &rep_a).await;
    own.subscribe("c", watch, json!({})).await;
    let mut other = WsClient::connect(&app.url, &rep_b).await;
    other.subscribe("c", watch, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let acme = company(&app, &rep_a, json!({ "name": "Acme" })).await;
    app.ok(&rep_a, UPDATE_COMPANY, json!({ "i": { "id": acme["id"], "version": 1, "name": "Acme Ltd" } })).await;
    let lead = contact(&app, &rep_a, json!({ "firstName": "Ada", "companyId": acme["id"] })).await;

    let created = own.next("c").await["data"]["companyChanged"].clone();
    // The node is read when the event is delivered: either name, depending on timing.
    assert_eq!(created["op"], "CREATED");
    assert!(["Acme", "Acme Ltd"].contains(&created["node"]["name"].as_str().unwrap()), "{created}");
    let renamed = own.next("c").await["data"]["companyChanged"].clone();
    assert_eq!(renamed["changedFields"], json!(["name"]));
    other.quiet_for(Duration::from_millis(500)).await;

    let feed = app
        .ok(
            &rep_a,
            "query($a: String) { changes(after: $a) { events { entity op recordId changes { field before after } } } }",
            json!({ "a": start }),
        )
        .await["changes"]["events"]
        .clone();
    let events = feed.as_array().unwrap();
    assert_eq!(events.len(), 3, "{feed}");
    assert_eq!((&events[0]["entity"], &events[0]["recordId"]), (&json!("COMPANY"), &acme["id"]));
    let rename = &events[1]["changes"].as_array().unwrap().iter().find(|c| c["field"] == "name").unwrap().clone();
    assert_eq!((&rename["before"], &rename["after"]), (&json!("Acme"), &json!("Acme Ltd")));
    assert_eq!((&events[2]["entity"], &events[2]["recordId"]), (&json!("CONTACT"), &lead["id"]));
    let link = events[2]["changes"].as_array().unwrap().iter().find(|c| c["field"] == "companyId").unwrap().clone();
    assert_eq!(link["after"], acme["id"], "references are global IDs");
    let unseen =
        app.ok(&rep_b, "query($a: String) { changes(after: $a) { events { entity } } }", json!({ "a": start })).await;
    assert_eq!(unseen["changes"]["events"], json!([]), "another rep's company is not in the feed");
});

const IMPORT: &str = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) {
    companies { created updated } contacts { created updated } deals { created updated } } }";

db_test!(import_links_companies_by_external_id_and_by_name, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    app.create_user("rep@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let existing = company(&app, &admin, json!({ "name": "Initech" })).await;
    let batch = json!({
        "companies": [{ "externalId": "co-1", "name": "Acme", "domain": "acme.com", "ownerEmail": "rep@example.com" }],
        "contacts": [
            { "externalId": "c-1", "firstName": "Ada", "companyExternalId": "co-1" },
            { "externalId": "c-2", "firstName": "Bob", "company": "  ACME " },
            { "externalId": "c-3", "firstName": "Cy", "company": "initech" },
            { "externalId": "c-4", "firstName": "Di", "company": "Hooli  Inc", "ownerEmail": "rep@example.com" },
            { "externalId": "c-5", "firstName": "Ed", "company": "hooli inc" },
            { "externalId": "c-6", "firstName": "Flo", "company": "   " }
        ],
        "deals": [
            { "externalId": "d-1", "contactExternalId": "c-4", "title": "Hooli deal", "amount": "10" },
            { "externalId": "d-2", "contactExternalId": "c-1", "companyId": existing["id"], "title": "Other", "amount": "10" }
        ]
    });
    let first = app.ok(&admin, IMPORT, json!({ "i": batch })).await["importRecords"].clone();
    assert_eq!(
        first,
        json!({ "companies": { "created": 2, "updated": 0 }, "contacts": { "created": 6, "updated": 0 },
                "deals": { "created": 2, "updated": 0 } }),
        "Acme from the batch, Hooli Inc from the names; Initech existed"
    );
    let read = "{ contacts(orderBy: [{ field: FIRST_NAME }]) { nodes { firstName company { name owner { email } } } }
        deals(orderBy: [{ field: TITLE }]) { nodes { title company { name } } } }";
    let data = app.ok(&admin, read, json!({})).await;
    let companies: Vec<Value> =
        data["contacts"]["nodes"].as_array().unwrap().iter().map(|c| c["company"].clone()).collect();
    let owned = |name: &str, email: &str| json!({ "name": name, "owner": { "email": email } });
    assert_eq!(
        companies,
        [
            owned("Acme", "rep@example.com"),
            owned("Acme", "rep@example.com"),
            owned("Initech", "admin@example.com"),
            owned("Hooli Inc", "rep@example.com"),
            owned("Hooli Inc", "rep@example.com"),
            Value::Null
        ],
        "a new company from a name is spelled as first given and owned by that contact's owner"
    );
    assert_eq!(
        data["deals"]["nodes"],
        json!([{ "title": "Hooli deal", "company": { "name": "Hooli Inc" } }, { "title": "Other", "company": { "name": "Initech" } }]),
        "a deal is with its contact's company unless it names one"
    );

    let again = app.ok(&admin, IMPORT, json!({ "i": batch })).await["importRecords"].clone();
    assert_eq!(again["companies"], json!({ "created": 0, "updated": 1 }), "names find the companies made before");
    assert_eq!(app.count("SELECT COUNT(*) FROM companies").await, 3);

    let bad = json!({
        "companies": [{ "externalId": "co-2", "name": "Bad", "domain": "not a domain" }],
        "contacts": [
            { "externalId": "c-7", "firstName": "Gus", "companyExternalId": "nope" },
            { "externalId": "c-8", "firstName": "Hal", "company": "Acme", "companyExternalId": "co-1" }
        ],
        "deals": [{ "externalId": "d-3", "contactExternalId": "c-1", "companyExternalId": "gone", "title": "X", "amount": "1" }]
    });
    let failed = app.gql(Some(&admin), IMPORT, json!({ "i": bad })).await;
    let records = failed["errors"][0]["extensions"]["records"].as_array().unwrap().clone();
    let at: Vec<(String, u64, String)> = records
        .iter()
        .map(|r| {
            (r["list"].as_str().unwrap().into(), r["index"].as_u64().unwrap(), r["field"].as_str().unwrap().into())
        })
        .collect();
    assert!(at.contains(&("contacts".into(), 1, "company".into())), "{failed}");
    let first_pass = app
        .gql(
            Some(&admin),
            IMPORT,
            json!({ "i": { "companies": bad["companies"], "contacts": [bad["contacts"][0]], "deals": bad["deals"] } }),
        )
        .await;
    let records = first_pass["errors"][0]["extensions"]["records"].as_array().unwrap().clone();
    let at: Vec<(String, String)> =
        records.iter().map(|r| (r["list"].as_str().unwrap().into(), r["field"].as_str().unwrap().into())).collect();
    assert_eq!(
        at,
        [
            ("companies".into(), "domain".into()),
            ("contacts".into(), "companyExternalId".into()),
            ("deals".into(), "companyExternalId".into())
        ],
        "{first_pass}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM companies").await, 3, "nothing written");
});

db_test!(funnel_and_lost_deals_break_down_by_company, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    app.ok(&admin, "mutation { createLostReason(input: { name: \"Price\" }) { lostReason { id } } }", json!({})).await;
    sales_pipeline(&app, &admin).await;
    // Acme: 2 deals, one reached Demo and was lost (300), one still in Lead.
    // Globex: 1 deal won from Demo (500). No company: 1 deal lost in Lead (70).
    let step = |stage: &str, at: &str| json!({ "stageName": stage, "movedAt": at });
    let batch = json!({
        "companies": [
            { "externalId": "acme", "name": "Acme", "ownerEmail": "rep@example.com" },
            { "externalId": "globex", "name": "Globex", "ownerEmail": "rep@example.com" }
        ],
        "contacts": [
            { "externalId": "c-a", "firstName": "Ada", "companyExternalId": "acme", "ownerEmail": "rep@example.com" },
            { "externalId": "c-g", "firstName": "Gil", "companyExternalId": "globex", "ownerEmail": "rep@example.com" },
            { "externalId": "c-n", "firstName": "Ned", "ownerEmail": "rep@example.com" }
        ],
        "deals": [
            { "externalId": "a1", "contactExternalId": "c-a", "title": "a1", "amount": "300", "status": "LOST",
              "lostReasonName": "Price", "closedAt": "2026-03-10T00:00:00Z",
              "stageHistory": [step("Lead", "2026-03-01T00:00:00Z"), step("Demo", "2026-03-05T00:00:00Z")] },
            { "externalId": "a2", "contactExternalId": "c-a", "title": "a2", "amount": "100",
              "stageHistory": [step("Lead", "2026-03-02T00:00:00Z")] },
            { "externalId": "g1", "contactExternalId": "c-g", "title": "g1", "amount": "500", "status": "WON",
              "closedAt": "2026-03-20T00:00:00Z",
              "stageHistory": [step("Lead", "2026-03-03T00:00:00Z"), step("Demo", "2026-03-06T00:00:00Z")] },
            { "externalId": "n1", "contactExternalId": "c-n", "title": "n1", "amount": "70", "status": "LOST",
              "lostReasonName": "Price", "closedAt": "2026-03-12T00:00:00Z",
              "stageHistory": [step("Lead", "2026-03-04T00:00:00Z")] }
        ]
    });
    app.ok(&admin, IMPORT, json!({ "i": batch })).await;
    let period = json!({ "period": { "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z" } });
    let funnel = app
        .ok(
            &rep,
            "query($f: MetricFilterInput) { funnel(filter: $f, groupBy: COMPANY) { deals
              groups { group { by company { name } } deals won lost steps { name reached } } } }",
            json!({ "f": period }),
        )
        .await["funnel"]
        .clone();
    assert_eq!(funnel["deals"], 4);
    let reached = |won: &str, lead: i64, demo: i64, w: i64| json!([{ "name": "Lead", "reached": lead }, { "name": "Demo", "reached": demo }, { "name": won, "reached": w }]);
    let won_name = funnel["groups"][0]["steps"][2]["name"].as_str().unwrap().to_owned();
    assert_eq!(
        funnel["groups"],
        json!([
            { "group": { "by": "COMPANY", "company": null }, "deals": 1, "won": 0, "lost": 1, "steps": reached(&won_name, 1, 0, 0) },
            { "group": { "by": "COMPANY", "company": { "name": "Acme" } }, "deals": 2, "won": 0, "lost": 1, "steps": reached(&won_name, 2, 1, 0) },
            { "group": { "by": "COMPANY", "company": { "name": "Globex" } }, "deals": 1, "won": 1, "lost": 0, "steps": reached(&won_name, 1, 1, 1) }
        ]),
        "deals without a company first (null sorts first), then by company id"
    );
    let lost = app
        .ok(
            &rep,
            "query($f: MetricFilterInput) { lostDeals(filter: $f, groupBy: COMPANY) { count lostAmount
              groups { group { company { name } } count lostAmount } } }",
            json!({ "f": period }),
        )
        .await["lostDeals"]
        .clone();
    assert_eq!(
        lost,
        json!({ "count": 2, "lostAmount": "370.00", "groups": [
            { "group": { "company": null }, "count": 1, "lostAmount": "70.00" },
            { "group": { "company": { "name": "Acme" } }, "count": 1, "lostAmount": "300.00" }
        ] })
    );
    for (metric, query) in [
        ("noShowStats", "{ noShowStats(groupBy: COMPANY) { meetings } }"),
        ("noShowStats", "{ noShowStats(groupBy: OWNER, thenBy: COMPANY) { meetings } }"),
        ("leadRejection", "{ leadRejection(groupBy: COMPANY) { leads } }"),
    ] {
        let error = app.err(&rep, query, json!({})).await;
        assert_eq!(error["code"], "BAD_USER_INPUT", "{metric}");
        assert!(["groupBy", "thenBy"].contains(&error["field"].as_str().unwrap()), "{metric}: {error}");
    }
});

/// Rows of the database as they were before companies existed, inserted by hand.
async fn insert(db: &sea_orm::DatabaseConnection, sql: &str, values: Vec<SqlValue>) {
    let backend = db.get_database_backend();
    let mut n = 0;
    let sql: String = if backend == sea_orm::DatabaseBackend::Postgres {
        sql.chars()
            .flat_map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}").chars().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap();
}

async fn migration_makes_companies_from_contact_names(engine: Engine) {
    tests::run_on_blank_database(engine, |url| async move {
        let db = Database::connect(&url).await.unwrap();
        // Everything up to the migration before companies.
        migration::Migrator::up(&db, Some(9)).await.unwrap();
        use chrono::TimeZone;
        let at = |day: u32| chrono::Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap();
        for (id, email) in [(1i64, "a@example.com"), (2, "b@example.com")] {
            insert(&db, "INSERT INTO users (id, email, name, role, created_at, updated_at) VALUES (?, ?, 'u', 'SALES_REP', ?, ?)",
                vec![id.into(), email.into(), at(1).into(), at(1).into()]).await;
        }
        insert(&db, "INSERT INTO pipelines (id, name, created_at, updated_at) VALUES (1, 'Sales', ?, ?)",
            vec![at(1).into(), at(1).into()]).await;
        insert(&db, "INSERT INTO stages (id, pipeline_id, name, position, probability, created_at, updated_at)
            VALUES (1, 1, 'Lead', 1, 10, ?, ?)", vec![at(1).into(), at(1).into()]).await;
        // (contact id, owner, company text, created on day)
        let contacts: [(i64, i64, Option<&str>, u32); 9] = [
            (1, 1, Some("Acme"), 3),
            (2, 2, Some(" ACME  "), 4),
            (3, 2, Some("acme"), 5),
            (4, 1, Some(""), 6),
            (5, 1, Some("   "), 7),
            (6, 2, Some("Élan  Vital"), 8),
            (7, 1, Some("élan vital"), 9),
            (8, 1, None, 10),
            (9, 1, Some("Globex"), 11),
        ];
        for (id, owner, company, day) in contacts {
            insert(&db, "INSERT INTO contacts (id, owner_id, first_name, last_name, company, lifecycle, created_at, updated_at)
                VALUES (?, ?, 'x', '', ?, 'LEAD', ?, ?)",
                vec![id.into(), owner.into(), company.map(str::to_owned).into(), at(day).into(), at(day).into()]).await;
            insert(&db, "INSERT INTO deals (id, contact_id, owner_id, pipeline_id, stage_id, title, amount, status,
                stage_entered_at, max_stage_position, created_at, updated_at)
                VALUES (?, ?, ?, 1, 1, 't', 0, 'OPEN', ?, 1, ?, ?)",
                vec![id.into(), id.into(), owner.into(), at(day).into(), at(day).into(), at(day).into()]).await;
        }
        migration::Migrator::up(&db, None).await.unwrap();

        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(),
                "SELECT c.id, c.name, c.owner_id, (SELECT COUNT(*) FROM contacts k WHERE k.company_id = c.id),
                        (SELECT COUNT(*) FROM deals d WHERE d.company_id = c.id) FROM companies c ORDER BY c.id"))
            .await
            .unwrap();
        let companies: Vec<(String, i64, i64, i64)> = rows
            .iter()
            .map(|r| (r.try_get_by_index(1).unwrap(), r.try_get_by_index(2).unwrap(), r.try_get_by_index(3).unwrap(), r.try_get_by_index(4).unwrap()))
            .collect();
        assert_eq!(
            companies,
            [
                ("Acme".to_owned(), 2, 3, 3),
                ("Élan Vital".to_owned(), 2, 2, 2),
                ("Globex".to_owned(), 1, 1, 1),
            ],
            "one company per name ignoring case and spacing, owned by who owns most of its contacts \
             (the earliest contact's owner on a tie), spelled as its earliest contact spelled it"
        );
        let unlinked = db
            .query_one_raw(Statement::from_string(db.get_database_backend(),
                "SELECT COUNT(*) FROM contacts WHERE company_id IS NULL"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unlinked.try_get_by_index::<i64>(0).unwrap(), 3, "blank and missing names make no company");
        db.close().await.ok();
    })
    .await;
}

mod migration_makes_companies {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        migration_makes_companies_from_contact_names(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(crm_test_postgres), ignore = "set CRM_TEST_POSTGRES_URL to run on PostgreSQL")]
    async fn postgres() {
        migration_makes_companies_from_contact_names(Engine::Postgres).await;
    }
}

/// Deals written before currencies existed are in the base currency after the migration, and
/// the funnel cells it recreates are refilled from them.
async fn migration_keeps_old_deals_in_the_base_currency(engine: Engine) {
    tests::run_on_blank_database(engine, |url| async move {
        let db = Database::connect(&url).await.unwrap();
        // Everything up to the migration before currencies.
        migration::Migrator::up(&db, Some(13)).await.unwrap();
        use chrono::TimeZone;
        let at = |day: u32| chrono::Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap();
        insert(&db, "INSERT INTO users (id, email, name, role, created_at, updated_at) VALUES (1, 'a@example.com', 'u', 'SALES_REP', ?, ?)",
            vec![at(1).into(), at(1).into()]).await;
        insert(&db, "INSERT INTO pipelines (id, name, created_at, updated_at) VALUES (1, 'Sales', ?, ?)", vec![at(1).into(), at(1).into()]).await;
        insert(&db, "INSERT INTO stages (id, pipeline_id, name, position, probability, created_at, updated_at) VALUES (1, 1, 'Lead', 1, 10, ?, ?)",
            vec![at(1).into(), at(1).into()]).await;
        insert(&db, "INSERT INTO contacts (id, owner_id, first_name, last_name, lifecycle, created_at, updated_at) VALUES (1, 1, 'x', '', 'LEAD', ?, ?)",
            vec![at(1).into(), at(1).into()]).await;
        // (id, amount, status, closed on day)
        for (id, amount, status, closed) in [(1i64, 1000i64, "OPEN", None), (2, 2500, "WON", Some(5)), (3, 700, "LOST", Some(6))] {
            insert(&db, "INSERT INTO deals (id, contact_id, owner_id, pipeline_id, stage_id, title, amount, status, closed_at,
                stage_entered_at, max_stage_position, created_at, updated_at) VALUES (?, 1, 1, 1, 1, 't', ?, ?, ?, ?, 1, ?, ?)",
                vec![id.into(), amount.into(), status.into(), closed.map(at).into(), at(2).into(), at(2).into(), at(2).into()]).await;
        }
        api::db::migrate(&db).await.unwrap();
        let one = |sql: String| {
            let db = db.clone();
            async move {
                let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
                (row.try_get_by_index::<i64>(0).unwrap(), row.try_get_by_index::<i64>(1).unwrap())
            }
        };
        assert_eq!(one("SELECT COUNT(*), COUNT(currency) FROM deals".into()).await, (3, 0), "every old deal is in the base currency");
        for table in ["funnel_deal_cells", "funnel_deal_day_cells"] {
            let sums = one(format!(
                "SELECT CAST(SUM(deals) AS BIGINT), CAST(SUM(amount) AS BIGINT) FROM {table} WHERE currency = '' AND rate_day = ''"
            ));
            assert_eq!(sums.await, (3, 4200), "{table} refilled from the deals");
        }
        db.close().await.ok();
    })
    .await;
}

mod migration_keeps_old_deals {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        migration_keeps_old_deals_in_the_base_currency(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(crm_test_postgres), ignore = "set CRM_TEST_POSTGRES_URL to run on PostgreSQL")]
    async fn postgres() {
        migration_keeps_old_deals_in_the_base_currency(Engine::Postgres).await;
    }
}

const CREATE_NOTE: &str = "mutation($i: CreateNoteInput!) { createNote(input: $i) {
    note { id body version editable author { email } contact { firstName } company { name } deal { title } } } }";
const UPDATE_NOTE: &str = "mutation($i: UpdateNoteInput!) { updateNote(input: $i) { note { body version } } }";
const DELETE_NOTE: &str = "mutation($i: DeleteNoteInput!) { deleteNote(input: $i) { deletedNoteId } }";

async fn note(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_NOTE, json!({ "i": input })).await["createNote"]["note"].clone()
}

db_test!(notes_are_seen_with_their_record_and_changed_by_their_author, |app| {
    let north = app.team("North").await;
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, analyst) = app.signed_in("analyst@example.com", Role::Analyst, None).await;
    let (_, manager) = app.signed_in("m@example.com", Role::Manager, Some(north)).await;
    let (_, rep_a) = app.signed_in("a@example.com", Role::SalesRep, Some(north)).await;
    let (_, rep_b) = app.signed_in("b@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let acme = company(&app, &rep_a, json!({ "name": "Acme" })).await;
    let ada = contact(&app, &rep_a, json!({ "firstName": "Ada", "companyId": acme["id"] })).await;
    let licence = deal(&app, &rep_a, json!({ "contactId": ada["id"], "title": "Licence", "amount": "100" })).await;

    let on_contact =
        note(&app, &rep_a, json!({ "contactId": ada["id"], "body": " Called, send the proposal on Friday " })).await;
    assert_eq!(
        on_contact,
        json!({ "id": on_contact["id"], "body": "Called, send the proposal on Friday", "version": 1, "editable": true,
                "author": { "email": "a@example.com" }, "contact": { "firstName": "Ada" }, "company": null, "deal": null })
    );
    let on_deal = note(&app, &manager, json!({ "dealId": licence["id"], "body": "Discount approved" })).await;
    note(&app, &rep_a, json!({ "companyId": acme["id"], "body": "HQ moved" })).await;

    let timeline = "query($c: ID!, $d: ID!, $co: ID!) {
        contact(id: $c) { notes { totalCount nodes { body } } }
        deal(id: $d) { notes { nodes { body editable author { email } } } }
        company(id: $co) { notes { nodes { body } } }
        notes { totalCount } }";
    let ids = json!({ "c": ada["id"], "d": licence["id"], "co": acme["id"] });
    let seen = app.ok(&rep_a, timeline, ids.clone()).await;
    assert_eq!(
        seen["contact"]["notes"],
        json!({ "totalCount": 1, "nodes": [{ "body": "Called, send the proposal on Friday" }] })
    );
    assert_eq!(
        seen["deal"]["notes"]["nodes"],
        json!([{ "body": "Discount approved", "editable": false, "author": { "email": "m@example.com" } }]),
        "a note by someone else about your record is yours to read, not to edit"
    );
    assert_eq!(seen["company"]["notes"]["nodes"], json!([{ "body": "HQ moved" }]));
    assert_eq!(seen["notes"]["totalCount"], 3);
    for token in [&analyst, &manager, &admin] {
        assert_eq!(app.ok(token, "{ notes { totalCount } }", json!({})).await["notes"]["totalCount"], 3);
    }
    let outsider = app
        .ok(
            &rep_b,
            "query($n: ID!) { notes { totalCount } note(id: $n) { id } node(id: $n) { id } }",
            json!({ "n": on_contact["id"] }),
        )
        .await;
    assert_eq!(outsider, json!({ "notes": { "totalCount": 0 }, "note": null, "node": null }));

    // Writing: about a record you see, one record, a body; editing: your own notes only.
    let elsewhere = app.err(&rep_b, CREATE_NOTE, json!({ "i": { "contactId": ada["id"], "body": "x" } })).await;
    assert_eq!((&elsewhere["code"], &elsewhere["field"]), (&json!("BAD_USER_INPUT"), &json!("contactId")));
    assert_eq!(
        app.err(&analyst, CREATE_NOTE, json!({ "i": { "contactId": ada["id"], "body": "x" } })).await["code"],
        "FORBIDDEN"
    );
    let two = app
        .err(&rep_a, CREATE_NOTE, json!({ "i": { "contactId": ada["id"], "dealId": licence["id"], "body": "x" } }))
        .await;
    assert_eq!(two["code"], "BAD_USER_INPUT");
    let empty = app.err(&rep_a, CREATE_NOTE, json!({ "i": { "contactId": ada["id"], "body": "  " } })).await;
    assert_eq!(empty["field"], "body");
    let long =
        app.err(&rep_a, CREATE_NOTE, json!({ "i": { "contactId": ada["id"], "body": "x".repeat(10_001) } })).await;
    assert_eq!(long["field"], "body");
    let not_yours =
        app.err(&rep_a, UPDATE_NOTE, json!({ "i": { "id": on_deal["id"], "version": 1, "body": "No" } })).await;
    assert_eq!(not_yours["code"], "FORBIDDEN");
    assert_eq!(app.err(&rep_a, DELETE_NOTE, json!({ "i": { "id": on_deal["id"] } })).await["code"], "FORBIDDEN");
    let edited = app
        .ok(&manager, UPDATE_NOTE, json!({ "i": { "id": on_deal["id"], "version": 1, "body": "Discount: 10 %" } }))
        .await;
    assert_eq!(edited["updateNote"]["note"], json!({ "body": "Discount: 10 %", "version": 2 }));
    let stale =
        app.err(&manager, UPDATE_NOTE, json!({ "i": { "id": on_deal["id"], "version": 1, "body": "Old" } })).await;
    assert_eq!(stale["code"], "CONFLICT");
    app.ok(&admin, DELETE_NOTE, json!({ "i": { "id": on_deal["id"] } })).await;

    // A note goes with its record: deleting the contact hides its notes.
    app.ok(
        &rep_a,
        "mutation($i: DeleteContactInput!) { deleteContact(input: $i) { deletedContactId } }",
        json!({ "i": { "id": ada["id"] } }),
    )
    .await;
    let left = app.ok(&rep_a, "{ notes { nodes { body } } }", json!({})).await;
    assert_eq!(left["notes"]["nodes"], json!([{ "body": "HQ moved" }]));
    assert_eq!(app.count("SELECT COUNT(*) FROM notes").await, 3, "soft: every note is still stored");
});

db_test!(notes_are_logged_streamed_and_imported, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep_a) = app.signed_in("a@example.com", Role::SalesRep, None).await;
    let (_, rep_b) = app.signed_in("b@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let start = app.ok(&admin, "{ changeCursor }", json!({})).await["changeCursor"].clone();
    let mut ws = WsClient::connect(&app.url, &rep_a).await;
    ws.subscribe("n", "subscription { noteChanged { op node { body } } }", json!({})).await;
    let mut other = WsClient::connect(&app.url, &rep_b).await;
    other.subscribe("n", "subscription { noteChanged { op } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ada = contact(&app, &rep_a, json!({ "firstName": "Ada" })).await;
    let written = note(&app, &admin, json!({ "contactId": ada["id"], "body": "Met at the fair" })).await;
    let live = ws.next("n").await["data"]["noteChanged"].clone();
    assert_eq!(
        live,
        json!({ "op": "CREATED", "node": { "body": "Met at the fair" } }),
        "the record's owner hears of it"
    );
    other.quiet_for(Duration::from_millis(500)).await;
    let feed = app
        .ok(
            &rep_a,
            "query($a: String) { changes(after: $a) { events { entity recordId changes { field after } } } }",
            json!({ "a": start }),
        )
        .await["changes"]["events"]
        .clone();
    let logged = feed.as_array().unwrap().iter().find(|e| e["entity"] == "NOTE").unwrap().clone();
    assert_eq!(logged["recordId"], written["id"]);
    let author = logged["changes"].as_array().unwrap().iter().find(|c| c["field"] == "authorId").unwrap().clone();
    assert_eq!(author["after"], json!(gid("User", 1)), "references are global IDs");

    let import = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) { notes { created updated } } }";
    let batch = json!({
        "companies": [{ "externalId": "co", "name": "Acme", "ownerEmail": "a@example.com" }],
        "contacts": [{ "externalId": "c", "firstName": "Bo", "ownerEmail": "a@example.com" }],
        "deals": [{ "externalId": "d", "contactExternalId": "c", "title": "Bo's deal", "amount": "5" }],
        "notes": [
            { "externalId": "n1", "contactExternalId": "c", "body": "First call", "createdAt": "2026-01-05T10:00:00Z",
              "authorEmail": "a@example.com" },
            { "externalId": "n2", "companyExternalId": "co", "body": "Account plan" },
            { "externalId": "n3", "dealExternalId": "d", "body": "Pricing sent" },
            { "externalId": "n4", "contactId": ada["id"], "body": "Old note" }
        ]
    });
    let first = app.ok(&admin, import, json!({ "i": batch })).await;
    assert_eq!(first["importRecords"]["notes"], json!({ "created": 4, "updated": 0 }));
    let again = app.ok(&admin, import, json!({ "i": batch })).await;
    assert_eq!(again["importRecords"]["notes"], json!({ "created": 0, "updated": 4 }));
    let imported = app
        .ok(&rep_a, "{ notes(where: { search: \"first\" }) { nodes { body createdAt author { email } contact { firstName } } } }", json!({}))
        .await;
    assert_eq!(
        imported["notes"]["nodes"],
        json!([{ "body": "First call", "createdAt": "2026-01-05T10:00:00Z", "author": { "email": "a@example.com" },
                 "contact": { "firstName": "Bo" } }]),
        "visible to the owner of its record, whoever wrote it"
    );
    let bad = json!({ "notes": [
        { "externalId": "n5", "contactExternalId": "c", "dealExternalId": "d", "body": "two" },
        { "externalId": "n6", "dealExternalId": "nope", "body": "x" },
        { "externalId": "n7", "contactExternalId": "c", "body": "" }
    ] });
    let failed = app.gql(Some(&admin), import, json!({ "i": bad })).await;
    let at = invalid_records(&failed);
    assert_eq!(at, [(0, "contactExternalId".into())], "conversion problems come first: {failed}");
    let failed = app.gql(Some(&admin), import, json!({ "i": { "notes": [bad["notes"][1], bad["notes"][2]] } })).await;
    let at = invalid_records(&failed);
    assert_eq!(at, [(0, "dealExternalId".into()), (1, "body".into())], "{failed}");
    assert_eq!(app.count("SELECT COUNT(*) FROM notes").await, 5, "nothing written");
});

const CREATE_TASK: &str = "mutation($i: CreateTaskInput!) { createTask(input: $i) {
    task { id title dueAt done doneAt overdue priority version assignee { email } createdBy { email }
           contact { firstName } company { name } deal { title } } } }";
const UPDATE_TASK: &str = "mutation($i: UpdateTaskInput!) { updateTask(input: $i) {
    task { id title done doneAt version assignee { email } } } }";

async fn task(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_TASK, json!({ "i": input })).await["createTask"]["task"].clone()
}

/// An instant `hours` from now, as the API writes timestamps.
fn hours_from_now(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn titles(list: &Value) -> Vec<String> {
    list["nodes"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap().to_owned()).collect()
}

db_test!(tasks_are_seen_by_their_assignee_and_with_their_record, |app| {
    let north = app.team("North").await;
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let (_, manager) = app.member("m@example.com", Role::Manager, Some(north)).await;
    let (_, rep_a) = app.member("a@example.com", Role::SalesRep, Some(north)).await;
    let (b_id, rep_b) = app.member("b@example.com", Role::SalesRep, None).await;
    let (_, rep_c) = app.member("c@example.com", Role::SalesRep, Some(north)).await;
    sales_pipeline(&app, &admin).await;
    let ada = contact(&app, &rep_a, json!({ "firstName": "Ada" })).await;
    let licence = deal(&app, &rep_a, json!({ "contactId": ada["id"], "title": "Licence", "amount": "100" })).await;

    // An admin asks B to review A's deal: A sees it with the deal, B as its assignee.
    let review = task(
        &app,
        &admin,
        json!({ "title": " Legal review ", "dealId": licence["id"], "assigneeId": gid("User", b_id), "priority": "HIGH" }),
    )
    .await;
    assert_eq!(
        review,
        json!({ "id": review["id"], "title": "Legal review", "dueAt": null, "done": false, "doneAt": null,
                "overdue": false, "priority": "HIGH", "version": 1, "assignee": { "email": "b@example.com" },
                "createdBy": { "email": "admin@example.com" }, "contact": null, "company": null,
                "deal": { "title": "Licence" } })
    );
    let own = task(&app, &rep_b, json!({ "title": "Expenses" })).await;
    assert_eq!((&own["assignee"]["email"], &own["priority"]), (&json!("b@example.com"), &json!("NORMAL")));

    let count = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move { app.ok(&token, "{ tasks { totalCount } }", json!({})).await["tasks"]["totalCount"].clone() }
    };
    assert_eq!(count(&admin).await, 2);
    assert_eq!(count(&analyst).await, 2, "ANALYST reads everything");
    assert_eq!(count(&rep_b).await, 2, "B: assigned both");
    assert_eq!(count(&rep_a).await, 1, "A: the one about A's deal");
    assert_eq!(count(&manager).await, 1, "the manager: the one about the team's deal");
    assert_eq!(count(&rep_c).await, 0, "a teammate sees neither");
    let hidden =
        app.ok(&rep_c, "query($t: ID!) { task(id: $t) { id } node(id: $t) { id } }", json!({ "t": own["id"] })).await;
    assert_eq!(hidden, json!({ "task": null, "node": null }));

    // Who may assign whom, and what a task may be about.
    let a_id = app.count("SELECT id FROM users WHERE email = 'a@example.com'").await;
    let to_a = json!({ "title": "x", "assigneeId": gid("User", a_id) });
    assert_eq!(app.err(&rep_b, CREATE_TASK, json!({ "i": to_a })).await["code"], "FORBIDDEN");
    assert_eq!(task(&app, &manager, to_a.clone()).await["assignee"]["email"], "a@example.com");
    let to_b = json!({ "title": "x", "assigneeId": gid("User", b_id) });
    assert_eq!(app.err(&manager, CREATE_TASK, json!({ "i": to_b })).await["code"], "FORBIDDEN");
    assert_eq!(app.err(&analyst, CREATE_TASK, json!({ "i": { "title": "x" } })).await["code"], "FORBIDDEN");
    let unseen = app.err(&rep_c, CREATE_TASK, json!({ "i": { "title": "x", "contactId": ada["id"] } })).await;
    assert_eq!((&unseen["code"], &unseen["field"]), (&json!("BAD_USER_INPUT"), &json!("input.contactId")));
    let two = json!({ "title": "x", "contactId": ada["id"], "dealId": licence["id"] });
    let two = app.err(&rep_a, CREATE_TASK, json!({ "i": two })).await;
    assert_eq!((&two["code"], &two["field"]), (&json!("BAD_USER_INPUT"), &json!("input.contactId")));
    let bad =
        app.gql(Some(&rep_a), CREATE_TASK, json!({ "i": { "title": " ", "dueAt": "3000-01-01T00:00:00Z" } })).await;
    let fields: Vec<&str> = bad["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["input.title", "input.dueAt"], "{bad}");
    let long = app.err(&rep_a, CREATE_TASK, json!({ "i": { "title": "x".repeat(501) } })).await;
    assert_eq!(long["field"], "input.title");
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 3, "only the valid tasks were written");

    // Either side may work it: A, who owns the deal, marks B's task done.
    let done = app.ok(&rep_a, UPDATE_TASK, json!({ "i": { "id": review["id"], "version": 1, "done": true } })).await;
    let done = &done["updateTask"]["task"];
    assert_eq!((&done["done"], &done["version"]), (&json!(true), &json!(2)));
    assert!(done["doneAt"].is_string(), "stamped: {done}");
    let stale = app.err(&rep_b, UPDATE_TASK, json!({ "i": { "id": review["id"], "version": 1, "title": "y" } })).await;
    assert_eq!(stale["code"], "CONFLICT");
    let reopened =
        app.ok(&rep_b, UPDATE_TASK, json!({ "i": { "id": review["id"], "version": 2, "done": false } })).await;
    assert_eq!(reopened["updateTask"]["task"]["doneAt"], Value::Null, "reopening clears doneAt");
    let elsewhere = app.err(&rep_c, UPDATE_TASK, json!({ "i": { "id": own["id"], "version": 1, "title": "y" } })).await;
    assert_eq!(elsewhere["code"], "NOT_FOUND");
    let delete = "mutation($i: DeleteTaskInput!) { deleteTask(input: $i) { deletedTaskId } }";
    app.ok(&rep_b, delete, json!({ "i": { "id": own["id"] } })).await;
    assert_eq!(count(&rep_b).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks WHERE deleted_at IS NOT NULL").await, 1, "soft");
});

db_test!(a_deal_shows_its_next_task_and_lists_sort_by_due_time, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let ada = contact(&app, &rep, json!({ "firstName": "Ada" })).await;
    let licence = deal(&app, &rep, json!({ "contactId": ada["id"], "title": "Licence", "amount": "100" })).await;
    let on_deal = |title: &str, due: Option<String>, priority: &str| json!({ "title": title, "dealId": licence["id"], "dueAt": due, "priority": priority });
    let someday = task(&app, &rep, on_deal("Someday", None, "LOW")).await;
    let in_three = task(&app, &rep, on_deal("In three days", Some(hours_from_now(72)), "NORMAL")).await;
    let tomorrow = task(&app, &rep, on_deal("Tomorrow", Some(hours_from_now(24)), "HIGH")).await;
    let late = task(&app, &rep, json!({ "title": "Late", "contactId": ada["id"], "dueAt": hours_from_now(-24) })).await;
    assert_eq!(late["overdue"], true);

    let next = "query($d: ID!) { deal(id: $d) { nextTask { title } tasks { totalCount } } }";
    let next_title = |app: &TestApp| {
        let (rep, d) = (rep.clone(), licence["id"].clone());
        let app = app.clone();
        async move { app.ok(&rep, next, json!({ "d": d })).await["deal"]["nextTask"]["title"].clone() }
    };
    assert_eq!(next_title(&app).await, "Tomorrow", "the soonest due");
    let mark_done = |id: &Value| json!({ "i": { "id": id, "version": 1, "done": true } });
    app.ok(&rep, UPDATE_TASK, mark_done(&tomorrow["id"])).await;
    assert_eq!(next_title(&app).await, "In three days");
    app.ok(&rep, UPDATE_TASK, mark_done(&in_three["id"])).await;
    assert_eq!(next_title(&app).await, "Someday", "one without a due time, when nothing else is open");
    app.ok(&rep, UPDATE_TASK, mark_done(&someday["id"])).await;
    assert_eq!(next_title(&app).await, Value::Null);

    // Every list orders by due time, those without one last, page after page.
    let list = "query($a: String, $o: [TaskOrderBy!]) { tasks(first: 2, after: $a, orderBy: $o) {
        nodes { title } pageInfo { endCursor hasNextPage } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app.ok(&rep, list, json!({ "a": after })).await["tasks"].clone();
        seen.extend(titles(&page));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["Late", "Tomorrow", "In three days", "Someday"]);
    let by_priority = app.ok(&rep, list, json!({ "o": [{ "field": "PRIORITY", "direction": "DESC" }] })).await;
    assert_eq!(titles(&by_priority["tasks"]), ["Tomorrow", "Late"], "HIGH, then the newest NORMAL (ids break ties)");
    let by_priority = app.ok(&rep, list, json!({ "o": [{ "field": "PRIORITY" }] })).await;
    assert_eq!(titles(&by_priority["tasks"]), ["Someday", "In three days"], "LOW first, ascending");
    let filtered = "query($w: TaskFilter) { tasks(where: $w) { totalCount nodes { title } } }";
    let overdue = app.ok(&rep, filtered, json!({ "w": { "overdue": true } })).await;
    assert_eq!(titles(&overdue["tasks"]), ["Late"]);
    let open = app.ok(&rep, filtered, json!({ "w": { "done": false } })).await;
    assert_eq!(titles(&open["tasks"]), ["Late"]);
    let not_overdue = app.ok(&rep, filtered, json!({ "w": { "overdue": false } })).await;
    assert_eq!(not_overdue["tasks"]["totalCount"], 3);
    let high = app.ok(&rep, filtered, json!({ "w": { "priority": { "in": ["HIGH"] }, "search": "MORROW" } })).await;
    assert_eq!(titles(&high["tasks"]), ["Tomorrow"]);
    let of_contact = app
        .ok(&rep, "query($c: ID!) { contact(id: $c) { tasks { nodes { title } } } }", json!({ "c": ada["id"] }))
        .await;
    assert_eq!(titles(&of_contact["contact"]["tasks"]), ["Late"]);
});

db_test!(data_quality_counts_what_was_left_undone, |app| {
    let north = app.team("North").await;
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, manager) = app.member("m@example.com", Role::Manager, Some(north)).await;
    let (a_id, rep_a) = app.member("a@example.com", Role::SalesRep, Some(north)).await;
    let (b_id, rep_b) = app.member("b@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let schedule = "mutation($i: ScheduleMeetingInput!) { scheduleMeeting(input: $i) { meeting { id } } }";
    let log = "mutation($i: LogMeetingOutcomeInput!) { logMeetingOutcome(input: $i) { meeting { id } } }";
    let mut deals = Vec::new();
    for (token, name) in [(&rep_a, "Ada"), (&rep_a, "Alan"), (&rep_a, "Ava"), (&rep_b, "Bo")] {
        let c = contact(&app, token, json!({ "firstName": name })).await;
        deals.push(deal(&app, token, json!({ "contactId": c["id"], "title": name, "amount": "10" })).await);
        let at = |hours| json!({ "i": { "contactId": c["id"], "kind": "CALL", "scheduledAt": hours_from_now(hours) } });
        // Each contact: one meeting past and never logged, one past and logged, one ahead.
        app.ok(token, schedule, at(-2)).await;
        let held = app.ok(token, schedule, at(-3)).await["scheduleMeeting"]["meeting"]["id"].clone();
        app.ok(token, log, json!({ "i": { "id": held, "status": "COMPLETED" } })).await;
        app.ok(token, schedule, at(5)).await;
    }
    // A's deals: Ada has an open task, Alan only a done one, Ava none; Bo's has none.
    task(&app, &rep_a, json!({ "title": "Call", "dealId": deals[0]["id"], "dueAt": hours_from_now(-1) })).await;
    let done = task(&app, &rep_a, json!({ "title": "Sent", "dealId": deals[1]["id"] })).await;
    app.ok(&rep_a, UPDATE_TASK, json!({ "i": { "id": done["id"], "version": 1, "done": true } })).await;
    // Overdue: A's task on Ada's deal (above) and one more of A's; B has one, not yet due.
    task(&app, &rep_a, json!({ "title": "Old", "dueAt": hours_from_now(-30) })).await;
    task(&app, &rep_b, json!({ "title": "Soon", "dueAt": hours_from_now(30) })).await;
    // A won deal needs no next task.
    let won = deal(&app, &rep_b, json!({ "contactId": contact(&app, &rep_b, json!({ "firstName": "Wyn" })).await["id"], "title": "Won", "amount": "1" })).await;
    app.ok(
        &rep_b,
        "mutation($i: WinDealInput!) { winDeal(input: $i) { deal { status } } }",
        json!({ "i": { "id": won["id"], "version": 1 } }),
    )
    .await;

    let query = "query($w: DataQualityFilter, $g: DataQualityGroupBy) { dataQuality(where: $w, groupBy: $g) {
        unloggedMeetings openDealsWithoutNextTask overdueTasks
        groups { group { owner { email } team { name } } unloggedMeetings openDealsWithoutNextTask overdueTasks } } }";
    let counts = |v: &Value| {
        (
            v["unloggedMeetings"].as_i64().unwrap(),
            v["openDealsWithoutNextTask"].as_i64().unwrap(),
            v["overdueTasks"].as_i64().unwrap(),
        )
    };
    let all = app.ok(&admin, query, json!({ "g": "OWNER" })).await["dataQuality"].clone();
    assert_eq!(counts(&all), (4, 3, 2), "{all}");
    let groups = all["groups"].as_array().unwrap();
    let by_owner: Vec<(String, (i64, i64, i64))> =
        groups.iter().map(|g| (g["group"]["owner"]["email"].as_str().unwrap().to_owned(), counts(g))).collect();
    assert_eq!(by_owner, [("a@example.com".to_owned(), (3, 2, 2)), ("b@example.com".to_owned(), (1, 1, 0))]);
    assert_eq!(counts(&app.ok(&rep_a, query, json!({})).await["dataQuality"]), (3, 2, 2), "a rep: their own");
    assert_eq!(counts(&app.ok(&rep_b, query, json!({})).await["dataQuality"]), (1, 1, 0));
    assert_eq!(counts(&app.ok(&manager, query, json!({})).await["dataQuality"]), (3, 2, 2), "the team: A");
    let only_b = json!({ "w": { "ownerIds": [gid("User", b_id)] } });
    assert_eq!(counts(&app.ok(&admin, query, only_b).await["dataQuality"]), (1, 1, 0));
    let teams = app.ok(&admin, query, json!({ "g": "TEAM" })).await["dataQuality"]["groups"].clone();
    let by_team: Vec<(Value, (i64, i64, i64))> =
        teams.as_array().unwrap().iter().map(|g| (g["group"]["team"]["name"].clone(), counts(g))).collect();
    assert_eq!(by_team, [(Value::Null, (1, 1, 0)), (json!("North"), (3, 2, 2))], "owners without a team first");
    let rep_only = json!({ "w": { "ownerIds": [gid("User", a_id)] } });
    assert_eq!(counts(&app.ok(&rep_b, query, rep_only).await["dataQuality"]), (0, 0, 0), "scope applies on top");
});

db_test!(tasks_are_logged_streamed_and_imported, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (a_id, rep_a) = app.member("a@example.com", Role::SalesRep, None).await;
    let (b_id, rep_b) = app.member("b@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let start = app.ok(&admin, "{ changeCursor }", json!({})).await["changeCursor"].clone();
    let mut ws = WsClient::connect(&app.url, &rep_b).await;
    ws.subscribe("t", "subscription { taskChanged { op node { title } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ada = contact(&app, &rep_a, json!({ "firstName": "Ada" })).await;
    let made =
        task(&app, &admin, json!({ "title": "Prepare", "contactId": ada["id"], "assigneeId": gid("User", b_id) }))
            .await;
    assert_eq!(ws.next("t").await["data"]["taskChanged"], json!({ "op": "CREATED", "node": { "title": "Prepare" } }));
    let moved = json!({ "i": { "id": made["id"], "version": 1, "assigneeId": gid("User", a_id) } });
    app.ok(&admin, UPDATE_TASK, moved).await;
    assert_eq!(
        ws.next("t").await["data"]["taskChanged"],
        json!({ "op": "REMOVED_FROM_SCOPE", "node": null }),
        "reassigned away from B"
    );
    let feed = app
        .ok(
            &rep_a,
            "query($a: String) { changes(after: $a) { events { entity op changes { field before after } } } }",
            json!({ "a": start }),
        )
        .await["changes"]["events"]
        .clone();
    let update =
        feed.as_array().unwrap().iter().find(|e| e["entity"] == "TASK" && e["op"] == "UPDATED").unwrap().clone();
    let assignee = update["changes"].as_array().unwrap().iter().find(|c| c["field"] == "assigneeId").unwrap().clone();
    assert_eq!((&assignee["before"], &assignee["after"]), (&json!(gid("User", b_id)), &json!(gid("User", a_id))));

    let import = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) { tasks { created updated } } }";
    let batch = json!({
        "contacts": [{ "externalId": "c", "firstName": "Bo", "ownerEmail": "a@example.com" }],
        "deals": [{ "externalId": "d", "contactExternalId": "c", "title": "Bo's deal", "amount": "5" }],
        "tasks": [
            { "externalId": "t1", "dealExternalId": "d", "title": "Send pricing", "dueAt": "2026-03-01T09:00:00Z",
              "assigneeEmail": "a@example.com", "priority": "HIGH" },
            { "externalId": "t2", "contactExternalId": "c", "title": "Intro call", "done": true,
              "createdAt": "2026-01-05T10:00:00Z", "doneAt": "2026-01-06T10:00:00Z", "assigneeEmail": "a@example.com" },
            { "externalId": "t3", "title": "Admin's own" }
        ]
    });
    let first = app.ok(&admin, import, json!({ "i": batch })).await;
    assert_eq!(first["importRecords"]["tasks"], json!({ "created": 3, "updated": 0 }));
    let again = app.ok(&admin, import, json!({ "i": batch })).await;
    assert_eq!(again["importRecords"]["tasks"], json!({ "created": 0, "updated": 3 }));
    let imported = app
        .ok(
            &rep_a,
            "{ tasks(where: { search: \"i\" }, orderBy: [{ field: CREATED_AT }]) { nodes { title done doneAt dueAt overdue priority deal { title } contact { firstName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        imported["tasks"]["nodes"],
        json!([
            { "title": "Intro call", "done": true, "doneAt": "2026-01-06T10:00:00Z", "dueAt": null, "overdue": false,
              "priority": "NORMAL", "deal": null, "contact": { "firstName": "Bo" } },
            { "title": "Send pricing", "done": false, "doneAt": null, "dueAt": "2026-03-01T09:00:00Z", "overdue": true,
              "priority": "HIGH", "deal": { "title": "Bo's deal" }, "contact": null }
        ]),
        "A's tasks; the admin's own is not A's to see"
    );
    let bad = json!({ "tasks": [
        { "externalId": "t4", "title": "open", "doneAt": "2026-01-06T10:00:00Z" },
        { "externalId": "t5", "title": " " },
        { "externalId": "t6", "title": "x", "dealExternalId": "nope" },
        { "externalId": "t7", "title": "x", "assigneeEmail": "nobody@example.com" }
    ] });
    let failed = app.gql(Some(&admin), import, json!({ "i": bad })).await;
    let at = invalid_records(&failed);
    assert_eq!(
        at,
        [(0, "doneAt".into()), (1, "title".into()), (2, "dealExternalId".into()), (3, "assigneeEmail".into())],
        "{failed}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 4, "nothing written");
    let _ = rep_b;
});

db_test!(merging_contacts_moves_what_hangs_off_them_and_keeps_the_metrics, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let (_, rep_a) = app.member("a@example.com", Role::SalesRep, None).await;
    let (_, rep_b) = app.member("b@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let acme = company(&app, &rep_a, json!({ "name": "Acme" })).await;
    let ada = contact(&app, &rep_a, json!({ "firstName": "Ada", "email": "ada@x.com", "source": "Web" })).await;
    let twin = contact(
        &app,
        &rep_a,
        json!({ "firstName": "Ada", "lastName": "Lovelace", "email": " ADA@x.com ", "phone": "+1 (555) 010",
                "source": "Fair", "externalId": "crm-twin", "companyId": acme["id"] }),
    )
    .await;
    let bo = contact(&app, &rep_a, json!({ "firstName": "Bo", "phone": "1-555-010" })).await;
    contact(&app, &rep_a, json!({ "firstName": "Cy", "lastName": "Young", "companyId": acme["id"] })).await;
    contact(&app, &rep_a, json!({ "firstName": "cy", "lastName": "YOUNG ", "companyId": acme["id"] })).await;
    deal(&app, &rep_a, json!({ "contactId": ada["id"], "title": "Kept's", "amount": "10" })).await;
    let twins_deal = deal(&app, &rep_a, json!({ "contactId": twin["id"], "title": "Twin's", "amount": "20" })).await;
    deal(&app, &rep_a, json!({ "contactId": bo["id"], "title": "Bo's", "amount": "30" })).await;
    let schedule = "mutation($i: ScheduleMeetingInput!) { scheduleMeeting(input: $i) { meeting { id } } }";
    let at = json!({ "i": { "contactId": twin["id"], "dealId": twins_deal["id"], "kind": "CALL", "scheduledAt": hours_from_now(-2) } });
    let met = app.ok(&rep_a, schedule, at).await["scheduleMeeting"]["meeting"]["id"].clone();
    app.ok(
        &rep_a,
        "mutation($i: LogMeetingOutcomeInput!) { logMeetingOutcome(input: $i) { meeting { id } } }",
        json!({ "i": { "id": met, "status": "NO_SHOW" } }),
    )
    .await;
    note(&app, &rep_a, json!({ "contactId": twin["id"], "body": "Met at the fair" })).await;
    task(&app, &rep_a, json!({ "title": "Call back", "contactId": twin["id"] })).await;

    let groups = "{ duplicateContacts { reason key contacts { firstName lastName } } }";
    let found = app.ok(&rep_a, groups, json!({})).await["duplicateContacts"].clone();
    let acme_id = app.count("SELECT id FROM companies").await;
    assert_eq!(
        found,
        json!([
            { "reason": "EMAIL", "key": "ada@x.com", "contacts": [{ "firstName": "Ada", "lastName": "" }, { "firstName": "Ada", "lastName": "Lovelace" }] },
            { "reason": "PHONE", "key": "1555010", "contacts": [{ "firstName": "Ada", "lastName": "Lovelace" }, { "firstName": "Bo", "lastName": "" }] },
            { "reason": "NAME_AND_COMPANY", "key": format!("cy young @{acme_id}"), "contacts": [{ "firstName": "Cy", "lastName": "Young" }, { "firstName": "cy", "lastName": "YOUNG" }] }
        ])
    );
    assert_eq!(app.ok(&rep_b, groups, json!({})).await["duplicateContacts"], json!([]), "only contacts you may write");
    assert_eq!(app.err(&analyst, groups, json!({})).await["code"], "FORBIDDEN");

    let metrics = "{ funnel { deals steps { reached } } noShowStats { meetings noShows } leadEconomics { leads } }";
    let before = app.ok(&admin, metrics, json!({})).await;
    let bo_before = app
        .ok(
            &admin,
            "query($c: ID!) { contact(id: $c) { deals { title contact { firstName } } } }",
            json!({ "c": bo["id"] }),
        )
        .await;

    let merge = "mutation($i: MergeContactsInput!) { mergeContacts(input: $i) { mergedContactIds contact {
        firstName lastName email phone source company { name } version
        deals { id } meetings { id } notes { totalCount } tasks { totalCount } } } }";
    let bad = |keep: &Value, ids: Value| json!({ "i": { "keepId": keep, "mergeIds": ids } });
    let itself = app.err(&rep_a, merge, bad(&ada["id"], json!([ada["id"]]))).await;
    assert_eq!((&itself["code"], &itself["field"]), (&json!("BAD_USER_INPUT"), &json!("input.mergeIds")));
    assert_eq!(app.err(&rep_a, merge, bad(&ada["id"], json!([]))).await["field"], "input.mergeIds");
    assert_eq!(app.err(&rep_b, merge, bad(&ada["id"], json!([twin["id"]]))).await["code"], "NOT_FOUND");
    assert_eq!(app.err(&analyst, merge, bad(&ada["id"], json!([twin["id"]]))).await["code"], "FORBIDDEN");
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts WHERE deleted_at IS NOT NULL").await, 0, "nothing merged yet");

    let start = app.ok(&admin, "{ changeCursor }", json!({})).await["changeCursor"].clone();
    let merged = app.ok(&rep_a, merge, bad(&ada["id"], json!([twin["id"]]))).await["mergeContacts"].clone();
    assert_eq!(merged["mergedContactIds"], json!([twin["id"]]));
    let kept = &merged["contact"];
    assert_eq!(
        (&kept["lastName"], &kept["email"], &kept["phone"], &kept["source"], &kept["company"]),
        (&json!("Lovelace"), &json!("ada@x.com"), &json!("+1 (555) 010"), &json!("Web"), &json!({ "name": "Acme" })),
        "empty fields filled from the twin; its own email and the source metrics read stay"
    );
    assert_eq!(
        (
            kept["deals"].as_array().unwrap().len(),
            kept["meetings"].as_array().unwrap().len(),
            &kept["notes"]["totalCount"],
            &kept["tasks"]["totalCount"]
        ),
        (2, 1, &json!(1), &json!(1)),
        "every record of the twin moved: {kept}"
    );
    let gone = app
        .ok(&rep_a, "query($c: ID!) { contact(id: $c) { id } contacts(where: { id: { eq: $c }, includeDeleted: true }) { nodes { deletedAt mergedInto { firstName } } } }", json!({ "c": twin["id"] }))
        .await;
    assert_eq!(gone["contact"], Value::Null);
    assert_eq!(gone["contacts"]["nodes"][0]["mergedInto"], json!({ "firstName": "Ada" }));
    for table in ["deals", "meetings", "notes", "tasks"] {
        let twin_id = app.count("SELECT MAX(id) FROM contacts WHERE merged_into_id IS NOT NULL").await;
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM {table} WHERE contact_id = {twin_id}")).await,
            0,
            "{table}"
        );
    }

    // The metrics: the same deals and meetings, one lead fewer (the twin itself).
    let after = app.ok(&admin, metrics, json!({})).await;
    assert_eq!(after["funnel"], before["funnel"]);
    assert_eq!(after["noShowStats"], before["noShowStats"]);
    assert_eq!(
        before["leadEconomics"]["leads"].as_i64().unwrap() - 1,
        after["leadEconomics"]["leads"].as_i64().unwrap()
    );
    let bo_after = app
        .ok(
            &admin,
            "query($c: ID!) { contact(id: $c) { deals { title contact { firstName } } } }",
            json!({ "c": bo["id"] }),
        )
        .await;
    assert_eq!(bo_after, bo_before, "other contacts untouched");

    // The log says what happened; a merged contact cannot be merged or imported again.
    let feed = app
        .ok(
            &admin,
            "query($a: String) { changes(after: $a) { events { entity op kind recordId } } }",
            json!({ "a": start }),
        )
        .await["changes"]["events"]
        .clone();
    let events = feed.as_array().unwrap();
    assert!(
        events.iter().any(|e| e["entity"] == "CONTACT"
            && e["op"] == "DELETED"
            && e["kind"] == "CONTACT_MERGED"
            && e["recordId"] == twin["id"]),
        "{feed}"
    );
    for entity in ["DEAL", "MEETING", "NOTE", "TASK"] {
        assert!(events.iter().any(|e| e["entity"] == entity && e["op"] == "UPDATED"), "{entity} moved: {feed}");
    }
    assert_eq!(app.err(&rep_a, merge, bad(&ada["id"], json!([twin["id"]]))).await["field"], "input.mergeIds");
    let import = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) { contacts { created } } }";
    let again = app
        .gql(Some(&admin), import, json!({ "i": { "contacts": [{ "externalId": "crm-twin", "firstName": "Ada" }] } }))
        .await;
    assert_eq!(invalid_records(&again), [(0, "externalId".to_owned())], "{again}");
});
