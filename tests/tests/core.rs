//! Core CRM API: queries, relations, mutations, validation, concurrency and scoping of
//! contacts, deals, meetings and the admin records — on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use entity::enums::Role;
use tests::{TestApp, Value, db_test, gid, json};

#[path = "core/import.rs"]
mod import;
#[path = "core/streaming.rs"]
mod streaming;

const CREATE_CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) {
    contact { id version firstName lastName email phone company { name } source lifecycle acquisitionCost externalId
              owner { name } createdAt } } }";
const UPDATE_CONTACT: &str = "mutation($i: UpdateContactInput!) { updateContact(input: $i) {
    contact { id version firstName email company { name } lifecycle disqualifiedAt acquisitionCost } } }";

async fn create_contact(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_CONTACT, json!({ "i": input })).await["createContact"]["contact"].clone()
}

db_test!(contact_create_read_update_delete, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let navy = app
        .ok(&rep, "mutation { createCompany(input: { name: \"Navy\" }) { company { id } } }", json!({}))
        .await["createCompany"]["company"]["id"]
        .clone();
    let created = create_contact(
        &app,
        &rep,
        json!({ "firstName": " Grace ", "lastName": "Hopper", "email": "Grace@Navy.MIL", "companyId": navy,
                "source": "Referral", "acquisitionCost": "120.50", "externalId": "hub-1" }),
    )
    .await;
    assert_eq!(created["firstName"], "Grace", "trimmed");
    assert_eq!(created["email"], "grace@navy.mil", "normalized");
    assert_eq!(created["lifecycle"], "LEAD");
    assert_eq!(created["acquisitionCost"], "120.50");
    assert_eq!(created["version"], 1);
    assert_eq!(created["owner"]["name"], "rep", "owned by the caller");
    let id = created["id"].as_str().unwrap().to_owned();

    let read = app
        .ok(
            &rep,
            "query($id: ID!) { contact(id: $id) { fullName company { name } } node(id: $id) { id ... on Contact { email } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["contact"], json!({ "fullName": "Grace Hopper", "company": { "name": "Navy" } }));
    assert_eq!(read["node"], json!({ "id": id, "email": "grace@navy.mil" }));

    // Update: omitted fields stay, null clears, the version moves on.
    let updated = app
        .ok(&rep, UPDATE_CONTACT, json!({ "i": { "id": id, "version": 1, "companyId": null, "lifecycle": "DISQUALIFIED", "acquisitionCost": 99 } }))
        .await["updateContact"]["contact"]
        .clone();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["firstName"], "Grace");
    assert_eq!(updated["company"], Value::Null);
    assert_eq!(updated["lifecycle"], "DISQUALIFIED");
    assert!(updated["disqualifiedAt"].is_string());
    assert_eq!(updated["acquisitionCost"], "99.00");

    // A stale version is a CONFLICT and changes nothing.
    let stale = app.err(&rep, UPDATE_CONTACT, json!({ "i": { "id": id, "version": 1, "firstName": "Nope" } })).await;
    assert_eq!(stale["code"], "CONFLICT");
    let after = app.ok(&rep, "query($id: ID!) { contact(id: $id) { firstName version } }", json!({ "id": id })).await;
    assert_eq!(after["contact"], json!({ "firstName": "Grace", "version": 2 }));

    // Soft delete: gone from lookups and lists, still there with includeDeleted.
    let deleted = app
        .ok(
            &rep,
            "mutation($i: DeleteContactInput!) { deleteContact(input: $i) { deletedContactId } }",
            json!({ "i": { "id": id, "version": 2 } }),
        )
        .await;
    assert_eq!(deleted["deleteContact"]["deletedContactId"], id.as_str());
    let gone =
        app.ok(&rep, "query($id: ID!) { contact(id: $id) { id } contacts { totalCount } }", json!({ "id": id })).await;
    assert_eq!(gone, json!({ "contact": null, "contacts": { "totalCount": 0 } }));
    let with_deleted = app
        .ok(&rep, "{ contacts(where: { includeDeleted: true }) { totalCount nodes { deletedAt } } }", json!({}))
        .await;
    assert_eq!(with_deleted["contacts"]["totalCount"], 1);
    assert!(with_deleted["contacts"]["nodes"][0]["deletedAt"].is_string());
    let again = app
        .err(
            &rep,
            "mutation($i: DeleteContactInput!) { deleteContact(input: $i) { deletedContactId } }",
            json!({ "i": { "id": id } }),
        )
        .await;
    assert_eq!(again["code"], "NOT_FOUND");
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 1, "soft delete keeps the row");
});

db_test!(contact_validation_names_the_field, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    for (input, field) in [
        (json!({ "firstName": "  " }), "firstName"),
        (json!({ "firstName": "A", "email": "not-an-email" }), "email"),
        (json!({ "firstName": "A", "acquisitionCost": "-1" }), "acquisitionCost"),
        (json!({ "firstName": "A", "phone": "9".repeat(65) }), "phone"),
        (json!({ "firstName": "A".repeat(201) }), "firstName"),
        (json!({ "firstName": "A", "ownerId": "garbage" }), "input.ownerId"),
    ] {
        let err = app.err(&rep, CREATE_CONTACT, json!({ "i": input })).await;
        assert_eq!(err["code"], "BAD_USER_INPUT", "{input}: {err}");
        assert_eq!(err["field"], field, "{input}");
    }
    let bad_money =
        app.err(&rep, CREATE_CONTACT, json!({ "i": { "firstName": "A", "acquisitionCost": "1.234" } })).await;
    assert_eq!((&bad_money["code"], &bad_money["field"]), (&json!("BAD_USER_INPUT"), &json!("acquisitionCost")));
    assert_eq!(bad_money["fields"][0]["field"], "acquisitionCost", "{bad_money}");
    let bad_enum = app.err(&rep, CREATE_CONTACT, json!({ "i": { "firstName": "A", "lifecycle": "NOPE" } })).await;
    assert_eq!(bad_enum["code"], "BAD_USER_INPUT", "{bad_enum}");
    create_contact(&app, &rep, json!({ "firstName": "A", "externalId": "x-1" })).await;
    let dup = app.err(&rep, CREATE_CONTACT, json!({ "i": { "firstName": "B", "externalId": "x-1" } })).await;
    assert_eq!((dup["code"].as_str(), dup["field"].as_str()), (Some("BAD_USER_INPUT"), Some("externalId")));
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 1, "nothing written by failed creates");
});

db_test!(contact_pagination_ordering_and_filters, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    // Seven contacts; last names repeat so the id must break ties.
    let names = [
        ("Ann", "Baker"),
        ("Bob", "Adams"),
        ("Cid", "Baker"),
        ("Dee", "Clark"),
        ("Eve", "Adams"),
        ("Fay", "100% Real"),
        ("Gus", "Clark"),
    ];
    for (i, (first, last)) in names.iter().enumerate() {
        let lifecycle = if i % 2 == 0 { "LEAD" } else { "QUALIFIED" };
        create_contact(
            &app,
            &rep,
            json!({ "firstName": first, "lastName": last, "lifecycle": lifecycle, "acquisitionCost": (i as i64) * 10 }),
        )
        .await;
    }
    let page_query = "query($first: Int, $after: String, $last: Int, $before: String) {
        contacts(orderBy: [{ field: LAST_NAME }], first: $first, after: $after, last: $last, before: $before) {
          totalCount edges { cursor node { firstName } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app.ok(&rep, page_query, json!({ "first": 3, "after": after })).await["contacts"].clone();
        assert_eq!(page["totalCount"], 7);
        for edge in page["edges"].as_array().unwrap() {
            seen.push(edge["node"]["firstName"].as_str().unwrap().to_owned());
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    // "100% Real" < "Adams" < "Baker" < "Clark"; ties go by id in the same (ascending) direction.
    assert_eq!(seen, ["Fay", "Bob", "Eve", "Ann", "Cid", "Dee", "Gus"]);

    let tail = app.ok(&rep, page_query, json!({ "last": 2 })).await["contacts"].clone();
    let tail_names: Vec<&str> =
        tail["edges"].as_array().unwrap().iter().map(|e| e["node"]["firstName"].as_str().unwrap()).collect();
    assert_eq!(tail_names, ["Dee", "Gus"]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    let before =
        app.ok(&rep, page_query, json!({ "last": 2, "before": tail["pageInfo"]["startCursor"] })).await["contacts"]
            .clone();
    let before_names: Vec<&str> =
        before["edges"].as_array().unwrap().iter().map(|e| e["node"]["firstName"].as_str().unwrap()).collect();
    assert_eq!(before_names, ["Ann", "Cid"]);

    let too_many = app.err(&rep, "{ contacts(first: 101) { totalCount } }", json!({})).await;
    assert_eq!((too_many["code"].as_str(), too_many["field"].as_str()), (Some("BAD_USER_INPUT"), Some("first")));
    let bad_cursor = app.err(&rep, "{ contacts(after: \"bm9wZQ\") { totalCount } }", json!({})).await;
    assert_eq!(bad_cursor["code"], "BAD_USER_INPUT");

    let count = |filter: &'static str| {
        let app = app.clone();
        let rep = rep.clone();
        async move {
            app.ok(&rep, &format!("{{ contacts(where: {filter}) {{ totalCount }} }}"), json!({})).await["contacts"]["totalCount"].as_i64().unwrap()
        }
    };
    assert_eq!(count("{ search: \"BAKER\" }").await, 2, "case-insensitive");
    assert_eq!(count("{ search: \"100%\" }").await, 1, "% matches itself");
    assert_eq!(count("{ search: \"%\" }").await, 1);
    assert_eq!(count("{ lifecycle: { in: [QUALIFIED] } }").await, 3);
    assert_eq!(count("{ acquisitionCost: { gte: \"30\", lt: \"60\" } }").await, 3);
    assert_eq!(count("{ lifecycle: { eq: LEAD }, acquisitionCost: { gte: \"30\" } }").await, 2);
    assert_eq!(count("{ createdAt: { lt: \"2000-01-01T00:00:00Z\" } }").await, 0);
    let by_cost = app
        .ok(
            &rep,
            "{ contacts(orderBy: [{ field: ACQUISITION_COST, direction: DESC }], first: 2) { nodes { firstName } } }",
            json!({}),
        )
        .await;
    assert_eq!(by_cost["contacts"]["nodes"], json!([{ "firstName": "Gus" }, { "firstName": "Fay" }]));
});

db_test!(contact_scope_by_role, |app| {
    let north = app.team("North").await;
    let south = app.team("South").await;
    let (rep_a_id, rep_a) = app.signed_in("a@example.com", Role::SalesRep, Some(north)).await;
    let (_, rep_b) = app.signed_in("b@example.com", Role::SalesRep, Some(north)).await;
    let (rep_c_id, rep_c) = app.signed_in("c@example.com", Role::SalesRep, Some(south)).await;
    let (_, manager) = app.signed_in("m@example.com", Role::Manager, Some(north)).await;
    let (_, analyst) = app.signed_in("an@example.com", Role::Analyst, None).await;
    let (_, admin) = app.signed_in("ad@example.com", Role::Admin, None).await;
    let a = create_contact(&app, &rep_a, json!({ "firstName": "OfA", "email": "a@x.co", "phone": "1" })).await;
    create_contact(&app, &rep_b, json!({ "firstName": "OfB" })).await;
    let c = create_contact(&app, &rep_c, json!({ "firstName": "OfC" })).await;
    let names = |token: String| {
        let app = app.clone();
        async move {
            let data = app
                .ok(
                    &token,
                    "{ contacts(orderBy: [{ field: FIRST_NAME }]) { totalCount nodes { firstName } } }",
                    json!({}),
                )
                .await;
            let names: Vec<String> = data["contacts"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["firstName"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(data["contacts"]["totalCount"].as_u64(), Some(names.len() as u64));
            names
        }
    };
    assert_eq!(names(rep_a.clone()).await, ["OfA"]);
    assert_eq!(names(manager.clone()).await, ["OfA", "OfB"]);
    assert_eq!(names(admin.clone()).await, ["OfA", "OfB", "OfC"]);
    assert_eq!(names(analyst.clone()).await, ["OfA", "OfB", "OfC"]);

    // Outside the scope is indistinguishable from missing.
    let lookup = "query($id: ID!) { contact(id: $id) { id } node(id: $id) { id } }";
    assert_eq!(app.ok(&rep_a, lookup, json!({ "id": c["id"] })).await, json!({ "contact": null, "node": null }));
    assert_eq!(app.ok(&manager, lookup, json!({ "id": c["id"] })).await, json!({ "contact": null, "node": null }));
    let missing = app.ok(&rep_a, lookup, json!({ "id": gid("Contact", 999_999) })).await;
    assert_eq!(missing, json!({ "contact": null, "node": null }));
    let foreign_update =
        app.err(&rep_a, UPDATE_CONTACT, json!({ "i": { "id": c["id"], "version": 1, "firstName": "X" } })).await;
    assert_eq!(foreign_update["code"], "NOT_FOUND");
    // A caller's own filter is ANDed with the scope, never replaces it.
    let widened = app
        .ok(
            &rep_a,
            "query($o: ID!) { contacts(where: { ownerId: { eq: $o } }) { totalCount } }",
            json!({ "o": gid("User", rep_c_id) }),
        )
        .await;
    assert_eq!(widened["contacts"]["totalCount"], 0);

    // Analysts read everything but PII, and write nothing.
    let pii = app
        .gql(Some(&analyst), "query($id: ID!) { contact(id: $id) { firstName email phone } }", json!({ "id": a["id"] }))
        .await;
    assert_eq!(pii["data"]["contact"], json!({ "firstName": "OfA", "email": null, "phone": null }));
    assert_eq!(pii["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(pii["errors"].as_array().unwrap().len(), 2);
    let analyst_write = app.err(&analyst, CREATE_CONTACT, json!({ "i": { "firstName": "X" } })).await;
    assert_eq!(analyst_write["code"], "FORBIDDEN");

    // Ownership: reps own only themselves; managers assign within their team.
    let rep_assigns =
        app.err(&rep_a, CREATE_CONTACT, json!({ "i": { "firstName": "X", "ownerId": gid("User", rep_c_id) } })).await;
    assert_eq!(rep_assigns["code"], "FORBIDDEN");
    let manager_outside =
        app.err(&manager, CREATE_CONTACT, json!({ "i": { "firstName": "X", "ownerId": gid("User", rep_c_id) } })).await;
    assert_eq!(manager_outside["code"], "FORBIDDEN");
    let manager_inside =
        create_contact(&app, &manager, json!({ "firstName": "Assigned", "ownerId": gid("User", rep_a_id) })).await;
    assert_eq!(manager_inside["owner"]["name"], "a");
    let admin_unknown =
        app.err(&admin, CREATE_CONTACT, json!({ "i": { "firstName": "X", "ownerId": gid("User", 999) } })).await;
    assert_eq!(
        (admin_unknown["code"].as_str(), admin_unknown["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("ownerId"))
    );
});

/// Creates the pipeline "Sales" (Lead 10, Demo 40, Proposal 60, Won-ready 80) as ADMIN;
/// returns the pipeline id and the stage ids in order.
async fn sales_pipeline(app: &TestApp, admin: &str) -> (String, Vec<String>) {
    let data = app
        .ok(
            admin,
            "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [
                { name: \"Lead\", probability: 10 }, { name: \"Demo\", probability: 40 },
                { name: \"Proposal\", probability: 60 }, { name: \"Negotiation\", probability: 80 }] }) {
              pipeline { id isDefault stages { id name position } } } }",
            json!({}),
        )
        .await;
    let pipeline = &data["createPipeline"]["pipeline"];
    let stages = pipeline["stages"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    (pipeline["id"].as_str().unwrap().to_owned(), stages)
}

async fn lost_reason(app: &TestApp, admin: &str, name: &str) -> (String, i64) {
    let data = app
        .ok(
            admin,
            "mutation($n: String!) { createLostReason(input: { name: $n }) { lostReason { id version } } }",
            json!({ "n": name }),
        )
        .await;
    let r = &data["createLostReason"]["lostReason"];
    (r["id"].as_str().unwrap().to_owned(), r["version"].as_i64().unwrap())
}

const DEAL_FIELDS: &str = "id version title amount status stage { name position } closedAt lostNote lostReason { name }
    stageHistory { fromStage { name } toStage { name } movedBy { name } }";

async fn create_deal(app: &TestApp, token: &str, input: Value) -> Value {
    let q = format!("mutation($i: CreateDealInput!) {{ createDeal(input: $i) {{ deal {{ {DEAL_FIELDS} }} }} }}");
    app.ok(token, &q, json!({ "i": input })).await["createDeal"]["deal"].clone()
}

db_test!(pipelines_stages_and_lost_reasons, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let (pipeline, stages) = sales_pipeline(&app, &admin).await;
    let forbidden =
        app.err(&rep, "mutation { createPipeline(input: { name: \"X\" }) { pipeline { id } } }", json!({})).await;
    assert_eq!(forbidden["code"], "FORBIDDEN");

    // Insert at position 2: later stages move down, positions stay 1..n.
    let add = "mutation($p: ID!) { createStage(input: { pipelineId: $p, name: \"Qualified\", probability: 20, position: 2 }) { stage { id position } } }";
    let added = app.ok(&admin, add, json!({ "p": pipeline })).await;
    assert_eq!(added["createStage"]["stage"]["position"], 2);
    let order = |app: TestApp, token: String| async move {
        let data = app.ok(&token, "{ pipelines { name stages { name position } } }", json!({})).await;
        data["pipelines"][0]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap().to_owned(), s["position"].as_i64().unwrap()))
            .collect::<Vec<_>>()
    };
    let names = |v: Vec<(String, i64)>| v.into_iter().map(|(n, p)| format!("{p}:{n}")).collect::<Vec<_>>().join(" ");
    assert_eq!(names(order(app.clone(), rep.clone()).await), "1:Lead 2:Qualified 3:Demo 4:Proposal 5:Negotiation");

    // Move the last stage to the top.
    let reorder = "mutation($id: ID!) { updateStage(input: { id: $id, version: 1, position: 1, probability: 85 }) { stage { position probability version } } }";
    let moved = app.ok(&admin, reorder, json!({ "id": stages[3] })).await;
    assert_eq!(moved["updateStage"]["stage"], json!({ "position": 1, "probability": 85, "version": 2 }));
    assert_eq!(names(order(app.clone(), rep.clone()).await), "1:Negotiation 2:Lead 3:Qualified 4:Demo 5:Proposal");
    let stale = app.err(&admin, reorder, json!({ "id": stages[3] })).await;
    assert_eq!(stale["code"], "CONFLICT");
    let bad_probability = app
        .err(
            &admin,
            "mutation($id: ID!) { updateStage(input: { id: $id, version: 2, probability: 101 }) { stage { id } } }",
            json!({ "id": stages[3] }),
        )
        .await;
    assert_eq!(
        (bad_probability["code"].as_str(), bad_probability["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("probability"))
    );

    let (reason, version) = lost_reason(&app, &admin, "Price").await;
    lost_reason(&app, &admin, "Timing").await;
    let deactivate = "mutation($id: ID!, $v: Int!) { updateLostReason(input: { id: $id, version: $v, active: false }) { lostReason { active } } }";
    app.ok(&admin, deactivate, json!({ "id": reason, "v": version })).await;
    let active = app
        .ok(&rep, "{ lostReasons { name } all: lostReasons(includeInactive: true) { name active } }", json!({}))
        .await;
    assert_eq!(active["lostReasons"], json!([{ "name": "Timing" }]));
    assert_eq!(active["all"], json!([{ "name": "Price", "active": false }, { "name": "Timing", "active": true }]));
});

db_test!(deal_lifecycle_writes_history, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let (_, stages) = sales_pipeline(&app, &admin).await;
    let (other_pipeline_stage, _) = {
        let data = app.ok(&admin, "mutation { createPipeline(input: { name: \"Renewals\", stages: [{ name: \"Due\", probability: 50 }] }) { pipeline { stages { id } } } }", json!({})).await;
        (data["createPipeline"]["pipeline"]["stages"][0]["id"].as_str().unwrap().to_owned(), ())
    };
    let (price, _) = lost_reason(&app, &admin, "Price").await;
    let contact = create_contact(&app, &rep, json!({ "firstName": "Buyer" })).await;

    let deal = create_deal(
        &app,
        &rep,
        json!({ "contactId": contact["id"], "title": "Pilot", "amount": "1500.00", "expectedCloseDate": "2026-12-31" }),
    )
    .await;
    assert_eq!(deal["status"], "OPEN");
    assert_eq!(deal["stage"], json!({ "name": "Lead", "position": 1 }), "first stage of the default pipeline");
    assert_eq!(
        deal["stageHistory"],
        json!([{ "fromStage": null, "toStage": { "name": "Lead" }, "movedBy": { "name": "rep" } }])
    );

    let move_q = format!("mutation($i: MoveDealInput!) {{ moveDeal(input: $i) {{ deal {{ {DEAL_FIELDS} }} }} }}");
    // Skipping a stage is allowed (Lead -> Proposal).
    let moved = app.ok(&rep, &move_q, json!({ "i": { "id": deal["id"], "version": 1, "stageId": stages[2] } })).await["moveDeal"]["deal"].clone();
    assert_eq!(moved["stage"]["name"], "Proposal");
    assert_eq!(moved["version"], 2);
    assert_eq!(
        moved["stageHistory"][1],
        json!({ "fromStage": { "name": "Lead" }, "toStage": { "name": "Proposal" }, "movedBy": { "name": "rep" } })
    );
    assert_eq!(app.count("SELECT max_stage_position FROM deals").await, 3);

    let stale = app.err(&rep, &move_q, json!({ "i": { "id": deal["id"], "version": 1, "stageId": stages[3] } })).await;
    assert_eq!(stale["code"], "CONFLICT");
    let foreign_stage = app
        .err(&rep, &move_q, json!({ "i": { "id": deal["id"], "version": 2, "stageId": other_pipeline_stage } }))
        .await;
    assert_eq!(
        (foreign_stage["code"].as_str(), foreign_stage["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("stageId"))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM deal_stage_events").await, 2, "failed moves write no history");

    let won = app
        .ok(
            &rep,
            &format!("mutation($i: WinDealInput!) {{ winDeal(input: $i) {{ deal {{ {DEAL_FIELDS} }} }} }}"),
            json!({ "i": { "id": deal["id"], "version": 2 } }),
        )
        .await["winDeal"]["deal"]
        .clone();
    assert_eq!(won["status"], "WON");
    assert!(won["closedAt"].is_string());
    let closed_move =
        app.err(&rep, &move_q, json!({ "i": { "id": deal["id"], "version": 3, "stageId": stages[3] } })).await;
    assert_eq!(closed_move["code"], "BAD_USER_INPUT");

    let second = create_deal(
        &app,
        &rep,
        json!({ "contactId": contact["id"], "title": "Upsell", "amount": 800, "stageId": stages[1] }),
    )
    .await;
    assert_eq!(second["stage"]["name"], "Demo");
    let lose = format!("mutation($i: LoseDealInput!) {{ loseDeal(input: $i) {{ deal {{ {DEAL_FIELDS} }} }} }}");
    let bad_reason = app
        .err(&rep, &lose, json!({ "i": { "id": second["id"], "version": 1, "lostReasonId": gid("LostReason", 999) } }))
        .await;
    assert_eq!(
        (bad_reason["code"].as_str(), bad_reason["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("lostReasonId"))
    );
    let lost = app
        .ok(
            &rep,
            &lose,
            json!({ "i": { "id": second["id"], "version": 1, "lostReasonId": price, "note": "Too pricey" } }),
        )
        .await["loseDeal"]["deal"]
        .clone();
    assert_eq!(
        (lost["status"].as_str(), lost["lostReason"]["name"].as_str(), lost["lostNote"].as_str()),
        (Some("LOST"), Some("Price"), Some("Too pricey"))
    );

    // Validation on create and update.
    let negative = app
        .err(
            &rep,
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } } }",
            json!({ "i": { "contactId": contact["id"], "title": "X", "amount": "-5" } }),
        )
        .await;
    assert_eq!(negative["field"], "amount");
    let no_title = app
        .err(
            &rep,
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } } }",
            json!({ "i": { "contactId": contact["id"], "title": " ", "amount": 1 } }),
        )
        .await;
    assert_eq!(no_title["field"], "title");
    let update = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { title amount version } } }";
    let updated = app
        .ok(
            &rep,
            update,
            json!({ "i": { "id": second["id"], "version": 2, "title": "Upsell v2", "amount": "900.10" } }),
        )
        .await;
    assert_eq!(updated["updateDeal"]["deal"], json!({ "title": "Upsell v2", "amount": "900.10", "version": 3 }));
    assert_eq!(app.count("SELECT COUNT(*) FROM deals").await, 2);
});

db_test!(deal_relations_filters_and_scope, |app| {
    let team = app.team("North").await;
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep_a) = app.signed_in("a@example.com", Role::SalesRep, Some(team)).await;
    let (_, rep_b) = app.signed_in("b@example.com", Role::SalesRep, Some(team)).await;
    let (_, manager) = app.signed_in("m@example.com", Role::Manager, Some(team)).await;
    let (_, stages) = sales_pipeline(&app, &admin).await;
    let acme = app
        .ok(&rep_a, "mutation { createCompany(input: { name: \"Acme\" }) { company { id } } }", json!({}))
        .await["createCompany"]["company"]["id"]
        .clone();
    let contact = create_contact(&app, &rep_a, json!({ "firstName": "Buyer", "companyId": acme })).await;
    let mut ids = Vec::new();
    for (i, amount) in ["100", "250", "400"].iter().enumerate() {
        let d = create_deal(
            &app,
            &rep_a,
            json!({ "contactId": contact["id"], "title": format!("Deal {i}"), "amount": amount, "stageId": stages[i] }),
        )
        .await;
        ids.push(d["id"].as_str().unwrap().to_owned());
    }
    let nested = app
        .ok(&rep_a, "query($id: ID!) { contact(id: $id) { deals(first: 2) { title contact { company { name } } owner { email } pipeline { name } stage { name } } } }", json!({ "id": contact["id"] }))
        .await;
    assert_eq!(
        nested["contact"]["deals"],
        json!([
            { "title": "Deal 2", "contact": { "company": { "name": "Acme" } }, "owner": { "email": "a@example.com" }, "pipeline": { "name": "Sales" }, "stage": { "name": "Proposal" } },
            { "title": "Deal 1", "contact": { "company": { "name": "Acme" } }, "owner": { "email": "a@example.com" }, "pipeline": { "name": "Sales" }, "stage": { "name": "Demo" } },
        ])
    );
    let filtered = app
        .ok(&rep_a, "query($s: ID!) { deals(where: { amount: { gte: \"200\" }, status: { eq: OPEN } }, orderBy: [{ field: AMOUNT }]) { totalCount nodes { title } }
                       byStage: deals(where: { stageId: { eq: $s } }) { totalCount } search: deals(where: { search: \"deal 0\" }) { totalCount } }", json!({ "s": stages[1] }))
        .await;
    assert_eq!(filtered["deals"], json!({ "totalCount": 2, "nodes": [{ "title": "Deal 1" }, { "title": "Deal 2" }] }));
    assert_eq!(filtered["byStage"]["totalCount"], 1);
    assert_eq!(filtered["search"]["totalCount"], 1);
    let stage_deals = app.ok(&rep_a, "{ pipelines { stages { name deals { totalCount } } } }", json!({})).await;
    assert_eq!(stage_deals["pipelines"][0]["stages"][0], json!({ "name": "Lead", "deals": { "totalCount": 1 } }));

    // Close dates: Deal 0 expected in 2031, Deal 1 in 2030; Deal 2 won now.
    let update = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { expectedCloseDate } } }";
    app.ok(&rep_a, update, json!({ "i": { "id": ids[0], "version": 1, "expectedCloseDate": "2031-06-30" } })).await;
    app.ok(&rep_a, update, json!({ "i": { "id": ids[1], "version": 1, "expectedCloseDate": "2030-01-15" } })).await;
    app.ok(
        &rep_a,
        "mutation($i: WinDealInput!) { winDeal(input: $i) { deal { id } } }",
        json!({ "i": { "id": ids[2], "version": 1 } }),
    )
    .await;
    let dates = app
        .ok(&rep_a, "{ expected: deals(where: { expectedCloseDate: { gte: \"2030-01-01\", lt: \"2031-01-01\" } }) { nodes { title } }
                      closed: deals(where: { closedAt: { gte: \"2000-01-01T00:00:00Z\" } }) { nodes { title status } }
                      notYet: deals(where: { closedAt: { lt: \"2000-01-01T00:00:00Z\" } }) { totalCount } }", json!({}))
        .await;
    assert_eq!(dates["expected"]["nodes"], json!([{ "title": "Deal 1" }]));
    assert_eq!(dates["closed"]["nodes"], json!([{ "title": "Deal 2", "status": "WON" }]));
    assert_eq!(dates["notYet"]["totalCount"], 0, "open deals have no close date to match");

    // Backwards pagination: the last two by amount, then the page before them.
    let page = "query($before: String) { deals(orderBy: [{ field: AMOUNT }], last: 2, before: $before) {
        nodes { title } pageInfo { hasPreviousPage hasNextPage startCursor } } }";
    let tail = app.ok(&rep_a, page, json!({})).await["deals"].clone();
    assert_eq!(tail["nodes"], json!([{ "title": "Deal 1" }, { "title": "Deal 2" }]));
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    let head = app.ok(&rep_a, page, json!({ "before": tail["pageInfo"]["startCursor"] })).await["deals"].clone();
    assert_eq!(head["nodes"], json!([{ "title": "Deal 0" }]));
    assert_eq!(
        (head["pageInfo"]["hasPreviousPage"].as_bool(), head["pageInfo"]["hasNextPage"].as_bool()),
        (Some(false), Some(true))
    );

    // Rep B sees none of it; the manager sees it all; Rep B cannot touch it.
    let lookup = "query($id: ID!) { deal(id: $id) { title } node(id: $id) { id } }";
    assert_eq!(app.ok(&rep_b, lookup, json!({ "id": ids[0] })).await, json!({ "deal": null, "node": null }));
    assert_eq!(app.ok(&manager, lookup, json!({ "id": ids[0] })).await["deal"]["title"], "Deal 0");
    assert_eq!(app.ok(&rep_b, "{ deals { totalCount } }", json!({})).await["deals"]["totalCount"], 0);
    let stage_deals_b = app.ok(&rep_b, "{ pipelines { stages { deals { totalCount } } } }", json!({})).await;
    assert_eq!(stage_deals_b["pipelines"][0]["stages"][0]["deals"]["totalCount"], 0);
    let move_other = app
        .err(
            &rep_b,
            "mutation($i: MoveDealInput!) { moveDeal(input: $i) { deal { id } } }",
            json!({ "i": { "id": ids[0], "version": 1, "stageId": stages[3] } }),
        )
        .await;
    assert_eq!(move_other["code"], "NOT_FOUND");
    let on_foreign_contact = app
        .err(
            &rep_b,
            "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } } }",
            json!({ "i": { "contactId": contact["id"], "title": "Steal", "amount": 1 } }),
        )
        .await;
    assert_eq!(
        (on_foreign_contact["code"].as_str(), on_foreign_contact["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("contactId"))
    );
    let delete = "mutation($id: ID!) { deleteDeal(input: { id: $id }) { deletedDealId } }";
    assert_eq!(app.err(&rep_b, delete, json!({ "id": ids[0] })).await["code"], "NOT_FOUND");
    app.ok(&rep_a, delete, json!({ "id": ids[0] })).await;
    assert_eq!(app.ok(&rep_a, "{ deals { totalCount } }", json!({})).await["deals"]["totalCount"], 2);
});

db_test!(only_a_meeting_whose_time_has_come_can_be_held_or_missed, |app| {
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    let contact = create_contact(&app, &rep, json!({ "firstName": "Future" })).await;
    let from_now = |minutes: i64| (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339();
    let schedule = |at: String| json!({ "i": { "contactId": contact["id"], "kind": "CALL", "scheduledAt": at } });
    let ahead = app.ok(&rep, SCHEDULE, schedule(from_now(18 * 24 * 60))).await["scheduleMeeting"]["meeting"].clone();
    for status in ["NO_SHOW", "COMPLETED"] {
        let err = app.err(&rep, LOG_OUTCOME, json!({ "i": { "id": ahead["id"], "status": status } })).await;
        assert_eq!(
            (err["code"].as_str(), err["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("status")),
            "{status}: {err}"
        );
    }
    // Nothing was written: the meeting is still SCHEDULED at version 1, and may be canceled.
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings WHERE status = 'SCHEDULED' AND version = 1").await, 1);
    let canceled = app.ok(&rep, LOG_OUTCOME, json!({ "i": { "id": ahead["id"], "status": "CANCELED" } })).await;
    assert_eq!(canceled["logMeetingOutcome"]["meeting"]["status"], "CANCELED");
    // A meeting an hour ago may be missed.
    let past = app.ok(&rep, SCHEDULE, schedule(from_now(-60))).await["scheduleMeeting"]["meeting"].clone();
    let missed = app.ok(&rep, LOG_OUTCOME, json!({ "i": { "id": past["id"], "status": "NO_SHOW" } })).await;
    assert_eq!(missed["logMeetingOutcome"]["meeting"]["status"], "NO_SHOW");
});

const SCHEDULE: &str = "mutation($i: ScheduleMeetingInput!) { scheduleMeeting(input: $i) {
    meeting { id version kind status scheduledAt durationMinutes clientKey contact { firstName } deal { title } owner { name } } } }";
const LOG_OUTCOME: &str = "mutation($i: LogMeetingOutcomeInput!) { logMeetingOutcome(input: $i) {
    meeting { id status outcomeLoggedAt notes version rescheduledTo { id scheduledAt status } }
    rescheduledMeeting { id status kind scheduledAt } } }";

db_test!(meetings_schedule_log_and_reschedule, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let contact = create_contact(&app, &rep, json!({ "firstName": "Dana" })).await;
    let other = create_contact(&app, &rep, json!({ "firstName": "Eli" })).await;
    let deal = create_deal(&app, &rep, json!({ "contactId": contact["id"], "title": "Pilot", "amount": 1000 })).await;

    let scheduled = app
        .ok(&rep, SCHEDULE, json!({ "i": { "contactId": contact["id"], "dealId": deal["id"], "kind": "DEMO", "scheduledAt": "2026-03-02T15:00:00Z" } }))
        .await["scheduleMeeting"]["meeting"]
        .clone();
    assert_eq!(scheduled["status"], "SCHEDULED");
    assert_eq!(scheduled["durationMinutes"], 30);
    assert_eq!(
        (
            scheduled["contact"]["firstName"].as_str(),
            scheduled["deal"]["title"].as_str(),
            scheduled["owner"]["name"].as_str()
        ),
        (Some("Dana"), Some("Pilot"), Some("rep"))
    );

    let wrong_deal = app.err(&rep, SCHEDULE, json!({ "i": { "contactId": other["id"], "dealId": deal["id"], "kind": "CALL", "scheduledAt": "2026-03-02T15:00:00Z" } })).await;
    assert_eq!((wrong_deal["code"].as_str(), wrong_deal["field"].as_str()), (Some("BAD_USER_INPUT"), Some("dealId")));
    let bad_duration = app.err(&rep, SCHEDULE, json!({ "i": { "contactId": contact["id"], "kind": "CALL", "scheduledAt": "2026-03-02T15:00:00Z", "durationMinutes": 0 } })).await;
    assert_eq!(bad_duration["field"], "durationMinutes");

    for (input, field) in [
        (json!({ "id": scheduled["id"], "status": "SCHEDULED" }), "status"),
        (json!({ "id": scheduled["id"], "status": "RESCHEDULED" }), "rescheduledTo"),
        (
            json!({ "id": scheduled["id"], "status": "COMPLETED", "rescheduledTo": "2026-03-09T15:00:00Z" }),
            "rescheduledTo",
        ),
        (json!({ "id": scheduled["id"], "status": "COMPLETED", "loggedAt": "2999-01-01T00:00:00Z" }), "loggedAt"),
    ] {
        let err = app.err(&rep, LOG_OUTCOME, json!({ "i": input })).await;
        assert_eq!((err["code"].as_str(), err["field"].as_str()), (Some("BAD_USER_INPUT"), Some(field)), "{input}");
    }

    let rescheduled = app
        .ok(&rep, LOG_OUTCOME, json!({ "i": { "id": scheduled["id"], "version": 1, "status": "RESCHEDULED", "rescheduledTo": "2026-03-09T15:00:00Z", "loggedAt": "2026-03-01T09:00:00Z" } }))
        .await["logMeetingOutcome"]
        .clone();
    let replacement = &rescheduled["rescheduledMeeting"];
    assert_eq!((replacement["status"].as_str(), replacement["kind"].as_str()), (Some("SCHEDULED"), Some("DEMO")));
    assert_eq!(rescheduled["meeting"]["status"], "RESCHEDULED");
    assert_eq!(rescheduled["meeting"]["outcomeLoggedAt"], "2026-03-01T09:00:00Z");
    assert_eq!(rescheduled["meeting"]["rescheduledTo"]["id"], replacement["id"]);
    let twice = app.err(&rep, LOG_OUTCOME, json!({ "i": { "id": scheduled["id"], "status": "COMPLETED" } })).await;
    assert_eq!(
        (twice["code"].as_str(), twice["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("id")),
        "a rescheduled meeting is closed; its replacement takes the outcome"
    );
    let stale_and_closed = json!({ "i": { "id": scheduled["id"], "version": 1, "status": "COMPLETED" } });
    assert_eq!(app.err(&rep, LOG_OUTCOME, stale_and_closed).await["field"], "id");

    let no_show = app
        .ok(
            &rep,
            LOG_OUTCOME,
            json!({ "i": { "id": replacement["id"], "status": "NO_SHOW", "notes": "did not join" } }),
        )
        .await;
    assert_eq!(
        (
            no_show["logMeetingOutcome"]["meeting"]["status"].as_str(),
            no_show["logMeetingOutcome"]["meeting"]["notes"].as_str()
        ),
        (Some("NO_SHOW"), Some("did not join"))
    );
    // The single-UPDATE path still tells a stale version from a meeting you cannot see.
    let stale = json!({ "i": { "id": replacement["id"], "version": 1, "status": "COMPLETED" } });
    assert_eq!(app.err(&rep, LOG_OUTCOME, stale.clone()).await["code"], "CONFLICT");
    let (_, stranger) = app.signed_in("stranger@example.com", Role::SalesRep, None).await;
    assert_eq!(app.err(&stranger, LOG_OUTCOME, stale).await["code"], "NOT_FOUND");

    // Relations both ways, latest first, limited in SQL.
    let nested = app
        .ok(&rep, "query($c: ID!, $d: ID!) { contact(id: $c) { meetings(first: 1) { status } } deal(id: $d) { meetings { status } } }", json!({ "c": contact["id"], "d": deal["id"] }))
        .await;
    assert_eq!(nested["contact"]["meetings"], json!([{ "status": "NO_SHOW" }]));
    assert_eq!(nested["deal"]["meetings"], json!([{ "status": "NO_SHOW" }, { "status": "RESCHEDULED" }]));
    let list = app.ok(&rep, "{ meetings(where: { status: { in: [NO_SHOW, COMPLETED] } }) { totalCount } all: meetings(orderBy: [{ field: SCHEDULED_AT }]) { nodes { status } } }", json!({})).await;
    assert_eq!(list["meetings"]["totalCount"], 1);
    assert_eq!(list["all"]["nodes"], json!([{ "status": "RESCHEDULED" }, { "status": "NO_SHOW" }]));
});

db_test!(meeting_retries_with_client_key_change_nothing, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let (_, other_rep) = app.signed_in("other@example.com", Role::SalesRep, None).await;
    let contact = create_contact(&app, &rep, json!({ "firstName": "Dana" })).await;
    let input = json!({ "contactId": contact["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z", "clientKey": "phone-1-op-1" });
    let first = app.ok(&rep, SCHEDULE, json!({ "i": input })).await["scheduleMeeting"]["meeting"].clone();
    let again = app.ok(&rep, SCHEDULE, json!({ "i": input })).await["scheduleMeeting"]["meeting"].clone();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["clientKey"], "phone-1-op-1");
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings").await, 1);
    let mut changed = input.clone();
    changed["kind"] = json!("DEMO");
    assert_eq!(app.err(&rep, SCHEDULE, json!({ "i": changed })).await["code"], "CONFLICT");
    let long_key = json!({ "contactId": contact["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z", "clientKey": "k".repeat(256) });
    assert_eq!(app.err(&rep, SCHEDULE, json!({ "i": long_key })).await["field"], "clientKey");

    // Eight copies of one outcome arriving at once: one outcome, one answer.
    let outcome = json!({ "i": { "id": first["id"], "status": "NO_SHOW", "clientKey": "phone-1-op-2" } });
    let copies = (0..8).map(|_| {
        let (app, rep, outcome) = (app.clone(), rep.clone(), outcome.clone());
        tokio::spawn(async move { app.gql(Some(&rep), LOG_OUTCOME, outcome).await })
    });
    let mut versions = Vec::new();
    for copy in copies {
        let body = copy.await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        versions.push(body["data"]["logMeetingOutcome"]["meeting"]["version"].clone());
    }
    assert!(versions.iter().all(|v| *v == json!(2)), "applied once: {versions:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 2);

    // Eight concurrent copies of a schedule: one meeting.
    let input = json!({ "i": { "contactId": contact["id"], "kind": "DEMO", "scheduledAt": "2026-05-02T10:00:00Z", "clientKey": "phone-1-op-3" } });
    let copies: Vec<_> = (0..8)
        .map(|_| {
            let (app, rep, input) = (app.clone(), rep.clone(), input.clone());
            tokio::spawn(async move { app.gql(Some(&rep), SCHEDULE, input).await })
        })
        .collect();
    let mut ids = Vec::new();
    for copy in copies {
        let body = copy.await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        ids.push(body["data"]["scheduleMeeting"]["meeting"]["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one meeting for all copies");
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings").await, 2);

    // Keys are per user: another rep's key space is separate (and they cannot see the meeting).
    let foreign = app
        .err(
            &other_rep,
            LOG_OUTCOME,
            json!({ "i": { "id": first["id"], "status": "COMPLETED", "clientKey": "phone-1-op-2" } }),
        )
        .await;
    assert_eq!(foreign["code"], "NOT_FOUND");
});

db_test!(offline_batch_applies_each_entry_on_its_own, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let contact = create_contact(&app, &rep, json!({ "firstName": "Dana" })).await;
    let existing = app
        .ok(
            &rep,
            SCHEDULE,
            json!({ "i": { "contactId": contact["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z" } }),
        )
        .await["scheduleMeeting"]["meeting"]["id"]
        .clone();
    let batch = "mutation($e: [MeetingLogEntry!]!) { logMeetings(entries: $e) { index meeting { status kind } rescheduledMeeting { status } error { code field } } }";
    let entries = json!([
        { "outcome": { "id": existing, "status": "COMPLETED", "loggedAt": "2026-05-01T10:40:00Z", "clientKey": "dev-7-1" } },
        { "schedule": { "contactId": gid("Contact", 9999), "kind": "CALL", "scheduledAt": "2026-05-03T10:00:00Z", "clientKey": "dev-7-2" } },
        { "schedule": { "contactId": contact["id"], "kind": "FOLLOW_UP", "scheduledAt": "2026-05-04T10:00:00Z", "clientKey": "dev-7-3" } },
        { "outcome": { "id": gid("Meeting", 9999), "status": "NO_SHOW", "clientKey": "dev-7-4" } },
    ]);
    let expected = json!([
        { "index": 0, "meeting": { "status": "COMPLETED", "kind": "CALL" }, "rescheduledMeeting": null, "error": null },
        { "index": 1, "meeting": null, "rescheduledMeeting": null, "error": { "code": "BAD_USER_INPUT", "field": "contactId" } },
        { "index": 2, "meeting": { "status": "SCHEDULED", "kind": "FOLLOW_UP" }, "rescheduledMeeting": null, "error": null },
        { "index": 3, "meeting": null, "rescheduledMeeting": null, "error": { "code": "NOT_FOUND", "field": null } },
    ]);
    assert_eq!(app.ok(&rep, batch, json!({ "e": entries })).await["logMeetings"], expected);
    // The device resends the whole batch after a lost response: nothing new is created.
    assert_eq!(app.ok(&rep, batch, json!({ "e": entries })).await["logMeetings"], expected);
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings").await, 2);
    let both = app.err(&rep, batch, json!({ "e": [{ "schedule": { "contactId": contact["id"], "kind": "CALL", "scheduledAt": "2026-05-03T10:00:00Z" }, "outcome": { "id": existing, "status": "COMPLETED" } }] })).await;
    assert_eq!(both["code"], "BAD_USER_INPUT", "an entry is exactly one of schedule or outcome");
});

db_test!(statement_count_does_not_grow_with_page_size, |app| {
    let cfg = api::config::SeedConfig {
        contacts: 40,
        deals: 120,
        meetings: 300,
        end_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        ..Default::default()
    };
    api::seed::generate(&app.db, &cfg).await.unwrap();
    let login = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "email": api::seed::DEMO_ADMIN_EMAIL, "password": cfg.password } }),
        )
        .await;
    let admin = login["data"]["login"]["token"].as_str().unwrap().to_owned();
    // Relations every deal has, so both pages need the same batches: the counts must be equal.
    let query = "query($n: Int!) { deals(first: $n) { totalCount nodes { title amount
        contact { firstName source deals(first: 5) { title stage { name } } }
        owner { name } stage { name probability pipeline { name } }
        meetings(first: 3) { status } stageHistory { toStage { name } } } } }";
    // The first request reads the caller's user row; later ones find it in the credential
    // cache, so every count below is of the request's own statements.
    app.ok(&admin, "{ me { id } }", json!({})).await;
    let ten = app.statements_for(&admin, query, json!({ "n": 10 })).await;
    let hundred = app.statements_for(&admin, query, json!({ "n": 100 })).await;
    // Page, count (2); first level: history, contacts, stages, meetings, owners (5); second:
    // history stages, contacts' deals, pipelines (3); third: nothing, the contacts' deals were
    // read with their stages joined. Stages and owners are kept for the request, so the
    // history's stages may already be loaded or fed (9 then): never more.
    for (n, count) in [(10, ten), (100, hundred)] {
        assert!((9..=10).contains(&count), "{count} statements for {n} deals");
    }
    // Optional relations (lost reason, a meeting's owner) add at most one batch each.
    let optional = "query($n: Int!) { deals(first: $n) { nodes { lostReason { name } meetings { owner { name } } } } }";
    for n in [10, 100] {
        let count = app.statements_for(&admin, optional, json!({ "n": n })).await;
        assert!(count <= 6, "{count} statements for {n} deals");
    }
    let contacts = "query($n: Int!) { contacts(first: $n) { nodes { firstName deals(first: 5) { title stage { name } owner { name } } meetings(first: 5) { kind } } } }";
    let c10 = app.statements_for(&admin, contacts, json!({ "n": 10 })).await;
    let c40 = app.statements_for(&admin, contacts, json!({ "n": 40 })).await;
    assert_eq!(c10, c40, "contacts: {c10} vs {c40}");
    // The benchmark's nested list: the page, the deals with stages and owners.
    let nested = "query($n: Int!) { contacts(first: $n) { edges { node { firstName
        deals(first: 5) { title stage { name } owner { name } } } } } }";
    for n in [10, 40] {
        assert_eq!(app.statements_for(&admin, nested, json!({ "n": n })).await, 2, "nested list of {n}");
    }
    let deal_id =
        app.ok(&admin, "{ deals(first: 1) { nodes { id } } }", json!({})).await["deals"]["nodes"][0]["id"].clone();
    let by_id = "query($id: ID!) { deal(id: $id) { title stage { name } owner { name } } }";
    assert_eq!(app.statements_for(&admin, by_id, json!({ "id": deal_id })).await, 1, "deal by id with stage and owner");
    // Without the credential cache every request also reads its caller's row.
    let mut uncached = api::config::ServeConfig::default();
    uncached.auth.credential_cache_ms = 0;
    let uncached = app.with_config(uncached).await;
    assert_eq!(uncached.statements_for(&admin, by_id, json!({ "id": deal_id })).await, 2, "by id, uncached");
});

/// The argument-free fields of `type_name`, each with the selection it needs (`{ id }` or
/// `{ __typename }` under an object), from introspection.
async fn plain_fields(app: &TestApp, token: &str, type_name: &str) -> Vec<(String, String)> {
    let query = "query($t: String!) { __type(name: $t) { fields { name args { name }
        type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let found = app.ok(token, query, json!({ "t": type_name })).await;
    let mut out = Vec::new();
    for field in found["__type"]["fields"].as_array().unwrap() {
        if !field["args"].as_array().unwrap().is_empty() {
            continue;
        }
        let mut ty = &field["type"];
        while ty["name"].is_null() {
            ty = &ty["ofType"];
        }
        let selection = match ty["kind"].as_str().unwrap() {
            "OBJECT" | "INTERFACE" => {
                let inner = app.ok(token, query, json!({ "t": ty["name"] })).await;
                let has_id = inner["__type"]["fields"].as_array().unwrap().iter().any(|f| f["name"] == "id");
                if has_id { " { id }" } else { " { __typename }" }
            }
            _ => "",
        };
        out.push((field["name"].as_str().unwrap().to_owned(), selection.to_owned()));
    }
    out
}

/// Compares each selection alone with the same value read with everything: `query_of` makes
/// the request for a selection, `items_of` lists the records of its answer. The number of
/// values compared.
async fn alone_equals_together(
    app: &TestApp,
    token: &str,
    selections: &[(String, Vec<String>)],
    everything: &str,
    query_of: &(dyn Fn(&str) -> String + Sync),
    items_of: &(dyn Fn(&Value) -> Vec<Value> + Sync),
) -> usize {
    let pick = |value: &Value, path: &[String]| path.iter().fold(value.clone(), |v, key| v[key.as_str()].clone());
    let together = items_of(&app.ok(token, &query_of(everything), json!({})).await);
    assert!(together.len() >= 10, "{} records", together.len());
    let mut compared = 0;
    for (selection, path) in selections {
        let alone = items_of(&app.ok(token, &query_of(selection), json!({})).await);
        assert_eq!(alone.len(), together.len(), "{selection}");
        for (one, all) in alone.iter().zip(&together) {
            assert_eq!(pick(one, path), pick(all, path), "{selection} of {}", query_of("id"));
            compared += 1;
        }
    }
    compared
}

/// The records `root(id:)` returns (by id, read through their DataLoader, which reads whole
/// rows), each with `fields`, keyed by id.
async fn whole_by_id(
    app: &TestApp,
    token: &str,
    root: &str,
    ids: &[Value],
    fields: &str,
) -> std::collections::HashMap<String, Value> {
    let mut out = std::collections::HashMap::new();
    // A request takes at most 15 aliases.
    for chunk in ids.chunks(12) {
        let aliases: Vec<String> =
            chunk.iter().enumerate().map(|(i, id)| format!("r{i}: {root}(id: {id}) {{ id {fields} }}")).collect();
        let answer = app.ok(token, &format!("{{ {} }}", aliases.join(" ")), json!({})).await;
        for i in 0..chunk.len() {
            let record = answer[format!("r{i}")].clone();
            out.insert(record["id"].as_str().unwrap().to_owned(), record);
        }
    }
    out
}

/// Each field of `fields` read alone through `query_of` (whose answer `items_of` lists),
/// compared with the same records read whole by `root(id:)` (`whole_by_id`). The number of
/// values compared.
async fn alone_equals_whole(
    app: &TestApp,
    token: &str,
    root: &str,
    fields: &[(String, String)],
    query_of: &(dyn Fn(&str) -> String + Sync),
    items_of: &(dyn Fn(&Value) -> Vec<Value> + Sync),
) -> usize {
    let selections: Vec<(String, Vec<String>)> =
        fields.iter().map(|(name, sub)| (format!("{name}{sub}"), vec![name.clone()])).collect();
    let everything = fields.iter().map(|(name, sub)| format!("{name}{sub}")).collect::<Vec<_>>().join(" ");
    let ids: Vec<Value> =
        items_of(&app.ok(token, &query_of("id"), json!({})).await).iter().map(|r| r["id"].clone()).collect();
    let whole = whole_by_id(app, token, root, &ids, &everything).await;
    let mut compared = 0;
    for (selection, path) in selections {
        let alone = items_of(&app.ok(token, &query_of(&format!("id {selection}")), json!({})).await);
        assert!(alone.len() >= 10, "{selection}: {} records", alone.len());
        for one in &alone {
            let all = &whole[one["id"].as_str().unwrap()];
            let pick = |value: &Value| path.iter().fold(value.clone(), |v, key| v[key.as_str()].clone());
            assert_eq!(pick(one), pick(all), "{selection} of {}", one["id"]);
            compared += 1;
        }
    }
    compared
}

db_test!(read_only_what_the_query_selects, |app| {
    let cfg = api::config::SeedConfig {
        contacts: 30,
        deals: 90,
        meetings: 60,
        end_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        ..Default::default()
    };
    api::seed::generate(&app.db, &cfg).await.unwrap();
    // Values the seed leaves empty, so that a column read wrongly shows.
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared("UPDATE deals SET external_id = 'ext-' || id WHERE id % 3 = 0").await.unwrap();
    app.db.execute_unprepared("UPDATE stages SET stale_after_days = 30 WHERE position = 2").await.unwrap();
    let meetings = "UPDATE meetings SET notes = 'n-' || id, external_id = 'm-' || id, client_key = 'k-' || id \
                    WHERE id % 2 = 0";
    app.db.execute_unprepared(meetings).await.unwrap();
    app.db
        .execute_unprepared("UPDATE contacts SET external_id = 'c-' || id, phone = '+1 555 ' || id WHERE id % 2 = 0")
        .await
        .unwrap();
    let admin = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "email": api::seed::DEMO_ADMIN_EMAIL, "password": cfg.password } }),
        )
        .await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let deal_fields = plain_fields(&app, &admin, "Deal").await;
    let stage_fields = plain_fields(&app, &admin, "Stage").await;
    let user_fields = plain_fields(&app, &admin, "User").await;
    let contact_fields = plain_fields(&app, &admin, "Contact").await;
    assert!(deal_fields.len() > 15 && stage_fields.len() > 5 && user_fields.len() > 7 && contact_fields.len() > 15);
    let select =
        |fields: &[(String, String)]| fields.iter().map(|(n, s)| format!("{n}{s}")).collect::<Vec<_>>().join(" ");
    // Under a deal: each deal field alone, and each stage and owner field alone under `stage`
    // and `owner`; each against the same value read with everything.
    let mut selections: Vec<(String, Vec<String>)> = Vec::new();
    let own_fields: Vec<(String, String)> =
        deal_fields.iter().filter(|(n, _)| n != "stage" && n != "owner").cloned().collect();
    for (name, sub) in &own_fields {
        selections.push((format!("{name}{sub}"), vec![name.clone()]));
    }
    for (relation, fields) in [("stage", &stage_fields), ("owner", &user_fields)] {
        for (name, sub) in fields {
            selections.push((format!("{relation} {{ {name}{sub} }}"), vec![relation.to_owned(), name.clone()]));
        }
    }
    let everything =
        format!("{} stage {{ {} }} owner {{ {} }}", select(&own_fields), select(&stage_fields), select(&user_fields));

    // A contact's latest deals (the joined read), the deals page, and deals by id.
    let nested = |fields: &str| format!("{{ contacts(first: 16) {{ nodes {{ deals(first: 5) {{ {fields} }} }} }} }}");
    let nested_deals = |answer: &Value| -> Vec<Value> {
        answer["contacts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["deals"].as_array().unwrap().clone())
            .collect()
    };
    // Reading everything reads whole rows (a field the look-ahead does not know, `lostCost`,
    // asks for them): the reference the deal paths compare against.
    let start = app.statements.count();
    let whole = nested_deals(&app.ok(&admin, &nested(&everything), json!({})).await);
    let reference = app.statements.since(start);
    let read_whole = reference.iter().find(|s| s.contains("ROW_NUMBER")).expect("the deals statement");
    for column in ["\"lost_note\"", "\"max_stage_position\"", "\"token_version\"", "\"stale_after_days\""] {
        assert!(read_whole.contains(column), "the reference reads whole rows: {read_whole}");
    }
    let statuses: std::collections::HashSet<String> =
        whole.iter().map(|d| d["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses.len(), 3, "open, won and lost deals are compared: {statuses:?}");
    let mut compared = alone_equals_together(&app, &admin, &selections, &everything, &nested, &nested_deals).await;
    let page = |fields: &str| format!("{{ deals(first: 40) {{ nodes {{ {fields} }} }} }}");
    let page_deals = |answer: &Value| answer["deals"]["nodes"].as_array().unwrap().clone();
    compared += alone_equals_together(&app, &admin, &selections, &everything, &page, &page_deals).await;
    // By id: four deals of each status (a request takes at most 15 aliases).
    let ids: Vec<Value> = ["OPEN", "WON", "LOST"]
        .iter()
        .flat_map(|status| whole.iter().filter(move |d| d["status"] == *status).take(4))
        .map(|d| d["id"].clone())
        .collect();
    let by_id = |fields: &str| {
        let aliases: Vec<String> =
            ids.iter().enumerate().map(|(i, id)| format!("d{i}: deal(id: {id}) {{ {fields} }}")).collect();
        format!("{{ {} }}", aliases.join(" "))
    };
    let by_id_deals = |answer: &Value| (0..ids.len()).map(|i| answer[format!("d{i}")].clone()).collect();
    compared += alone_equals_together(&app, &admin, &selections, &everything, &by_id, &by_id_deals).await;
    let node = "query($id: ID!) { node(id: $id) { ... on Deal { title stage { name } } } }";
    let by_node = app.ok(&admin, node, json!({ "id": ids[0] })).await;
    assert_eq!(by_node["node"], json!({ "title": whole[0]["title"], "stage": { "name": whole[0]["stage"]["name"] } }));

    // The contacts page, through `nodes` and through `edges`.
    let contacts = |fields: &str| format!("{{ contacts(first: 25) {{ nodes {{ {fields} }} }} }}");
    let contact_nodes = |answer: &Value| answer["contacts"]["nodes"].as_array().unwrap().clone();
    let all_contact_fields = select(&contact_fields);
    compared += alone_equals_whole(&app, &admin, "contact", &contact_fields, &contacts, &contact_nodes).await;
    let edges = |fields: &str| {
        format!(
            "{{ contacts(first: 25, orderBy: [{{ field: LAST_NAME }}]) {{ edges {{ cursor node {{ {fields} }} }} }} }}"
        )
    };
    let edge_nodes = |answer: &Value| {
        answer["contacts"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect::<Vec<Value>>()
    };
    compared += alone_equals_whole(&app, &admin, "contact", &contact_fields, &edges, &edge_nodes).await;
    // The meetings page.
    let meeting_fields = plain_fields(&app, &admin, "Meeting").await;
    let meetings = |fields: &str| format!("{{ meetings(first: 40) {{ nodes {{ {fields} }} }} }}");
    let meeting_nodes = |answer: &Value| answer["meetings"]["nodes"].as_array().unwrap().clone();
    let all_meeting_fields = select(&meeting_fields);
    compared += alone_equals_whole(&app, &admin, "meeting", &meeting_fields, &meetings, &meeting_nodes).await;
    let meeting_cursor = |fields: &str| {
        format!(
            "{{ meetings(first: 5, orderBy: [{{ field: UPDATED_AT }}]) {{ pageInfo {{ endCursor }} nodes {{ {fields} }} }} }}"
        )
    };
    let narrow = app.ok(&admin, &meeting_cursor("id"), json!({})).await;
    let wide = app.ok(&admin, &meeting_cursor(&all_meeting_fields), json!({})).await;
    assert_eq!(narrow["meetings"]["pageInfo"], wide["meetings"]["pageInfo"]);
    assert!(compared > 5000, "{compared} values compared");

    // A cursor of a narrow page continues where a whole one does.
    let cursor_of = |fields: &str| {
        format!(
            "{{ contacts(first: 5, orderBy: [{{ field: LAST_NAME }}]) {{ pageInfo {{ endCursor }} nodes {{ {fields} }} }} }}"
        )
    };
    let narrow = app.ok(&admin, &cursor_of("id"), json!({})).await;
    let wide = app.ok(&admin, &cursor_of(&all_contact_fields), json!({})).await;
    assert_eq!(narrow["contacts"]["pageInfo"], wide["contacts"]["pageInfo"]);

    // The benchmark's nested page reads the columns it shows, not every column of the tables.
    let start = app.statements.count();
    app.ok(&admin, "{ contacts(first: 20) { edges { node { id firstName deals(first: 5) { title stage { name } owner { name } } } } } }", json!({})).await;
    let read = app.statements.since(start);
    let deals = read.iter().find(|s| s.contains("ROW_NUMBER")).expect("the deals statement");
    for column in ["\"title\"", "\"name\""] {
        assert!(deals.contains(column), "{column} read: {deals}");
    }
    for column in ["\"lost_note\"", "\"email\"", "\"probability\"", "\"external_id\""] {
        assert!(!deals.contains(column), "{column} read though not asked: {deals}");
    }
    let page = read.iter().find(|s| s.contains("FROM \"contacts\"")).expect("the contacts statement");
    assert!(page.contains("\"first_name\"") && !page.contains("\"phone\""), "{page}");
});

db_test!(directory_users_teams_and_targets, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let team = app
        .ok(&admin, "mutation { createTeam(input: { name: \"North\" }) { team { id name } } }", json!({}))
        .await["createTeam"]["team"]["id"]
        .clone();
    let other_team = app
        .ok(&admin, "mutation { createTeam(input: { name: \"South\" }) { team { id } } }", json!({}))
        .await["createTeam"]["team"]["id"]
        .clone();
    let create =
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id email role version team { name } } } }";
    let rep = app
        .ok(&admin, create, json!({ "i": { "email": "Rep@Example.com", "name": "Rita Rep", "role": "SALES_REP", "teamId": team, "password": tests::PASSWORD } }))
        .await["createUser"]["user"]
        .clone();
    assert_eq!((rep["email"].as_str(), rep["team"]["name"].as_str()), (Some("rep@example.com"), Some("North")));
    app.ok(&admin, create, json!({ "i": { "email": "mgr@example.com", "name": "Max Manager", "role": "MANAGER", "teamId": team, "password": tests::PASSWORD } })).await;
    app.ok(&admin, create, json!({ "i": { "email": "south@example.com", "name": "Sam South", "role": "SALES_REP", "teamId": other_team, "password": tests::PASSWORD } })).await;
    let short = app
        .err(
            &admin,
            create,
            json!({ "i": { "email": "x@example.com", "name": "X", "role": "ANALYST", "password": "short" } }),
        )
        .await;
    assert_eq!(short["field"], "password");
    let rep_token = app.login("rep@example.com").await;
    let forbidden =
        app.err(&rep_token, create, json!({ "i": { "email": "y@example.com", "name": "Y", "role": "ADMIN" } })).await;
    assert_eq!(forbidden["code"], "FORBIDDEN");

    // Every role reads the directory.
    let dir = app.ok(&rep_token, "query($t: ID!) { users(where: { teamId: { eq: $t } }) { totalCount nodes { name role } } teams { name members { name } } }", json!({ "t": team })).await;
    assert_eq!(
        dir["users"]["nodes"],
        json!([{ "name": "Max Manager", "role": "MANAGER" }, { "name": "Rita Rep", "role": "SALES_REP" }])
    );
    assert_eq!(
        dir["teams"],
        json!([{ "name": "North", "members": [{ "name": "Max Manager" }, { "name": "Rita Rep" }] }, { "name": "South", "members": [{ "name": "Sam South" }] }])
    );
    let search = app
        .ok(&rep_token, "{ users(where: { search: \"SOUTH\", role: { in: [SALES_REP] } }) { totalCount } }", json!({}))
        .await;
    assert_eq!(search["users"]["totalCount"], 1);

    // Targets: set twice for the same period replaces; scope by role.
    let set = "mutation($i: SetTargetInput!) { setTarget(input: $i) { target { amount version user { name } team { name } } } }";
    let q1 = json!({ "userId": rep["id"], "periodStart": "2026-01-01T00:00:00Z", "periodEnd": "2026-04-01T00:00:00Z", "amount": "50000" });
    app.ok(&admin, set, json!({ "i": q1 })).await;
    let mut q1b = q1.clone();
    q1b["amount"] = json!("60000.50");
    let replaced = app.ok(&admin, set, json!({ "i": q1b })).await;
    assert_eq!(
        replaced["setTarget"]["target"],
        json!({ "amount": "60000.50", "version": 2, "user": { "name": "Rita Rep" }, "team": null })
    );
    app.ok(&admin, set, json!({ "i": { "teamId": other_team, "periodStart": "2026-01-01T00:00:00Z", "periodEnd": "2026-04-01T00:00:00Z", "amount": 90000 } })).await;
    let both = app.err(&admin, set, json!({ "i": { "userId": rep["id"], "teamId": team, "periodStart": "2026-01-01T00:00:00Z", "periodEnd": "2026-04-01T00:00:00Z", "amount": 1 } })).await;
    assert_eq!(both["code"], "BAD_USER_INPUT");
    let backwards = app.err(&admin, set, json!({ "i": { "userId": rep["id"], "periodStart": "2026-04-01T00:00:00Z", "periodEnd": "2026-01-01T00:00:00Z", "amount": 1 } })).await;
    assert_eq!(backwards["field"], "periodEnd");
    let targets = "query($f: TargetFilterInput) { targets(where: $f) { amount } }";
    assert_eq!(app.ok(&admin, targets, json!({})).await["targets"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.ok(&rep_token, targets, json!({})).await["targets"],
        json!([{ "amount": "60000.50" }]),
        "a rep sees their own, not South's"
    );
    assert_eq!(
        app.ok(&admin, targets, json!({ "f": { "from": "2026-04-01T00:00:00Z" } })).await["targets"],
        json!([]),
        "half-open periods"
    );

    // Role changes and deactivation take effect on the next request.
    let update = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { role active version } } }";
    let promoted = app.ok(&admin, update, json!({ "i": { "id": rep["id"], "version": 1, "role": "MANAGER" } })).await;
    assert_eq!(promoted["updateUser"]["user"], json!({ "role": "MANAGER", "active": true, "version": 2 }));
    assert_eq!(app.err(&rep_token, "{ me { role } }", json!({})).await["code"], "UNAUTHENTICATED", "old token revoked");
    let fresh = app.login("rep@example.com").await;
    assert_eq!(app.ok(&fresh, "{ me { role } }", json!({})).await["me"]["role"], "MANAGER");
    app.ok(&admin, update, json!({ "i": { "id": rep["id"], "version": 2, "active": false } })).await;
    assert_eq!(app.err(&fresh, "{ me { role } }", json!({})).await["code"], "UNAUTHENTICATED");
    let relogin = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "email": "rep@example.com", "password": tests::PASSWORD } }),
        )
        .await;
    assert_eq!(relogin["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let stale = app.err(&admin, update, json!({ "i": { "id": rep["id"], "version": 1, "name": "X" } })).await;
    assert_eq!(stale["code"], "CONFLICT");
});

db_test!(change_feed_resyncs_an_offline_client, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let (_, other) = app.signed_in("other@example.com", Role::SalesRep, None).await;
    let feed = "query($after: String, $first: Int) { changes(after: $after, first: $first) {
        events { cursor op kind entity recordId changedFields changes { field before after } actor { email }
                 node { ... on Contact { firstName } ... on Meeting { kind } } }
        endCursor hasNextPage } }";
    let start = app.ok(&rep, "{ changeCursor }", json!({})).await["changeCursor"].clone();
    let old = create_contact(&app, &rep, json!({ "firstName": "Before" })).await;
    create_contact(&app, &other, json!({ "firstName": "NotMine" })).await;
    let caught_up = app.ok(&rep, feed, json!({ "after": start })).await["changes"].clone();
    assert_eq!(caught_up["events"].as_array().unwrap().len(), 1, "only the rep's own contact: {caught_up}");
    let since = caught_up["endCursor"].clone();
    // While offline: one new contact, one edited, one created then deleted, and a meeting.
    let fresh = create_contact(&app, &rep, json!({ "firstName": "New" })).await;
    app.ok(&rep, UPDATE_CONTACT, json!({ "i": { "id": old["id"], "version": 1, "firstName": "Edited" } })).await;
    let gone = create_contact(&app, &rep, json!({ "firstName": "Gone" })).await;
    app.ok(
        &rep,
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { deletedContactId } }",
        json!({ "id": gone["id"] }),
    )
    .await;
    app.ok(
        &rep,
        SCHEDULE,
        json!({ "i": { "contactId": fresh["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z" } }),
    )
    .await;
    create_contact(&app, &other, json!({ "firstName": "StillNotMine" })).await;

    let first = app.ok(&rep, feed, json!({ "after": since, "first": 3 })).await["changes"].clone();
    let ops = |page: &Value| -> Vec<String> {
        let events = page["events"].as_array().unwrap().iter();
        events.map(|e| format!("{} {}", e["entity"].as_str().unwrap(), e["op"].as_str().unwrap())).collect()
    };
    assert_eq!(ops(&first), ["CONTACT CREATED", "CONTACT UPDATED", "CONTACT CREATED"]);
    assert_eq!(first["hasNextPage"], true);
    let edited = &first["events"][1];
    assert_eq!(edited["changedFields"], json!(["firstName"]));
    assert_eq!(edited["changes"], json!([{ "field": "firstName", "before": "Before", "after": "Edited" }]));
    assert_eq!(edited["actor"]["email"], "rep@example.com");
    assert_eq!(edited["node"]["firstName"], "Edited", "the record as it is now");
    let next = app.ok(&rep, feed, json!({ "after": first["endCursor"] })).await["changes"].clone();
    assert_eq!(ops(&next), ["CONTACT DELETED", "MEETING CREATED"], "other reps' records never appear");
    assert_eq!(next["events"][0]["recordId"], gone["id"]);
    assert!(next["events"][0]["node"].is_null(), "a tombstone has no readable record");
    assert_eq!(next["hasNextPage"], false);
    let nothing = app.ok(&rep, feed, json!({ "after": next["endCursor"] })).await["changes"].clone();
    assert_eq!(nothing["events"], json!([]));
    assert_eq!(nothing["endCursor"], next["endCursor"]);

    // Reassigned to another rep: the rep sees it leave once, without data; the new owner
    // sees the change with its data.
    let version = app
        .ok(&admin, "query($id: ID!) { contact(id: $id) { version } }", json!({ "id": fresh["id"] }))
        .await["contact"]["version"]
        .clone();
    let other_gid = app.ok(&other, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let moved = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { id } } }";
    app.ok(&admin, moved, json!({ "i": { "id": fresh["id"], "version": version, "ownerId": other_gid } })).await;
    let left = app.ok(&rep, feed, json!({ "after": nothing["endCursor"] })).await["changes"].clone();
    assert_eq!(ops(&left), ["CONTACT REMOVED_FROM_SCOPE"]);
    assert_eq!(left["events"][0]["changes"], json!([]));
    assert!(left["events"][0]["node"].is_null());
    let arrived = app.ok(&other, feed, json!({ "after": nothing["endCursor"] })).await["changes"].clone();
    assert_eq!(ops(&arrived), ["CONTACT UPDATED"]);
    let owner_change = &arrived["events"][0]["changes"][0];
    assert_eq!(owner_change["field"], "ownerId");
    assert_eq!(owner_change["after"], other_gid);

    // Bad cursors, page sizes, and a cursor older than the retention.
    let bad = app.err(&rep, feed, json!({ "after": "yesterday" })).await;
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("BAD_USER_INPUT"), Some("after")));
    let big = app.err(&rep, feed, json!({ "first": 101 })).await;
    assert_eq!(big["field"], "first");
    let retention = api::service::changes::retention::Retention {
        events: chrono::Duration::zero(),
        idempotency_keys: chrono::Duration::hours(24),
    };
    let later = api::service::now() + chrono::Duration::seconds(1);
    let purged = api::service::changes::retention::purge(&app.db, retention, later).await.unwrap();
    assert!(purged.events >= 8, "every event so far is past a zero retention: {purged:?}");
    let expired = app.err(&rep, feed, json!({ "after": since })).await;
    assert_eq!((expired["code"].as_str(), expired["field"].as_str()), (Some("CURSOR_EXPIRED"), Some("after")));
    let from_start = app.ok(&rep, feed, json!({})).await["changes"].clone();
    assert_eq!(from_start["events"], json!([]), "no cursor: the oldest retained event on");
});

db_test!(node_resolves_every_type_and_meetings_update, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (pipeline, stages) = sales_pipeline(&app, &admin).await;
    let (reason, _) = lost_reason(&app, &admin, "Price").await;
    let team = app.ok(&admin, "mutation { createTeam(input: { name: \"North\" }) { team { id } } }", json!({})).await["createTeam"]["team"]["id"].clone();
    let me = app.ok(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let target = app
        .ok(&admin, "mutation($t: ID!) { setTarget(input: { teamId: $t, periodStart: \"2026-01-01T00:00:00Z\", periodEnd: \"2026-04-01T00:00:00Z\", amount: 5 }) { target { id } } }", json!({ "t": team }))
        .await["setTarget"]["target"]["id"]
        .clone();
    let contact = create_contact(&app, &admin, json!({ "firstName": "Dana" })).await;
    let deal = app
        .ok(&admin, "mutation($c: ID!) { createDeal(input: { contactId: $c, title: \"T\", amount: 1 }) { deal { id stageHistory { id } } } }", json!({ "c": contact["id"] }))
        .await["createDeal"]["deal"]
        .clone();
    let meeting = app
        .ok(
            &admin,
            SCHEDULE,
            json!({ "i": { "contactId": contact["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z" } }),
        )
        .await["scheduleMeeting"]["meeting"]
        .clone();
    let ids = [
        ("User", me.clone()),
        ("Team", team.clone()),
        ("Target", target),
        ("Pipeline", json!(pipeline)),
        ("Stage", json!(stages[0])),
        ("LostReason", json!(reason)),
        ("Contact", contact["id"].clone()),
        ("Deal", deal["id"].clone()),
        ("DealStageEvent", deal["stageHistory"][0]["id"].clone()),
        ("Meeting", meeting["id"].clone()),
    ];
    for (kind, id) in ids {
        let body = app.ok(&admin, "query($id: ID!) { node(id: $id) { __typename id } }", json!({ "id": id })).await;
        assert_eq!(body["node"], json!({ "__typename": kind, "id": id }), "{kind}");
    }
    let bad = app.err(&admin, "{ node(id: \"not-an-id\") { id } }", json!({})).await;
    assert_eq!(bad["code"], "BAD_USER_INPUT");

    let update = "mutation($i: UpdateMeetingInput!) { updateMeeting(input: $i) { meeting { kind durationMinutes notes scheduledAt version } } }";
    let updated = app
        .ok(&admin, update, json!({ "i": { "id": meeting["id"], "version": 1, "kind": "DEMO", "durationMinutes": 45, "notes": "agenda", "scheduledAt": "2026-05-02T09:00:00Z" } }))
        .await;
    assert_eq!(
        updated["updateMeeting"]["meeting"],
        json!({ "kind": "DEMO", "durationMinutes": 45, "notes": "agenda", "scheduledAt": "2026-05-02T09:00:00Z", "version": 2 })
    );
    assert_eq!(
        app.err(&admin, update, json!({ "i": { "id": meeting["id"], "version": 1, "notes": null } })).await["code"],
        "CONFLICT"
    );
    let cleared = app.ok(&admin, update, json!({ "i": { "id": meeting["id"], "version": 2, "notes": null } })).await;
    assert_eq!(cleared["updateMeeting"]["meeting"]["notes"], Value::Null);
    app.ok(
        &admin,
        "mutation($id: ID!) { deleteMeeting(input: { id: $id, version: 3 }) { deletedMeetingId } }",
        json!({ "id": meeting["id"] }),
    )
    .await;
    assert_eq!(
        app.ok(&admin, "query($id: ID!) { meeting(id: $id) { id } }", json!({ "id": meeting["id"] })).await["meeting"],
        Value::Null
    );
});
