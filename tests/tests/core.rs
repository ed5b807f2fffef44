//! Core CRM API: queries, relations, mutations, validation, concurrency and scoping of
//! contacts, deals, meetings and the admin records — on SQLite and PostgreSQL.

use entity::enums::Role;
use tests::{TestApp, Value, db_test, gid, json};

const CREATE_CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) {
    contact { id version firstName lastName email phone company source lifecycle acquisitionCost externalId
              owner { name } createdAt } } }";
const UPDATE_CONTACT: &str = "mutation($i: UpdateContactInput!) { updateContact(input: $i) {
    contact { id version firstName email company lifecycle disqualifiedAt acquisitionCost } } }";

async fn create_contact(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_CONTACT, json!({ "i": input })).await["createContact"]["contact"].clone()
}

db_test!(contact_create_read_update_delete, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let created = create_contact(
        &app,
        &rep,
        json!({ "firstName": " Grace ", "lastName": "Hopper", "email": "Grace@Navy.MIL", "company": "Navy",
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
            "query($id: ID!) { contact(id: $id) { fullName company } node(id: $id) { id ... on Contact { email } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["contact"], json!({ "fullName": "Grace Hopper", "company": "Navy" }));
    assert_eq!(read["node"], json!({ "id": id, "email": "grace@navy.mil" }));

    // Update: omitted fields stay, null clears, the version moves on.
    let updated = app
        .ok(&rep, UPDATE_CONTACT, json!({ "i": { "id": id, "version": 1, "company": null, "lifecycle": "DISQUALIFIED", "acquisitionCost": 99 } }))
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
    assert_eq!(bad_money, json!({ "code": "BAD_USER_INPUT", "field": "acquisitionCost" }));
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
        create_contact(&app, &rep, json!({ "firstName": first, "lastName": last, "lifecycle": lifecycle, "acquisitionCost": (i as i64) * 10, "company": format!("Co{i}") })).await;
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
