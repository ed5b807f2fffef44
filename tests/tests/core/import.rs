//! History import (`importRecords` and the JSON file format of `crm-api import`): upsert by
//! external id, stage history, validation by index and field, all-or-nothing.

use entity::enums::Role;
use tests::{TestApp, Value, db_test, gid, json};

const IMPORT: &str = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) {
    contacts { created updated } deals { created updated } meetings { created updated } } }";

const DEALS: &str = "{ deals(orderBy: [{ field: TITLE, direction: ASC }]) { totalCount nodes {
    title amount status closedAt createdAt version stageEnteredAt owner { email } contact { firstName }
    stage { name } lostReason { name } lostNote
    stageHistory { fromStage { name } toStage { name } movedAt movedBy { name } }
    meetings { status scheduledAt outcomeLoggedAt } } } }";

/// The demo organization's names, so `examples/import.json` runs against this setup.
async fn demo_like_org(app: &TestApp) -> (String, String) {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep1@demo.example", Role::SalesRep, None).await;
    app.ok(
        &admin,
        "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [
            { name: \"Lead In\", probability: 10 }, { name: \"Qualified\", probability: 20 },
            { name: \"Demo Scheduled\", probability: 40 }, { name: \"Proposal Sent\", probability: 60 },
            { name: \"Negotiation\", probability: 80 }] }) { pipeline { id } } }",
        json!({}),
    )
    .await;
    app.ok(&admin, "mutation { createLostReason(input: { name: \"No budget\" }) { lostReason { id } } }", json!({}))
        .await;
    (admin, rep)
}

fn example_file() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/import.json"))
        .expect("examples/import.json is readable");
    serde_json::from_str(&text).expect("examples/import.json is JSON")
}

db_test!(import_example_file_twice_updates_instead_of_duplicating, |app| {
    let (admin, rep) = demo_like_org(&app).await;
    let file = example_file();

    let first = app.ok(&admin, IMPORT, json!({ "i": file })).await;
    let created = json!({ "created": 2, "updated": 0 });
    assert_eq!(
        first["importRecords"],
        json!({ "contacts": created, "deals": created, "meetings": created }),
        "two of each in the file"
    );

    // What the rep (the owner named in the file) sees: original timestamps, the stage
    // history with the skipped stages, close data, meetings linked to their deal.
    let deals = app.ok(&rep, DEALS, json!({})).await["deals"].clone();
    assert_eq!(deals["totalCount"], 2);
    let won = &deals["nodes"][0];
    assert_eq!(won["title"], "Analytical Engines — annual licence");
    assert_eq!(
        (won["status"].as_str(), won["amount"].as_str(), won["closedAt"].as_str(), won["createdAt"].as_str()),
        (Some("WON"), Some("24000.00"), Some("2025-04-20T17:45:00Z"), Some("2025-03-04T10:00:00Z"))
    );
    assert_eq!(won["owner"]["email"], "rep1@demo.example", "the contact's owner when the deal names none");
    assert_eq!(won["stage"]["name"], "Negotiation", "the last history entry is the current stage");
    assert_eq!(won["stageEnteredAt"], "2025-04-02T09:00:00Z");
    assert_eq!(
        won["stageHistory"],
        json!([
            { "fromStage": null, "toStage": { "name": "Lead In" }, "movedAt": "2025-03-04T10:00:00Z", "movedBy": null },
            { "fromStage": { "name": "Lead In" }, "toStage": { "name": "Demo Scheduled" }, "movedAt": "2025-03-11T14:30:00Z", "movedBy": null },
            { "fromStage": { "name": "Demo Scheduled" }, "toStage": { "name": "Negotiation" }, "movedAt": "2025-04-02T09:00:00Z", "movedBy": null },
        ])
    );
    assert_eq!(
        won["meetings"],
        json!([{ "status": "COMPLETED", "scheduledAt": "2025-03-11T14:30:00Z", "outcomeLoggedAt": "2025-03-11T15:20:00Z" }])
    );
    let lost = &deals["nodes"][1];
    assert_eq!(
        (lost["status"].as_str(), lost["lostReason"]["name"].as_str(), lost["lostNote"].as_str()),
        (Some("LOST"), Some("No budget"), Some("Budget frozen until next fiscal year"))
    );
    assert_eq!(lost["createdAt"], "2025-03-10T11:30:00Z", "createdAt defaults to the first history entry");
    // Highest stage reached is kept on the row for the funnel: position 5 (Negotiation).
    assert_eq!(app.count("SELECT max_stage_position FROM deals WHERE external_id = 'hubspot-deal-501'").await, 5);
    let contacts = app
        .ok(&rep, "{ contacts(orderBy: [{ field: CREATED_AT, direction: ASC }]) { nodes { lifecycle disqualifiedAt acquisitionCost createdAt } } }", json!({}))
        .await;
    assert_eq!(
        contacts["contacts"]["nodes"],
        json!([
            { "lifecycle": "CUSTOMER", "disqualifiedAt": null, "acquisitionCost": "180.00", "createdAt": "2025-03-03T09:15:00Z" },
            { "lifecycle": "DISQUALIFIED", "disqualifiedAt": "2025-03-12T16:00:00Z", "acquisitionCost": "95.50", "createdAt": "2025-03-10T11:00:00Z" },
        ])
    );

    // The same file again updates every record and duplicates nothing.
    let second = app.ok(&admin, IMPORT, json!({ "i": file })).await;
    let updated = json!({ "created": 0, "updated": 2 });
    assert_eq!(second["importRecords"], json!({ "contacts": updated, "deals": updated, "meetings": updated }));
    for (table, rows) in [("contacts", 2), ("deals", 2), ("meetings", 2), ("deal_stage_events", 4)] {
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM {table}")).await, rows, "{table} after the second run");
    }
    let again = app.ok(&rep, DEALS, json!({})).await["deals"].clone();
    assert_eq!(again["nodes"][0]["version"], 2, "an update bumps the version");
    assert_eq!(again["nodes"][0]["stageHistory"], won["stageHistory"]);

    // A corrected history replaces the old one; a deal deleted since comes back.
    let mut fixed = file.clone();
    fixed["deals"][0]["stageHistory"] = json!([
        { "stageName": "Lead In", "movedAt": "2025-03-04T10:00:00Z" },
        { "stageName": "Qualified", "movedAt": "2025-03-05T10:00:00Z" },
    ]);
    fixed["deals"][0]["status"] = json!("OPEN");
    fixed["deals"][0]["closedAt"] = Value::Null;
    let id = app.count("SELECT id FROM deals WHERE external_id = 'hubspot-deal-501'").await;
    app.ok(
        &admin,
        "mutation($i: DeleteDealInput!) { deleteDeal(input: $i) { deletedDealId } }",
        json!({ "i": { "id": gid("Deal", id) } }),
    )
    .await;
    app.ok(&admin, IMPORT, json!({ "i": fixed })).await;
    let deal = app
        .ok(
            &rep,
            "query($id: ID!) { deal(id: $id) { status closedAt stage { name } stageHistory { toStage { name } } } }",
            json!({ "id": gid("Deal", id) }),
        )
        .await;
    assert_eq!(
        deal["deal"],
        json!({ "status": "OPEN", "closedAt": null, "stage": { "name": "Qualified" },
                "stageHistory": [{ "toStage": { "name": "Lead In" } }, { "toStage": { "name": "Qualified" } }] })
    );
    assert_eq!(app.count(&format!("SELECT max_stage_position FROM deals WHERE id = {id}")).await, 2);
});

db_test!(import_reports_every_bad_record_and_writes_nothing, |app| {
    let (admin, rep) = demo_like_org(&app).await;
    let other = app
        .ok(&admin, "mutation { createPipeline(input: { name: \"Renewals\", stages: [{ name: \"Due\", probability: 50 }] }) { pipeline { stages { id } } } }", json!({}))
        .await["createPipeline"]["pipeline"]["stages"][0]["id"]
        .clone();
    let batch = json!({
        "contacts": [
            { "externalId": "c1", "firstName": "Ok" },
            { "externalId": "c2", "firstName": "Bad", "email": "not-an-email" },
            { "externalId": "c1", "firstName": "Twice" },
            { "externalId": "c3", "firstName": "Both", "ownerId": gid("User", 1), "ownerEmail": "rep1@demo.example" },
        ],
        "deals": [
            { "externalId": "d1", "contactExternalId": "c1", "title": "Wrong pipeline", "amount": "10",
              "stageHistory": [{ "stageId": other, "movedAt": "2025-01-01T00:00:00+00:00" }] },
            { "externalId": "d2", "contactExternalId": "c1", "title": "Lost, no reason", "amount": "10",
              "status": "LOST", "closedAt": "2025-01-02T00:00:00+00:00" },
            { "externalId": "d3", "contactExternalId": "nobody", "title": "Orphan", "amount": "10" },
            { "externalId": "d4", "contactExternalId": "c1", "title": "Backwards", "amount": "10",
              "stageHistory": [{ "stageName": "Qualified", "movedAt": "2025-02-01T00:00:00+00:00" },
                               { "stageName": "Lead In", "movedAt": "2025-01-01T00:00:00+00:00" }],
              "status": "WON", "closedAt": "2024-12-01T00:00:00+00:00" },
            { "externalId": "d5", "contactExternalId": "c1", "title": "Negative", "amount": "-1",
              "stageHistory": [{ "stageName": "No such stage", "movedAt": "2025-01-01T00:00:00+00:00" }] },
        ],
        "meetings": [
            { "externalId": "m1", "contactExternalId": "c1", "kind": "CALL", "scheduledAt": "2025-01-01T00:00:00Z",
              "status": "SCHEDULED", "outcomeLoggedAt": "2025-01-01T00:30:00+00:00", "durationMinutes": 0 },
            { "externalId": "m2", "contactExternalId": "c1", "kind": "DEMO", "scheduledAt": "2030-01-01T00:00:00Z",
              "status": "COMPLETED", "outcomeLoggedAt": "2099-01-01T00:00:00+00:00" },
        ],
    });
    let body = app.gql(Some(&admin), IMPORT, json!({ "i": batch })).await;
    let err = &body["errors"][0];
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT");
    // Reference-shape problems (both ownerId and ownerEmail) are found before the database
    // is consulted, and reported on their own.
    assert_eq!(err["extensions"]["field"], "contacts[3].ownerId", "{body}");
    assert_eq!(body["data"], Value::Null);

    let mut fixed = batch.clone();
    fixed["contacts"][3].as_object_mut().unwrap().remove("ownerId");
    let body = app.gql(Some(&admin), IMPORT, json!({ "i": fixed })).await;
    let ext = &body["errors"][0]["extensions"];
    let paths: Vec<&str> = ext["records"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "contacts[1].email",
            "contacts[2].externalId",
            "deals[0].stageHistory[0].stageId",
            "deals[1].lostReasonId",
            "deals[2].contactExternalId",
            "deals[3].stageHistory[1].movedAt",
            "deals[3].closedAt",
            "deals[4].amount",
            "deals[4].stageHistory[0].stageName",
            "meetings[0].durationMinutes",
            "meetings[0].outcomeLoggedAt",
            "meetings[1].outcomeLoggedAt",
        ],
        "{body}"
    );
    assert_eq!(ext["field"], "contacts[1].email");
    assert_eq!(ext["records"][1]["message"], "repeats contacts[0]");
    assert_eq!((ext["records"][2]["list"].as_str(), ext["records"][2]["index"].as_u64()), (Some("deals"), Some(0)));
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("12 invalid record(s); nothing was written"), "{message}");
    for table in ["contacts", "deals", "deal_stage_events", "meetings"] {
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM {table}")).await, 0, "{table}: all or nothing");
    }

    // Only an ADMIN imports.
    let forbidden =
        app.err(&rep, IMPORT, json!({ "i": { "contacts": [{ "externalId": "x", "firstName": "X" }] } })).await;
    assert_eq!(forbidden["code"], "FORBIDDEN");
});

db_test!(import_links_meetings_to_existing_records_and_rejects_foreign_deals, |app| {
    let (admin, _) = demo_like_org(&app).await;
    let first = json!({
        "contacts": [{ "externalId": "a", "firstName": "A" }, { "externalId": "b", "firstName": "B" }],
        "deals": [{ "externalId": "deal-a", "contactExternalId": "a", "title": "A's deal", "amount": 100 }],
    });
    app.ok(&admin, IMPORT, json!({ "i": first })).await;
    // A later batch refers to records imported before, by external id and by ID.
    let b_id = app.count("SELECT id FROM contacts WHERE external_id = 'b'").await;
    let later = json!({
        "meetings": [
            { "externalId": "m-a", "contactExternalId": "a", "dealExternalId": "deal-a", "kind": "CALL",
              "scheduledAt": "2025-05-01T09:00:00+00:00", "status": "NO_SHOW" },
            { "externalId": "m-b", "contactId": gid("Contact", b_id), "kind": "MEETING",
              "scheduledAt": "2025-05-02T09:00:00+00:00" },
        ],
    });
    let counts = app.ok(&admin, IMPORT, json!({ "i": later })).await;
    assert_eq!(counts["importRecords"]["meetings"], json!({ "created": 2, "updated": 0 }));
    let logged = app
        .ok(&admin, "{ meetings(orderBy: [{ field: SCHEDULED_AT, direction: ASC }]) { nodes { status outcomeLoggedAt createdAt deal { title } contact { firstName } } } }", json!({}))
        .await;
    assert_eq!(
        logged["meetings"]["nodes"],
        json!([
            { "status": "NO_SHOW", "outcomeLoggedAt": "2025-05-01T09:30:00Z", "createdAt": "2025-05-01T09:00:00Z",
              "deal": { "title": "A's deal" }, "contact": { "firstName": "A" } },
            { "status": "SCHEDULED", "outcomeLoggedAt": null, "createdAt": "2025-05-02T09:00:00Z",
              "deal": null, "contact": { "firstName": "B" } },
        ]),
        "an outcome without a log time is logged when the meeting ended; createdAt defaults to scheduledAt"
    );
    let foreign = json!({ "meetings": [{ "externalId": "m-x", "contactExternalId": "b", "dealExternalId": "deal-a",
                                         "kind": "CALL", "scheduledAt": "2025-05-03T09:00:00Z" }] });
    let err = app.err(&admin, IMPORT, json!({ "i": foreign })).await;
    assert_eq!(err["field"], "meetings[0].dealExternalId");
    assert_eq!(err["records"][0]["message"], "the deal belongs to another contact");
});
