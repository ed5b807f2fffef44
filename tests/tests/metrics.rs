//! Sales metrics (SPEC section 6) on small histories built by hand through `importRecords`;
//! every expected number is worked out in the comments — on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use entity::enums::Role;
use tests::{TestApp, Value, db_test, gid, json};

const IMPORT: &str = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) { meetings { created } } }";

struct Org {
    admin: String,
    rep_a: (i64, String),
    rep_b: (i64, String),
    manager_north: String,
}

async fn org(app: &TestApp) -> Org {
    let (north, south) = (app.team("North").await, app.team("South").await);
    let admin = app.member("admin@example.com", Role::Admin, None).await.1;
    let rep_a = app.member("a@example.com", Role::SalesRep, Some(north)).await;
    let rep_b = app.member("b@example.com", Role::SalesRep, Some(south)).await;
    let manager_north = app.member("m@example.com", Role::Manager, Some(north)).await.1;
    app.ok(&admin, "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [{ name: \"Lead\", probability: 10 }] }) { pipeline { id } } }", json!({}))
        .await;
    Org { admin, rep_a, rep_b, manager_north }
}

fn meeting(id: &str, contact: &str, at: &str, status: &str, extra: Value) -> Value {
    let mut m =
        json!({ "externalId": id, "contactExternalId": contact, "kind": "DEMO", "scheduledAt": at, "status": status });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

const NO_SHOW: &str = "query($f: MetricFilterInput, $g: MetricGroupBy) { noShowStats(filter: $f, groupBy: $g) {
    meetings completed noShows canceled rescheduled unlogged upcoming noShowRate band followedUpWithinHour followUpRate
    groups { group { by owner { email } team { name } periodStart } meetings completed noShows noShowRate band followedUpWithinHour } } }";

const MARCH: &str = r#"{ "from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z" }"#;

fn march() -> Value {
    serde_json::from_str(MARCH).unwrap()
}

db_test!(no_show_rate_bands_follow_ups_and_scope, |app| {
    let o = org(&app).await;
    let contacts = json!([
        { "externalId": "a1", "firstName": "A1", "ownerEmail": "a@example.com", "source": "Webinar" },
        { "externalId": "a2", "firstName": "A2", "ownerEmail": "a@example.com", "source": "Webinar" },
        { "externalId": "b1", "firstName": "B1", "ownerEmail": "b@example.com", "source": "Referral" },
    ]);
    let meetings = json!([
        // Rep A, March: 4 completed (a-m5 is the follow-up of a-ns1), 2 no-shows, 1 cancelled
        // with notice, 1 rescheduled, 1 never logged; 9 meetings.
        meeting("a-m1", "a1", "2025-03-03T10:00:00Z", "COMPLETED", json!({})),
        meeting("a-m2", "a1", "2025-03-04T10:00:00Z", "COMPLETED", json!({})),
        meeting("a-m3", "a2", "2025-03-05T10:00:00Z", "COMPLETED", json!({})),
        // No-show logged 10:30; a-m5 is booked at 11:30, exactly 60 minutes later: followed up.
        meeting("a-ns1", "a1", "2025-03-10T10:00:00Z", "NO_SHOW", json!({ "outcomeLoggedAt": "2025-03-10T10:30:00Z" })),
        meeting("a-m5", "a1", "2025-03-20T10:00:00Z", "COMPLETED", json!({ "createdAt": "2025-03-10T11:30:00Z" })),
        // No-show logged 10:30; the next meeting of a2 is booked 61 minutes later: not followed up.
        meeting("a-ns2", "a2", "2025-03-12T10:00:00Z", "NO_SHOW", json!({ "outcomeLoggedAt": "2025-03-12T10:30:00Z" })),
        meeting("a-late", "a2", "2025-04-15T10:00:00Z", "SCHEDULED", json!({ "createdAt": "2025-03-12T11:31:00Z" })),
        meeting("a-c", "a1", "2025-03-14T10:00:00Z", "CANCELED", json!({})),
        meeting("a-r", "a1", "2025-03-15T10:00:00Z", "RESCHEDULED", json!({})),
        meeting("a-u", "a2", "2025-03-25T10:00:00Z", "SCHEDULED", json!({})),
        // Rep A, April: one no-show (plus a-late, never logged).
        meeting("a-apr", "a2", "2025-04-02T10:00:00Z", "NO_SHOW", json!({})),
        // Rep A, far future: upcoming.
        meeting("a-next", "a2", "2030-01-10T10:00:00Z", "SCHEDULED", json!({})),
        // Rep A, March, deleted below: never counted.
        meeting("a-del", "a1", "2025-03-06T10:00:00Z", "NO_SHOW", json!({})),
        // Rep B, March: 4 completed, 1 no-show → 20.00, the top of ELEVATED.
        meeting("b-1", "b1", "2025-03-03T09:00:00Z", "COMPLETED", json!({})),
        meeting("b-2", "b1", "2025-03-04T09:00:00Z", "COMPLETED", json!({})),
        meeting("b-3", "b1", "2025-03-05T09:00:00Z", "COMPLETED", json!({})),
        meeting("b-4", "b1", "2025-03-06T09:00:00Z", "COMPLETED", json!({})),
        meeting("b-ns", "b1", "2025-03-07T09:00:00Z", "NO_SHOW", json!({})),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "meetings": meetings } })).await;
    let deleted = app.count("SELECT id FROM meetings WHERE external_id = 'a-del'").await;
    app.ok(
        &o.admin,
        "mutation($id: ID!) { deleteMeeting(input: { id: $id }) { deletedMeetingId } }",
        json!({ "id": gid("Meeting", deleted) }),
    )
    .await;

    // Everyone's March: completed 4 + 4 = 8, no-shows 2 + 1 = 3 → 3 / 11 = 27.2727… → 27.27,
    // PROBLEM; 1 of 3 no-shows followed up → 33.33.
    let all = app.ok(&o.admin, NO_SHOW, json!({ "f": { "period": march() } })).await["noShowStats"].clone();
    assert_eq!(
        (all["meetings"].as_i64(), all["completed"].as_i64(), all["noShows"].as_i64(), all["canceled"].as_i64()),
        (Some(14), Some(8), Some(3), Some(1))
    );
    assert_eq!(
        (all["rescheduled"].as_i64(), all["unlogged"].as_i64(), all["upcoming"].as_i64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!((all["noShowRate"].as_str(), all["band"].as_str()), (Some("27.27"), Some("PROBLEM")));
    assert_eq!((all["followedUpWithinHour"].as_i64(), all["followUpRate"].as_str()), (Some(1), Some("33.33")));

    // By owner: A = 2 / (4 + 2) = 33.33 PROBLEM, followed up 1; B = 1 / 5 = 20.00 ELEVATED.
    let by_owner = app.ok(&o.admin, NO_SHOW, json!({ "f": { "period": march() }, "g": "OWNER" })).await["noShowStats"]
        ["groups"]
        .clone();
    let rows: Vec<(&str, i64, &str, &str, i64)> = by_owner
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"]["owner"]["email"].as_str().unwrap(),
                g["meetings"].as_i64().unwrap(),
                g["noShowRate"].as_str().unwrap(),
                g["band"].as_str().unwrap(),
                g["followedUpWithinHour"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("a@example.com", 9, "33.33", "PROBLEM", 1), ("b@example.com", 5, "20.00", "ELEVATED", 0)]);
    let team_rows = app.ok(&o.admin, NO_SHOW, json!({ "f": { "period": march() }, "g": "TEAM" })).await["noShowStats"]
        ["groups"]
        .clone();
    let teams: Vec<&str> =
        team_rows.as_array().unwrap().iter().map(|g| g["group"]["team"]["name"].as_str().unwrap()).collect();
    assert_eq!(teams.len(), 2);
    assert!(teams.contains(&"North") && teams.contains(&"South"));

    // By month over all time: March as above (14); April: a-apr no-show and a-late never
    // logged → 1 / (0 + 1) = 100.00; January 2030: a-next upcoming, no rate.
    let by_month = app.ok(&o.admin, NO_SHOW, json!({ "g": "MONTH" })).await["noShowStats"].clone();
    let months: Vec<(&str, i64, Value)> = by_month["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (g["group"]["periodStart"].as_str().unwrap(), g["meetings"].as_i64().unwrap(), g["noShowRate"].clone())
        })
        .collect();
    assert_eq!(
        months,
        [("2025-03-01", 14, json!("27.27")), ("2025-04-01", 2, json!("100.00")), ("2030-01-01", 1, Value::Null)]
    );
    assert_eq!(by_month["meetings"], 17, "groups add up to the total");
    assert_eq!(by_month["upcoming"], 1);

    // Scope: rep A sees only A's; an ADMIN narrowed to A sees exactly that; the North
    // manager sees A (B is in South); a rep's ownerIds cannot widen the scope.
    let strip = |v: Value| {
        let mut v = v;
        v.as_object_mut().unwrap().remove("groups");
        v
    };
    let mine = app.ok(&o.rep_a.1, NO_SHOW, json!({ "f": { "period": march() } })).await["noShowStats"].clone();
    assert_eq!((mine["meetings"].as_i64(), mine["noShowRate"].as_str()), (Some(9), Some("33.33")));
    let narrowed = app
        .ok(&o.admin, NO_SHOW, json!({ "f": { "period": march(), "ownerIds": [gid("User", o.rep_a.0)] } }))
        .await["noShowStats"]
        .clone();
    assert_eq!(strip(narrowed), strip(mine.clone()));
    let managed = app.ok(&o.manager_north, NO_SHOW, json!({ "f": { "period": march() } })).await["noShowStats"].clone();
    assert_eq!(strip(managed), strip(mine));
    let widened = app
        .ok(&o.rep_a.1, NO_SHOW, json!({ "f": { "period": march(), "ownerIds": [gid("User", o.rep_b.0)] } }))
        .await["noShowStats"]
        .clone();
    assert_eq!(
        (widened["meetings"].as_i64(), widened["noShowRate"].clone(), widened["band"].clone()),
        (Some(0), Value::Null, Value::Null)
    );
    let by_source = app.ok(&o.admin, NO_SHOW, json!({ "f": { "period": march(), "source": "Referral" } })).await["noShowStats"]["meetings"].clone();
    assert_eq!(by_source, 5, "only b1's meetings come from a referral");

    // An empty period: zeros and nulls, never a division error.
    let empty = app
        .ok(&o.admin, NO_SHOW, json!({ "f": { "period": { "from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z" } }, "g": "OWNER" }))
        .await["noShowStats"]
        .clone();
    assert_eq!(
        (
            empty["meetings"].as_i64(),
            empty["noShowRate"].clone(),
            empty["followUpRate"].clone(),
            empty["groups"].clone()
        ),
        (Some(0), Value::Null, Value::Null, json!([]))
    );
    let backwards = app
        .err(
            &o.admin,
            NO_SHOW,
            json!({ "f": { "period": { "from": "2025-04-01T00:00:00Z", "to": "2025-03-01T00:00:00Z" } } }),
        )
        .await;
    assert_eq!(
        (backwards["code"].as_str(), backwards["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("filter.period"))
    );
});

db_test!(no_show_seed_example_twenty_of_a_hundred_is_elevated, |app| {
    let o = org(&app).await;
    // SPEC 6.1: 100 demos held or missed in a month, 20 missed → 20.00, ELEVATED.
    let meetings: Vec<Value> = (0..100)
        .map(|i| {
            let status = if i % 5 == 0 { "NO_SHOW" } else { "COMPLETED" };
            meeting(
                &format!("m{i}"),
                "c",
                &format!("2025-05-{:02}T{:02}:00:00Z", 1 + i % 28, 8 + i % 10),
                status,
                json!({}),
            )
        })
        .collect();
    let contacts = json!([{ "externalId": "c", "firstName": "C", "ownerEmail": "b@example.com" }]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "meetings": meetings } })).await;
    let may = json!({ "period": { "from": "2025-05-01T00:00:00Z", "to": "2025-06-01T00:00:00Z" } });
    let stats = app.ok(&o.rep_b.1, NO_SHOW, json!({ "f": may })).await["noShowStats"].clone();
    assert_eq!(
        (stats["completed"].as_i64(), stats["noShows"].as_i64(), stats["noShowRate"].as_str(), stats["band"].as_str()),
        (Some(80), Some(20), Some("20.00"), Some("ELEVATED"))
    );
});
