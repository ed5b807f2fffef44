//! Serving integrations fairly (SPEC section 9): what operations cost and the budgets they
//! spend, metric queries taking turns on lanes of their own, cancelled SQL, and outages
//! reported as UNAVAILABLE.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use entity::enums::Role;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Statement};
use tests::{TestApp, Value, db_test, json};

/// POSTs `query` and returns the status, the headers and the body.
async fn post(app: &TestApp, token: Option<&str>, query: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app.http.post(format!("{}/graphql", app.url)).json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().await.expect("a JSON body"))
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers.get(name).map(|v| v.to_str().unwrap_or_default()).unwrap_or_default()
}

/// Budgets of 1,000 points a minute.
fn small_budgets() -> api::config::ServeConfig {
    tests::configured(|c| c.limits.cost_budget_per_minute = 1000)
}

db_test!(operations_report_their_cost_and_budgets_refuse_with_429, config = small_budgets(), |app| {
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    // 10 × (nodes 1 + id 1) = 20 points.
    let (status, headers, body) = post(&app, Some(&analyst), "{ contacts(first: 10) { nodes { id } } }").await;
    assert_eq!(status, 200, "{body}");
    let cost = &body["extensions"]["cost"];
    assert_eq!(
        (cost["requested"].as_u64(), cost["limit"].as_u64(), cost["remaining"].as_u64()),
        (Some(20), Some(1000), Some(980)),
        "{body}"
    );
    let reset_at = chrono::DateTime::parse_from_rfc3339(cost["resetAt"].as_str().unwrap()).unwrap();
    let until_reset = reset_at.signed_duration_since(chrono::Utc::now());
    assert!(until_reset <= chrono::Duration::milliseconds(1300), "20 points of 1,000/min come back in 1.2 s: {body}");
    assert_eq!(header(&headers, "ratelimit-policy"), "\"cost\";q=1000;w=60");
    assert_eq!(header(&headers, "ratelimit"), "\"cost\";r=980;t=2");

    // 100 × (nodes 1 + 4 fields) = 500 points: the first leaves ~480, the second is refused.
    let big = "{ contacts(first: 100) { nodes { id firstName lastName email } } }";
    assert_eq!(post(&app, Some(&analyst), big).await.0, 200);
    let (status, headers, body) = post(&app, Some(&analyst), big).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    assert!(body["data"].is_null(), "nothing ran: {body}");
    let retry_after: u64 = header(&headers, "retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=2).contains(&retry_after), "~20 missing points come back within 2 s: {retry_after}");
    assert!(body["errors"][0]["extensions"]["retryAfter"] == retry_after, "{body}");
    assert!(header(&headers, "ratelimit").starts_with("\"cost\";r="), "{headers:?}");
    assert!(body["extensions"]["cost"]["remaining"].as_u64().unwrap() < 500, "{body}");
    // Another caller has a budget of its own; the refused caller pays again after waiting.
    let (status, _, body) = post(&app, Some(&rep), big).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(post(&app, Some(&analyst), big).await.0, 200);

    // Anonymous callers pay by address: 15 aliases cost 15 points, so ~67 such calls a minute.
    let aliased: String = (0..15).map(|i| format!("a{i}: __typename ")).collect();
    let aliased = format!("{{ {aliased} }}");
    let mut refused_after = None;
    for n in 0..80 {
        let (status, headers, body) = post(&app, None, &aliased).await;
        if status == 429 {
            assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
            assert!(!header(&headers, "retry-after").is_empty());
            refused_after = Some(n);
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let refused_after = refused_after.expect("the address's budget ran out");
    assert!((60..=75).contains(&refused_after), "after about 1,000 points: {refused_after}");
    assert_eq!(post(&app, Some(&rep), "{ me { id } }").await.0, 200, "signed-in callers do not pay for it");
});

/// Metric queries: two at a time per caller, and hardly any wait for a turn.
fn tight_metric_turns() -> api::config::ServeConfig {
    tests::configured(|c| (c.limits.metric_concurrency_per_caller, c.limits.metric_wait_ms) = (2, 1))
}

/// ACTIVITY mode reads the deals and their stage events (no summary cell answers it).
const HEAVY: &str = "{ funnel(mode: ACTIVITY, groupBy: OWNER, thenBy: WEEK) { steps { name reached avgDaysInStage }
    groups { group { by } groups { group { periodStart } steps { reached avgDaysInStage } } } } }";

db_test!(heavy_metric_queries_take_turns_while_light_requests_go_on, config = tight_metric_turns(), |app| {
    let seed = api::config::SeedConfig { deals: 3000, contacts: 600, meetings: 200, quiet: true, ..Default::default() };
    api::seed::generate(&app.db, &seed).await.unwrap();
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    let contact =
        app.ok(&rep, "mutation { createContact(input: { firstName: \"Light\" }) { contact { id } } }", json!({})).await;
    let create = "mutation($c: ID!) { createDeal(input: { contactId: $c, title: \"Light\", amount: \"10\" }) {
        deal { id pipeline { stages { id } } } } }";
    let deal = app.ok(&rep, create, json!({ "c": contact["createContact"]["contact"]["id"] })).await;
    let deal = &deal["createDeal"]["deal"];
    let (deal_id, stages) = (deal["id"].as_str().unwrap().to_owned(), deal["pipeline"]["stages"].clone());

    let heavy = join_all((0..10).map(|_| post(&app, Some(&analyst), HEAVY)));
    let light = async {
        let mut answered = 0;
        for i in 0..20 {
            let read = app.ok(&rep, "query($id: ID!) { deal(id: $id) { version } }", json!({ "id": deal_id })).await;
            let version = read["deal"]["version"].clone();
            let moved = "mutation($i: MoveDealInput!) { moveDeal(input: $i) { deal { version } } }";
            let to = stages[1 + i % 2]["id"].clone();
            app.ok(&rep, moved, json!({ "i": { "id": deal_id, "version": version, "stageId": to } })).await;
            answered += 2;
        }
        // Another caller's metric query has turns of its own beside the analyst's two.
        let (status, _, body) = post(&app, Some(&admin), "{ funnel { steps { reached } } }").await;
        (answered, status, body)
    };
    let (heavy, (answered, status, body)) = tokio::join!(heavy, light);
    assert_eq!(answered, 40, "every light request succeeded");
    assert_eq!(status, 200, "another caller's metric query ran: {body}");
    let (mut done, mut refused) = (0, 0);
    for (status, headers, body) in &heavy {
        match (status, body["errors"][0]["extensions"]["code"].as_str()) {
            (200, None) => done += usize::from(body["data"]["funnel"]["steps"].is_array()),
            (429, Some("RATE_LIMITED")) => {
                refused += 1;
                assert_eq!(header(headers, "retry-after"), "1");
            }
            other => panic!("a heavy query got neither a result nor RATE_LIMITED: {other:?} {body}"),
        }
    }
    assert_eq!(done + refused, 10);
    assert!(done >= 2 && refused >= 1, "two ran at a time, the others were refused: {done} done, {refused} refused");
});

/// GETs /graphql with these query-string parameters.
async fn get(app: &TestApp, token: &str, params: &[(&str, String)]) -> (u16, Value) {
    let response =
        app.http.get(format!("{}/graphql", app.url)).query(params).bearer_auth(token).send().await.expect("sent");
    (response.status().as_u16(), response.json().await.expect("a JSON body"))
}

db_test!(persisted_queries_are_asked_for_once_then_served_by_hash, |app| {
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    let query = "query Me { me { email } }";
    let persisted = |hash: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let by_hash = [("extensions", persisted(&tests::sha256_hex(query))), ("operationName", "Me".to_owned())];
    let (status, body) = get(&app, &rep, &by_hash).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{body}");
    let wrong = [("query", "{ me { id } }".to_owned()), ("extensions", persisted(&tests::sha256_hex(query)))];
    let (_, body) = get(&app, &rep, &wrong).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "a hash of another document: {body}");
    let (_, body) = get(&app, &rep, &[("query", query.to_owned()), by_hash[0].clone()]).await;
    assert_eq!(body["data"]["me"]["email"], "rep@example.com", "{body}");
    let (status, body) = get(&app, &rep, &by_hash).await;
    assert_eq!((status, &body["data"]["me"]["email"]), (200, &json!("rep@example.com")), "by hash now: {body}");
    // A stored mutation is still refused over GET.
    let mutation = "mutation { createContact(input: { firstName: \"Get\" }) { contact { id } } }";
    post_persisted(&app, &rep, mutation).await;
    let (status, _) = get(&app, &rep, &[("extensions", persisted(&tests::sha256_hex(mutation)))]).await;
    assert_eq!(status, 405);
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 1, "only the POST wrote");

    // Apollo Client's PersistedQueryLink, unmodified: the first client falls back to the
    // document once, the second sends only the hash, over GET.
    let script = tests::js_client("apollo-persisted.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("{}/graphql", app.url))
        .arg(&rep)
        .output()
        .await
        .expect("node runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let sent = |run: usize| runs[run]["sent"].as_array().cloned().unwrap_or_default();
    assert_eq!(sent(0).len(), 2, "{runs}");
    // Apollo accepts application/graphql-response+json: a request that did not run is 400.
    assert_eq!(sent(0)[0], json!({ "method": "GET", "withDocument": false, "status": 400 }), "{runs}");
    assert_eq!(sent(0)[1], json!({ "method": "POST", "withDocument": true, "status": 200 }), "{runs}");
    assert_eq!(sent(1), vec![json!({ "method": "GET", "withDocument": false, "status": 200 })], "{runs}");
    for run in 0..2 {
        assert_eq!(runs[run]["data"]["me"]["email"], "rep@example.com", "{runs}");
    }
});

/// POSTs `query` with its persisted-query hash, which stores it.
async fn post_persisted(app: &TestApp, token: &str, query: &str) {
    let body = json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": tests::sha256_hex(query) } } });
    let response = app.http.post(format!("{}/graphql", app.url)).bearer_auth(token).json(&body).send().await.unwrap();
    let answer: Value = response.json().await.unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
}

/// graphql-codegen's client preset with the shipped `clients/js/codegen.yml` over
/// `examples/operations`, then `tsc --strict` over code that uses the generated types.
#[test]
fn generated_typescript_types_compile_with_strict() {
    let dir = std::path::Path::new(&tests::js_client("codegen.yml")).parent().expect("clients/js").to_owned();
    let run = |tool: &str, args: &[&str]| {
        let out = std::process::Command::new(dir.join("node_modules/.bin").join(tool))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("the tool runs");
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{tool} failed: {said}");
    };
    run("graphql-codegen", &["--config", "codegen.yml", "--silent"]);
    run("tsc", &["-p", "tsconfig.json"]);
}

/// A little sales history, so that metric queries have a pipeline and deals to read.
async fn small_history(app: &TestApp) {
    let seed = api::config::SeedConfig { deals: 60, contacts: 40, meetings: 20, quiet: true, ..Default::default() };
    api::seed::generate(&app.db, &seed).await.unwrap();
}

/// A statement that runs for minutes unless it is stopped (both engines).
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) \
                       SELECT COUNT(*) FROM c";

/// Active statements of metric lanes on this test's database (PostgreSQL).
async fn active_lane_statements(app: &TestApp) -> i64 {
    app.count(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name LIKE 'crm-metrics-%' \
         AND state = 'active' AND datname = current_database()",
    )
    .await
}

db_test!(a_dropped_metric_query_has_its_sql_stopped_and_its_lane_handed_on, |app| {
    use api::service::budget::Payer;
    let lanes = api::db::lanes::open(&app.db, 1);
    let heavy = std::sync::Arc::new(api::service::heavy::Heavy::new(lanes, app.db.clone(), 1, Duration::from_secs(5)));
    let endless = Statement::from_string(app.db.get_database_backend(), ENDLESS.to_owned());
    let running = tokio::spawn({
        let heavy = heavy.clone();
        async move { heavy.run(Payer::User(1), |db| async move { Ok(db.query_one_raw(endless).await.map(|_| ())) }).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    if app.engine == tests::Engine::Postgres {
        assert_eq!(active_lane_statements(&app).await, 1, "the statement runs on the lane");
    }
    running.abort();
    let stopped = Instant::now();
    // The one lane is handed on only once what ran on it stopped: a quick query gets it.
    let quick = Statement::from_string(app.db.get_database_backend(), "SELECT 1".to_owned());
    let next = heavy.run(Payer::User(2), |db| async move { Ok(db.query_one_raw(quick).await.is_ok()) }).await;
    assert!(matches!(next, Ok(true)), "{next:?}");
    assert!(stopped.elapsed() < Duration::from_secs(3), "the lane came back after {:?}", stopped.elapsed());
    if app.engine == tests::Engine::Postgres {
        // The cancel is a signal the backend acts on at its next check: on a loaded machine
        // it may still show as active for a moment after the lane was handed on. The
        // endless statement would run for minutes.
        let mut active = active_lane_statements(&app).await;
        for _ in 0..30 {
            if active == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            active = active_lane_statements(&app).await;
        }
        assert_eq!(active, 0, "nothing runs on 3 s after the cancel");
    }
});

#[cfg(crm_test_postgres)]
mod postgres_only {
    use super::*;

    #[tokio::test]
    async fn metric_lanes_plan_each_statement_for_its_parameters() {
        tests::run_test(tests::Engine::Postgres, |app| async move {
            let lanes = api::db::lanes::open(&app.db, 1);
            let show = |setting: &str| Statement::from_string(app.db.get_database_backend(), format!("SHOW {setting}"));
            let mode = lanes[0].db.query_one_raw(show("plan_cache_mode")).await.unwrap().unwrap();
            assert_eq!(mode.try_get_by_index::<String>(0).unwrap(), "force_custom_plan");
            let jit = lanes[0].db.query_one_raw(show("jit")).await.unwrap().unwrap();
            assert_eq!(jit.try_get_by_index::<String>(0).unwrap(), "off", "the read pool's options are kept");
            let primary = app.db.query_one_raw(show("plan_cache_mode")).await.unwrap().unwrap();
            assert_eq!(primary.try_get_by_index::<String>(0).unwrap(), "auto", "requests keep PostgreSQL's default");
        })
        .await;
    }

    /// Requests time out after one second.
    fn one_second() -> api::config::ServeConfig {
        tests::configured(|c| c.http.request_timeout_secs = 1)
    }

    /// A metric query past the request timeout: 503 TIMEOUT, and its statement is gone from
    /// `pg_stat_activity` at once, while the lock it waits for is still held — for a root
    /// metric field and for one a DataLoader batches (`Pipeline.funnel`), whose batch task
    /// goes with its request.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_metric_query_past_the_timeout_is_cancelled_in_the_database() {
        tests::run_test_with(tests::Engine::Postgres, one_second(), |app: TestApp| async move {
            small_history(&app).await;
            let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
            let blocker = api::db::begin_write(&app.db).await.unwrap();
            blocker.execute_unprepared("LOCK TABLE deals IN ACCESS EXCLUSIVE MODE").await.unwrap();
            for query in [HEAVY, "{ pipelines { funnel(mode: ACTIVITY) { steps { reached } } } }"] {
                let (status, _, body) = post(&app, Some(&analyst), query).await;
                assert_eq!(status, 503, "{query}: {body}");
                assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
                let deadline = Instant::now() + Duration::from_secs(2);
                while active_lane_statements(&app).await > 0 {
                    assert!(Instant::now() < deadline, "the metric statement of {query} still runs");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            blocker.rollback().await.unwrap();
            let (status, _, body) = post(&app, Some(&analyst), "{ funnel { steps { reached } } }").await;
            assert_eq!(status, 200, "the lanes serve again: {body}");
        })
        .await;
    }

    /// The test's own PostgreSQL stopped under load: in-flight and new requests get
    /// UNAVAILABLE (or a timeout), never INTERNAL_SERVER_ERROR, and the server recovers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_stopped_mid_load_is_unavailable_never_internal() {
        let pg = std::sync::Arc::new(tests::private_pg::PrivatePostgres::start());
        let server = pg.clone();
        tests::run_test_at(Some(pg.url()), |app: TestApp| async move {
            let pg = server;
            small_history(&app).await;
            let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
            let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
            let write = "mutation { createContact(input: { firstName: \"Load\" }) { contact { id } } }";
            let stop_at = Instant::now() + Duration::from_millis(600);
            let load = |token: String, query: &'static str| {
                let app = app.clone();
                tokio::spawn(async move {
                    let mut codes = Vec::new();
                    let until = Instant::now() + Duration::from_secs(3);
                    while Instant::now() < until {
                        let (_, _, body) = post(&app, Some(&token), query).await;
                        let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK").to_owned();
                        codes.push((Instant::now() > stop_at, code));
                    }
                    codes
                })
            };
            let workers = vec![
                load(rep.clone(), write),
                load(rep.clone(), "{ contacts(first: 20) { nodes { id firstName } } }"),
                load(analyst.clone(), "{ funnel(groupBy: OWNER) { steps { reached } } }"),
            ];
            tokio::time::sleep_until(stop_at.into()).await;
            pg.stop();
            let mut seen = std::collections::BTreeMap::<String, usize>::new();
            for worker in workers {
                for (after_stop, code) in worker.await.unwrap() {
                    *seen.entry(format!("{}{code}", if after_stop { "down:" } else { "up:" })).or_default() += 1;
                }
            }
            for code in seen.keys() {
                let code = code.split(':').nth(1).unwrap_or_default();
                assert!(matches!(code, "OK" | "UNAVAILABLE" | "TIMEOUT"), "{code} in {seen:?}");
            }
            assert!(seen.get("down:UNAVAILABLE").copied().unwrap_or(0) > 0, "the outage was seen: {seen:?}");
            pg.start_again();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (_, _, body) = post(&app, Some(&rep), write).await;
                if body.get("errors").is_none() {
                    break;
                }
                let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned();
                assert!(code == "UNAVAILABLE", "{body}");
                assert!(Instant::now() < deadline, "writes did not recover: {body}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let (status, _, body) = post(&app, Some(&analyst), "{ funnel { steps { reached } } }").await;
            assert_eq!(status, 200, "metric lanes reconnect too: {body}");
        })
        .await;
    }
}

db_test!(invalid_input_reports_every_invalid_field_at_once, |app| {
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    let create = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }";
    let input =
        json!({ "i": { "firstName": " ", "email": "not-an-email", "acquisitionCost": "-5", "ownerId": "bogus" } });
    let ext = app.err(&rep, create, input).await;
    assert_eq!(ext["code"], "BAD_USER_INPUT", "{ext}");
    let fields: Vec<&str> = ext["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["input.ownerId", "firstName", "email", "acquisitionCost"], "{ext}");
    assert!(ext["fields"].as_array().unwrap().iter().all(|f| f["message"].as_str().is_some_and(|m| !m.is_empty())));
    assert_eq!(ext["field"], "input.ownerId", "the first one, as before");
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 0, "nothing was written");
    // One bad field: `fields` has that one.
    let one = app.err(&rep, create, json!({ "i": { "firstName": "" } })).await;
    assert_eq!(one["fields"], json!([{ "field": "firstName", "message": "must not be empty" }]), "{one}");

    let contact = app.ok(&rep, create, json!({ "i": { "firstName": "Ada" } })).await;
    let deal = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id } } }";
    let bad_deal =
        json!({ "i": { "contactId": contact["createContact"]["contact"]["id"], "title": "", "amount": "1.234" } });
    let ext = app.err(&rep, deal, bad_deal).await;
    let fields: Vec<&str> = ext["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["amount", "title"], "{ext}");

    let schedule = "mutation($i: ScheduleMeetingInput!) { scheduleMeeting(input: $i) { meeting { id } } }";
    let bad_meeting = json!({ "i": { "contactId": contact["createContact"]["contact"]["id"], "kind": "CALL",
        "scheduledAt": "3000-01-01T10:00:00Z", "durationMinutes": 0, "notes": "n".repeat(5001) } });
    let ext = app.err(&rep, schedule, bad_meeting).await;
    let fields: Vec<&str> = ext["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["durationMinutes", "scheduledAt", "notes"], "{ext}");
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings").await, 0);
});

/// POSTs `body` as JSON, asking for `accept`; the status and the body.
async fn post_json(app: &TestApp, token: &str, body: Value, accept: &str) -> (u16, Value) {
    let request = app.http.post(format!("{}/graphql", app.url)).bearer_auth(token).header("accept", accept);
    let response = request.json(&body).send().await.expect("request sent");
    (response.status().as_u16(), response.json().await.expect("a JSON body"))
}

db_test!(argument_values_are_checked_by_their_path_before_anything_runs, |app| {
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let before = app.statements.count();
    let literal = r#"{ funnel(filter: { period: { from: "yesterday", to: "2026-02-01T00:00:00Z" } }) { deals } }"#;
    let (status, body) = post_json(&app, &analyst, json!({ "query": literal }), "application/json").await;
    assert_eq!(status, 200, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(error["extensions"]["field"], "filter.period.from", "the path, not the type: {body}");
    assert!(error["message"].as_str().unwrap().contains("DateTime"), "{body}");
    assert!(error.get("locations").is_none(), "never 0:0: {body}");

    // From variables, every bad value at once; with the GraphQL response media type, a
    // request that did not run is 400 without `data`.
    let query = "query Q($f: MetricFilterInput) { noShowStats(filter: $f) { meetings } }";
    let f = json!({ "period": { "from": "2026-01-01", "to": 5 }, "ownerIds": [null], "pipelineId": true });
    let body = json!({ "query": query, "variables": { "f": f } });
    let (status, body) = post_json(&app, &analyst, body, "application/graphql-response+json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let fields: Vec<&str> = body["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["filter.period.from", "filter.period.to", "filter.ownerIds[0]", "filter.pipelineId"], "{body}");
    assert_eq!(app.statements.count(), before, "refused before any SQL, the credential check included");

    // A document that does not validate is a bad request, told by where it failed.
    let (_, body) = post_json(&app, &analyst, json!({ "query": "{ funnel { dealz } }" }), "application/json").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}");
    assert!(body["errors"][0]["extensions"].get("field").is_none(), "{body}");

    // A document that validated once runs without full validation afterwards; its values
    // are still checked on every request.
    let good = json!({ "query": query, "variables": { "f": { "source": "web" } } });
    for _ in 0..2 {
        let (status, body) = post_json(&app, &analyst, good.clone(), "application/json").await;
        assert_eq!((status, &body["data"]["noShowStats"]["meetings"]), (200, &json!(0)), "{body}");
    }
    let bad = json!({ "query": query, "variables": { "f": { "ownerIds": ["a", 7, {}] } } });
    let (_, body) = post_json(&app, &analyst, bad, "application/json").await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter.ownerIds[2]", "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");

    // Thirty fragments, each spreading the one before twice: 2^30 paths through a 2 KB
    // document, nested within the fragment limit (32). Its limits are worked out once per
    // fragment, so it is refused at once for its cost (2^31 points) instead of keeping a
    // worker thread busy walking every path (as async-graphql's own checks would).
    let mut fan_out = String::from("query { ...F30 } fragment F0 on Query { me { id } }");
    for k in 1..=30 {
        fan_out.push_str(&format!(" fragment F{k} on Query {{ ...F{p} ...F{p} }}", p = k - 1));
    }
    let request = app.http.post(format!("{}/graphql", app.url)).bearer_auth(&analyst);
    let sent = request.json(&json!({ "query": fan_out })).timeout(Duration::from_secs(60)).send();
    let body: Value = sent.await.expect("answered, not stuck").json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("costs 2147483648 points"), "{body}");
});
