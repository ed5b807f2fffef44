//! Custom fields (SPEC section 11): ADMIN's definitions, every type's values valid and
//! invalid on write and import, typed reads, filters and ordering (with cursors), the change
//! log's before/after, archiving, merging, and PostgreSQL's GIN index.

use api::service::custom_fields::query::{self, CustomCondition};
use api::service::custom_fields::values::CustomInput;
use api::service::custom_fields::{self, Object};
use sea_orm::TransactionTrait;

use super::*;

const CREATE_FIELD: &str = "mutation($i: CreateCustomFieldInput!) { createCustomField(input: $i) {
    customField { id key label type options required archived version } } }";
const UPDATE_FIELD: &str = "mutation($i: UpdateCustomFieldInput!) { updateCustomField(input: $i) {
    customField { id options required archived version usage } } }";
const VALUES: &str = "customFields { key value { __typename
    ... on CustomTextValue { text } ... on CustomNumberValue { number } ... on CustomMoneyValue { amount currency }
    ... on CustomDateValue { date } ... on CustomBooleanValue { boolean } ... on CustomSelectValue { option }
    ... on CustomMultiSelectValue { options } } }";

async fn field(app: &TestApp, admin: &str, input: Value) -> Value {
    app.ok(admin, CREATE_FIELD, json!({ "i": input })).await["createCustomField"]["customField"].clone()
}

fn create_contact() -> String {
    format!("mutation($i: CreateContactInput!) {{ createContact(input: $i) {{ contact {{ id version {VALUES} }} }} }}")
}

/// The contact made from `input`.
async fn valued(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, &create_contact(), json!({ "i": input })).await["createContact"]["contact"].clone()
}

/// The first names of the contacts `where`/`orderBy` list, in order.
async fn names(app: &TestApp, token: &str, filter: Value, order: Value) -> Vec<String> {
    let query = "query($w: ContactFilter, $o: [ContactOrderBy!]) {
        contacts(where: $w, orderBy: $o, first: 100) { nodes { firstName } } }";
    let data = app.ok(token, query, json!({ "w": filter, "o": order })).await;
    data["contacts"]["nodes"].as_array().unwrap().iter().map(|n| n["firstName"].as_str().unwrap().to_owned()).collect()
}

/// The fields a BAD_USER_INPUT error names.
fn fields_of(extensions: &Value) -> Vec<String> {
    match extensions["fields"].as_array() {
        Some(fields) => fields.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect(),
        None => vec![extensions["field"].as_str().unwrap().to_owned()],
    }
}

async fn contact_fields(app: &TestApp, admin: &str) {
    let fields = [
        json!({ "object": "CONTACT", "key": "tier", "label": "Tier", "type": "SELECT",
                "options": ["gold", "silver", "bronze"], "required": true }),
        json!({ "object": "CONTACT", "key": "seats", "label": "Seats", "type": "NUMBER" }),
        json!({ "object": "CONTACT", "key": "budget", "label": "Budget", "type": "MONEY" }),
        json!({ "object": "CONTACT", "key": "renewal_date", "label": "Renewal", "type": "DATE" }),
        json!({ "object": "CONTACT", "key": "vip", "label": "VIP", "type": "BOOLEAN" }),
        json!({ "object": "CONTACT", "key": "tags", "label": "Tags", "type": "MULTI_SELECT", "options": ["a", "b", "c"] }),
        json!({ "object": "CONTACT", "key": "note", "label": "Note", "type": "TEXT" }),
    ];
    for input in fields {
        field(app, admin, input).await;
    }
}

db_test!(custom_field_definitions_are_admins_and_checked, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, manager) = app.member("m@example.com", Role::Manager, None).await;
    let (_, analyst) = app.member("an@example.com", Role::Analyst, None).await;
    let tier = field(
        &app,
        &admin,
        json!({ "object": "CONTACT", "key": " tier ", "label": "Tier", "type": "SELECT", "options": [" gold ", "silver"] }),
    )
    .await;
    assert_eq!(
        tier,
        json!({ "id": tier["id"], "key": "tier", "label": "Tier", "type": "SELECT", "options": ["gold", "silver"],
                "required": false, "archived": false, "version": 1 })
    );
    let input = json!({ "object": "DEAL", "key": "tier", "label": "Tier", "type": "TEXT" });
    assert_eq!(app.err(&manager, CREATE_FIELD, json!({ "i": input })).await["code"], "FORBIDDEN");
    field(&app, &admin, input).await;
    for (bad, at) in [
        (json!({ "object": "CONTACT", "key": "tier", "label": "Again", "type": "TEXT" }), "input.key"),
        (json!({ "object": "CONTACT", "key": "Tier-2", "label": "T", "type": "TEXT" }), "input.key"),
        (json!({ "object": "CONTACT", "key": "pick", "label": "P", "type": "SELECT" }), "input.options"),
        (
            json!({ "object": "CONTACT", "key": "pick", "label": "P", "type": "TEXT", "options": ["x"] }),
            "input.options",
        ),
        (
            json!({ "object": "CONTACT", "key": "pick", "label": "P", "type": "MULTI_SELECT", "options": ["x", "x"] }),
            "input.options",
        ),
        (json!({ "object": "CONTACT", "key": "pick", "label": " ", "type": "TEXT" }), "input.label"),
    ] {
        let e = app.err(&admin, CREATE_FIELD, json!({ "i": bad })).await;
        assert_eq!((e["code"].as_str(), fields_of(&e)), (Some("BAD_USER_INPUT"), vec![at.to_owned()]), "{bad}");
    }
    // Every role reads the definitions; a stale version is a CONFLICT.
    let list = "query($o: CustomFieldObject) { customFields(object: $o) { key object } }";
    let contacts = app.ok(&analyst, list, json!({ "o": "CONTACT" })).await;
    assert_eq!(contacts["customFields"], json!([{ "key": "tier", "object": "CONTACT" }]));
    assert_eq!(app.ok(&analyst, list, json!({})).await["customFields"].as_array().unwrap().len(), 2);
    let stale = json!({ "i": { "id": tier["id"], "version": 7, "label": "Level" } });
    assert_eq!(app.err(&admin, UPDATE_FIELD, stale).await["code"], "CONFLICT");
    let node = app
        .ok(&analyst, "query($id: ID!) { node(id: $id) { ... on CustomField { key } } }", json!({ "id": tier["id"] }))
        .await;
    assert_eq!(node["node"]["key"], "tier");
});

db_test!(custom_field_values_are_typed_and_checked_on_every_write, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    contact_fields(&app, &admin).await;

    // Each type in its input, read back typed, in the order the fields were defined.
    let ada = valued(
        &app,
        &rep,
        json!({ "firstName": "Ada", "customFields": [
            { "key": "note", "value": { "text": "  met at the fair " } },
            { "key": "tags", "value": { "options": ["c", "a", "c"] } },
            { "key": "vip", "value": { "boolean": true } },
            { "key": "renewal_date", "value": { "date": "2027-03-01" } },
            { "key": "budget", "value": { "money": "1250.50" } },
            { "key": "seats", "value": { "number": 12.5 } },
            { "key": "tier", "value": { "option": "gold" } } ] }),
    )
    .await;
    assert_eq!(
        ada["customFields"],
        json!([
            { "key": "tier", "value": { "__typename": "CustomSelectValue", "option": "gold" } },
            { "key": "seats", "value": { "__typename": "CustomNumberValue", "number": 12.5 } },
            { "key": "budget", "value": { "__typename": "CustomMoneyValue", "amount": "1250.50", "currency": "USD" } },
            { "key": "renewal_date", "value": { "__typename": "CustomDateValue", "date": "2027-03-01" } },
            { "key": "vip", "value": { "__typename": "CustomBooleanValue", "boolean": true } },
            { "key": "tags", "value": { "__typename": "CustomMultiSelectValue", "options": ["c", "a"] } },
            { "key": "note", "value": { "__typename": "CustomTextValue", "text": "met at the fair" } },
        ])
    );

    // Wrong types, unknown options and keys, and a missing required field: each named, all at once.
    let bad = json!({ "i": { "firstName": "Bad", "customFields": [
        { "key": "seats", "value": { "text": "many" } },
        { "key": "tags", "value": { "options": ["z"] } },
        { "key": "budget", "value": { "money": "1.234" } },
        { "key": "renewal_date", "value": { "boolean": false } },
        { "key": "nope", "value": { "text": "x" } } ] } });
    let e = app.err(&rep, &create_contact(), bad).await;
    assert_eq!(e["code"], "BAD_USER_INPUT");
    let named = fields_of(&e);
    let expected = ["customFields.budget", "customFields.tier"];
    assert_eq!(named, expected, "a malformed amount is reported with what the values lack: {e}");
    let bad = json!({ "i": { "firstName": "Bad", "customFields": [
        { "key": "seats", "value": { "text": "many" } },
        { "key": "tags", "value": { "options": ["z"] } },
        { "key": "renewal_date", "value": { "boolean": false } },
        { "key": "nope", "value": { "text": "x" } },
        { "key": "vip", "value": { "boolean": true } },
        { "key": "vip", "value": { "boolean": false } } ] } });
    let e = app.err(&rep, &create_contact(), bad).await;
    let named = fields_of(&e);
    let expected = ["seats", "tags", "renewal_date", "nope", "vip", "tier"].map(|k| format!("customFields.{k}"));
    assert_eq!(named, expected, "{e}");
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts WHERE first_name = 'Bad'").await, 0, "nothing written");

    // An update patches: listed fields change or clear, the others stay; required stays required.
    let update = format!(
        "mutation($i: UpdateContactInput!) {{ updateContact(input: $i) {{ contact {{ version {VALUES} }} }} }}"
    );
    let patched = app
        .ok(
            &rep,
            &update,
            json!({ "i": { "id": ada["id"], "version": ada["version"], "customFields": [
                { "key": "seats", "value": { "number": 40 } }, { "key": "note", "value": null },
                { "key": "tags", "value": { "option": "b" } } ] } }),
        )
        .await["updateContact"]["contact"]
        .clone();
    let keys: Vec<&str> =
        patched["customFields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["tier", "seats", "budget", "renewal_date", "vip", "tags"]);
    assert_eq!(patched["customFields"][1]["value"]["number"], 40.0);
    assert_eq!(patched["customFields"][5]["value"]["options"], json!(["b"]));
    let clear = json!({ "i": { "id": ada["id"], "version": patched["version"], "customFields": [{ "key": "tier", "value": null }] } });
    assert_eq!(fields_of(&app.err(&rep, &update, clear).await), ["customFields.tier"]);
    let only = "query($id: ID!) { contact(id: $id) { customFields(keys: [\"tier\", \"vip\"]) { key } } }";
    let picked = app.ok(&rep, only, json!({ "id": ada["id"] })).await;
    assert_eq!(picked["contact"]["customFields"], json!([{ "key": "tier" }, { "key": "vip" }]));

    // The change log has each field's value before and after.
    let feed = app
        .ok(&admin, "{ changes(first: 100) { events { op entity changes { field before after } } } }", json!({}))
        .await;
    let updated = feed["changes"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "CONTACT" && e["op"] == "UPDATED")
        .unwrap()
        .clone();
    let mut changes = updated["changes"].as_array().unwrap().clone();
    changes.sort_by_key(|c| c["field"].as_str().unwrap().to_owned());
    assert_eq!(
        changes,
        [
            json!({ "field": "customFields.note", "before": "met at the fair", "after": null }),
            json!({ "field": "customFields.seats", "before": 12.5, "after": 40.0 }),
            json!({ "field": "customFields.tags", "before": ["c", "a"], "after": ["b"] }),
        ]
    );
});

db_test!(lists_filter_and_order_by_custom_fields, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    let (_, other) = app.member("other@example.com", Role::SalesRep, None).await;
    contact_fields(&app, &admin).await;
    let people = [
        (
            "Ann",
            json!([{ "key": "tier", "value": { "option": "gold" } }, { "key": "seats", "value": { "number": 2.5 } },
            { "key": "budget", "value": { "money": "100" } }, { "key": "renewal_date", "value": { "date": "2027-01-15" } },
            { "key": "vip", "value": { "boolean": true } }, { "key": "tags", "value": { "options": ["a", "b"] } }]),
        ),
        (
            "Ben",
            json!([{ "key": "tier", "value": { "option": "silver" } }, { "key": "seats", "value": { "number": 10 } },
            { "key": "budget", "value": { "money": "99.99" } }, { "key": "renewal_date", "value": { "date": "2026-12-31" } },
            { "key": "vip", "value": { "boolean": false } }, { "key": "tags", "value": { "options": ["b"] } }]),
        ),
        (
            "Cid",
            json!([{ "key": "tier", "value": { "option": "gold" } }, { "key": "seats", "value": { "number": -1 } },
            { "key": "tags", "value": { "options": ["c"] } }]),
        ),
        (
            "Dot",
            json!([{ "key": "tier", "value": { "option": "bronze" } }, { "key": "seats", "value": { "number": 2.5 } },
            { "key": "budget", "value": { "money": "5000" } }, { "key": "note", "value": { "text": "O'Brien; DROP TABLE" } }]),
        ),
    ];
    for (name, values) in &people {
        valued(&app, &rep, json!({ "firstName": name, "customFields": values })).await;
    }
    valued(
        &app,
        &other,
        json!({ "firstName": "Eve", "customFields": [{ "key": "tier", "value": { "option": "gold" } }] }),
    )
    .await;

    let by_name = json!([{ "field": "FIRST_NAME" }]);
    let cases = [
        (json!({ "key": "tier", "eq": { "option": "gold" } }), vec!["Ann", "Cid"]),
        (json!({ "key": "tier", "in": [{ "option": "silver" }, { "option": "bronze" }] }), vec!["Ben", "Dot"]),
        (json!({ "key": "seats", "gte": { "number": 2.5 }, "lte": { "number": 10 } }), vec!["Ann", "Ben", "Dot"]),
        (json!({ "key": "seats", "eq": { "number": 2.5 } }), vec!["Ann", "Dot"]),
        (json!({ "key": "budget", "gte": { "money": "100" } }), vec!["Ann", "Dot"]),
        (json!({ "key": "budget", "lte": { "money": "99.99" } }), vec!["Ben"]),
        (json!({ "key": "renewal_date", "lte": { "date": "2026-12-31" } }), vec!["Ben"]),
        (json!({ "key": "vip", "eq": { "boolean": false } }), vec!["Ben"]),
        (json!({ "key": "vip", "isSet": false }), vec!["Cid", "Dot"]),
        (json!({ "key": "tags", "eq": { "option": "b" } }), vec!["Ann", "Ben"]),
        (json!({ "key": "tags", "eq": { "options": ["a", "b"] } }), vec!["Ann"]),
        (json!({ "key": "tags", "in": [{ "option": "a" }, { "option": "c" }] }), vec!["Ann", "Cid"]),
        (json!({ "key": "note", "eq": { "text": "O'Brien; DROP TABLE" } }), vec!["Dot"]),
    ];
    for (condition, expected) in cases {
        let got = names(&app, &rep, json!({ "customField": condition }), by_name.clone()).await;
        assert_eq!(got, expected, "{condition}");
    }
    // Several conditions all hold; the admin sees every owner's contacts, the rep only theirs.
    let both = json!({ "customField": [{ "key": "tier", "eq": { "option": "gold" } }, { "key": "seats", "gte": { "number": 0 } }] });
    assert_eq!(names(&app, &rep, both, by_name.clone()).await, ["Ann"]);
    let gold = json!({ "customField": { "key": "tier", "eq": { "option": "gold" } } });
    assert_eq!(names(&app, &admin, gold.clone(), by_name.clone()).await, ["Ann", "Cid", "Eve"]);
    assert_eq!(names(&app, &other, gold, by_name.clone()).await, ["Eve"]);

    // Ordering: values in order, records without one last (first when descending), ties by id.
    let seats = |direction: &str| json!([{ "field": "CUSTOM_FIELD", "customField": "seats", "direction": direction }]);
    assert_eq!(names(&app, &rep, json!({}), seats("ASC")).await, ["Cid", "Ann", "Dot", "Ben"]);
    assert_eq!(names(&app, &rep, json!({}), seats("DESC")).await, ["Ben", "Dot", "Ann", "Cid"]);
    let budget = json!([{ "field": "CUSTOM_FIELD", "customField": "budget" }, { "field": "FIRST_NAME" }]);
    assert_eq!(names(&app, &rep, json!({}), budget).await, ["Ben", "Ann", "Dot", "Cid"]);
    let renewal = json!([{ "field": "CUSTOM_FIELD", "customField": "renewal_date", "direction": "DESC" }]);
    assert_eq!(names(&app, &rep, json!({}), renewal).await, ["Dot", "Cid", "Ann", "Ben"]);
    let tier = json!([{ "field": "CUSTOM_FIELD", "customField": "tier" }, { "field": "FIRST_NAME" }]);
    assert_eq!(names(&app, &rep, json!({}), tier).await, ["Dot", "Ann", "Cid", "Ben"]);

    // Pages of two follow the custom order through their cursors.
    let page = "query($o: [ContactOrderBy!], $a: String) { contacts(orderBy: $o, first: 2, after: $a) {
        nodes { firstName } pageInfo { endCursor hasNextPage } } }";
    let first = app.ok(&rep, page, json!({ "o": seats("ASC") })).await;
    assert_eq!(first["contacts"]["nodes"], json!([{ "firstName": "Cid" }, { "firstName": "Ann" }]));
    let cursor = first["contacts"]["pageInfo"]["endCursor"].clone();
    let second = app.ok(&rep, page, json!({ "o": seats("ASC"), "a": cursor })).await;
    assert_eq!(second["contacts"]["nodes"], json!([{ "firstName": "Dot" }, { "firstName": "Ben" }]));
    assert_eq!(second["contacts"]["pageInfo"]["hasNextPage"], false);

    // Bad filters and orderings name their input.
    let list = "query($w: ContactFilter, $o: [ContactOrderBy!]) { contacts(where: $w, orderBy: $o) { totalCount } }";
    for (vars, at) in [
        (json!({ "w": { "customField": { "key": "nope", "eq": { "text": "x" } } } }), "where.customField.key"),
        (json!({ "w": { "customField": { "key": "note", "gte": { "text": "x" } } } }), "where.customField.gte"),
        (json!({ "w": { "customField": { "key": "seats", "eq": { "text": "x" } } } }), "where.customField.eq"),
        (
            json!({ "w": { "customField": { "key": "tier", "in": [{ "option": "platinum" }] } } }),
            "where.customField.in",
        ),
        (json!({ "o": [{ "field": "CUSTOM_FIELD", "customField": "tags" }] }), "orderBy[0].customField"),
        (json!({ "o": [{ "field": "CUSTOM_FIELD" }] }), "orderBy[0].customField"),
    ] {
        let e = app.err(&rep, list, vars.clone()).await;
        assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("BAD_USER_INPUT"), Some(at)), "{vars}");
    }
    let counted =
        app.ok(&rep, list, json!({ "w": { "customField": { "key": "tier", "eq": { "option": "gold" } } } })).await;
    assert_eq!(counted["contacts"]["totalCount"], 2);

    // The filters' own SQL is answered from the indexes: PostgreSQL's GIN index for equality,
    // the per-field expression index for a range (and on SQLite for both).
    let definitions = custom_fields::of(&app.db, Object::Contact).await.unwrap();
    let index_of = |key: &str| format!("ix_cf_{}", definitions.iter().find(|d| d.key() == key).unwrap().model.id);
    let postgres = app.engine == Engine::Postgres;
    let gold =
        CustomCondition { key: "tier".into(), eq: Some(CustomInput::Option("gold".into())), ..Default::default() };
    let many = CustomCondition { key: "seats".into(), gte: Some(CustomInput::Number(2.5)), ..Default::default() };
    let equality_index = if postgres { "ix_contacts_custom_fields".to_owned() } else { index_of("tier") };
    for (condition, index) in [(gold, equality_index), (many, index_of("seats"))] {
        let backend = app.db.get_database_backend();
        let cond = query::condition(backend, &definitions, Object::Contact, &[condition], "where").unwrap();
        let select = sea_orm::sea_query::Query::select()
            .column(sea_orm::sea_query::Alias::new("id"))
            .from(sea_orm::sea_query::Alias::new("contacts"))
            .cond_where(cond)
            .to_owned();
        let statement = backend.build(&select);
        let explain = if postgres { "EXPLAIN " } else { "EXPLAIN QUERY PLAN " };
        let statement = Statement { sql: format!("{explain}{}", statement.sql), ..statement };
        let tx = app.db.begin().await.unwrap();
        if postgres {
            // The test's table is tiny: without this, a sequential scan is cheaper.
            tx.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
        }
        let plan: Vec<String> = tx
            .query_all_raw(statement)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index::<String>(if postgres { 0 } else { 3 }).unwrap())
            .collect();
        tx.rollback().await.unwrap();
        assert!(plan.iter().any(|line| line.contains(&index)), "{index}: {plan:?}");
    }
});

db_test!(custom_fields_on_companies_and_deals_import_archive_and_merge, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    sales_pipeline(&app, &admin).await;
    let plan = field(
        &app,
        &admin,
        json!({ "object": "COMPANY", "key": "plan", "label": "Plan", "type": "SELECT",
        "options": ["free", "pro"] }),
    )
    .await;
    field(
        &app,
        &admin,
        json!({ "object": "DEAL", "key": "score", "label": "Score", "type": "NUMBER", "required": true }),
    )
    .await;
    field(&app, &admin, json!({ "object": "CONTACT", "key": "nickname", "label": "Nickname", "type": "TEXT" })).await;
    let birthday =
        field(&app, &admin, json!({ "object": "CONTACT", "key": "birthday", "label": "Birthday", "type": "DATE" }))
            .await;

    // Companies and deals: written, filtered and ordered like contacts.
    let co = |name: &str, plan: &str| json!({ "name": name, "customFields": [{ "key": "plan", "value": { "option": plan } }] });
    company(&app, &rep, co("Acme", "pro")).await;
    company(&app, &rep, co("Beta", "free")).await;
    let pro = "{ companies(where: { customField: { key: \"plan\", eq: { option: \"pro\" } } }) { nodes { name } } }";
    assert_eq!(app.ok(&rep, pro, json!({})).await["companies"]["nodes"], json!([{ "name": "Acme" }]));
    let ada = contact(&app, &rep, json!({ "firstName": "Ada" })).await;
    let no_score = json!({ "i": { "contactId": ada["id"], "title": "X", "amount": "1" } });
    assert_eq!(fields_of(&app.err(&rep, CREATE_DEAL, no_score).await), ["customFields.score"]);
    for (title, score) in [("Low", 1.5), ("High", 9.0), ("Mid", 5.0)] {
        let input = json!({ "contactId": ada["id"], "title": title, "amount": "1",
            "customFields": [{ "key": "score", "value": { "number": score } }] });
        deal(&app, &rep, input).await;
    }
    let ranked =
        "{ deals(orderBy: { field: CUSTOM_FIELD, customField: \"score\", direction: DESC }) { nodes { title } } }";
    let titles: Vec<String> = app.ok(&rep, ranked, json!({})).await["deals"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["High", "Mid", "Low"]);

    // Import: values checked per record; a re-import without customFields keeps them.
    let import = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) {
        companies { created updated } contacts { created updated } } }";
    let bad = json!({ "i": {
        "companies": [{ "externalId": "co-1", "name": "Gamma", "customFields": [{ "key": "plan", "value": { "option": "gold" } }] }],
        "contacts": [
            { "externalId": "c-1", "firstName": "Imp", "customFields": [{ "key": "nickname", "value": { "text": "Imp" } }] },
            { "externalId": "c-2", "firstName": "Bad", "customFields": [{ "key": "birthday", "value": { "text": "soon" } }, { "key": "x", "value": { "boolean": true } }] } ] } });
    let answer = app.gql(Some(&admin), import, bad).await;
    let mut invalid = invalid_records(&answer);
    invalid.sort();
    assert_eq!(
        invalid,
        [
            (0, "customFields.plan".to_owned()),
            (1, "customFields.birthday".to_owned()),
            (1, "customFields.x".to_owned())
        ],
        "{answer}"
    );
    let good = json!({ "i": { "contacts": [
        { "externalId": "c-1", "firstName": "Imp", "customFields": [{ "key": "nickname", "value": { "text": "Imp" } }] },
        { "externalId": "c-2", "firstName": "Twin", "customFields": [{ "key": "birthday", "value": { "date": "1990-05-01" } }] } ] } });
    app.ok(&admin, import, good).await;
    let again = json!({ "i": { "contacts": [{ "externalId": "c-1", "firstName": "Imp" }] } });
    assert_eq!(app.ok(&admin, import, again).await["importRecords"]["contacts"]["updated"], 1);
    let by_key = format!("{{ contacts(where: {{ search: \"Imp\" }}) {{ nodes {{ id {VALUES} }} }} }}");
    let imp = app.ok(&admin, &by_key, json!({})).await["contacts"]["nodes"][0].clone();
    assert_eq!(
        imp["customFields"],
        json!([{ "key": "nickname", "value": { "__typename": "CustomTextValue", "text": "Imp" } }])
    );

    // A merge fills the kept contact's missing values from the merged one.
    let twin = app.ok(&admin, "{ contacts(where: { search: \"Twin\" }) { nodes { id } } }", json!({})).await["contacts"]["nodes"][0]["id"].clone();
    let merge = "mutation($i: MergeContactsInput!) { mergeContacts(input: $i) { contact { customFields { key } } } }";
    let kept = app.ok(&admin, merge, json!({ "i": { "keepId": imp["id"], "mergeIds": [twin] } })).await;
    assert_eq!(kept["mergeContacts"]["contact"]["customFields"], json!([{ "key": "nickname" }, { "key": "birthday" }]));

    // Archiving hides a field and refuses writes; an option in use cannot be dropped.
    let archive = json!({ "i": { "id": birthday["id"], "version": 1, "archived": true } });
    let archived = app.ok(&admin, UPDATE_FIELD, archive).await["updateCustomField"]["customField"].clone();
    assert_eq!((archived["archived"].clone(), archived["usage"].clone()), (json!(true), json!(1)));
    let shown = "query($id: ID!) { contact(id: $id) { customFields { key } } }";
    assert_eq!(
        app.ok(&admin, shown, json!({ "id": imp["id"] })).await["contact"]["customFields"],
        json!([{ "key": "nickname" }])
    );
    let write = json!({ "i": { "firstName": "New", "customFields": [{ "key": "birthday", "value": { "date": "2000-01-01" } }] } });
    assert_eq!(fields_of(&app.err(&rep, CREATE_CONTACT, write).await), ["customFields.birthday"]);
    let drop_pro = json!({ "i": { "id": plan["id"], "version": 1, "options": ["free", "enterprise"] } });
    let e = app.gql(Some(&admin), UPDATE_FIELD, drop_pro).await["errors"][0].clone();
    assert_eq!(e["extensions"]["field"], "input.options");
    assert!(e["message"].as_str().unwrap().contains("\"pro\" is still the value of 1 record"), "{e}");
    let add = json!({ "i": { "id": plan["id"], "version": 1, "options": ["free", "pro", "enterprise"] } });
    let widened = app.ok(&admin, UPDATE_FIELD, add).await["updateCustomField"]["customField"].clone();
    assert_eq!(widened["options"], json!(["free", "pro", "enterprise"]));
});
