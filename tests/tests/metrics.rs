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

const FUNNEL: &str = "query($f: MetricFilterInput, $g: MetricGroupBy, $m: FunnelMode) { funnel(filter: $f, groupBy: $g, mode: $m) {
    deals won lost open winRate weightedPipeline avgDaysToWin pipeline { name }
    steps { name isWon reached amount conversionFromPrevious conversionFromFirst lostHere avgDaysInStage }
    groups { group { owner { email } periodStart } deals won winRate steps { name reached conversionFromPrevious } } } }";

fn step(name: &str, at: &str) -> Value {
    json!({ "stageName": name, "movedAt": at })
}

/// Rows of `steps` as (name, reached, amount, from previous, from first, lost here).
fn steps(funnel: &Value) -> Vec<(String, i64, String, Value, Value, i64)> {
    funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["reached"].as_i64().unwrap(),
                s["amount"].as_str().unwrap().to_owned(),
                s["conversionFromPrevious"].clone(),
                s["conversionFromFirst"].clone(),
                s["lostHere"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn days_since(at: &str) -> f64 {
    let then = chrono::DateTime::parse_from_rfc3339(at).unwrap();
    (chrono::Utc::now().timestamp() - then.timestamp()) as f64 / 86_400.0
}

db_test!(funnel_counts_skipped_and_won_stages_with_exact_rates, |app| {
    let o = org(&app).await;
    app.ok(
        &o.admin,
        "mutation { createPipeline(input: { name: \"Enterprise\", isDefault: true, stages: [
            { name: \"Lead\", probability: 10 }, { name: \"Qualified\", probability: 20 },
            { name: \"Demo\", probability: 40 }, { name: \"Proposal\", probability: 60 }] }) { pipeline { id } } }",
        json!({}),
    )
    .await;
    app.ok(&o.admin, "mutation { createLostReason(input: { name: \"Price\" }) { lostReason { id } } }", json!({}))
        .await;
    let contacts = json!([
        { "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com" },
        { "externalId": "cb", "firstName": "B", "ownerEmail": "b@example.com" },
    ]);
    let lost = |d: Value, at: &str| {
        let mut d = d;
        d["status"] = json!("LOST");
        d["closedAt"] = json!(at);
        d["lostReasonName"] = json!("Price");
        d
    };
    let deal = |id: &str, contact: &str, amount: &str, history: Vec<Value>| json!({ "externalId": id, "contactExternalId": contact, "pipelineName": "Enterprise", "title": id, "amount": amount, "stageHistory": history });
    let won = |d: Value, at: &str| {
        let mut d = d;
        d["status"] = json!("WON");
        d["closedAt"] = json!(at);
        d
    };
    let deals = json!([
        // d1: every stage, WON after 37 days.
        won(
            deal(
                "d1",
                "ca",
                "1000",
                vec![
                    step("Lead", "2025-01-05T00:00:00Z"),
                    step("Qualified", "2025-01-10T00:00:00Z"),
                    step("Demo", "2025-01-20T00:00:00Z"),
                    step("Proposal", "2025-02-01T00:00:00Z")
                ]
            ),
            "2025-02-11T00:00:00Z"
        ),
        // d2: skips Qualified, LOST in Demo.
        lost(
            deal("d2", "ca", "2000", vec![step("Lead", "2025-01-06T00:00:00Z"), step("Demo", "2025-01-16T00:00:00Z")]),
            "2025-01-26T00:00:00Z"
        ),
        // d3: open in Lead.
        deal("d3", "ca", "500", vec![step("Lead", "2025-01-07T00:00:00Z")]),
        // d4: LOST in Qualified.
        lost(
            deal(
                "d4",
                "ca",
                "300",
                vec![step("Lead", "2025-01-08T00:00:00Z"), step("Qualified", "2025-01-18T00:00:00Z")]
            ),
            "2025-01-28T00:00:00Z"
        ),
        // d5: WON straight from Lead after 2 days: it reached every stage.
        won(deal("d5", "ca", "700", vec![step("Lead", "2025-02-01T00:00:00Z")]), "2025-02-03T00:00:00Z"),
        // d6 (rep B): open in Proposal.
        deal("d6", "cb", "4000", vec![step("Lead", "2025-02-10T00:00:00Z"), step("Proposal", "2025-02-20T00:00:00Z")]),
        // d7: created after the quarter; d8: deleted below.
        deal("d7", "ca", "9999", vec![step("Lead", "2025-05-01T00:00:00Z")]),
        deal("d8", "ca", "111", vec![step("Lead", "2025-01-09T00:00:00Z")]),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let d8 = app.count("SELECT id FROM deals WHERE external_id = 'd8'").await;
    app.ok(
        &o.admin,
        "mutation($id: ID!) { deleteDeal(input: { id: $id }) { deletedDealId } }",
        json!({ "id": gid("Deal", d8) }),
    )
    .await;
    let q1 = json!({ "period": { "from": "2025-01-01T00:00:00Z", "to": "2025-04-01T00:00:00Z" } });

    let f = app.ok(&o.admin, FUNNEL, json!({ "f": q1 })).await["funnel"].clone();
    assert_eq!(f["pipeline"]["name"], "Enterprise", "the default pipeline");
    // Reached: Lead all 6 (8500); Qualified d1 d2(skipped it) d4 d5(won) d6 = 5 (8000);
    // Demo d1 d2 d5 d6 = 4 (7700); Proposal d1 d5 d6 = 3 (5700); WON d1 d5 = 2 (1700).
    // From previous: 5/6 = 83.33, 4/5 = 80.00, 3/4 = 75.00, 2/3 = 66.67;
    // from first: 83.33, 66.67, 50.00, 33.33. Lost here: d4 in Qualified, d2 in Demo.
    let s = |v: &str| json!(v);
    assert_eq!(
        steps(&f),
        [
            ("Lead".into(), 6, "8500.00".into(), Value::Null, s("100.00"), 0),
            ("Qualified".into(), 5, "8000.00".into(), s("83.33"), s("83.33"), 1),
            ("Demo".into(), 4, "7700.00".into(), s("80.00"), s("66.67"), 1),
            ("Proposal".into(), 3, "5700.00".into(), s("75.00"), s("50.00"), 0),
            ("Won".into(), 2, "1700.00".into(), s("66.67"), s("33.33"), 0),
        ]
    );
    // Totals: 2 won, 2 lost, 2 open → win rate 2 / 4 = 50.00; weighted pipeline over the
    // open deals: d3 500 × 10 % + d6 4000 × 60 % = 2450.00; days to win (37 + 2) / 2 = 19.50.
    assert_eq!(
        (f["deals"].as_i64(), f["won"].as_i64(), f["lost"].as_i64(), f["open"].as_i64()),
        (Some(6), Some(2), Some(2), Some(2))
    );
    assert_eq!(
        (f["winRate"].as_str(), f["weightedPipeline"].as_str(), f["avgDaysToWin"].as_str()),
        (Some("50.00"), Some("2450.00"), Some("19.50"))
    );
    // Days in stage: Qualified d1 10 and d4 10 (to its loss) = 10.00; Demo d1 12 and d2 10 =
    // 11.00. Lead: 5, 10, 10, 2 (d5 until won), 10 and d3 still there (until now).
    let days = |i: usize| f["steps"][i]["avgDaysInStage"].as_str().unwrap().parse::<f64>().unwrap();
    assert_eq!((days(1), days(2)), (10.0, 11.0));
    let lead = (37.0 + days_since("2025-01-07T00:00:00Z")) / 6.0;
    assert!((days(0) - lead).abs() < 0.02, "Lead: {} vs {lead}", days(0));
    assert_eq!(f["steps"][4]["avgDaysInStage"], Value::Null, "no stay in WON");

    // By owner: A has d1-d5 (Lead 5, Qualified 4, Demo 3, Proposal 2, Won 2 → 2/2 = 100.00,
    // win rate 2 / 4 = 50.00); B has d6 (1, 1, 1, 1, Won 0 → 0.00, no closed deal → null).
    let by_owner = app.ok(&o.admin, FUNNEL, json!({ "f": q1, "g": "OWNER" })).await["funnel"]["groups"].clone();
    let reached =
        |g: &Value| g["steps"].as_array().unwrap().iter().map(|s| s["reached"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(by_owner[0]["group"]["owner"]["email"], "a@example.com");
    assert_eq!(reached(&by_owner[0]), [5, 4, 3, 2, 2]);
    assert_eq!(
        (by_owner[0]["winRate"].as_str(), by_owner[0]["steps"][4]["conversionFromPrevious"].as_str()),
        (Some("50.00"), Some("100.00"))
    );
    assert_eq!(by_owner[1]["group"]["owner"]["email"], "b@example.com");
    assert_eq!(reached(&by_owner[1]), [1, 1, 1, 1, 0]);
    assert_eq!(
        (by_owner[1]["winRate"].clone(), by_owner[1]["steps"][4]["conversionFromPrevious"].as_str()),
        (Value::Null, Some("0.00"))
    );
    // By month of creation: January d1-d4, February d5 d6; the groups add up to the total.
    let by_month = app.ok(&o.admin, FUNNEL, json!({ "f": q1, "g": "MONTH" })).await["funnel"]["groups"].clone();
    let months: Vec<(&str, i64)> = by_month
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["group"]["periodStart"].as_str().unwrap(), g["deals"].as_i64().unwrap()))
        .collect();
    assert_eq!(months, [("2025-01-01", 4), ("2025-02-01", 2)]);

    // ACTIVITY: deals that moved in February: d1 (into Proposal), d5 (created), d6.
    let feb = json!({ "period": { "from": "2025-02-01T00:00:00Z", "to": "2025-03-01T00:00:00Z" } });
    let active = app.ok(&o.admin, FUNNEL, json!({ "f": feb, "m": "ACTIVITY" })).await["funnel"].clone();
    assert_eq!((active["deals"].as_i64(), active["won"].as_i64()), (Some(3), Some(2)));
    let cohort_feb = app.ok(&o.admin, FUNNEL, json!({ "f": feb })).await["funnel"]["deals"].clone();
    assert_eq!(cohort_feb, 2, "created in February: d5, d6");

    // Scope: rep B's funnel is d6 only, the same as an ADMIN narrowed to B.
    let strip = |v: Value| {
        let mut v = v;
        v.as_object_mut().unwrap().remove("groups");
        v
    };
    let mine = app.ok(&o.rep_b.1, FUNNEL, json!({ "f": q1 })).await["funnel"].clone();
    assert_eq!(reached(&mine), [1, 1, 1, 1, 0]);
    let narrowed = app
        .ok(&o.admin, FUNNEL, json!({ "f": { "period": q1["period"], "ownerIds": [gid("User", o.rep_b.0)] } }))
        .await["funnel"]
        .clone();
    assert_eq!(strip(narrowed), strip(mine));
    let managed = app.ok(&o.manager_north, FUNNEL, json!({ "f": q1 })).await["funnel"]["deals"].clone();
    assert_eq!(managed, 5, "North is rep A");

    // An empty period: zeros, and every rate null.
    let empty = app
        .ok(
            &o.admin,
            FUNNEL,
            json!({ "f": { "period": { "from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z" } } }),
        )
        .await["funnel"]
        .clone();
    assert_eq!(
        (empty["deals"].as_i64(), empty["winRate"].clone(), empty["avgDaysToWin"].clone()),
        (Some(0), Value::Null, Value::Null)
    );
    assert!(
        empty["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["reached"] == 0 && s["conversionFromPrevious"].is_null() && s["conversionFromFirst"].is_null())
    );
});

const LOST: &str = "query($f: MetricFilterInput, $g: MetricGroupBy) { lostDeals(filter: $f, groupBy: $g) {
    count lostAmount weightedLostAmount acquisitionCost
    byReason { reason { name } count lostAmount weightedLostAmount acquisitionCost countShare amountShare }
    byStage { stage { name } count lostAmount weightedLostAmount acquisitionCost }
    byOwner { owner { email } count lostAmount weightedLostAmount acquisitionCost }
    groups { group { owner { email } } count lostAmount acquisitionCost } } }";

db_test!(no_show_stats_with_a_pipeline_count_only_meetings_of_its_deals, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let partners = app
        .ok(&o.admin, "mutation { createPipeline(input: { name: \"Partners\", stages: [{ name: \"Intro\", probability: 20 }] }) { pipeline { id } } }", json!({}))
        .await["createPipeline"]["pipeline"]["id"]
        .clone();
    let deal = |id: &str, pipeline: &str, stage: &str| {
        json!({ "externalId": id, "contactExternalId": "a1", "pipelineName": pipeline, "title": id, "amount": "100",
                "stageHistory": [step(stage, "2025-03-01T00:00:00Z")] })
    };
    let meetings = json!([
        meeting("m1", "a1", "2025-03-03T10:00:00Z", "NO_SHOW", json!({ "dealExternalId": "d-ent" })),
        meeting("m2", "a1", "2025-03-04T10:00:00Z", "COMPLETED", json!({ "dealExternalId": "d-ent" })),
        meeting("m3", "a1", "2025-03-05T10:00:00Z", "COMPLETED", json!({ "dealExternalId": "d-par" })),
        meeting("m4", "a1", "2025-03-06T10:00:00Z", "NO_SHOW", json!({})),
    ]);
    let import = json!({ "i": {
        "contacts": [{ "externalId": "a1", "firstName": "A1", "ownerEmail": "a@example.com" }],
        "deals": [deal("d-ent", "Enterprise", "Lead"), deal("d-par", "Partners", "Intro")],
        "meetings": meetings } });
    app.ok(&o.admin, IMPORT, import).await;
    let enterprise_id = gid("Pipeline", app.count("SELECT id FROM pipelines WHERE name = 'Enterprise'").await);
    let stats = |pipeline: Option<Value>| {
        let app = app.clone();
        let admin = o.admin.clone();
        async move {
            let mut f = json!({ "period": march() });
            if let Some(p) = pipeline {
                f["pipelineId"] = p;
            }
            let s = app.ok(&admin, NO_SHOW, json!({ "f": f })).await["noShowStats"].clone();
            (s["meetings"].as_i64(), s["completed"].as_i64(), s["noShows"].as_i64(), s["noShowRate"].clone())
        }
    };
    // All: 4 meetings, 2 completed, 2 no-shows → 50.00. Enterprise: m1, m2 → 1 / 2 = 50.00.
    // Partners: m3 only → 0 / 1 = 0.00. m4 has no deal: in no pipeline.
    assert_eq!(stats(None).await, (Some(4), Some(2), Some(2), json!("50.00")));
    assert_eq!(stats(Some(json!(enterprise_id))).await, (Some(2), Some(1), Some(1), json!("50.00")));
    assert_eq!(stats(Some(partners)).await, (Some(1), Some(1), Some(0), json!("0.00")));
});

/// The Enterprise pipeline (Lead 10 %, Demo 40 %, Proposal 60 %) and two lost reasons.
async fn enterprise(app: &TestApp, admin: &str) {
    app.ok(admin, "mutation { createPipeline(input: { name: \"Enterprise\", isDefault: true, stages: [
            { name: \"Lead\", probability: 10 }, { name: \"Demo\", probability: 40 }, { name: \"Proposal\", probability: 60 }] }) { pipeline { id } } }", json!({}))
        .await;
    for reason in ["Price", "Timing"] {
        app.ok(
            admin,
            "mutation($n: String!) { createLostReason(input: { name: $n }) { lostReason { id } } }",
            json!({ "n": reason }),
        )
        .await;
    }
}

fn closed(id: &str, contact: &str, amount: &str, stage: &str, status: &str, reason: Option<&str>, at: &str) -> Value {
    let mut d = json!({ "externalId": id, "contactExternalId": contact, "pipelineName": "Enterprise", "title": id,
                        "amount": amount, "stageHistory": [step(stage, "2025-01-02T00:00:00Z")], "status": status, "closedAt": at });
    if let Some(r) = reason {
        d["lostReasonName"] = json!(r);
    }
    d
}

db_test!(lost_deals_cost_by_reason_stage_and_owner, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let contacts = json!([
        { "externalId": "ca1", "firstName": "A1", "ownerEmail": "a@example.com", "acquisitionCost": "100" },
        { "externalId": "ca2", "firstName": "A2", "ownerEmail": "a@example.com", "acquisitionCost": "50" },
        { "externalId": "cb1", "firstName": "B1", "ownerEmail": "b@example.com", "acquisitionCost": "80" },
    ]);
    let deals = json!([
        closed("l1", "ca1", "1000", "Demo", "LOST", Some("Price"), "2025-03-05T00:00:00Z"),
        closed("l2", "ca1", "3000", "Proposal", "LOST", Some("Price"), "2025-03-10T00:00:00Z"),
        closed("l3", "ca2", "500", "Lead", "LOST", Some("Timing"), "2025-03-15T00:00:00Z"),
        closed("l4", "cb1", "2000", "Demo", "LOST", Some("Timing"), "2025-03-20T00:00:00Z"),
        closed("l5", "cb1", "700", "Demo", "LOST", Some("Price"), "2025-02-20T00:00:00Z"),
        closed("w1", "ca2", "900", "Demo", "WON", None, "2025-03-21T00:00:00Z"),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let f = json!({ "f": { "period": march() } });

    // March: l1-l4. Amount 1000 + 3000 + 500 + 2000 = 6500; weighted 1000×40 % + 3000×60 %
    // + 500×10 % + 2000×40 % = 400 + 1800 + 50 + 800 = 3050; acquisition cost of ca1, ca2,
    // cb1 once each = 100 + 50 + 80 = 230.
    let l = app.ok(&o.admin, LOST, f.clone()).await["lostDeals"].clone();
    assert_eq!(
        (
            l["count"].as_i64(),
            l["lostAmount"].as_str(),
            l["weightedLostAmount"].as_str(),
            l["acquisitionCost"].as_str()
        ),
        (Some(4), Some("6500.00"), Some("3050.00"), Some("230.00"))
    );
    // Price: l1 l2 (4000, 400 + 1800, ca1 once = 100, 2 of 4 = 50.00, 4000 / 6500 = 61.54);
    // Timing: l3 l4 (2500, 50 + 800, ca2 + cb1 = 130, 50.00, 38.46).
    assert_eq!(
        l["byReason"],
        json!([
            { "reason": { "name": "Price" }, "count": 2, "lostAmount": "4000.00", "weightedLostAmount": "2200.00", "acquisitionCost": "100.00", "countShare": "50.00", "amountShare": "61.54" },
            { "reason": { "name": "Timing" }, "count": 2, "lostAmount": "2500.00", "weightedLostAmount": "850.00", "acquisitionCost": "130.00", "countShare": "50.00", "amountShare": "38.46" },
        ])
    );
    assert_eq!(
        l["byStage"],
        json!([
            { "stage": { "name": "Lead" }, "count": 1, "lostAmount": "500.00", "weightedLostAmount": "50.00", "acquisitionCost": "50.00" },
            { "stage": { "name": "Demo" }, "count": 2, "lostAmount": "3000.00", "weightedLostAmount": "1200.00", "acquisitionCost": "180.00" },
            { "stage": { "name": "Proposal" }, "count": 1, "lostAmount": "3000.00", "weightedLostAmount": "1800.00", "acquisitionCost": "100.00" },
        ])
    );
    assert_eq!(
        l["byOwner"],
        json!([
            { "owner": { "email": "a@example.com" }, "count": 3, "lostAmount": "4500.00", "weightedLostAmount": "2250.00", "acquisitionCost": "150.00" },
            { "owner": { "email": "b@example.com" }, "count": 1, "lostAmount": "2000.00", "weightedLostAmount": "800.00", "acquisitionCost": "80.00" },
        ])
    );
    let grouped =
        app.ok(&o.admin, LOST, json!({ "f": { "period": march() }, "g": "OWNER" })).await["lostDeals"]["groups"]
            .clone();
    assert_eq!(
        grouped,
        json!([
            { "group": { "owner": { "email": "a@example.com" } }, "count": 3, "lostAmount": "4500.00", "acquisitionCost": "150.00" },
            { "group": { "owner": { "email": "b@example.com" } }, "count": 1, "lostAmount": "2000.00", "acquisitionCost": "80.00" },
        ])
    );
    // Rep B sees only l4; Deal.lostCost on l2, null on the won deal.
    let mine = app.ok(&o.rep_b.1, LOST, f).await["lostDeals"].clone();
    assert_eq!((mine["count"].as_i64(), mine["acquisitionCost"].as_str()), (Some(1), Some("80.00")));
    let cost = app
        .ok(&o.admin, "{ deals(orderBy: [{ field: TITLE }]) { nodes { title lostCost { amount weightedAmount reason { name } stage { name } acquisitionCost } } } }", json!({}))
        .await["deals"]["nodes"]
        .clone();
    assert_eq!(cost[1]["title"], "l2");
    assert_eq!(
        cost[1]["lostCost"],
        json!({ "amount": "3000.00", "weightedAmount": "1800.00", "reason": { "name": "Price" }, "stage": { "name": "Proposal" }, "acquisitionCost": "100.00" })
    );
    assert_eq!(cost[5]["title"], "w1");
    assert_eq!(cost[5]["lostCost"], Value::Null);

    // filter.pipelineId: only that pipeline's lost deals. A deal lost in March in Sales
    // (400, ca1): all pipelines 5 deals, Sales 1 (400.00, ca1's 100.00), Enterprise the 4 above.
    let sales_loss = json!([{ "externalId": "l6", "contactExternalId": "ca1", "pipelineName": "Sales", "title": "l6",
        "amount": "400", "stageHistory": [step("Lead", "2025-01-02T00:00:00Z")], "status": "LOST",
        "closedAt": "2025-03-25T00:00:00Z", "lostReasonName": "Price" }]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "deals": sales_loss } })).await;
    let pipelines = app.ok(&o.admin, "{ pipelines { id name } }", json!({})).await["pipelines"].clone();
    let id_of = |name: &str| pipelines.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["id"].clone();
    let in_pipeline = |id: Value| json!({ "f": { "period": march(), "pipelineId": id } });
    let all = app.ok(&o.admin, LOST, json!({ "f": { "period": march() } })).await["lostDeals"].clone();
    assert_eq!(all["count"], 5);
    let sales = app.ok(&o.admin, LOST, in_pipeline(id_of("Sales"))).await["lostDeals"].clone();
    assert_eq!(
        (&sales["count"], &sales["lostAmount"], &sales["acquisitionCost"]),
        (&json!(1), &json!("400.00"), &json!("100.00"))
    );
    let enterprise = app.ok(&o.admin, LOST, in_pipeline(id_of("Enterprise"))).await["lostDeals"].clone();
    assert_eq!((&enterprise["count"], &enterprise["lostAmount"]), (&json!(4), &json!("6500.00")));
});

const ECONOMICS: &str = "query($f: MetricFilterInput, $g: MetricGroupBy, $b: RevenueBasis, $o: LeadEconomicsOverrides) {
    leadEconomics(filter: $f, groupBy: $g, basis: $b, overrides: $o) {
      leads convertedLeads customers wonRevenue avgRevenuePerCustomer conversionRate acquisitionCostPerLead
      expectedValuePerLead netValuePerLead lostLeads lostOpportunityCost acquisitionCostSpentOnLostLeads
      groups { group { owner { email } } avgRevenuePerCustomer conversionRate acquisitionCostPerLead expectedValuePerLead netValuePerLead } } }";

db_test!(lead_economics_period_lifetime_overrides_and_scope, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let lead = |id: &str, owner: &str, cost: &str, created: &str| json!({ "externalId": id, "firstName": id, "ownerEmail": owner, "acquisitionCost": cost, "createdAt": created });
    let mut k3 = lead("k3", "a@example.com", "300", "2025-02-01T00:00:00Z");
    k3["lifecycle"] = json!("DISQUALIFIED");
    let contacts = json!([
        lead("k1", "a@example.com", "100", "2025-01-10T00:00:00Z"),
        lead("k2", "a@example.com", "200", "2025-01-15T00:00:00Z"),
        k3,
        lead("k4", "a@example.com", "400", "2025-02-15T00:00:00Z"),
        lead("k5", "b@example.com", "1000", "2025-03-01T00:00:00Z"),
        lead("k6", "a@example.com", "999", "2024-12-01T00:00:00Z"),
    ]);
    let deal = |id: &str, contact: &str, amount: &str, status: &str, closed: Option<&str>| {
        let mut d = json!({ "externalId": id, "contactExternalId": contact, "title": id, "amount": amount,
                            "stageHistory": [step("Lead", "2024-12-15T00:00:00Z")], "status": status });
        if let Some(at) = closed {
            d["closedAt"] = json!(at);
        }
        if status == "LOST" {
            d["lostReasonName"] = json!("Price");
        }
        d
    };
    let deals = json!([
        deal("k1-won", "k1", "1000", "WON", Some("2025-02-01T00:00:00Z")),
        deal("k1-repeat", "k1", "500", "WON", Some("2025-05-01T00:00:00Z")),
        deal("k2-lost", "k2", "800", "LOST", Some("2025-02-10T00:00:00Z")),
        deal("k4-open", "k4", "900", "OPEN", None),
        deal("k5-won", "k5", "3000", "WON", Some("2025-03-20T00:00:00Z")),
        deal("k6-won", "k6", "2000", "WON", Some("2025-03-05T00:00:00Z")),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let q1 = json!({ "period": { "from": "2025-01-01T00:00:00Z", "to": "2025-04-01T00:00:00Z" } });
    let get = |v: &Value, k: &str| v[k].as_str().map(str::to_owned).unwrap_or_else(|| v[k].to_string());

    // PERIOD: WON in Q1 1000 (k1) + 3000 (k5) + 2000 (k6) = 6000 over 3 customers = 2000.00;
    // leads k1-k5, converted k1 k5 → 2 / 5 = 40.00; cost (100+200+300+400+1000) / 5 = 400.00;
    // expected 2000 × 40 % = 800.00, net 400.00; lost leads k2 (all deals lost) and k3
    // (disqualified) → 2 × 800 = 1600.00 forgone, 200 + 300 = 500.00 spent.
    let e = app.ok(&o.admin, ECONOMICS, json!({ "f": q1 })).await["leadEconomics"].clone();
    let fields = [
        "leads",
        "convertedLeads",
        "customers",
        "wonRevenue",
        "avgRevenuePerCustomer",
        "conversionRate",
        "acquisitionCostPerLead",
        "expectedValuePerLead",
        "netValuePerLead",
        "lostLeads",
        "lostOpportunityCost",
        "acquisitionCostSpentOnLostLeads",
    ];
    let values = |e: &Value| fields.iter().map(|k| get(e, k)).collect::<Vec<_>>();
    assert_eq!(
        values(&e),
        ["5", "2", "3", "6000.00", "2000.00", "40.00", "400.00", "800.00", "400.00", "2", "1600.00", "500.00"]
    );

    // LIFETIME: the same customers with every WON deal: 1500 + 3000 + 2000 = 6500 / 3 =
    // 2166.67; expected 6500 / 3 × 40 % = 866.666… → 866.67; net 866.666… − 400 = 466.67.
    let life = app.ok(&o.admin, ECONOMICS, json!({ "f": q1, "b": "LIFETIME" })).await["leadEconomics"].clone();
    assert_eq!(
        (
            get(&life, "wonRevenue"),
            get(&life, "avgRevenuePerCustomer"),
            get(&life, "expectedValuePerLead"),
            get(&life, "netValuePerLead")
        ),
        ("6500.00".into(), "2166.67".into(), "866.67".into(), "466.67".into())
    );

    // SPEC 6.4 worked example as overrides: 10,000 × 20 % − 2,000 → expected 2,000, net 0;
    // each lost lead forgoes 2,000 (2 × 2,000) on top of its spend (500.00 from the data).
    let what_if = json!({ "avgRevenuePerCustomer": "10000", "conversionRate": "20", "acquisitionCostPerLead": "2000" });
    let w = app.ok(&o.admin, ECONOMICS, json!({ "f": q1, "o": what_if })).await["leadEconomics"].clone();
    assert_eq!(
        (
            get(&w, "expectedValuePerLead"),
            get(&w, "netValuePerLead"),
            get(&w, "lostOpportunityCost"),
            get(&w, "acquisitionCostSpentOnLostLeads")
        ),
        ("2000.00".into(), "0.00".into(), "4000.00".into(), "500.00".into())
    );

    // By owner: A won 1000 + 2000 from k1 k6 → 1500.00; leads k1-k4, converted k1 → 25.00;
    // cost 1000 / 4 = 250.00; expected 375.00; net 125.00. B: 3000.00, 100.00, 1000.00,
    // 3000.00, 2000.00 — which is also what rep B sees alone.
    let by_owner =
        app.ok(&o.admin, ECONOMICS, json!({ "f": q1, "g": "OWNER" })).await["leadEconomics"]["groups"].clone();
    let row = |g: &Value| {
        ["avgRevenuePerCustomer", "conversionRate", "acquisitionCostPerLead", "expectedValuePerLead", "netValuePerLead"]
            .iter()
            .map(|k| get(g, k))
            .collect::<Vec<_>>()
    };
    assert_eq!(by_owner[0]["group"]["owner"]["email"], "a@example.com");
    assert_eq!(row(&by_owner[0]), ["1500.00", "25.00", "250.00", "375.00", "125.00"]);
    assert_eq!(row(&by_owner[1]), ["3000.00", "100.00", "1000.00", "3000.00", "2000.00"]);
    let rep_b = app.ok(&o.rep_b.1, ECONOMICS, json!({ "f": q1 })).await["leadEconomics"].clone();
    assert_eq!(row(&rep_b), row(&by_owner[1]));

    // Empty period: nulls, never a division error; LIFETIME cannot bucket by time.
    let empty = app
        .ok(
            &o.admin,
            ECONOMICS,
            json!({ "f": { "period": { "from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z" } } }),
        )
        .await["leadEconomics"]
        .clone();
    assert_eq!(
        (empty["leads"].as_i64(), empty["expectedValuePerLead"].clone(), empty["conversionRate"].clone()),
        (Some(0), Value::Null, Value::Null)
    );
    let bad = app.err(&o.admin, ECONOMICS, json!({ "f": q1, "b": "LIFETIME", "g": "MONTH" })).await;
    assert_eq!(bad["field"], "groupBy");

    // With a pipeline only its deals count; every lead still does. k4 wins 600 in Partners.
    let partners = app
        .ok(&o.admin, "mutation { createPipeline(input: { name: \"Partners\", stages: [{ name: \"Intro\", probability: 20 }] }) { pipeline { id } } }", json!({}))
        .await["createPipeline"]["pipeline"]["id"]
        .clone();
    let mut k4_won = deal("k4-par", "k4", "600", "WON", Some("2025-03-10T00:00:00Z"));
    k4_won["pipelineName"] = json!("Partners");
    k4_won["stageHistory"] = json!([step("Intro", "2025-03-01T00:00:00Z")]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "deals": [k4_won] } })).await;
    let in_pipeline = |pipeline: Value| {
        let mut f = q1.clone();
        f["pipelineId"] = pipeline;
        json!({ "f": f })
    };
    // Partners: 600 from 1 customer = 600.00; leads k1-k5, converted k4 → 20.00; cost 400.00;
    // expected 600 × 20 % = 120.00, net −280.00; lost leads: k3 (disqualified) only — k2's
    // lost deal is not in Partners → 1 × 120 = 120.00 forgone, 300.00 spent.
    let p = app.ok(&o.admin, ECONOMICS, in_pipeline(partners.clone())).await["leadEconomics"].clone();
    assert_eq!(
        values(&p),
        ["5", "1", "1", "600.00", "600.00", "20.00", "400.00", "120.00", "-280.00", "1", "120.00", "300.00"]
    );
    // Enterprise: exactly the numbers before k4-par.
    let enterprise_id = gid("Pipeline", app.count("SELECT id FROM pipelines WHERE name = 'Enterprise'").await);
    let ent = app.ok(&o.admin, ECONOMICS, in_pipeline(json!(enterprise_id))).await["leadEconomics"].clone();
    assert_eq!(
        values(&ent),
        ["5", "2", "3", "6000.00", "2000.00", "40.00", "400.00", "800.00", "400.00", "2", "1600.00", "500.00"]
    );
    // Lead rejection counts contacts, which are in no pipeline: the filter is refused, not ignored.
    let refused = app.err(&o.admin, REJECTION, in_pipeline(partners)).await;
    assert_eq!(
        (refused["code"].as_str(), refused["field"].as_str()),
        (Some("BAD_USER_INPUT"), Some("filter.pipelineId"))
    );
});

const REJECTION: &str = "query($f: MetricFilterInput) { leadRejection(filter: $f) {
    leads rejected rejectionRate band rejectedAfterFirstContact wastedAcquisitionCost
    byReason { reason rejected shareOfRejected rejectedAfterFirstContact wastedAcquisitionCost }
    byOwner { owner { email } leads rejected rejectionRate }
    bySource { source leads rejected rejectionRate } } }";

db_test!(lead_rejection_rates_reasons_and_dead_on_arrival_leads, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let lead = |id: &str,
                owner: &str,
                lifecycle: &str,
                reason: Option<&str>,
                source: &str,
                cost: &str,
                created: &str| {
        let mut c = json!({ "externalId": id, "firstName": id, "ownerEmail": owner, "lifecycle": lifecycle, "source": source,
                            "acquisitionCost": cost, "createdAt": created });
        if let Some(r) = reason {
            c["disqualifyReason"] = json!(r);
        }
        c
    };
    let (a, b) = ("a@example.com", "b@example.com");
    let contacts = json!([
        lead("r1", a, "DISQUALIFIED", Some("No budget"), "Webinar", "100", "2025-01-10T00:00:00Z"),
        lead("r2", a, "DISQUALIFIED", Some("No budget"), "Webinar", "200", "2025-01-11T00:00:00Z"),
        lead("r3", a, "DISQUALIFIED", Some("Spam"), "Cold", "50", "2025-01-12T00:00:00Z"),
        lead("r4", a, "DISQUALIFIED", None, "Cold", "0", "2025-01-13T00:00:00Z"),
        lead("r5", a, "LEAD", None, "Webinar", "300", "2025-02-01T00:00:00Z"),
        lead("r6", a, "QUALIFIED", None, "Cold", "300", "2025-02-02T00:00:00Z"),
        lead("r7", b, "CUSTOMER", None, "Referral", "500", "2025-02-03T00:00:00Z"),
        lead("r8", b, "LEAD", None, "Referral", "500", "2025-02-04T00:00:00Z"),
        lead("r9", a, "DISQUALIFIED", Some("Spam"), "Cold", "999", "2024-06-01T00:00:00Z"),
    ]);
    let deals = json!([
        { "externalId": "r3-d", "contactExternalId": "r3", "title": "r3", "amount": "1", "status": "LOST", "lostReasonName": "Price",
          "closedAt": "2025-01-20T00:00:00Z", "stageHistory": [step("Lead", "2025-01-12T00:00:00Z"), step("Demo", "2025-01-15T00:00:00Z")] },
        { "externalId": "r4-d", "contactExternalId": "r4", "title": "r4", "amount": "1", "stageHistory": [step("Lead", "2025-01-13T00:00:00Z")] },
    ]);
    let meetings = json!([
        meeting("r1-m", "r1", "2025-01-10T12:00:00Z", "COMPLETED", json!({})),
        meeting("r2-m1", "r2", "2025-01-11T12:00:00Z", "COMPLETED", json!({})),
        meeting("r2-m2", "r2", "2025-01-12T12:00:00Z", "COMPLETED", json!({})),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals, "meetings": meetings } })).await;
    let q1 = json!({ "f": { "period": { "from": "2025-01-01T00:00:00Z", "to": "2025-04-01T00:00:00Z" } } });

    // Q1 leads r1-r8; rejected r1-r4 → 4 / 8 = 50.00, CRITICAL. Dead on arrival: r1 (one
    // completed meeting) and r4 (a deal still in the first stage); not r2 (two meetings)
    // nor r3 (its deal reached Demo). Wasted 100 + 200 + 50 + 0 = 350.00.
    let r = app.ok(&o.admin, REJECTION, q1.clone()).await["leadRejection"].clone();
    assert_eq!(
        (r["leads"].as_i64(), r["rejected"].as_i64(), r["rejectionRate"].as_str(), r["band"].as_str()),
        (Some(8), Some(4), Some("50.00"), Some("CRITICAL"))
    );
    assert_eq!(
        (r["rejectedAfterFirstContact"].as_i64(), r["wastedAcquisitionCost"].as_str()),
        (Some(2), Some("350.00"))
    );
    assert_eq!(
        r["byReason"],
        json!([
            { "reason": null, "rejected": 1, "shareOfRejected": "25.00", "rejectedAfterFirstContact": 1, "wastedAcquisitionCost": "0.00" },
            { "reason": "No budget", "rejected": 2, "shareOfRejected": "50.00", "rejectedAfterFirstContact": 1, "wastedAcquisitionCost": "300.00" },
            { "reason": "Spam", "rejected": 1, "shareOfRejected": "25.00", "rejectedAfterFirstContact": 0, "wastedAcquisitionCost": "50.00" },
        ])
    );
    assert_eq!(
        r["byOwner"],
        json!([
            { "owner": { "email": "a@example.com" }, "leads": 6, "rejected": 4, "rejectionRate": "66.67" },
            { "owner": { "email": "b@example.com" }, "leads": 2, "rejected": 0, "rejectionRate": "0.00" },
        ])
    );
    assert_eq!(
        r["bySource"],
        json!([
            { "source": "Cold", "leads": 3, "rejected": 2, "rejectionRate": "66.67" },
            { "source": "Referral", "leads": 2, "rejected": 0, "rejectionRate": "0.00" },
            { "source": "Webinar", "leads": 3, "rejected": 2, "rejectionRate": "66.67" },
        ])
    );
    // The first-contact test runs whenever some level selects it: here only a group's breakdown.
    let deep = "query($f: MetricFilterInput) { leadRejection(filter: $f, groupBy: OWNER) {
        groups { bySource { source rejectedAfterFirstContact } } } }";
    let deep = app.ok(&o.admin, deep, q1.clone()).await["leadRejection"]["groups"][0]["bySource"].clone();
    assert_eq!(
        deep,
        json!([
            { "source": "Cold", "rejectedAfterFirstContact": 1 },
            { "source": "Webinar", "rejectedAfterFirstContact": 1 },
        ])
    );
    // Rep B: 0 of 2 → 0.00, NORMAL.
    let mine = app.ok(&o.rep_b.1, REJECTION, q1).await["leadRejection"].clone();
    assert_eq!(
        (mine["leads"].as_i64(), mine["rejectionRate"].as_str(), mine["band"].as_str()),
        (Some(2), Some("0.00"), Some("NORMAL"))
    );
});

const ATTAINMENT: &str = "query($f: MetricFilterInput, $g: MetricGroupBy) { targetAttainment(filter: $f, groupBy: $g) {
    targetAmount wonAmount wonCount attainment groups { group { team { name } } targetAmount wonAmount attainment }
    targets { target { user { email } team { name } } targetAmount wonAmount wonCount attainment } } }";

db_test!(target_attainment_counts_wins_inside_each_targets_own_period, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let north = app.count("SELECT id FROM teams WHERE name = 'North'").await;
    let set = "mutation($i: SetTargetInput!) { setTarget(input: $i) { target { id } } }";
    let q1 = ("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z");
    for (user, team, (start, end), amount) in [
        (Some(o.rep_a.0), None, q1, "10000"),
        (None, Some(north), q1, "20000"),
        (Some(o.rep_a.0), None, ("2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z"), "9000"),
        (Some(o.rep_b.0), None, q1, "5000"),
    ] {
        let mut input = json!({ "periodStart": start, "periodEnd": end, "amount": amount });
        if let Some(u) = user {
            input["userId"] = json!(gid("User", u));
        }
        if let Some(t) = team {
            input["teamId"] = json!(gid("Team", t));
        }
        app.ok(&o.admin, set, json!({ "i": input })).await;
    }
    let contacts = json!([
        { "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com" },
        { "externalId": "cb", "firstName": "B", "ownerEmail": "b@example.com" },
    ]);
    let won = |id: &str, c: &str, amount: &str, at: &str| {
        json!({ "externalId": id, "contactExternalId": c, "title": id, "amount": amount, "status": "WON", "closedAt": at,
                "stageHistory": [step("Lead", "2025-01-01T00:00:00Z")] })
    };
    let deals = json!([
        won("a1", "ca", "3000", "2025-02-01T00:00:00Z"),
        won("a2", "ca", "2000", "2025-03-31T23:59:59Z"),
        won("a3", "ca", "4000", "2025-04-01T00:00:00Z"),
        won("b1", "cb", "1000", "2025-01-15T00:00:00Z"),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let f = json!({ "f": { "period": { "from": q1.0, "to": q1.1 } } });

    // Q1 targets (the Q3 one does not overlap). A: 3000 + 2000 (a3 closes at the excluded end)
    // = 5000 of 10000 → 50.00; North (A and the manager): 5000 of 20000 → 25.00; B: 1000 of
    // 5000 → 20.00.
    let rows = app.ok(&o.admin, ATTAINMENT, f.clone()).await["targetAttainment"]["targets"].clone();
    let summary = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let who =
                    r["target"]["user"]["email"].as_str().or(r["target"]["team"]["name"].as_str()).unwrap().to_owned();
                (
                    who,
                    r["wonAmount"].as_str().unwrap().to_owned(),
                    r["wonCount"].as_i64().unwrap(),
                    r["attainment"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let mut all = summary(&rows);
    all.sort();
    assert_eq!(
        all,
        [
            ("North".into(), "5000.00".into(), 2, "25.00".into()),
            ("a@example.com".into(), "5000.00".into(), 2, "50.00".into()),
            ("b@example.com".into(), "1000.00".into(), 1, "20.00".into()),
        ]
    );
    // A rep sees only their own user targets (SPEC 6.6: never the team's, whose total would
    // count other reps' deals), in targetAttainment and in `targets`; the North manager sees
    // the team's and its members'; ownerIds narrows.
    assert_eq!(
        summary(&app.ok(&o.rep_a.1, ATTAINMENT, f.clone()).await["targetAttainment"]["targets"]),
        [("a@example.com".into(), "5000.00".into(), 2, "50.00".into())]
    );
    let listed = |token: String| {
        let app = app.clone();
        async move {
            let data = app.ok(&token, "{ targets { amount user { email } team { name } } }", json!({})).await;
            let mut who: Vec<String> = data["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["user"]["email"].as_str().or(t["team"]["name"].as_str()).unwrap().to_owned())
                .collect();
            who.sort();
            who
        }
    };
    assert_eq!(listed(o.rep_a.1.clone()).await, ["a@example.com", "a@example.com"], "its Q1 and Q3 targets");
    assert_eq!(listed(o.manager_north.clone()).await, ["North", "a@example.com", "a@example.com"]);
    assert_eq!(
        summary(&app.ok(&o.rep_b.1, ATTAINMENT, f.clone()).await["targetAttainment"]["targets"]),
        [("b@example.com".into(), "1000.00".into(), 1, "20.00".into())]
    );
    let only_a = app
        .ok(
            &o.admin,
            ATTAINMENT,
            json!({ "f": { "period": { "from": q1.0, "to": q1.1 }, "ownerIds": [gid("User", o.rep_a.0)] } }),
        )
        .await;
    assert_eq!(
        summary(&only_a["targetAttainment"]["targets"]),
        [("a@example.com".into(), "5000.00".into(), 2, "50.00".into())]
    );

    // Totals: targets 10000 + 20000 + 5000 = 35000, won 5000 + 5000 + 1000 = 11000 →
    // 31.43. By team: North (A's target and the team's) 30000 / 10000 → 33.33; South (B's)
    // 5000 / 1000 → 20.00. A source no contact has leaves nothing won.
    let grouped = app
        .ok(&o.admin, ATTAINMENT, json!({ "f": { "period": { "from": q1.0, "to": q1.1 } }, "g": "TEAM" }))
        .await["targetAttainment"]
        .clone();
    assert_eq!(
        (
            grouped["targetAmount"].as_str(),
            grouped["wonAmount"].as_str(),
            grouped["wonCount"].as_i64(),
            grouped["attainment"].as_str()
        ),
        (Some("35000.00"), Some("11000.00"), Some(5), Some("31.43"))
    );
    assert_eq!(
        grouped["groups"],
        json!([
            { "group": { "team": { "name": "North" } }, "targetAmount": "30000.00", "wonAmount": "10000.00", "attainment": "33.33" },
            { "group": { "team": { "name": "South" } }, "targetAmount": "5000.00", "wonAmount": "1000.00", "attainment": "20.00" },
        ])
    );
    let by_source = app
        .ok(&o.admin, ATTAINMENT, json!({ "f": { "period": { "from": q1.0, "to": q1.1 }, "source": "Nowhere" } }))
        .await;
    assert_eq!(by_source["targetAttainment"]["wonAmount"], "0.00");

    // filter.pipelineId counts only that pipeline's wins: A wins 600 in Sales in Q1 too.
    let sales_win = json!([{ "externalId": "a4", "contactExternalId": "ca", "pipelineName": "Sales", "title": "a4",
        "amount": "600", "status": "WON", "closedAt": "2025-03-01T00:00:00Z", "stageHistory": [step("Lead", "2025-01-01T00:00:00Z")] }]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "deals": sales_win } })).await;
    let pipelines = app.ok(&o.admin, "{ pipelines { id name } }", json!({})).await["pipelines"].clone();
    let id_of = |name: &str| pipelines.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["id"].clone();
    let of_a =
        |v: &Value| summary(&v["targetAttainment"]["targets"]).into_iter().find(|r| r.0 == "a@example.com").unwrap();
    let q1_in = |id: Option<Value>| {
        let mut f = json!({ "period": { "from": q1.0, "to": q1.1 } });
        if let Some(id) = id {
            f["pipelineId"] = id;
        }
        json!({ "f": f })
    };
    // All pipelines: 5000 + 600 = 5600 of 10000 → 56.00; Enterprise 5000 → 50.00; Sales 600 → 6.00.
    assert_eq!(
        of_a(&app.ok(&o.admin, ATTAINMENT, q1_in(None)).await),
        ("a@example.com".into(), "5600.00".into(), 3, "56.00".into())
    );
    assert_eq!(
        of_a(&app.ok(&o.admin, ATTAINMENT, q1_in(Some(id_of("Enterprise")))).await),
        ("a@example.com".into(), "5000.00".into(), 2, "50.00".into())
    );
    assert_eq!(
        of_a(&app.ok(&o.admin, ATTAINMENT, q1_in(Some(id_of("Sales")))).await),
        ("a@example.com".into(), "600.00".into(), 1, "6.00".into())
    );
});

db_test!(metric_fields_on_objects_match_the_root_metrics_in_constant_statements, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let north = app.count("SELECT id FROM teams WHERE name = 'North'").await;
    // 30 more reps in North; rep i has i % 4 no-shows and 2 completed meetings, and one deal
    // (WON for even i, OPEN for odd).
    let (mut contacts, mut deals, mut meetings) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..30 {
        let email = format!("r{i:02}@example.com");
        app.member(&email, Role::SalesRep, Some(north)).await;
        let c = format!("c{i}");
        contacts.push(json!({ "externalId": c, "firstName": c, "ownerEmail": email }));
        for k in 0..(2 + i % 4) {
            let status = if k < 2 { "COMPLETED" } else { "NO_SHOW" };
            meetings.push(meeting(
                &format!("m{i}-{k}"),
                &c,
                &format!("2025-03-{:02}T10:00:00Z", k + 1),
                status,
                json!({ "dealExternalId": format!("d{i}") }),
            ));
        }
        let mut d = json!({ "externalId": format!("d{i}"), "contactExternalId": c, "title": "D", "amount": "100",
                            "stageHistory": [step("Lead", "2025-03-01T00:00:00Z"), step("Demo", "2025-03-02T00:00:00Z")] });
        if i % 2 == 0 {
            d["status"] = json!("WON");
            d["closedAt"] = json!("2025-03-10T00:00:00Z");
        }
        deals.push(d);
    }
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals, "meetings": meetings } })).await;

    let query = "query($n: Int!) { users(first: $n, where: { role: { eq: SALES_REP }, search: \"r\" }) { nodes {
        email noShowStats { meetings noShows noShowRate } funnel { deals won steps { reached } } } }
        teams { name funnel { deals won } }
        pipelines { name funnel { deals steps { reached } } stages { name conversionFromPrevious } } }";
    let small = app.statements_for(&o.admin, query, json!({ "n": 5 })).await;
    let large = app.statements_for(&o.admin, query, json!({ "n": 30 })).await;
    assert_eq!(small, large, "statements do not grow with the number of users");

    let data = app.ok(&o.admin, query, json!({ "n": 30 })).await;
    let users = data["users"]["nodes"].as_array().unwrap();
    let r03 = users.iter().find(|u| u["email"] == "r03@example.com").unwrap();
    // r03: 2 completed, 3 no-shows → 3 / 5 = 60.00; one OPEN deal that reached Demo.
    assert_eq!(r03["noShowStats"], json!({ "meetings": 5, "noShows": 3, "noShowRate": "60.00" }));
    assert_eq!(
        r03["funnel"],
        json!({ "deals": 1, "won": 0, "steps": [{ "reached": 1 }, { "reached": 1 }, { "reached": 0 }, { "reached": 0 }] })
    );
    let r00 = users.iter().find(|u| u["email"] == "r00@example.com").unwrap();
    assert_eq!(r00["funnel"]["won"], 1);
    assert_eq!(r00["noShowStats"]["noShowRate"], "0.00");
    // Same as the root metric narrowed to that user.
    let id = app.count("SELECT id FROM users WHERE email = 'r03@example.com'").await;
    let root =
        app.ok(&o.admin, NO_SHOW, json!({ "f": { "ownerIds": [gid("User", id)] } })).await["noShowStats"].clone();
    assert_eq!((root["noShowRate"].as_str(), root["meetings"].as_i64()), (Some("60.00"), Some(5)));
    // Team North: 30 deals, 15 won; pipeline Enterprise: Lead 30 → Demo 30 → Proposal 15 (won).
    let north_team = data["teams"].as_array().unwrap().iter().find(|t| t["name"] == "North").unwrap();
    assert_eq!(north_team["funnel"], json!({ "deals": 30, "won": 15 }));
    let enterprise = data["pipelines"].as_array().unwrap().iter().find(|p| p["name"] == "Enterprise").unwrap();
    assert_eq!(
        enterprise["funnel"]["steps"],
        json!([{ "reached": 30 }, { "reached": 30 }, { "reached": 15 }, { "reached": 15 }])
    );
    assert_eq!(
        enterprise["stages"],
        json!([{ "name": "Lead", "conversionFromPrevious": null }, { "name": "Demo", "conversionFromPrevious": "100.00" },
               { "name": "Proposal", "conversionFromPrevious": "50.00" }])
    );
    // Per contact and per deal.
    let per = app.ok(&o.admin, "{ contacts(where: { search: \"c3\" }) { nodes { firstName noShowRate deals { noShowStats { noShows } } } } }", json!({})).await;
    let c3 = per["contacts"]["nodes"].as_array().unwrap().iter().find(|c| c["firstName"] == "c3").unwrap();
    assert_eq!(
        (c3["noShowRate"].as_str(), c3["deals"][0]["noShowStats"]["noShows"].as_i64()),
        (Some("60.00"), Some(3))
    );
    // A rep's own fields follow their scope: another rep's stats are empty to them.
    let rep = app.member("solo@example.com", Role::SalesRep, Some(north)).await.1;
    let seen = app
        .ok(
            &rep,
            "{ users(where: { search: \"r03@\" }) { nodes { noShowStats { meetings } funnel { deals } } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["users"]["nodes"][0], json!({ "noShowStats": { "meetings": 0 }, "funnel": { "deals": 0 } }));
});

db_test!(time_buckets_are_utc_weeks_quarters_half_years_and_years, |app| {
    let o = org(&app).await;
    let contacts = json!([
        { "externalId": "web", "firstName": "W", "ownerEmail": "a@example.com", "source": "Web" },
        { "externalId": "none", "firstName": "N", "ownerEmail": "a@example.com" },
    ]);
    // Wednesday 1 Jan, Monday 31 Mar, Tuesday 1 Apr, Tuesday 1 Jul, Wednesday 31 Dec 2025
    // (23:30 UTC) and Thursday 1 Jan 2026.
    let times = [
        "2025-01-01T08:00:00Z",
        "2025-03-31T08:00:00Z",
        "2025-04-01T08:00:00Z",
        "2025-07-01T08:00:00Z",
        "2025-12-31T23:30:00Z",
        "2026-01-01T00:30:00Z",
    ];
    let meetings: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(i, at)| meeting(&format!("t{i}"), if i < 2 { "web" } else { "none" }, at, "COMPLETED", json!({})))
        .collect();
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "meetings": meetings } })).await;
    let buckets = |by: &str| {
        let app = app.clone();
        let admin = o.admin.clone();
        let by = by.to_owned();
        async move {
            let q = "query($g: MetricGroupBy) { noShowStats(groupBy: $g) { groups { group { periodStart source } meetings } } }";
            let data = app.ok(&admin, q, json!({ "g": by })).await;
            data["noShowStats"]["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    let key = g["group"]["periodStart"]
                        .as_str()
                        .or(g["group"]["source"].as_str())
                        .unwrap_or("(none)")
                        .to_owned();
                    (key, g["meetings"].as_i64().unwrap())
                })
                .collect::<Vec<_>>()
        }
    };
    let expect = |pairs: &[(&str, i64)]| pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect::<Vec<_>>();
    assert_eq!(
        buckets("WEEK").await,
        expect(&[("2024-12-30", 1), ("2025-03-31", 2), ("2025-06-30", 1), ("2025-12-29", 2)])
    );
    assert_eq!(
        buckets("QUARTER").await,
        expect(&[("2025-01-01", 2), ("2025-04-01", 1), ("2025-07-01", 1), ("2025-10-01", 1), ("2026-01-01", 1)])
    );
    assert_eq!(buckets("HALF_YEAR").await, expect(&[("2025-01-01", 3), ("2025-07-01", 2), ("2026-01-01", 1)]));
    assert_eq!(buckets("YEAR").await, expect(&[("2025-01-01", 5), ("2026-01-01", 1)]));
    assert_eq!(buckets("MONTH").await.len(), 6, "Jan, Mar, Apr, Jul, Dec 2025 and Jan 2026");
    assert_eq!(buckets("SOURCE").await, expect(&[("(none)", 4), ("Web", 2)]));
});

db_test!(then_by_needs_a_different_group_by, |app| {
    let o = org(&app).await;
    for (args, why) in [("thenBy: MONTH", "needs `groupBy`"), ("groupBy: OWNER, thenBy: OWNER", "must differ")] {
        for field in ["funnel", "noShowStats"] {
            let query = format!("{{ {field}({args}) {{ groups {{ groups {{ group {{ by }} }} }} }} }}");
            let err = app.err(&o.admin, &query, json!({})).await;
            assert_eq!(err["code"], "BAD_USER_INPUT", "{query}");
            assert_eq!(err["field"], "thenBy", "{query}");
            let body = app.gql(Some(&o.admin), &query, json!({})).await;
            assert!(body["errors"][0]["message"].as_str().unwrap().contains(why), "{body}");
        }
    }
    // Grouped twice, an empty database has no groups at all (and no error).
    let data = app
        .ok(
            &o.admin,
            "{ noShowStats(groupBy: OWNER, thenBy: MONTH) { meetings groups { groups { meetings } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["noShowStats"]["meetings"], 0);
    assert_eq!(data["noShowStats"]["groups"], json!([]));
});

db_test!(lost_deals_runs_only_the_acquisition_costs_selected, |app| {
    let o = org(&app).await;
    let bare = app.statements_for(&o.admin, "{ lostDeals { count byReason { count } } }", json!({})).await;
    let two = "{ lostDeals { acquisitionCost byReason { acquisitionCost } byStage { count } } }";
    assert_eq!(app.statements_for(&o.admin, two, json!({})).await, bare + 2);
    let all = "{ lostDeals(groupBy: OWNER) { groups { acquisitionCost byOwner { acquisitionCost } }
        byReason { acquisitionCost } byStage { acquisitionCost } } }";
    // Grouped, each selected cost runs for the total and for the groups: 4 costs × 2.
    assert_eq!(app.statements_for(&o.admin, all, json!({})).await, bare + 4 * 2);
});

db_test!(funnel_reads_stage_events_only_when_time_in_stage_is_selected, |app| {
    let o = org(&app).await;
    let bare = app.statements_for(&o.admin, "{ funnel { deals steps { reached } } }", json!({})).await;
    let total = "{ funnel { deals steps { reached avgDaysInStage } } }";
    assert_eq!(app.statements_for(&o.admin, total, json!({})).await, bare + 1);
    let nested = "{ funnel(groupBy: OWNER, thenBy: MONTH) { groups { groups { steps { avgDaysInStage } } } } }";
    assert_eq!(app.statements_for(&o.admin, nested, json!({})).await, bare + 1);
    let grouped_without = "{ funnel(groupBy: OWNER) { groups { steps { reached } } } }";
    assert_eq!(app.statements_for(&o.admin, grouped_without, json!({})).await, bare);
});

/// Every non-zero row of the funnel cell tables (per month and per day), as text, in order.
async fn cell_rows(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let text = |c: &str| match c {
        "created_day" => "CAST(created_day AS TEXT)".to_owned(),
        c => format!("CAST(CAST({c} AS BIGINT) AS TEXT)"),
    };
    let columns = |time: &str, rest: &[&str]| {
        ["pipeline_id", time, "owner_id"].iter().chain(rest).map(|c| text(c)).collect::<Vec<_>>().join(" || '|' || ")
    };
    let mut parts = Vec::new();
    for (grain, time) in [("", "created_month"), ("_day", "created_day")] {
        let deals = columns(time, &["max_position", "stage_id", "deals", "amount", "won_seconds"]);
        let stays = columns(time, &["stage_id", "stays", "closed_time", "open_stays", "open_since"]);
        parts.push(format!(
            "SELECT 'deal{grain}|' || {deals} || '|' || source || '|' || status FROM funnel_deal{grain}_cells \
             WHERE deals <> 0 UNION ALL SELECT 'stay{grain}|' || {stays} || '|' || source \
             FROM funnel_stay{grain}_cells WHERE stays <> 0"
        ));
    }
    let sql = format!("{} ORDER BY 1", parts.join(" UNION ALL "));
    let backend = app.db.get_database_backend();
    let rows = app.db.query_all_raw(sea_orm::Statement::from_string(backend, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
}

/// The cells kept by the writes so far equal the cells recomputed from the deals.
async fn assert_cells_follow(app: &TestApp, after: &str) {
    use sea_orm::TransactionTrait;
    let kept = cell_rows(app).await;
    assert!(!kept.is_empty(), "{after}: cells exist");
    let tx = app.db.begin().await.unwrap();
    api::service::metrics::funnel_cells::rebuild(&tx, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(kept, cell_rows(app).await, "{after}: the kept cells equal a rebuild");
}

db_test!(funnel_cells_follow_every_write_and_answer_like_the_deals, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let contacts = json!([
        { "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com", "source": "Webinar" },
        { "externalId": "cb", "firstName": "B", "ownerEmail": "b@example.com" },
    ]);
    let deal = |id: &str, contact: &str, history: Vec<Value>| json!({ "externalId": id, "contactExternalId": contact, "pipelineName": "Enterprise", "title": id, "amount": "1000.50", "stageHistory": history });
    let mut won =
        deal("d1", "ca", vec![step("Lead", "2025-01-05T00:00:00.250Z"), step("Demo", "2025-01-10T00:00:00Z")]);
    won["status"] = json!("WON");
    won["closedAt"] = json!("2025-02-11T10:30:00.5Z");
    let deals = json!([
        won,
        deal("d2", "ca", vec![step("Lead", "2025-01-06T00:00:00Z"), step("Proposal", "2025-02-16T00:00:00Z")]),
        deal("d3", "cb", vec![step("Lead", "2025-03-07T00:00:00Z")]),
        deal("d4", "cb", vec![step("Lead", "2025-03-08T00:00:00Z")]),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    assert_cells_follow(&app, "import").await;

    let id_of = |table: &str, key: &str| format!("SELECT id FROM {table} WHERE external_id = '{key}'");
    let (ca, cb) = (app.count(&id_of("contacts", "ca")).await, app.count(&id_of("contacts", "cb")).await);
    let stage = |name: &str| {
        format!("SELECT id FROM stages WHERE name = '{name}' AND pipeline_id <> (SELECT MIN(id) FROM pipelines)")
    };
    let (demo, proposal) = (app.count(&stage("Demo")).await, app.count(&stage("Proposal")).await);
    let version = |id: i64| format!("SELECT version FROM deals WHERE id = {id}");

    let created = app
        .ok(
            &o.rep_a.1,
            "mutation($c: ID!) { createDeal(input: { contactId: $c, title: \"New\", amount: \"250.00\" }) { deal { id } } }",
            json!({ "c": gid("Contact", ca) }),
        )
        .await;
    let new_deal = created["createDeal"]["deal"]["id"].as_str().unwrap().to_owned();
    let new_id = app.count("SELECT MAX(id) FROM deals").await;
    assert_cells_follow(&app, "createDeal").await;

    let moved = "mutation($id: ID!, $v: Int!, $s: ID!) { moveDeal(input: { id: $id, version: $v, stageId: $s }) { deal { id } } }";
    let v = app.count(&version(new_id)).await;
    app.ok(&o.rep_a.1, moved, json!({ "id": new_deal, "v": v, "s": gid("Stage", proposal) })).await;
    let v = app.count(&version(new_id)).await;
    app.ok(&o.rep_a.1, moved, json!({ "id": new_deal, "v": v, "s": gid("Stage", demo) })).await;
    assert_cells_follow(&app, "moveDeal").await;

    let d2 = app.count(&id_of("deals", "d2")).await;
    let update = "mutation($id: ID!, $v: Int!, $o: ID, $c: ID, $a: Decimal) { updateDeal(input: { id: $id, version: $v, ownerId: $o, contactId: $c, amount: $a }) { deal { id } } }";
    let v = app.count(&version(d2)).await;
    let moved_to_b =
        json!({ "id": gid("Deal", d2), "v": v, "o": gid("User", o.rep_b.0), "c": gid("Contact", cb), "a": "77.00" });
    app.ok(&o.admin, update, moved_to_b).await;
    assert_cells_follow(&app, "updateDeal owner, contact and amount").await;

    let v = app.count(&version(new_id)).await;
    app.ok(
        &o.rep_a.1,
        "mutation($id: ID!, $v: Int!) { winDeal(input: { id: $id, version: $v }) { deal { id } } }",
        json!({ "id": new_deal, "v": v }),
    )
    .await;
    let d3 = app.count(&id_of("deals", "d3")).await;
    let reason = app.count("SELECT id FROM lost_reasons WHERE name = 'Price'").await;
    let v = app.count(&version(d3)).await;
    let lose = "mutation($id: ID!, $v: Int!, $r: ID!) { loseDeal(input: { id: $id, version: $v, lostReasonId: $r }) { deal { id } } }";
    app.ok(&o.admin, lose, json!({ "id": gid("Deal", d3), "v": v, "r": gid("LostReason", reason) })).await;
    assert_cells_follow(&app, "winDeal and loseDeal").await;

    let v = app.count(&format!("SELECT version FROM contacts WHERE id = {cb}")).await;
    let source = "mutation($id: ID!, $v: Int!) { updateContact(input: { id: $id, version: $v, source: \"Referral\" }) { contact { id } } }";
    app.ok(&o.admin, source, json!({ "id": gid("Contact", cb), "v": v })).await;
    assert_cells_follow(&app, "updateContact source").await;

    let d4 = app.count(&id_of("deals", "d4")).await;
    app.ok(
        &o.admin,
        "mutation($id: ID!) { deleteDeal(input: { id: $id }) { deletedDealId } }",
        json!({ "id": gid("Deal", d4) }),
    )
    .await;
    assert_cells_follow(&app, "deleteDeal").await;

    // Proposal moves before Demo: every highest position reached is recomputed.
    let v = app.count(&format!("SELECT version FROM stages WHERE id = {proposal}")).await;
    let reorder =
        "mutation($id: ID!, $v: Int!) { updateStage(input: { id: $id, version: $v, position: 2 }) { stage { id } } }";
    app.ok(&o.admin, reorder, json!({ "id": gid("Stage", proposal), "v": v })).await;
    assert_cells_follow(&app, "updateStage position").await;

    // Re-importing restores d4, closes d2 as LOST and changes contact ca's source.
    let mut lost = deal("d2", "cb", vec![step("Lead", "2025-01-06T00:00:00Z"), step("Demo", "2025-01-20T00:00:00Z")]);
    lost["status"] = json!("LOST");
    lost["closedAt"] = json!("2025-03-01T00:00:00Z");
    lost["lostReasonName"] = json!("Price");
    let again = json!({
        "contacts": [{ "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com", "source": "Fair" }],
        "deals": [lost, deal("d4", "cb", vec![step("Lead", "2025-03-08T00:00:00Z")])],
    });
    app.ok(&o.admin, IMPORT, json!({ "i": again })).await;
    assert_cells_follow(&app, "import over existing records").await;

    // The cells (whole months) answer like the deals (a period 1 µs wider reads the deals:
    // nothing was created in that microsecond), for every grouping they serve.
    let query = "query($f: MetricFilterInput, $g: MetricGroupBy, $t: MetricGroupBy) { funnel(filter: $f, groupBy: $g, thenBy: $t) {
        deals won lost open winRate weightedPipeline avgDaysToWin
        steps { name reached amount conversionFromPrevious lostHere avgDaysInStage }
        groups { group { by owner { email } team { name } source periodStart } deals won avgDaysToWin
          steps { reached amount lostHere avgDaysInStage }
          groups { group { periodStart } deals steps { reached avgDaysInStage } } } } }";
    let months = json!({ "from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z" });
    let raw = json!({ "from": "2024-12-31T23:59:59.999999Z", "to": "2027-01-01T00:00:00Z" });
    for (by, then) in [
        (None, None),
        (Some("OWNER"), Some("MONTH")),
        (Some("TEAM"), Some("QUARTER")),
        (Some("SOURCE"), Some("YEAR")),
        (Some("HALF_YEAR"), None),
    ] {
        for who in [&o.admin, &o.manager_north, &o.rep_b.1] {
            let ask = |period: &Value| json!({ "f": { "period": period }, "g": by, "t": then });
            let from_cells = app.ok(who, query, ask(&months)).await;
            let from_deals = app.ok(who, query, ask(&raw)).await;
            assert_eq!(from_cells, from_deals, "grouped by {by:?} then {then:?}");
        }
    }
    // Read from the cells (month and day cells and the partial days' deals) and from the
    // deals alone, every funnel is the same: for periods of whole months, whole days, partial
    // days and within one day, every grouping and each role's scope.
    use api::service::metrics::funnel::{FunnelMode, FunnelParts, Reading, funnel_reading};
    use api::service::metrics::{GroupBy, Grouping, MetricFilter, Period};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let periods = [
        None,
        Some((at("2025-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))),
        Some((at("2025-01-06T00:00:00Z"), tomorrow)),
        Some((at("2025-01-05T12:00:00Z"), at("2025-03-07T06:00:00Z"))),
        Some((at("2025-01-06T00:00:00Z"), at("2025-01-06T23:00:00Z"))),
    ];
    let groupings = [
        (None, None),
        (Some(GroupBy::Owner), Some(GroupBy::Month)),
        (Some(GroupBy::Team), Some(GroupBy::Quarter)),
        (Some(GroupBy::Source), Some(GroupBy::Year)),
        (Some(GroupBy::HalfYear), None),
        (Some(GroupBy::Owner), Some(GroupBy::Week)),
    ];
    let parts = FunnelParts { stays: true, distribution: true, stale: true };
    for email in ["admin@example.com", "m@example.com", "b@example.com"] {
        let user = entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq(email))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let principal = api::service::users::principal_of(&user);
        for period in periods {
            for (by, then_by) in groupings {
                let filter =
                    MetricFilter { period: period.map(|(from, to)| Period { from, to }), ..MetricFilter::default() };
                let how = (FunnelMode::Cohort, Grouping { by, then_by }, parts);
                let cells = funnel_reading(&principal, &app.db, &filter, how, Reading::Cells).await.unwrap();
                let deals = funnel_reading(&principal, &app.db, &filter, how, Reading::Deals).await.unwrap();
                assert_eq!(cells, deals, "{email}, {period:?}, {by:?} then {then_by:?}");
            }
        }
    }

    // No period at all reads every month of the cells.
    let all = app.ok(&o.admin, query, json!({ "g": "SOURCE" })).await;
    let wide = json!({ "f": { "period": { "from": "2000-01-01T00:00:00.000001Z", "to": "2100-01-01T00:00:00Z" } }, "g": "SOURCE" });
    assert_eq!(all, app.ok(&o.admin, query, wide).await);
    assert_eq!(all["funnel"]["deals"], 5, "d1, d2, d3, d4 (restored) and the new deal");
    assert_eq!((all["funnel"]["won"].as_i64(), all["funnel"]["lost"].as_i64()), (Some(2), Some(2)));
});

db_test!(funnel_cells_stay_exact_under_concurrent_writes, |app| {
    let o = org(&app).await;
    let contact = app
        .ok(
            &o.rep_a.1,
            "mutation { createContact(input: { firstName: \"C\", source: \"Ads\" }) { contact { id } } }",
            json!({}),
        )
        .await["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        &o.admin,
        "mutation { createPipeline(input: { name: \"Flow\", isDefault: true, stages: [
            { name: \"New\", probability: 10 }, { name: \"Talk\", probability: 50 }, { name: \"Offer\", probability: 80 }] }) { pipeline { id } } }",
        json!({}),
    )
    .await;
    let stage = |name: &str| format!("SELECT id FROM stages WHERE name = '{name}'");
    let (talk, offer) = (app.count(&stage("Talk")).await, app.count(&stage("Offer")).await);
    // Eight deals of one rep, contact and month (so all share their cells), each created,
    // moved twice and closed by its own client while the others do the same.
    let lifecycle = |k: usize| {
        let (app, token, contact) = (&app, &o.rep_a.1, contact.clone());
        async move {
            let create = "mutation($c: ID!) { createDeal(input: { contactId: $c, title: \"D\", amount: \"10.00\" }) { deal { id } } }";
            let id = app.ok(token, create, json!({ "c": contact })).await["createDeal"]["deal"]["id"].clone();
            let moved = "mutation($id: ID!, $v: Int!, $s: ID!) { moveDeal(input: { id: $id, version: $v, stageId: $s }) { deal { id } } }";
            app.ok(token, moved, json!({ "id": id, "v": 1, "s": gid("Stage", talk) })).await;
            app.ok(token, moved, json!({ "id": id, "v": 2, "s": gid("Stage", offer) })).await;
            if k.is_multiple_of(2) {
                let win = "mutation($id: ID!) { winDeal(input: { id: $id, version: 3 }) { deal { id } } }";
                app.ok(token, win, json!({ "id": id })).await;
            }
        }
    };
    futures_util::future::join_all((0..8).map(lifecycle)).await;
    assert_cells_follow(&app, "concurrent lifecycles").await;
    let f = app.ok(&o.admin, "{ funnel { deals won open steps { reached } } }", json!({})).await;
    assert_eq!((f["funnel"]["deals"].as_i64(), f["funnel"]["won"].as_i64()), (Some(8), Some(4)));
    assert_eq!(f["funnel"]["steps"][2]["reached"], 8, "all eight reached Offer");
});

/// An instant `hours` before now, RFC 3339.
fn hours_ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

const TIME_IN_STAGE: &str = "query($f: MetricFilterInput, $g: MetricGroupBy, $t: MetricGroupBy) {
    funnel(filter: $f, groupBy: $g, thenBy: $t) {
        steps { name avgDaysInStage medianDaysInStage p90DaysInStage staleOpen }
        groups { group { owner { email } } steps { name medianDaysInStage p90DaysInStage }
            groups { group { periodStart } steps { name medianDaysInStage p90DaysInStage } } } } }";

/// (name, median, p90) of each step.
fn quantiles(funnel: &Value) -> Vec<(String, Value, Value)> {
    let steps = funnel["steps"].as_array().unwrap();
    steps
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["medianDaysInStage"].clone(), s["p90DaysInStage"].clone()))
        .collect()
}

db_test!(time_in_stage_quantiles_and_stale_deals, |app| {
    let o = org(&app).await;
    let flow = app
        .ok(
            &o.admin,
            "mutation { createPipeline(input: { name: \"Flow\", stages: [
                { name: \"Intake\", probability: 10, staleAfterDays: 10 }, { name: \"Review\", probability: 50 },
                { name: \"Close\", probability: 80 }] }) { pipeline { id stages { id name staleAfterDays } } } }",
            json!({}),
        )
        .await["createPipeline"]["pipeline"]
        .clone();
    assert_eq!(flow["stages"][0]["staleAfterDays"], 10);
    assert_eq!(flow["stages"][1]["staleAfterDays"], Value::Null);
    let (flow_id, review_id) = (flow["id"].clone(), flow["stages"][1]["id"].clone());
    app.ok(&o.admin, "mutation { createLostReason(input: { name: \"Price\" }) { lostReason { id } } }", json!({}))
        .await;
    let contacts = json!([
        { "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com" },
        { "externalId": "cb", "firstName": "B", "ownerEmail": "b@example.com" },
    ]);
    let deal = |id: &str, contact: &str, history: Vec<Value>, close: Option<(&str, &str)>| {
        let mut d = json!({ "externalId": id, "contactExternalId": contact, "pipelineName": "Flow", "title": id,
            "amount": "100", "stageHistory": history });
        if let Some((status, at)) = close {
            d["status"] = json!(status);
            d["closedAt"] = json!(at);
            if status == "LOST" {
                d["lostReasonName"] = json!("Price");
            }
        }
        d
    };
    let day = |d: u32| format!("2025-03-{d:02}T00:00:00Z");
    let deals = json!([
        // Closed in March 2025 (stays that no longer grow). Intake: d1 1, d2 3, d3 3, d4 8,
        // d5 20 days; Review: d1 2, d2 4, d3 6, d4 10 days.
        deal("d1", "ca", vec![step("Intake", &day(1)), step("Review", &day(2))], Some(("WON", &day(4)))),
        deal("d2", "ca", vec![step("Intake", &day(2)), step("Review", &day(5))], Some(("LOST", &day(9)))),
        deal("d3", "ca", vec![step("Intake", &day(3)), step("Review", &day(6))], Some(("WON", &day(12)))),
        deal("d4", "cb", vec![step("Intake", &day(4)), step("Review", &day(12))], Some(("LOST", &day(22)))),
        deal("d5", "cb", vec![step("Intake", &day(5))], Some(("LOST", &day(25)))),
        // Straight into Close (they passed the earlier stages without staying): 1–6 days, WON.
        deal("c1", "cb", vec![step("Close", &day(10))], Some(("WON", &day(11)))),
        deal("c2", "cb", vec![step("Close", &day(10))], Some(("WON", &day(12)))),
        deal("c3", "cb", vec![step("Close", &day(10))], Some(("WON", &day(13)))),
        deal("c4", "cb", vec![step("Close", &day(10))], Some(("WON", &day(14)))),
        deal("c5", "cb", vec![step("Close", &day(10))], Some(("WON", &day(15)))),
        deal("c6", "cb", vec![step("Close", &day(10))], Some(("WON", &day(16)))),
        // Open now: s1 (A) in Intake 10 days + 1 hour (stale: threshold 10), s2 (B) in Intake
        // 10 days − 1 hour (not yet), s3 (A) in Review 30 days (no threshold yet).
        deal("s1", "ca", vec![step("Intake", &hours_ago(241))], None),
        deal("s2", "cb", vec![step("Intake", &hours_ago(239))], None),
        deal("s3", "ca", vec![step("Intake", &hours_ago(800)), step("Review", &hours_ago(720))], None),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let march =
        json!({ "pipelineId": flow_id, "period": { "from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z" } });

    // Nearest-rank: Intake [1, 3, 3, 8, 20]: median the 3rd (⌈5 × 0.5⌉) = 3.00, p90 the 5th
    // (⌈4.5⌉) = 20.00, average 35 / 5 = 7.00. Review [2, 4, 6, 10]: median the 2nd (⌈2⌉, the
    // lower middle of an even count) = 4.00, p90 the 4th (⌈3.6⌉) = 10.00, average 22 / 4 = 5.50.
    // Close [1, 2, 3, 4, 5, 6]: median the 3rd = 3.00, p90 the 6th (⌈5.4⌉, not the 5th) = 6.00. The period is whole months, so the counts come from the summary cells
    // and the quantiles from the stage events.
    let f = app.ok(&o.admin, TIME_IN_STAGE, json!({ "f": march })).await["funnel"].clone();
    let s = |v: &str| json!(v);
    assert_eq!(
        quantiles(&f),
        [
            ("Intake".into(), s("3.00"), s("20.00")),
            ("Review".into(), s("4.00"), s("10.00")),
            ("Close".into(), s("3.00"), s("6.00")),
            ("Won".into(), Value::Null, Value::Null),
        ]
    );
    assert_eq!((&f["steps"][0]["avgDaysInStage"], &f["steps"][1]["avgDaysInStage"]), (&s("7.00"), &s("5.50")));

    // Per owner: A Intake [1, 3, 3] → median 2nd = 3.00, p90 3rd = 3.00; Review [2, 4, 6] →
    // 4.00, 6.00. B Intake [8, 20] → median 1st = 8.00, p90 2nd = 20.00; Review [10] → 10.00.
    // Inside each owner, the one month (March) has the owner's own numbers.
    let by_owner = app.ok(&o.admin, TIME_IN_STAGE, json!({ "f": march, "g": "OWNER", "t": "MONTH" })).await;
    let groups = by_owner["funnel"]["groups"].as_array().unwrap().clone();
    let of = |email: &str| groups.iter().find(|g| g["group"]["owner"]["email"] == email).unwrap().clone();
    let (a, b) = (of("a@example.com"), of("b@example.com"));
    assert_eq!(quantiles(&a)[..2], [("Intake".into(), s("3.00"), s("3.00")), ("Review".into(), s("4.00"), s("6.00"))]);
    assert_eq!(
        quantiles(&b)[..2],
        [("Intake".into(), s("8.00"), s("20.00")), ("Review".into(), s("10.00"), s("10.00"))]
    );
    assert_eq!(quantiles(&a["groups"][0]), quantiles(&a), "the month inside A");
    assert_eq!(quantiles(&by_owner["funnel"]), quantiles(&f), "the total is over everyone, not a sum");
    // A rep's own funnel: only A's stays.
    let rep_a = app.ok(&o.rep_a.1, TIME_IN_STAGE, json!({ "f": march })).await["funnel"].clone();
    assert_eq!(quantiles(&rep_a)[..2], quantiles(&a)[..2]);
    // The same on each stage, through the pipeline's funnel.
    let stages = "query($f: MetricFilterInput) { pipelines { name stages { name avgDaysInStage(filter: $f)
        medianDaysInStage(filter: $f) p90DaysInStage(filter: $f) conversionFromPrevious(filter: $f) } } }";
    let period_only = json!({ "period": march["period"] });
    let listed = app.ok(&o.admin, stages, json!({ "f": period_only })).await;
    let flow_stages =
        listed["pipelines"].as_array().unwrap().iter().find(|p| p["name"] == "Flow").unwrap()["stages"].clone();
    assert_eq!(
        (&flow_stages[0]["medianDaysInStage"], &flow_stages[0]["p90DaysInStage"], &flow_stages[0]["avgDaysInStage"]),
        (&s("3.00"), &s("20.00"), &s("7.00"))
    );
    // Review reached by d1–d4 and c1–c6 of all 11 → 90.91.
    assert_eq!(
        (&flow_stages[1]["medianDaysInStage"], &flow_stages[1]["conversionFromPrevious"]),
        (&s("4.00"), &s("90.91"))
    );

    // Stale: s1 only (Review has no threshold yet; s2 is an hour short of 10 days).
    let mut ids = Vec::new();
    for id in ["s1", "s2", "s3", "d5"] {
        ids.push(app.count(&format!("SELECT id FROM deals WHERE external_id = '{id}'")).await);
    }
    let (s1, s2, s3, d5) = (ids[0], ids[1], ids[2], ids[3]);
    let deal_q = "query($id: ID!) { node(id: $id) { ... on Deal { isStale daysInStage } } }";
    let stale_of = |token: String, id: i64| {
        let app = app.clone();
        async move { app.ok(&token, deal_q, json!({ "id": gid("Deal", id) })).await["node"].clone() }
    };
    assert_eq!(stale_of(o.admin.clone(), s1).await, json!({ "isStale": true, "daysInStage": "10.04" }), "241 h");
    assert_eq!(stale_of(o.admin.clone(), s2).await["isStale"], false);
    assert_eq!(stale_of(o.admin.clone(), s3).await["isStale"], false, "Review has no threshold");
    // A closed deal is never stale; its days in stage end at its close (Intake 5 → 25 March).
    assert_eq!(stale_of(o.admin.clone(), d5).await, json!({ "isStale": false, "daysInStage": "20.00" }));

    let stale_list =
        "query($f: MetricFilterInput) { staleDeals(filter: $f, first: 10) { totalCount nodes { title } } }";
    let titles = |v: &Value| -> Vec<String> {
        v["staleDeals"]["nodes"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(titles(&app.ok(&o.admin, stale_list, json!({})).await), ["s1"]);

    // An ADMIN gives Review a threshold of 20 days: s3 (30 days there) is stale too, and
    // the longest in its stage comes first.
    let set = "mutation($id: ID!, $d: Int) { updateStage(input: { id: $id, version: 1, staleAfterDays: $d }) { stage { staleAfterDays } } }";
    let refused = app.err(&o.rep_a.1, set, json!({ "id": review_id, "d": 20 })).await;
    assert_eq!(refused["code"], "FORBIDDEN", "{refused}");
    let bad = app.err(&o.admin, set, json!({ "id": review_id, "d": 0 })).await;
    assert_eq!((&bad["code"], &bad["field"]), (&json!("BAD_USER_INPUT"), &json!("staleAfterDays")));
    let updated = app.ok(&o.admin, set, json!({ "id": review_id, "d": 20 })).await;
    assert_eq!(updated["updateStage"]["stage"]["staleAfterDays"], 20);
    assert_eq!(stale_of(o.admin.clone(), s3).await["isStale"], true);
    let all = app.ok(&o.admin, stale_list, json!({})).await;
    assert_eq!((titles(&all), &all["staleDeals"]["totalCount"]), (vec!["s3".to_owned(), "s1".to_owned()], &json!(2)));
    // Scoped like every read: A sees both (theirs), B none, North's manager A's.
    assert_eq!(titles(&app.ok(&o.rep_a.1, stale_list, json!({})).await), ["s3", "s1"]);
    assert!(titles(&app.ok(&o.rep_b.1, stale_list, json!({})).await).is_empty());
    assert_eq!(titles(&app.ok(&o.manager_north, stale_list, json!({})).await), ["s3", "s1"]);
    let only_b = json!({ "f": { "ownerIds": [gid("User", o.rep_b.0)] } });
    assert!(titles(&app.ok(&o.admin, stale_list, only_b).await).is_empty());
    let no_period = app.err(&o.admin, stale_list, json!({ "f": { "period": march["period"] } })).await;
    assert_eq!((&no_period["code"], &no_period["field"]), (&json!("BAD_USER_INPUT"), &json!("filter.period")));
    let page = app
        .ok(&o.admin, "{ staleDeals(first: 1) { nodes { title } pageInfo { hasNextPage endCursor } } }", json!({}))
        .await;
    let cursor = page["staleDeals"]["pageInfo"]["endCursor"].clone();
    let next = app
        .ok(
            &o.admin,
            "query($c: String) { staleDeals(first: 1, after: $c) { nodes { title } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!((titles(&page), titles(&next)), (vec!["s3".to_owned()], vec!["s1".to_owned()]));

    // Per funnel step, the funnel's own open deals that are stale: Intake s1, Review s3.
    let open = app.ok(&o.admin, TIME_IN_STAGE, json!({ "f": { "pipelineId": flow_id } })).await;
    let stale_open: Vec<i64> =
        open["funnel"]["steps"].as_array().unwrap().iter().map(|s| s["staleOpen"].as_i64().unwrap()).collect();
    assert_eq!(stale_open, [1, 1, 0, 0]);
    let own = app.ok(&o.rep_b.1, TIME_IN_STAGE, json!({ "f": { "pipelineId": flow_id } })).await;
    let stale_open: Vec<i64> =
        own["funnel"]["steps"].as_array().unwrap().iter().map(|s| s["staleOpen"].as_i64().unwrap()).collect();
    assert_eq!(stale_open, [0, 0, 0, 0], "B's own deals: s2 is not stale");

    // Pipeline.funnel is of its own pipeline: another pipeline's id is refused, not ignored.
    let other = "query($f: MetricFilterInput) { pipelines { funnel(filter: $f) { deals } } }";
    let sales = app.ok(&o.admin, "{ pipelines { id name } }", json!({})).await["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Sales")
        .unwrap()["id"]
        .clone();
    let refused = app.err(&o.admin, other, json!({ "f": { "pipelineId": sales } })).await;
    assert_eq!((&refused["code"], &refused["field"]), (&json!("BAD_USER_INPUT"), &json!("filter.pipelineId")));
});

db_test!(metric_definitions_cover_every_metric_number_with_the_schemas_own_words, |app| {
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let all = app
        .ok(&analyst, "{ metricDefinitions { id metric typeName field description unit numerator denominator rounding counts bands { name upToPercent } } }", json!({}))
        .await["metricDefinitions"]
        .as_array()
        .unwrap()
        .clone();
    // Every number-valued field (Int or Decimal) of every metric type has a definition
    // whose description is that field's own in the schema.
    let introspect =
        "query($t: String!) { __type(name: $t) { fields { name description type { name ofType { name } } } } }";
    for type_name in [
        "NoShowStats",
        "Funnel",
        "FunnelStep",
        "LostDeals",
        "LostBreakdown",
        "LeadEconomics",
        "LeadRejection",
        "TargetAttainment",
        "ForecastPeriod",
        "ForecastAmounts",
        "HistoricalWinRate",
    ] {
        let fields = app.ok(&analyst, introspect, json!({ "t": type_name })).await["__type"]["fields"].clone();
        for field in fields.as_array().unwrap() {
            let ty = field["type"]["name"].as_str().or(field["type"]["ofType"]["name"].as_str()).unwrap_or_default();
            if !matches!(ty, "Int" | "Decimal") {
                continue;
            }
            let id = format!("{type_name}.{}", field["name"].as_str().unwrap());
            let found = all.iter().find(|d| d["id"] == id.as_str()).unwrap_or_else(|| panic!("{id} has no definition"));
            assert_eq!(found["description"], field["description"], "{id}: the schema's own words");
            assert!(!found["counts"].as_str().unwrap().is_empty() && !found["rounding"].as_str().unwrap().is_empty());
        }
    }
    assert!(
        all.iter().all(|d| !d["description"].as_str().unwrap().is_empty()),
        "every definition names a described field"
    );
    let rate = all.iter().find(|d| d["id"] == "NoShowStats.noShowRate").unwrap();
    assert_eq!(
        (&rate["metric"], &rate["unit"], &rate["numerator"], &rate["denominator"]),
        (&json!("noShowStats"), &json!("PERCENT"), &json!("noShows"), &json!("completed + noShows"))
    );
    assert_eq!(
        rate["bands"],
        json!([{ "name": "EXCELLENT", "upToPercent": "10.00" }, { "name": "ACCEPTABLE", "upToPercent": "15.00" },
               { "name": "ELEVATED", "upToPercent": "20.00" }, { "name": "PROBLEM", "upToPercent": null }])
    );
    let median = all.iter().find(|d| d["id"] == "FunnelStep.medianDaysInStage").unwrap();
    assert!(median["description"].as_str().unwrap().contains("nearest-rank"), "{median}");
    let rejection = app
        .ok(&analyst, "{ metricDefinitions(metric: \"leadRejection\") { id metric bands { name } } }", json!({}))
        .await;
    let rejection = rejection["metricDefinitions"].as_array().unwrap();
    assert!(!rejection.is_empty() && rejection.iter().all(|d| d["metric"] == "leadRejection"));
    let bands = &rejection.iter().find(|d| d["id"] == "LeadRejection.rejectionRate").unwrap()["bands"];
    assert_eq!(bands, &json!([{ "name": "NORMAL" }, { "name": "HIGH" }, { "name": "CRITICAL" }]));
    let anonymous = app.gql(None, "{ metricDefinitions { id } }", json!({})).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous}");
});

/// An instant `days` before now, RFC 3339.
fn days_ago(days: i64) -> String {
    hours_ago(days * 24)
}

const FORECAST: &str = "query($f: MetricFilterInput, $g: ForecastPeriodicity, $b: ForecastBasis, $m: Int) {
    forecast(filter: $f, groupBy: $g, basis: $b, minimumSample: $m) {
        basis periods { periodStart periodEnd deals openAmount weightedAmount wonAmount wonCount targets { amount user { email } team { name } } }
        undated { deals openAmount weightedAmount } total { deals openAmount weightedAmount }
        stages { stage { name } rate sampleSize won belowMinimumSample usedProbability } } }";

/// (periodStart, deals, open, weighted, won) of each period.
fn forecast_rows(forecast: &Value) -> Vec<(String, i64, String, String, String)> {
    forecast["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["periodStart"].as_str().unwrap().to_owned(),
                p["deals"].as_i64().unwrap(),
                p["openAmount"].as_str().unwrap().to_owned(),
                p["weightedAmount"].as_str().unwrap().to_owned(),
                p["wonAmount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

db_test!(forecast_weights_open_deals_by_stage_probability_or_history, |app| {
    let o = org(&app).await;
    let pipeline = app
        .ok(
            &o.admin,
            "mutation { createPipeline(input: { name: \"Outlook\", stages: [
                { name: \"Discovery\", probability: 20 }, { name: \"Proposal\", probability: 60 }] }) { pipeline { id } } }",
            json!({}),
        )
        .await["createPipeline"]["pipeline"]["id"]
        .clone();
    app.ok(&o.admin, "mutation { createLostReason(input: { name: \"Price\" }) { lostReason { id } } }", json!({}))
        .await;
    let contacts = json!([
        { "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com" },
        { "externalId": "cb", "firstName": "B", "ownerEmail": "b@example.com" },
    ]);
    let deal = |id: &str, contact: &str, amount: &str, history: Vec<Value>, extra: Value| {
        let mut d = json!({ "externalId": id, "contactExternalId": contact, "pipelineName": "Outlook", "title": id,
            "amount": amount, "stageHistory": history });
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    let closed = |status: &str, at: &str| {
        let mut c = json!({ "status": status, "closedAt": at });
        if status == "LOST" {
            c["lostReasonName"] = json!("Price");
        }
        c
    };
    let deals = json!([
        // The record (closed within the last 12 months): Discovery entered by h1–h5, 2 WON
        // → 40.00 % of 5; Proposal entered by h1–h3, 2 WON → 66.67 % of 3.
        deal(
            "h1",
            "ca",
            "1",
            vec![step("Discovery", &days_ago(90)), step("Proposal", &days_ago(80))],
            closed("WON", &days_ago(70))
        ),
        deal(
            "h2",
            "ca",
            "1",
            vec![step("Discovery", &days_ago(90)), step("Proposal", &days_ago(80))],
            closed("WON", &days_ago(70))
        ),
        deal(
            "h3",
            "ca",
            "1",
            vec![step("Discovery", &days_ago(90)), step("Proposal", &days_ago(80))],
            closed("LOST", &days_ago(70))
        ),
        deal("h4", "ca", "1", vec![step("Discovery", &days_ago(90))], closed("LOST", &days_ago(70))),
        deal("h5", "ca", "1", vec![step("Discovery", &days_ago(90))], closed("LOST", &days_ago(70))),
        // Closed 13 months ago: outside the window (it would make Discovery 3 of 6).
        deal("old", "ca", "1", vec![step("Discovery", &days_ago(420))], closed("WON", &days_ago(400))),
        // Open, expected to close in early 2025 (overdue now, still open).
        deal(
            "o1",
            "ca",
            "1000",
            vec![step("Discovery", "2024-12-01T00:00:00Z")],
            json!({ "expectedCloseDate": "2025-01-15" })
        ),
        deal(
            "o2",
            "cb",
            "2000",
            vec![step("Proposal", "2024-12-01T00:00:00Z")],
            json!({ "expectedCloseDate": "2025-01-20" })
        ),
        deal(
            "o3",
            "ca",
            "500",
            vec![step("Proposal", "2024-12-01T00:00:00Z")],
            json!({ "expectedCloseDate": "2025-02-10" })
        ),
        deal("o4", "ca", "300", vec![step("Discovery", "2024-12-01T00:00:00Z")], json!({})),
        // Won in January 2025: "won so far" of that month.
        deal("w1", "ca", "700", vec![step("Discovery", "2025-01-02T00:00:00Z")], closed("WON", "2025-01-25T00:00:00Z")),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let set_target = "mutation($i: SetTargetInput!) { setTarget(input: $i) { target { id } } }";
    let quarter = json!({ "userId": gid("User", o.rep_a.0), "periodStart": "2025-01-01T00:00:00Z", "periodEnd": "2025-04-01T00:00:00Z", "amount": "10000" });
    app.ok(&o.admin, set_target, json!({ "i": quarter })).await;
    let north = app.count("SELECT id FROM teams WHERE name = 'North'").await;
    let february = json!({ "teamId": gid("Team", north), "periodStart": "2025-02-01T00:00:00Z", "periodEnd": "2025-03-01T00:00:00Z", "amount": "4000" });
    app.ok(&o.admin, set_target, json!({ "i": february })).await;
    let q1 =
        json!({ "pipelineId": pipeline, "period": { "from": "2025-01-01T00:00:00Z", "to": "2025-04-01T00:00:00Z" } });

    // STAGE_PROBABILITY. January: o1 1000 × 20 % + o2 2000 × 60 % = 1400.00 of 3000.00, w1
    // won 700.00; February: o3 500 × 60 % = 300.00; March: nothing expected, still listed
    // (it is in the period). o4 has no date: in no period, and not in a period's total.
    let f = app.ok(&o.admin, FORECAST, json!({ "f": q1 })).await["forecast"].clone();
    let row = |start: &str, deals: i64, open: &str, weighted: &str, won: &str| {
        (start.to_owned(), deals, open.to_owned(), weighted.to_owned(), won.to_owned())
    };
    assert_eq!(f["basis"], "STAGE_PROBABILITY");
    assert_eq!(
        forecast_rows(&f),
        [
            row("2025-01-01", 2, "3000.00", "1400.00", "700.00"),
            row("2025-02-01", 1, "500.00", "300.00", "0.00"),
            row("2025-03-01", 0, "0.00", "0.00", "0.00"),
        ]
    );
    assert_eq!(f["periods"][0]["periodEnd"], "2025-02-01");
    assert_eq!(f["total"], json!({ "deals": 3, "openAmount": "3500.00", "weightedAmount": "1700.00" }));
    assert_eq!(f["undated"]["deals"], 0);
    // Targets per period: A's quarter in all three months, North's in February only.
    let targets = |i: usize| -> Vec<String> {
        f["periods"][i]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["amount"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        (targets(0), targets(1), targets(2)),
        (vec!["10000.00".to_owned()], vec!["10000.00".to_owned(), "4000.00".to_owned()], vec!["10000.00".to_owned()])
    );

    // HISTORICAL with a minimum sample of 4: Discovery's 2 of 5 (40.00 %) replaces 20 %;
    // Proposal's 3 closed deals are too few, so its 60 % stays. January: 1000 × 2/5 + 1200
    // = 1600.00; February 300.00.
    let h = app.ok(&o.admin, FORECAST, json!({ "f": q1, "b": "HISTORICAL", "m": 4 })).await["forecast"].clone();
    assert_eq!(
        forecast_rows(&h)[..2],
        [row("2025-01-01", 2, "3000.00", "1600.00", "700.00"), row("2025-02-01", 1, "500.00", "300.00", "0.00")]
    );
    assert_eq!(
        h["stages"],
        json!([
            { "stage": { "name": "Discovery" }, "rate": "40.00", "sampleSize": 5, "won": 2, "belowMinimumSample": false, "usedProbability": "40.00" },
            { "stage": { "name": "Proposal" }, "rate": "66.67", "sampleSize": 3, "won": 2, "belowMinimumSample": true, "usedProbability": "60.00" },
        ])
    );
    // With the default minimum sample (10) both stages fall back: the same as the configured basis.
    let fallback = app.ok(&o.admin, FORECAST, json!({ "f": q1, "b": "HISTORICAL" })).await["forecast"].clone();
    assert_eq!(forecast_rows(&fallback), forecast_rows(&f));
    assert_eq!(fallback["stages"][0]["belowMinimumSample"], true);
    // The same record on each stage.
    let stages = app
        .ok(&o.admin, "{ pipelines { name stages { name historicalWinRate(minimumSample: 4) { rate sampleSize belowMinimumSample usedProbability } } } }", json!({}))
        .await;
    let outlook = stages["pipelines"].as_array().unwrap().iter().find(|p| p["name"] == "Outlook").unwrap().clone();
    assert_eq!(
        outlook["stages"][0]["historicalWinRate"],
        json!({ "rate": "40.00", "sampleSize": 5, "belowMinimumSample": false, "usedProbability": "40.00" })
    );

    // By quarter, without a period: Q1 2025 has o1–o3 (and w1's win); o4 is undated.
    let by_quarter =
        app.ok(&o.admin, FORECAST, json!({ "f": { "pipelineId": pipeline }, "g": "QUARTER" })).await["forecast"]
            .clone();
    assert_eq!(forecast_rows(&by_quarter), [row("2025-01-01", 3, "3500.00", "1700.00", "700.00")]);
    assert_eq!(by_quarter["undated"], json!({ "deals": 1, "openAmount": "300.00", "weightedAmount": "60.00" }));
    assert_eq!(by_quarter["total"], json!({ "deals": 4, "openAmount": "3800.00", "weightedAmount": "1760.00" }));

    // Scoped: rep B sees o2 only, and none of A's or North's targets.
    let b = app.ok(&o.rep_b.1, FORECAST, json!({ "f": q1 })).await["forecast"].clone();
    assert_eq!(forecast_rows(&b)[0], row("2025-01-01", 1, "2000.00", "1200.00", "0.00"));
    assert!(b["periods"].as_array().unwrap().iter().all(|p| p["targets"].as_array().unwrap().is_empty()));
    // Rep A sees their own quarter target only (never the team's).
    let a = app.ok(&o.rep_a.1, FORECAST, json!({ "f": q1 })).await["forecast"].clone();
    assert_eq!(a["periods"][1]["targets"].as_array().unwrap().len(), 1);

    // Arguments out of range are refused on the field that is wrong.
    let bad = app.err(&o.admin, "{ forecast(lookbackMonths: 0) { basis } }", json!({})).await;
    assert_eq!((&bad["code"], &bad["field"]), (&json!("BAD_USER_INPUT"), &json!("lookbackMonths")));
    let bad = app.err(&o.admin, "{ forecast(minimumSample: 0) { basis } }", json!({})).await;
    assert_eq!(bad["field"], "minimumSample");
});

/// Every non-zero row of the no-show cells, and the follow-up flag of every live no-show,
/// as text, in order.
async fn meeting_cell_rows(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let sql = "SELECT 'cell|' || CAST(day AS TEXT) || '|' || CAST(owner_id AS TEXT) || '|' || status || '|' || \
               CAST(meetings AS TEXT) || '|' || CAST(followed_up AS TEXT) FROM meeting_cells \
               WHERE meetings <> 0 OR followed_up <> 0 \
               UNION ALL SELECT 'flag|' || CAST(id AS TEXT) || '|' || CASE WHEN followed_up THEN 'yes' ELSE 'no' END \
               FROM meetings WHERE status = 'NO_SHOW' AND deleted_at IS NULL ORDER BY 1";
    let backend = app.db.get_database_backend();
    let rows = app.db.query_all_raw(sea_orm::Statement::from_string(backend, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
}

/// The cells and flags kept by the writes so far equal those recomputed from the meetings.
async fn assert_meeting_cells_follow(app: &TestApp, after: &str) {
    use sea_orm::TransactionTrait;
    let kept = meeting_cell_rows(app).await;
    assert!(kept.iter().any(|row| row.starts_with("cell|")), "{after}: cells exist");
    let tx = app.db.begin().await.unwrap();
    api::service::metrics::meeting_cells::rebuild(&tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(kept, meeting_cell_rows(app).await, "{after}: the kept cells and flags equal a rebuild");
}

db_test!(meeting_cells_follow_every_write_and_answer_like_the_meetings, |app| {
    let o = org(&app).await;
    let contacts = json!([
        { "externalId": "a1", "firstName": "A1", "ownerEmail": "a@example.com" },
        { "externalId": "b1", "firstName": "B1", "ownerEmail": "b@example.com" },
    ]);
    let meetings = json!([
        // p1 is a no-show logged 10:30 whose follow-up p2 was booked at 11:00.
        meeting("p1", "a1", "2025-05-05T10:00:00Z", "NO_SHOW", json!({ "outcomeLoggedAt": "2025-05-05T10:30:00Z" })),
        meeting("p2", "a1", "2025-05-20T10:00:00Z", "COMPLETED", json!({ "createdAt": "2025-05-05T11:00:00Z" })),
        meeting("p3", "b1", "2025-05-06T23:30:00Z", "NO_SHOW", json!({ "outcomeLoggedAt": "2025-05-07T00:10:00Z" })),
        // Booked well before p3 was missed (imported meetings are created at their time
        // unless told: 20 minutes after p3 was logged, which would follow it up).
        meeting("p4", "b1", "2025-05-07T00:30:00Z", "CANCELED", json!({ "createdAt": "2025-05-01T00:00:00Z" })),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts, "meetings": meetings } })).await;
    assert_meeting_cells_follow(&app, "import").await;

    let stats = |from: &str, to: &str| json!({ "f": { "period": { "from": from, "to": to } } });
    let counts = |v: &Value| {
        let s = &v["noShowStats"];
        ["meetings", "completed", "noShows", "canceled", "unlogged", "upcoming", "followedUpWithinHour"]
            .map(|k| s[k].as_i64().unwrap())
    };
    let may = stats("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z");
    // p1 (followed up by p2), p2, p3, p4.
    assert_eq!(counts(&app.ok(&o.admin, NO_SHOW, may.clone()).await), [4, 1, 2, 1, 0, 0, 1]);
    // Whole days 05-06 and 05-07 from the cells, 10:00:00.000001 to midnight of 05-05 from
    // the meetings (p1 at 10:00 is just outside): p3 and p4.
    let edges = stats("2025-05-05T10:00:00.000001Z", "2025-05-08T00:00:00Z");
    assert_eq!(counts(&app.ok(&o.admin, NO_SHOW, edges).await), [2, 0, 1, 1, 0, 0, 0]);
    let edges = stats("2025-05-05T10:00:00Z", "2025-05-07T00:30:00.000001Z");
    assert_eq!(counts(&app.ok(&o.admin, NO_SHOW, edges).await), [3, 0, 2, 1, 0, 0, 1]);
    // No whole day: the meetings alone.
    let inside = stats("2025-05-06T12:00:00Z", "2025-05-07T12:00:00Z");
    assert_eq!(counts(&app.ok(&o.admin, NO_SHOW, inside).await), [2, 0, 1, 1, 0, 0, 0]);

    let id_of = |key: &str| format!("SELECT id FROM meetings WHERE external_id = '{key}'");
    let delete = "mutation($id: ID!) { deleteMeeting(input: { id: $id }) { deletedMeetingId } }";
    app.ok(&o.admin, delete, json!({ "id": gid("Meeting", app.count(&id_of("p2")).await) })).await;
    assert_meeting_cells_follow(&app, "deleteMeeting of a follow-up").await;
    assert_eq!(counts(&app.ok(&o.admin, NO_SHOW, may.clone()).await), [3, 0, 2, 1, 0, 0, 0]);

    // Today: a meeting two hours ago logged as a no-show now, then a new one booked for the
    // contact (a follow-up); one more still ahead (upcoming) and one past but never logged.
    let now = chrono::Utc::now();
    let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
    let a1 = app.count("SELECT id FROM contacts WHERE external_id = 'a1'").await;
    let schedule = "mutation($c: ID!, $at: DateTime!) { scheduleMeeting(input: { contactId: $c, kind: CALL, scheduledAt: $at }) { meeting { id } } }";
    let booked = |hours: i64| json!({ "c": gid("Contact", a1), "at": at(hours) });
    let missed = app.ok(&o.rep_a.1, schedule, booked(-2)).await["scheduleMeeting"]["meeting"]["id"].clone();
    let log = "mutation($id: ID!, $s: MeetingStatus!, $to: DateTime) { logMeetingOutcome(input: { id: $id, status: $s, rescheduledTo: $to }) { meeting { id } } }";
    app.ok(&o.rep_a.1, log, json!({ "id": missed, "s": "NO_SHOW" })).await;
    assert_meeting_cells_follow(&app, "logMeetingOutcome NO_SHOW").await;
    app.ok(&o.rep_a.1, schedule, booked(-1)).await;
    assert_meeting_cells_follow(&app, "scheduleMeeting after a no-show").await;
    app.ok(&o.rep_a.1, schedule, booked(48)).await;
    let held = app.ok(&o.rep_a.1, schedule, booked(-3)).await["scheduleMeeting"]["meeting"]["id"].clone();
    app.ok(&o.rep_a.1, log, json!({ "id": held, "s": "COMPLETED" })).await;
    let moved = app.ok(&o.rep_a.1, schedule, booked(-4)).await["scheduleMeeting"]["meeting"]["id"].clone();
    app.ok(&o.rep_a.1, log, json!({ "id": moved, "s": "RESCHEDULED", "to": at(72) })).await;
    assert_meeting_cells_follow(&app, "COMPLETED and RESCHEDULED").await;
    // All time: May's 3, today's no-show (followed up), the follow-up (1 h ago, unlogged),
    // the completed one, the rescheduled one, and upcoming: the one in 48 h and the
    // replacement in 72 h. Today is read from the meetings, every other day from the cells.
    let all = app.ok(&o.admin, NO_SHOW, json!({})).await;
    assert_eq!(counts(&all), [9, 1, 3, 1, 1, 2, 1]);
    let by_day = app.ok(&o.admin, NO_SHOW, json!({ "g": "WEEK" })).await;
    let weeks: i64 =
        by_day["noShowStats"]["groups"].as_array().unwrap().iter().map(|g| g["meetings"].as_i64().unwrap()).sum();
    assert_eq!(weeks, 9, "the weeks add up to the total");

    // Moving a no-show to another day and owner's view.
    let p3 = app.count(&id_of("p3")).await;
    let version = app.count(&format!("SELECT version FROM meetings WHERE id = {p3}")).await;
    let update = "mutation($id: ID!, $v: Int!) { updateMeeting(input: { id: $id, version: $v, scheduledAt: \"2025-05-09T12:00:00Z\" }) { meeting { id } } }";
    app.ok(&o.admin, update, json!({ "id": gid("Meeting", p3), "v": version })).await;
    assert_meeting_cells_follow(&app, "updateMeeting scheduledAt").await;
    let b_may = app.ok(&o.rep_b.1, NO_SHOW, stats("2025-05-09T00:00:00Z", "2025-05-10T00:00:00Z")).await;
    assert_eq!(counts(&b_may), [1, 0, 1, 0, 0, 0, 0]);

    // Re-importing restores p2, so p1 is followed up again.
    let again = json!({ "meetings": [meeting("p2", "a1", "2025-05-20T10:00:00Z", "COMPLETED", json!({ "createdAt": "2025-05-05T11:00:00Z" }))] });
    app.ok(&o.admin, IMPORT, json!({ "i": again })).await;
    assert_meeting_cells_follow(&app, "import restoring a follow-up").await;
    assert_eq!(counts(&app.ok(&o.admin, NO_SHOW, may).await), [4, 1, 2, 1, 0, 0, 1]);
});

db_test!(concurrent_meeting_writes_of_one_contact_keep_follow_ups_exact, |app| {
    let o = org(&app).await;
    let contacts = json!([{ "externalId": "c1", "firstName": "C", "ownerEmail": "a@example.com" }]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts } })).await;
    let contact = gid("Contact", app.count("SELECT id FROM contacts WHERE external_id = 'c1'").await);
    let schedule = "mutation($c: ID!, $at: DateTime!) { scheduleMeeting(input: { contactId: $c, kind: CALL, scheduledAt: $at }) { meeting { id } } }";
    let log = "mutation($id: ID!) { logMeetingOutcome(input: { id: $id, status: NO_SHOW }) { meeting { id } } }";
    let delete = "mutation($id: ID!) { deleteMeeting(input: { id: $id }) { deletedMeetingId } }";
    let past = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    for round in 0..3 {
        let mut due = Vec::new();
        for _ in 0..6 {
            let booked = app.ok(&o.rep_a.1, schedule, json!({ "c": contact, "at": past })).await;
            due.push(booked["scheduleMeeting"]["meeting"]["id"].clone());
        }
        // One client logs no-shows while others book follow-ups and delete meetings of the
        // same contact: whether each no-show was followed up depends on what commits first.
        let writes = (0..6).map(|k| {
            let (app, token, contact, id, past) = (&app, &o.rep_a.1, contact.clone(), due[k].clone(), past.clone());
            async move {
                match k % 3 {
                    0 => app.ok(token, log, json!({ "id": id })).await,
                    1 => app.ok(token, schedule, json!({ "c": contact, "at": past })).await,
                    _ => app.ok(token, delete, json!({ "id": id })).await,
                };
            }
        });
        futures_util::future::join_all(writes).await;
        assert_meeting_cells_follow(&app, &format!("concurrent writes, round {round}")).await;
    }
    // SPEC 6.1 computed here from the rows: another live meeting of the contact created
    // within the hour after the no-show was logged (a booking that committed before the log
    // does not count, so the expected number depends on the interleaving).
    use sea_orm::EntityTrait;
    let all = entity::meeting::Entity::find().all(&app.db).await.unwrap();
    let followed = all
        .iter()
        .filter(|m| m.status == entity::enums::MeetingStatus::NoShow && m.deleted_at.is_none())
        .filter(|m| {
            let logged = m.outcome_logged_at.unwrap();
            all.iter().any(|f| {
                f.id != m.id
                    && f.deleted_at.is_none()
                    && f.created_at >= logged
                    && f.created_at <= logged + chrono::Duration::hours(1)
            })
        })
        .count();
    let stats = app.ok(&o.admin, NO_SHOW, json!({})).await;
    assert_eq!(stats["noShowStats"]["noShows"], 6);
    assert_eq!(stats["noShowStats"]["followedUpWithinHour"], followed as i64);
});

const SET_RATE: &str =
    "mutation($i: SetExchangeRateInput!) { setExchangeRate(input: $i) { exchangeRate { currency date rate } } }";

db_test!(currencies_convert_every_metric_at_the_close_dates_rate, |app| {
    let o = org(&app).await;
    enterprise(&app, &o.admin).await;
    let rate =
        |currency: &str, date: &str, rate: &str| json!({ "i": { "currency": currency, "date": date, "rate": rate } });
    // Only ADMIN sets rates; a rate is a positive decimal; the base currency has none.
    let refused = app.err(&o.rep_a.1, SET_RATE, rate("EUR", "2025-03-01", "1.1")).await;
    assert_eq!(refused["code"], "FORBIDDEN");
    let bad = app.err(&o.admin, SET_RATE, rate("EUR", "2025-03-01", "1,1")).await;
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("BAD_USER_INPUT"), Some("input.rate")));
    let base = app.err(&o.admin, SET_RATE, rate("usd", "2025-03-01", "1")).await;
    assert_eq!(base["field"], "input.currency");
    for (currency, date, r) in
        [("EUR", "2025-03-01", "1.1"), ("EUR", "2025-03-15", "1.20"), ("gbp", "2025-01-01", "1.25")]
    {
        app.ok(&o.admin, SET_RATE, rate(currency, date, r)).await;
    }
    let listed = app.ok(&o.admin, "{ baseCurrency exchangeRates { currency date rate } }", json!({})).await;
    assert_eq!(listed["baseCurrency"], "USD");
    assert_eq!(
        listed["exchangeRates"],
        json!([{ "currency": "EUR", "date": "2025-03-01", "rate": "1.1" }, { "currency": "EUR", "date": "2025-03-15", "rate": "1.2" },
               { "currency": "GBP", "date": "2025-01-01", "rate": "1.25" }])
    );

    // A currency without a rate is refused on create and on import.
    let contacts = json!([{ "externalId": "ca", "firstName": "A", "ownerEmail": "a@example.com" }]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "contacts": contacts } })).await;
    let contact_id = gid("Contact", app.count("SELECT id FROM contacts").await);
    let create = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { currency amount baseAmount } } }";
    let jpy = app
        .err(
            &o.admin,
            create,
            json!({ "i": { "contactId": contact_id, "title": "x", "amount": "5", "currency": "JPY" } }),
        )
        .await;
    assert_eq!((jpy["code"].as_str(), jpy["field"].as_str()), (Some("BAD_USER_INPUT"), Some("currency")));
    let deal = |id: &str, currency: &str, amount: &str, history: &[&str], status: &str, closed: Option<&str>| {
        let steps: Vec<Value> =
            history.iter().enumerate().map(|(k, s)| step(s, &format!("2025-03-0{}T00:00:00Z", k + 2))).collect();
        let mut d = json!({ "externalId": id, "contactExternalId": "ca", "title": id, "amount": amount, "currency": currency,
                            "stageHistory": steps, "status": status });
        if let Some(at) = closed {
            d["closedAt"] = json!(at);
        }
        if status == "LOST" {
            d["lostReasonName"] = json!(if id == "l2" || id == "l1" { "Price" } else { "Timing" });
        }
        d
    };
    let bad_import = app
        .gql(Some(&o.admin), IMPORT, json!({ "i": { "deals": [deal("x1", "JPY", "1", &["Lead"], "OPEN", None)] } }))
        .await;
    assert!(bad_import["errors"].to_string().contains("JPY has no exchange rate"), "{bad_import}");
    assert_eq!(app.count("SELECT COUNT(*) FROM deals").await, 0);

    let deals = json!([
        deal("l1", "EUR", "1000", &["Lead", "Demo"], "LOST", Some("2025-03-05T12:00:00Z")),
        deal("l2", "USD", "3000", &["Lead", "Demo", "Proposal"], "LOST", Some("2025-03-10T00:00:00Z")),
        deal("l3", "EUR", "500", &["Lead"], "LOST", Some("2025-03-20T00:00:00Z")),
        deal("l4", "GBP", "0.50", &["Lead", "Demo"], "LOST", Some("2025-03-25T00:00:00Z")),
        deal("l5", "GBP", "0.50", &["Lead", "Demo"], "LOST", Some("2025-03-26T00:00:00Z")),
        deal("w1", "EUR", "2000", &["Lead", "Demo", "Proposal"], "WON", Some("2025-03-16T00:00:00Z")),
        deal("o1", "EUR", "100", &["Lead", "Demo"], "OPEN", None),
    ]);
    app.ok(&o.admin, IMPORT, json!({ "i": { "deals": deals } })).await;

    // At the rate of the close date (l1: EUR 1.1 from 03-01; l3, w1: 1.2 from 03-15; GBP
    // 1.25) and today's for the open deal (EUR 1.2): l1 1100, l2 3000, l3 600, l4 and l5
    // 0.625 each, w1 2400, o1 120.
    let used = json!([{ "currency": "EUR", "date": "2025-03-01", "rate": "1.1" }, { "currency": "EUR", "date": "2025-03-15", "rate": "1.2" },
                      { "currency": "GBP", "date": "2025-01-01", "rate": "1.25" }]);
    let funnel = app
        .ok(&o.admin, "query($f: MetricFilterInput) { funnel(filter: $f) { steps { amount } weightedPipeline conversion { baseCurrency rates { currency date rate } } } }",
            json!({ "f": { "period": march() } }))
        .await["funnel"]
        .clone();
    // Lead: all seven = 7221.25; Demo: all but l3 = 6621.25; Proposal: l2 + w1 = 5400;
    // WON: w1 = 2400. Weighted: o1 100 × 40 % × 1.2 = 48.
    let amounts: Vec<&str> =
        funnel["steps"].as_array().unwrap().iter().map(|s| s["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["7221.25", "6621.25", "5400.00", "2400.00"]);
    assert_eq!(funnel["weightedPipeline"], "48.00");
    assert_eq!(funnel["conversion"], json!({ "baseCurrency": "USD", "rates": used }));
    // The same from the deals themselves (ACTIVITY mode never reads the summary cells): every
    // deal entered its stages in March.
    let activity = app
        .ok(
            &o.admin,
            "query($f: MetricFilterInput) { funnel(filter: $f, mode: ACTIVITY) { steps { amount } weightedPipeline } }",
            json!({ "f": { "period": march() } }),
        )
        .await["funnel"]
        .clone();
    assert_eq!(
        (activity["steps"].clone(), activity["weightedPipeline"].clone()),
        (funnel["steps"].clone(), funnel["weightedPipeline"].clone())
    );

    // lostDeals: 1100 + 3000 + 600 + 0.625 + 0.625 = 4701.25 (rounding each GBP deal first
    // would give 4701.26); weighted 440 + 1800 + 60 + 0.25 + 0.25 = 2300.50. Price: l1, l2
    // 4100 (87.21 %); Timing: l3, l4, l5 601.25 (12.79 %).
    let lost_query = "query($f: MetricFilterInput) { lostDeals(filter: $f) { count lostAmount weightedLostAmount
        byReason { reason { name } lostAmount weightedLostAmount amountShare } conversion { rates { currency date } } } }";
    let lost = app.ok(&o.admin, lost_query, json!({ "f": { "period": march() } })).await["lostDeals"].clone();
    assert_eq!(
        (lost["count"].as_i64(), lost["lostAmount"].as_str(), lost["weightedLostAmount"].as_str()),
        (Some(5), Some("4701.25"), Some("2300.50"))
    );
    assert_eq!(
        lost["byReason"],
        json!([{ "reason": { "name": "Price" }, "lostAmount": "4100.00", "weightedLostAmount": "2240.00", "amountShare": "87.21" },
               { "reason": { "name": "Timing" }, "lostAmount": "601.25", "weightedLostAmount": "60.50", "amountShare": "12.79" }])
    );
    assert_eq!(lost["conversion"]["rates"].as_array().unwrap().len(), 3);

    // Deals keep their own amount and currency, and show the base amount.
    let listed = app
        .ok(
            &o.admin,
            "{ deals(orderBy: [{ field: TITLE }]) { nodes { title currency amount baseAmount } } }",
            json!({}),
        )
        .await;
    let rows: Vec<(String, String, String, String)> = listed["deals"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["title"].as_str().unwrap().into(),
                d["currency"].as_str().unwrap().into(),
                d["amount"].as_str().unwrap().into(),
                d["baseAmount"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(rows[3], ("l4".into(), "GBP".into(), "0.50".into(), "0.63".into()));
    assert_eq!(rows[1], ("l2".into(), "USD".into(), "3000.00".into(), "3000.00".into()));
    assert_eq!(rows[5], ("o1".into(), "EUR".into(), "100.00".into(), "120.00".into()));

    // Targets compare in the base currency: rep A's 4800 target, w1's 2400 won → 50.00 %.
    let target = json!({ "i": { "userId": gid("User", o.rep_a.0), "periodStart": "2025-03-01T00:00:00Z", "periodEnd": "2025-04-01T00:00:00Z", "amount": "4800" } });
    app.ok(&o.admin, "mutation($i: SetTargetInput!) { setTarget(input: $i) { target { id } } }", target).await;
    let attained = app
        .ok(&o.admin, "query($f: MetricFilterInput) { targetAttainment(filter: $f) { wonAmount attainment conversion { rates { date } } } }", json!({ "f": { "period": march() } }))
        .await["targetAttainment"]
        .clone();
    assert_eq!((attained["wonAmount"].as_str(), attained["attainment"].as_str()), (Some("2400.00"), Some("50.00")));
    assert_eq!(attained["conversion"]["rates"], json!([{ "date": "2025-03-15" }]));

    // A corrected rate applies at once, to deals closed before it was set too: EUR 1.0 from
    // 03-01 makes l1 1000, so 4601.25 lost. A deal changed to the base currency converts no more.
    app.ok(&o.admin, SET_RATE, rate("EUR", "2025-03-01", "1.0")).await;
    let lost = app.ok(&o.admin, lost_query, json!({ "f": { "period": march() } })).await["lostDeals"].clone();
    assert_eq!(lost["lostAmount"], "4601.25");
    let l4 = app.count("SELECT id FROM deals WHERE title = 'l4'").await;
    let update = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { currency baseAmount } } }";
    let changed =
        app.ok(&o.admin, update, json!({ "i": { "id": gid("Deal", l4), "version": 1, "currency": "USD" } })).await;
    assert_eq!(changed["updateDeal"]["deal"], json!({ "currency": "USD", "baseAmount": "0.50" }));
    let lost = app.ok(&o.admin, lost_query, json!({ "f": { "period": march() } })).await["lostDeals"].clone();
    assert_eq!(lost["lostAmount"], "4601.13"); // 1000 + 3000 + 600 + 0.50 + 0.625 = 4601.125 → .13
    let change = app
        .ok(&o.admin, "{ changes(first: 100) { events { entity changes { field before after } } } }", json!({}))
        .await;
    let currency_change = change["changes"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["changes"].as_array().unwrap().clone())
        .find(|c| c["field"] == "currency" && c["before"] == "GBP");
    assert_eq!(
        currency_change.map(|c| c["after"].clone()),
        Some(Value::Null),
        "the log keeps the stored currency (null: the base)"
    );
});
