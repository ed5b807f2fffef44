//! Foundation: the server answers, migrations build the whole data model, login works,
//! transport rules hold, and the demo seed is consistent — on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use api::config::SeedConfig;
use entity::enums::Role;
use tests::{db_test, json};

db_test!(health_and_readiness_answer, |app| {
    let health = app.http.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"), "every response carries a request id");
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = app.http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
});

db_test!(typename_answers_anonymously, |app| {
    let body = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"], json!({ "__typename": "Query" }), "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["extensions"]["cost"]["requested"], 1, "an anonymous caller pays too: {body}");
});

db_test!(graphiql_is_served_from_the_binary, |app| {
    let page = app.http.get(format!("{}/graphql", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js"), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "no CDN: {html}");
    for (file, kind) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("init.js", "text/javascript"),
    ] {
        let res = app.http.get(format!("{}/graphiql/{file}", app.url)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert_eq!(res.headers()["content-type"], kind, "{file}");
        assert!(res.bytes().await.unwrap().len() > 100, "{file} has content");
    }
    let missing = app.http.get(format!("{}/graphiql/nope.js", app.url)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
});

db_test!(migrations_create_every_table, |app| {
    for table in [
        "teams",
        "users",
        "pipelines",
        "stages",
        "lost_reasons",
        "contacts",
        "deals",
        "deal_stage_events",
        "meetings",
        "targets",
        "api_keys",
        "settings",
        "idempotency_keys",
    ] {
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            if table == "settings" { 1 } else { 0 },
            "{table}"
        );
    }
    // The generated JWT secret is kept in the database so replicas agree on it.
    assert_eq!(app.count("SELECT COUNT(*) FROM settings WHERE key = 'jwt_secret'").await, 1);
});

db_test!(unique_constraints_hold, |app| {
    let team_id = app.team("Core").await;
    app.create_user("dup@example.com", Role::SalesRep, Some(team_id)).await;
    let mut work = app.writer.begin(api::service::work::Actor::default()).await.unwrap();
    let again = api::service::users::create_user(
        &mut work,
        api::service::users::UserForCreate {
            email: "DUP@example.com ".into(),
            name: "Dup".into(),
            role: Role::SalesRep,
            team_id: None,
            password: Some("long enough".into()),
        },
    )
    .await;
    drop(work);
    match again {
        Err(api::error::ApiError::BadInput { field, .. }) => assert_eq!(field, "email"),
        other => panic!("expected BAD_USER_INPUT on email, got {other:?}"),
    }
    // Stage positions are unique per pipeline, enforced by the database itself.
    let now = "'2026-01-01T00:00:00Z'";
    let insert_stage = format!(
        "INSERT INTO stages (pipeline_id, name, position, probability, version, created_at, updated_at) VALUES (1, 'A', 1, 10, 1, {now}, {now})"
    );
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!("INSERT INTO pipelines (name, is_default, version, created_at, updated_at) VALUES ('P', true, 1, {now}, {now})"),
    )
    .await
    .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, &insert_stage).await.unwrap();
    assert!(sea_orm::ConnectionTrait::execute_unprepared(&app.db, &insert_stage).await.is_err());
});

db_test!(login_then_me, |app| {
    let (_, token) = app.signed_in("ada@example.com", Role::Admin, None).await;
    let body = app.gql(Some(&token), "{ me { email name role active } }", json!({})).await;
    assert_eq!(
        body["data"]["me"],
        json!({ "email": "ada@example.com", "name": "ada", "role": "ADMIN", "active": true })
    );
});

db_test!(wrong_credentials_are_unauthenticated, |app| {
    app.create_user("bob@example.com", Role::SalesRep, None).await;
    let login = "mutation($i: LoginInput!) { login(input: $i) { token } }";
    for (email, password) in [("bob@example.com", "wrong password"), ("nobody@example.com", "whatever!")] {
        let body = app.gql(None, login, json!({ "i": { "email": email, "password": password } })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
        assert_eq!(body["errors"][0]["message"], "wrong email or password");
    }
    let anonymous_me = app.gql(None, "{ me { email } }", json!({})).await;
    assert_eq!(anonymous_me["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let garbage = app.gql(Some("not-a-token"), "{ __typename }", json!({})).await;
    assert_eq!(garbage["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "a bad token is never anonymous");
});

db_test!(transport_rules, |app| {
    let endpoint = format!("{}/graphql", app.url);
    let text_plain = app
        .http
        .post(&endpoint)
        .header("content-type", "text/plain")
        .body(r#"{"query":"mutation { login(input: {email: \"a@b.co\", password: \"x\"}) { token } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(text_plain.status(), 415);
    let body: serde_json::Value = text_plain.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let batch = app.http.post(&endpoint).json(&json!([{ "query": "{ __typename }" }])).send().await.unwrap();
    assert_eq!(batch.status(), 400);

    let get_mutation = app
        .http
        .get(&endpoint)
        .query(&[("query", "mutation { login(input: {email: \"a@b.co\", password: \"x\"}) { token } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(get_mutation.status(), 405);

    let get_query = app.http.get(&endpoint).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(get_query.json::<serde_json::Value>().await.unwrap()["data"]["__typename"], "Query");

    let syntax = app.gql(None, "{ me { ", json!({})).await;
    assert_eq!(syntax["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{syntax}");
});

db_test!(demo_seed_is_consistent, |app| {
    let cfg = SeedConfig { end_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30), ..SeedConfig::default() };
    let summary = api::seed::generate(&app.db, &cfg).await.unwrap();
    assert_eq!((summary.contacts, summary.deals, summary.meetings), (cfg.contacts, cfg.deals, cfg.meetings));
    assert_eq!(app.count("SELECT COUNT(*) FROM deals").await, cfg.deals as i64);
    // Every deal has exactly one creation event, and its last event leads to its current stage.
    assert_eq!(app.count("SELECT COUNT(*) FROM deal_stage_events WHERE from_stage_id IS NULL").await, cfg.deals as i64);
    let wrong_stage = "SELECT COUNT(*) FROM deals d WHERE d.stage_id <> (SELECT e.to_stage_id FROM deal_stage_events e \
                       WHERE e.deal_id = d.id ORDER BY e.moved_at DESC, e.id DESC LIMIT 1)";
    assert_eq!(app.count(wrong_stage).await, 0);
    // Closed deals have a close date; lost ones a reason; open ones neither.
    assert_eq!(app.count("SELECT COUNT(*) FROM deals WHERE (status = 'OPEN') <> (closed_at IS NULL)").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deals WHERE (status = 'LOST') <> (lost_reason_id IS NOT NULL)").await,
        0
    );
    assert!(app.count("SELECT COUNT(*) FROM deals WHERE status = 'WON'").await > 0);
    // Every meeting outcome appears, and rescheduled meetings link to their replacement.
    for status in ["COMPLETED", "NO_SHOW", "CANCELED", "RESCHEDULED", "SCHEDULED"] {
        assert!(app.count(&format!("SELECT COUNT(*) FROM meetings WHERE status = '{status}'")).await > 0, "{status}");
    }
    let unlinked = "SELECT COUNT(*) FROM meetings WHERE status = 'RESCHEDULED' AND rescheduled_to_id IS NULL";
    assert!(app.count(unlinked).await <= 1, "only a reschedule at the very end may lack a replacement");
    assert!(app.count("SELECT COUNT(*) FROM targets").await > 0);
    // The generated users can sign in with the demo password.
    let body = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { user { role } } }",
            json!({ "i": { "email": api::seed::DEMO_ADMIN_EMAIL, "password": cfg.password } }),
        )
        .await;
    assert_eq!(body["data"]["login"]["user"]["role"], "ADMIN", "{body}");
    // New rows after seeding get fresh ids (sequences were moved past the seeded ids).
    assert_eq!(app.team("Brand new team").await, summary.teams as i64 + 1);
});

#[tokio::test]
async fn bad_database_urls_fail_with_one_line() {
    use clap::Parser;
    for url in ["mysql://root@127.0.0.1/x", "postgres://postgres@127.0.0.1:1/nowhere"] {
        let cli = api::config::Cli::parse_from(["crm-api", "migrate", "--database-url", url]);
        let err = api::run(cli).await.expect_err("must fail");
        let text = err.to_string();
        assert!(!text.contains('\n'), "one line: {text}");
        assert!(text.contains("DATABASE_URL") || text.contains("cannot connect"), "{text}");
    }
}

db_test!(introspection_for_signed_in_callers_only, |app| {
    // The depth GraphiQL's own introspection query reaches (ofType nested 7 deep).
    let deep = "{ __schema { queryType { name } types { name fields { name type { name ofType { name ofType { name
        ofType { name ofType { name ofType { name ofType { name ofType { name } } } } } } } } } } } }";
    let anonymous = app.gql(None, deep, json!({})).await;
    assert!(anonymous["errors"].is_array(), "{anonymous}");
    let (_, token) = app.signed_in("ada@example.com", Role::Admin, None).await;
    let body = app.gql(Some(&token), deep, json!({})).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{body}");
    // Data queries keep the depth limit.
    let too_deep =
        "{ me { team { members { team { members { team { members { team { members { team { name } } } } } } } } } } }";
    assert_eq!(
        app.gql(Some(&token), too_deep, json!({})).await["errors"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
});

db_test!(alias_limits_reject_before_running, |app| {
    let (_, token) = app.signed_in("ada@example.com", Role::Admin, None).await;
    let aliased =
        |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
    assert!(app.gql(Some(&token), &aliased(15), json!({})).await.get("errors").is_none());
    let sixteen = app.gql(Some(&token), &aliased(16), json!({})).await;
    assert_eq!(sixteen["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{sixteen}");
    let brute = "mutation { a: login(input: {email: \"ada@example.com\", password: \"guess-1\"}) { token }
                 b: login(input: {email: \"ada@example.com\", password: \"guess-2\"}) { token } }";
    let before = app.statements.count();
    let body = app.gql(None, brute, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(app.statements.count(), before, "rejected before any SQL");
    // The server keeps serving.
    assert_eq!(app.gql(None, "{ __typename }", json!({})).await["data"]["__typename"], "Query");
});

db_test!(nested_lists_count_toward_complexity, |app| {
    let (_, token) = app.signed_in("ada@example.com", Role::Admin, None).await;
    // 100 contacts × 100 deals × 1 field is far above the 5,000 budget.
    let costly = "{ contacts(first: 100) { nodes { deals(first: 100) { title } } } }";
    let body = app.gql(Some(&token), costly, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    let cheap = "{ contacts(first: 10) { nodes { deals(first: 5) { title } } } }";
    assert!(app.gql(Some(&token), cheap, json!({})).await.get("errors").is_none());
});

db_test!(prometheus_metrics_count_requests_and_statements, |app| {
    let (_, token) = app.member("metrics@example.com", Role::Admin, None).await;
    app.ok(&token, "query WhoAmI { me { id } }", json!({})).await;
    let missing = app.gql(Some(&token), "{ deal(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(missing["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let res = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let value_of = |name: &str, labels: &[&str]| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|label| l.contains(label)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    // Counters are process-wide (other tests' servers add to them), so only lower bounds hold.
    assert!(value_of("crm_http_requests_total", &["path=\"/graphql\"", "status=\"200\""]) >= 1.0, "{text}");
    assert!(value_of("crm_sql_statements_total", &["outcome=\"ok\""]) >= 1.0, "{text}");
    assert!(text.contains("crm_http_request_duration_seconds"), "{text}");
    // Every family says what it is; durations are histograms, with buckets.
    for family in [
        "crm_http_requests_total",
        "crm_http_request_duration_seconds",
        "crm_graphql_operation_duration_seconds",
        "crm_graphql_errors_total",
        "crm_sql_statements_total",
        "crm_db_pool_connections",
        "crm_build_info",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "no HELP for {family}: {text}");
    }
    assert!(text.contains("# TYPE crm_http_request_duration_seconds histogram"), "{text}");
    assert!(text.contains("crm_http_request_duration_seconds_bucket{"), "{text}");
    assert!(value_of("crm_graphql_operation_duration_seconds_count", &["operation=\"WhoAmI\""]) >= 1.0, "{text}");
    assert!(value_of("crm_graphql_errors_total", &["code=\"BAD_USER_INPUT\""]) >= 1.0, "{text}");
    assert!(value_of("crm_db_pool_connections", &["state=\"idle\""]) >= 0.0, "{text}");
    assert!(text.contains("crm_db_pool_connections{state=\"in_use\"}"), "{text}");
    assert!(text.contains(&format!("crm_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))), "{text}");
});

/// Database errors are classified by their SQLSTATE, not their text: PostgreSQL raises
/// each code here for real, with a message that names none of them.
#[cfg(crm_test_postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_errors_are_classified_by_sqlstate() {
    tests::run_test(tests::Engine::Postgres, |app: tests::TestApp| async move {
        use sea_orm::ConnectionTrait;
        for (state, code) in [
            ("40P01", "CONFLICT"),
            ("40001", "CONFLICT"),
            ("57P01", "UNAVAILABLE"),
            ("08006", "UNAVAILABLE"),
            ("53300", "UNAVAILABLE"),
            ("42601", "INTERNAL_SERVER_ERROR"),
        ] {
            let raise = format!("DO $$ BEGIN RAISE EXCEPTION 'something went wrong' USING ERRCODE = '{state}'; END $$");
            let err = app.db.execute_unprepared(&raise).await.expect_err("it raises");
            assert_eq!(api::error::ApiError::from(err).code(), code, "SQLSTATE {state}");
        }
    })
    .await;
}

db_test!(the_graphql_over_http_audit_passes, |app| {
    let (_, token) = app.member("audit@example.com", Role::Admin, None).await;
    let audit = tokio::process::Command::new("node")
        .arg(tests::js_client("graphql-http-audit.mjs"))
        .args([format!("{}/graphql", app.url), token])
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success(), "a MUST audit failed:\n{report}{}", String::from_utf8_lossy(&audit.stderr));
    let lines: Vec<serde_json::Value> = report.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["mustFailures"], 0, "{report}");
    assert!(summary["total"].as_i64().unwrap() > 50, "{report}");
    let warnings: Vec<&serde_json::Value> = lines.iter().filter(|l| l["status"] == "warn").collect();
    assert!(warnings.is_empty(), "SHOULD audits warn: {warnings:#?}");
});
