//! Webhooks (SPEC section 8.6) end to end, on SQLite and PostgreSQL: real HTTP receivers on
//! loopback, signatures checked with the Standard Webhooks reference library, retries and
//! their schedule, permanent failures, `Retry-After`, order per record, disabling, replay,
//! redelivery, test messages, destination checks, a killed server, and two replicas.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use api::config::ServeConfig;
use entity::enums::Role;
use tests::receiver::{Received, Receiver, Reply};
use tests::{TestApp, Value, db_test, json};

const CREATE_CONTACT: &str =
    "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id version } } }";
const CREATE_ENDPOINT: &str = "mutation($i: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $i) { endpoint { id enabled eventTypes } secret } }";
const DELIVERIES: &str = "query($e: ID!, $s: WebhookDeliveryStatus) {
    webhookDeliveries(endpointId: $e, status: $s, first: 100) { totalCount nodes {
      id messageId eventType eventCursor trigger status attemptCount nextAttemptAt finishedAt payload
      attempts { statusCode outcome responseBody error latencyMs } } } }";
const ENDPOINTS: &str = "{ webhookEndpoints { id url enabled disabledAt disabledReason lastSuccessAt failingSince previousSecretExpiresAt } }";

/// Loopback receivers allowed, a fast schedule (100 ms, 600 ms, 2.4 s, …), short timeouts.
fn fast() -> ServeConfig {
    let mut cfg = ServeConfig::default();
    cfg.webhooks.allow_private_networks = true;
    cfg.webhooks.retry_base_ms = 100;
    cfg.webhooks.timeout_secs = 2;
    cfg.webhooks.secret_overlap_secs = 3;
    cfg
}

/// `fast`, with the failing-too-long limit at one second.
fn quick_to_disable() -> ServeConfig {
    let mut cfg = fast();
    cfg.webhooks.disable_after_secs = 1;
    cfg
}

/// A server that queues and serves webhooks but leaves sending to other processes.
fn not_delivering() -> ServeConfig {
    let mut cfg = fast();
    cfg.webhooks.deliver = false;
    cfg
}

async fn admin(app: &TestApp) -> String {
    app.member("admin@example.com", Role::Admin, None).await.1
}

/// Creates an endpoint; returns (its id, its secret).
async fn endpoint(app: &TestApp, admin: &str, url: &str, types: &[&str]) -> (String, String) {
    let data = app.ok(admin, CREATE_ENDPOINT, json!({ "i": { "url": url, "eventTypes": types } })).await;
    let created = &data["createWebhookEndpoint"];
    assert_eq!(created["endpoint"]["enabled"], true);
    (created["endpoint"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

async fn contact(app: &TestApp, token: &str, first_name: &str) -> Value {
    let input = json!({ "firstName": first_name });
    app.ok(token, CREATE_CONTACT, json!({ "i": input })).await["createContact"]["contact"].clone()
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: &str) -> Vec<Value> {
    let data = app.ok(admin, DELIVERIES, json!({ "e": endpoint })).await;
    data["webhookDeliveries"]["nodes"].as_array().unwrap().clone()
}

/// Waits until every delivery of `endpoint` has finished; returns them, newest first.
async fn settled(app: &TestApp, admin: &str, endpoint: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = deliveries(app, admin, endpoint).await;
        if all.len() == count && all.iter().all(|d| d["status"] != "PENDING") {
            return all;
        }
        assert!(Instant::now() < deadline, "deliveries did not finish: {all:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn cursor_of(r: &Received) -> i64 {
    r.json()["data"]["cursor"].as_str().unwrap().parse().unwrap()
}

fn first_name(r: &Received) -> String {
    r.json()["data"]["record"]["firstName"].as_str().unwrap_or_default().to_owned()
}

db_test!(a_failing_receiver_gets_the_event_until_it_answers, config = fast(), |app| {
    let admin = admin(&app).await;
    let receiver = Receiver::start(|_, earlier| Reply::status(if earlier < 3 { 503 } else { 200 })).await;
    let (id, _) = endpoint(&app, &admin, &receiver.url, &["contact.*"]).await;
    let ada = contact(&app, &admin, "Ada").await;

    let got = receiver.wait_until(Duration::from_secs(20), |r| r.len() >= 4).await;
    assert!(got.iter().all(|r| r.id == got[0].id && r.body == got[0].body), "one event, the same bytes: {got:#?}");
    // The schedule scaled to a 100 ms base: about 100 ms, 600 ms, 2.4 s (±10 %).
    for (gap, step) in got.windows(2).zip([100, 600, 2400]) {
        let waited = gap[1].at - gap[0].at;
        assert!(waited >= Duration::from_millis(step * 9 / 10), "waited {waited:?} for a {step} ms step");
        assert!(waited < Duration::from_millis(step * 3 + 500), "waited {waited:?} for a {step} ms step");
    }
    let body = got[0].json();
    assert_eq!(body["type"], "contact.created");
    assert_eq!(body["data"]["id"], ada["id"]);
    assert_eq!(body["data"]["record"]["firstName"], "Ada");
    assert_eq!(body["data"]["record"]["id"], ada["id"]);
    let first = body["data"]["changes"].as_array().unwrap().iter().find(|c| c["field"] == "firstName").cloned();
    assert_eq!(first, Some(json!({ "field": "firstName", "before": null, "after": "Ada" })));

    let all = settled(&app, &admin, &id, 1).await;
    let delivery = &all[0];
    assert_eq!((delivery["status"].as_str(), delivery["attemptCount"].as_i64()), (Some("DELIVERED"), Some(4)));
    assert_eq!(delivery["messageId"], got[0].id.as_str());
    assert_eq!((delivery["trigger"].as_str(), delivery["nextAttemptAt"].as_str()), (Some("EVENT"), None));
    let attempts = delivery["attempts"].as_array().unwrap();
    let seen: Vec<(i64, &str)> =
        attempts.iter().map(|a| (a["statusCode"].as_i64().unwrap(), a["outcome"].as_str().unwrap())).collect();
    assert_eq!(seen, [(503, "RETRYING"), (503, "RETRYING"), (503, "RETRYING"), (200, "SUCCEEDED")]);
    assert_eq!(attempts[3]["responseBody"], "thanks");
    // No further attempt after the success.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4);
    let endpoints = app.ok(&admin, ENDPOINTS, json!({})).await;
    let health = &endpoints["webhookEndpoints"][0];
    assert!(health["lastSuccessAt"].is_string() && health["failingSince"].is_null(), "{health}");

    let metrics = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("crm_webhook_attempts_total{outcome=\"retrying\"}"), "{metrics}");
    assert!(metrics.contains("crm_webhook_queue_depth"), "{metrics}");
});

db_test!(permanent_failures_stop_at_once_and_retry_after_is_honoured, config = fast(), |app| {
    let admin = admin(&app).await;
    let receiver = Receiver::start(|r, earlier| match first_name(r).as_str() {
        "Gone" => Reply::status(410),
        "Bad" => Reply::status(400),
        "Moved" => Reply::status(301),
        "Busy" if earlier == 0 => Reply { retry_after: Some("2".into()), ..Reply::status(429) },
        // Longer than the 2 s attempt timeout.
        "Slow" if earlier == 0 => Reply { delay: Duration::from_secs(4), ..Reply::status(200) },
        _ => Reply::status(200),
    })
    .await;
    let (id, _) = endpoint(&app, &admin, &receiver.url, &["contact.created"]).await;
    for name in ["Gone", "Bad", "Moved", "Busy", "Slow"] {
        contact(&app, &admin, name).await;
    }
    let all = settled(&app, &admin, &id, 5).await;
    let by_name = |name: &str| {
        all.iter().find(|d| d["payload"].as_str().unwrap().contains(&format!("\"firstName\":\"{name}\""))).unwrap()
    };
    for name in ["Gone", "Bad", "Moved"] {
        let failed = by_name(name);
        assert_eq!((failed["status"].as_str(), failed["attemptCount"].as_i64()), (Some("FAILED"), Some(1)), "{name}");
        assert_eq!(failed["attempts"][0]["outcome"], "FAILED");
    }
    assert_eq!(by_name("Moved")["attempts"][0]["error"], "redirects are not followed");
    assert_eq!(by_name("Busy")["status"], "DELIVERED");
    let slow = by_name("Slow");
    assert_eq!((slow["status"].as_str(), slow["attemptCount"].as_i64()), (Some("DELIVERED"), Some(2)), "{slow}");
    let timed_out = &slow["attempts"][0];
    assert_eq!((timed_out["statusCode"].as_i64(), timed_out["outcome"].as_str()), (None, Some("RETRYING")));
    assert!(timed_out["error"].as_str().unwrap().starts_with("timed out"), "{timed_out}");
    let took = timed_out["latencyMs"].as_i64().unwrap();
    assert!((1900..4000).contains(&took), "the attempt was cut at the timeout, not after {took} ms");
    let received = receiver.received();
    let busy: Vec<&Received> = received.iter().filter(|r| first_name(r) == "Busy").collect();
    assert_eq!(busy.len(), 2);
    // The schedule's first step is 100 ms: only Retry-After explains two seconds.
    assert!(busy[1].at - busy[0].at >= Duration::from_millis(1900), "{:?}", busy[1].at - busy[0].at);
    assert_eq!(received.iter().filter(|r| first_name(r) == "Gone").count(), 1);
});

/// Runs the Standard Webhooks reference verifier (npm `standardwebhooks`) on one request.
async fn verifies(secret: &str, request: &Received) -> bool {
    let mut node = tokio::process::Command::new("node")
        .arg(tests::js_client("verify-webhook.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let input = json!({ "secret": secret, "headers": request.headers(), "body": request.body });
    use tokio::io::AsyncWriteExt;
    let mut stdin = node.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    node.wait().await.unwrap().success()
}

db_test!(signatures_verify_with_the_reference_library_across_a_rotation, config = fast(), |app| {
    let admin = admin(&app).await;
    let receiver = Receiver::ok().await;
    let (id, old) = endpoint(&app, &admin, &receiver.url, &["*"]).await;
    assert!(old.starts_with("whsec_"));
    contact(&app, &admin, "Before").await;
    let got = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 1).await;
    assert!(verifies(&old, &got[0]).await, "the reference verifier rejects our signature: {:?}", got[0]);
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(!verifies(other, &got[0]).await, "a wrong secret must not verify");
    assert!(got[0].signature.starts_with("v1,") && !got[0].signature.contains(' '));
    assert!((got[0].timestamp.parse::<i64>().unwrap() - chrono::Utc::now().timestamp()).abs() < 10);

    let rotate = "mutation($i: WebhookEndpointIdInput!) { rotateWebhookSecret(input: $i) {
        secret endpoint { previousSecretExpiresAt } } }";
    let rotated = app.ok(&admin, rotate, json!({ "i": { "id": id } })).await["rotateWebhookSecret"].clone();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let until: chrono::DateTime<chrono::Utc> =
        rotated["endpoint"]["previousSecretExpiresAt"].as_str().unwrap().parse().unwrap();
    let overlap = until - chrono::Utc::now();
    assert!(overlap > chrono::Duration::seconds(1) && overlap <= chrono::Duration::seconds(3), "{overlap}");

    contact(&app, &admin, "During").await;
    let got = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 2).await;
    assert_eq!(got[1].signature.split(' ').count(), 2, "both secrets sign: {}", got[1].signature);
    assert!(verifies(&new, &got[1]).await && verifies(&old, &got[1]).await);

    tokio::time::sleep((until - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(100)).await;
    contact(&app, &admin, "After").await;
    let got = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 3).await;
    assert_eq!(got[2].signature.split(' ').count(), 1, "only the new secret signs: {}", got[2].signature);
    assert!(verifies(&new, &got[2]).await);
    assert!(!verifies(&old, &got[2]).await, "the old secret stopped signing");
});

db_test!(webhooks_go_to_public_destinations_only, |app| {
    let admin = admin(&app).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.8/hook",
        "http://192.168.1.20/hook",
        "ftp://example.com/hook",
        "not a url",
    ] {
        let err = app.err(&admin, CREATE_ENDPOINT, json!({ "i": { "url": url, "eventTypes": ["*"] } })).await;
        assert_eq!(
            (err["code"].as_str(), err["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("url")),
            "{url}: {err}"
        );
    }
    let err = app
        .err(&admin, CREATE_ENDPOINT, json!({ "i": { "url": "http://10.0.0.8/", "eventTypes": ["deal.exploded"] } }))
        .await;
    assert_eq!(err["code"], "BAD_USER_INPUT");

    // A name that resolves to loopback later (say, its DNS changed) is refused when sending:
    // the check runs on the resolved address at connection time.
    let receiver = Receiver::ok().await;
    let sneaky = receiver.url.replace("127.0.0.1", "localhost");
    let cursor =
        app.ok(&admin, "{ changeCursor }", json!({})).await["changeCursor"].as_str().unwrap().parse::<i64>().unwrap();
    let now = chrono::Utc::now();
    use sea_orm::{ActiveModelTrait, Set};
    let row = entity::webhook_endpoint::ActiveModel {
        url: Set(sneaky),
        description: Set(None),
        event_types: Set("[\"*\"]".into()),
        secret: Set("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        enabled: Set(true),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        enqueued_through: Set(cursor),
        last_success_at: Set(None),
        failing_since: Set(None),
        created_by: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    let inserted = row.insert(&app.db).await.unwrap();
    contact(&app, &admin, "Probe").await;
    let id = tests::gid("WebhookEndpoint", inserted.id);
    let all = settled(&app, &admin, &id, 1).await;
    assert_eq!(all[0]["status"], "FAILED", "{all:#?}");
    let error = all[0]["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
});

db_test!(replay_redelivery_and_test_messages, config = fast(), |app| {
    let admin = admin(&app).await;
    let receiver = Receiver::ok().await;
    let (id, _) = endpoint(&app, &admin, &receiver.url, &["contact.created"]).await;
    for i in 0..5 {
        contact(&app, &admin, &format!("C{i}")).await;
    }
    // Different records go out side by side: put them in log order.
    let mut sent = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 5).await;
    sent.sort_by_key(cursor_of);
    let ids: Vec<String> = sent.iter().map(|r| r.id.clone()).collect();
    let cursor = cursor_of(&sent[1]).to_string();

    let replay =
        "mutation($e: ID!, $a: String!) { replayWebhooks(endpointId: $e, after: $a) { queued endCursor hasMore } }";
    let replayed = app.ok(&admin, replay, json!({ "e": id, "a": cursor })).await["replayWebhooks"].clone();
    assert_eq!((replayed["queued"].as_i64(), replayed["hasMore"].as_bool()), (Some(3), Some(false)), "{replayed}");
    assert_eq!(replayed["endCursor"], sent[4].json()["data"]["cursor"]);
    let mut again = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 8).await.split_off(5);
    again.sort_by_key(cursor_of);
    let replayed_ids: Vec<String> = again.iter().map(|r| r.id.clone()).collect();
    assert_eq!(replayed_ids, ids[2..].to_vec(), "exactly the events after the cursor, same webhook-id");
    assert_eq!(again[0].body, sent[2].body, "the same bytes");

    let all = settled(&app, &admin, &id, 8).await;
    assert_eq!(all.iter().filter(|d| d["trigger"] == "REPLAY").count(), 3);
    let oldest = all.last().unwrap();
    let redeliver = "mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { trigger status messageId } }";
    let copy = app.ok(&admin, redeliver, json!({ "d": oldest["id"] })).await["redeliverWebhook"].clone();
    assert_eq!((copy["trigger"].as_str(), copy["messageId"].as_str()), (Some("REDELIVERY"), Some(ids[0].as_str())));
    let test = "mutation($e: ID!) { sendTestWebhook(endpointId: $e) { eventType trigger } }";
    let queued = app.ok(&admin, test, json!({ "e": id })).await["sendTestWebhook"].clone();
    assert_eq!(queued, json!({ "eventType": "webhook.test", "trigger": "TEST" }));
    let last = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 10).await;
    let mut tail: Vec<String> = last[8..].iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    tail.sort();
    assert_eq!(tail, ["contact.created", "webhook.test"]);
    assert!(last[8..].iter().any(|r| r.id == ids[0]));

    settled(&app, &admin, &id, 10).await;
    let delivered = app.ok(&admin, DELIVERIES, json!({ "e": id, "s": "DELIVERED" })).await;
    assert_eq!(delivered["webhookDeliveries"]["totalCount"], 10);
    // The operator's view from the command line says the same.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_replica"))
            .args(["webhooks"])
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = cli(&["list"]);
    assert!(
        listed.lines().nth(1).unwrap().starts_with(&format!("{id}\t{}\ttrue\tcontact.created", receiver.url)),
        "{listed}"
    );
    let lines = cli(&["deliveries", &id, "--status", "delivered", "--limit", "100"]);
    assert_eq!(lines.lines().count(), 11, "a header and 10 deliveries: {lines}");
    assert!(lines.lines().skip(1).all(|l| l.contains("\tDELIVERED\t")), "{lines}");
    // A cursor older than the retained log cannot be replayed exactly.
    let mut cfg = fast();
    cfg.realtime.change_retention_days = 0;
    cfg.webhooks.deliver = false;
    app.with_config(cfg).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.count("SELECT COUNT(*) FROM change_events").await > 0 {
        assert!(Instant::now() < deadline, "nothing was purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expired = app.err(&admin, replay, json!({ "e": id, "a": "0" })).await;
    assert_eq!(expired["code"], "CURSOR_EXPIRED");
});

db_test!(only_admins_manage_webhooks, config = fast(), |app| {
    let admin = admin(&app).await;
    let (_, manager) = app.member("manager@example.com", Role::Manager, None).await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    let receiver = Receiver::ok().await;
    let (id, _) = endpoint(&app, &admin, &receiver.url, &["*"]).await;
    let calls = [
        (CREATE_ENDPOINT, json!({ "i": { "url": receiver.url, "eventTypes": ["*"] } })),
        (
            "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { endpoint { id } } }",
            json!({ "i": { "id": id, "enabled": false } }),
        ),
        (
            "mutation($i: WebhookEndpointIdInput!) { rotateWebhookSecret(input: $i) { secret } }",
            json!({ "i": { "id": id } }),
        ),
        (
            "mutation($i: WebhookEndpointIdInput!) { deleteWebhookEndpoint(input: $i) { deletedId } }",
            json!({ "i": { "id": id } }),
        ),
        ("mutation($e: ID!) { sendTestWebhook(endpointId: $e) { id } }", json!({ "e": id })),
        ("mutation($e: ID!) { replayWebhooks(endpointId: $e, after: \"0\") { queued } }", json!({ "e": id })),
        (ENDPOINTS, json!({})),
        (DELIVERIES, json!({ "e": id })),
    ];
    for token in [&manager, &rep] {
        for (query, variables) in &calls {
            let err = app.err(token, query, variables.clone()).await;
            assert_eq!(err["code"], "FORBIDDEN", "{query}: {err}");
        }
    }
    let node = app.ok(&rep, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(node["node"], Value::Null, "endpoints are invisible to non-admins");
    // The endpoint was not touched, and its changes are logged without the secret.
    let endpoints = app.ok(&admin, ENDPOINTS, json!({})).await;
    assert_eq!(endpoints["webhookEndpoints"][0]["enabled"], true);
    let feed = "{ changes(first: 100) { events { entity op changedFields } } }";
    let events = app.ok(&admin, feed, json!({})).await["changes"]["events"].clone();
    let logged = events.as_array().unwrap().iter().find(|e| e["entity"] == "WEBHOOK_ENDPOINT").unwrap().clone();
    let fields: Vec<&str> = logged["changedFields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(
        fields.contains(&"url") && !fields.contains(&"secret") && !fields.contains(&"previousSecret"),
        "{fields:?}"
    );
    let rep_feed = app.ok(&rep, feed, json!({})).await["changes"]["events"].clone();
    assert!(rep_feed.as_array().unwrap().iter().all(|e| e["entity"] != "WEBHOOK_ENDPOINT"));
});

db_test!(events_of_one_record_arrive_in_order_while_others_go_on, config = fast(), |app| {
    let admin = admin(&app).await;
    // Ada's creation fails twice; everything else is accepted at once.
    let receiver = Receiver::start(|r, earlier| {
        let ada_created = first_name(r) == "Ada" && r.json()["type"] == "contact.created";
        Reply::status(if ada_created && earlier < 2 { 503 } else { 200 })
    })
    .await;
    let (id, _) = endpoint(&app, &admin, &receiver.url, &["contact.*"]).await;
    let ada = contact(&app, &admin, "Ada").await;
    let update = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { version } } }";
    app.ok(&admin, update, json!({ "i": { "id": ada["id"], "version": ada["version"], "lastName": "Lovelace" } }))
        .await;
    contact(&app, &admin, "Grace").await;
    let got = receiver.wait_until(Duration::from_secs(15), |r| r.len() == 5).await;
    let kinds: Vec<String> =
        got.iter().map(|r| format!("{} {}", first_name(r), r.json()["type"].as_str().unwrap())).collect();
    let at = |what: &str| kinds.iter().rposition(|k| k == what).unwrap();
    assert!(at("Grace contact.created") < at("Ada contact.created"), "another record is not held up: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "Ada contact.updated").count(), 1, "{kinds:?}");
    assert!(at("Ada contact.created") < at("Ada contact.updated"), "one record's events in order: {kinds:?}");
    let updated = &got[at("Ada contact.updated")].json();
    let changes = updated["data"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{updated}");
    assert_eq!((changes[0]["field"].as_str(), changes[0]["after"].as_str()), (Some("lastName"), Some("Lovelace")));
    assert_eq!(updated["data"]["record"]["lastName"], "Lovelace");
    settled(&app, &admin, &id, 3).await;
});

db_test!(an_endpoint_failing_too_long_is_disabled, config = quick_to_disable(), |app| {
    let admin = admin(&app).await;
    let receiver = Receiver::start(|_, _| Reply::status(500)).await;
    let (id, _) = endpoint(&app, &admin, &receiver.url, &["*"]).await;
    contact(&app, &admin, "Doomed").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let disabled = loop {
        let endpoints = app.ok(&admin, ENDPOINTS, json!({})).await;
        let endpoint = endpoints["webhookEndpoints"][0].clone();
        if endpoint["enabled"] == false {
            break endpoint;
        }
        assert!(Instant::now() < deadline, "never disabled: {endpoint}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(disabled["disabledReason"].as_str().unwrap().contains("no successful delivery"), "{disabled}");
    assert!(disabled["disabledAt"].is_string() && disabled["failingSince"].is_string());
    // Nothing more is sent while it is disabled, and it cannot be sent to by hand.
    let attempts = receiver.received().len();
    contact(&app, &admin, "Unsent").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), attempts);
    let err = app.err(&admin, "mutation($e: ID!) { sendTestWebhook(endpointId: $e) { id } }", json!({ "e": id })).await;
    assert_eq!((err["code"].as_str(), err["field"].as_str()), (Some("BAD_USER_INPUT"), Some("endpointId")));
    // Enabled again, it resumes what was pending (the events in between need a replay).
    let enable = "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { endpoint { enabled disabledAt } } }";
    let enabled = app.ok(&admin, enable, json!({ "i": { "id": id, "enabled": true } })).await;
    assert_eq!(enabled["updateWebhookEndpoint"]["endpoint"], json!({ "enabled": true, "disabledAt": null }));
    receiver.wait_until(Duration::from_secs(10), |r| r.len() > attempts).await;
    assert!(receiver.received().iter().all(|r| first_name(r) == "Doomed"));
});

/// Two requests at once, so at most one per endpoint.
fn two_at_once() -> ServeConfig {
    let mut cfg = fast();
    cfg.webhooks.concurrency = 2;
    cfg
}

db_test!(a_slow_receiver_does_not_hold_up_the_others, config = two_at_once(), |app| {
    let admin = admin(&app).await;
    let slow = Receiver::start(|_, _| Reply { delay: Duration::from_millis(1500), ..Reply::status(200) }).await;
    let fast = Receiver::ok().await;
    // The slow endpoint first: its deliveries are queued, and due, before the fast one's.
    endpoint(&app, &admin, &slow.url, &["*"]).await;
    endpoint(&app, &admin, &fast.url, &["*"]).await;
    app.import_contacts(&admin, "F", 6, None).await;
    let started = Instant::now();
    fast.wait_until(Duration::from_secs(20), |r| r.len() == 6).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "the fast receiver waited {took:?} behind the slow one");
    assert!(slow.received().len() <= 3, "{} slow deliveries already", slow.received().len());
    slow.wait_until(Duration::from_secs(20), |r| r.len() == 6).await;
});

/// The environment of a delivering server process like `fast`.
const DELIVERING: [(&str, &str); 4] = [
    ("CRM_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
    ("CRM_WEBHOOK_RETRY_BASE_MS", "100"),
    ("CRM_WEBHOOK_TIMEOUT_SECS", "1"),
    ("CRM_WEBHOOK_CONCURRENCY", "2"),
];

db_test!(a_killed_server_sends_its_queue_after_a_restart, config = not_delivering(), |app| {
    use tests::replica::Replica;
    let admin = admin(&app).await;
    // Slow enough that the queue is still long when the server is killed.
    let receiver = Receiver::start(|_, _| Reply { delay: Duration::from_millis(100), ..Reply::status(200) }).await;
    endpoint(&app, &admin, &receiver.url, &["contact.created"]).await;
    let binary = env!("CARGO_BIN_EXE_replica");
    let mut server = Replica::start(binary, &app, &DELIVERING).await;
    app.import_contacts(&admin, "K", 40, None).await;
    receiver.wait_until(Duration::from_secs(20), |r| r.len() >= 5).await;
    server.kill();
    let before = distinct(&receiver.received());
    assert!(before < 40, "the queue was not cut short ({before} sent)");
    let _restarted = Replica::start(binary, &app, &DELIVERING).await;
    // Deliveries leased by the killed process are retried once their lease (timeout + 5 s) ends.
    let got = receiver.wait_until(Duration::from_secs(40), |r| distinct(r) == 40).await;
    let extra = got.len() - 40;
    assert!(extra <= 2, "only what was in flight at the kill is sent twice ({extra} extra)");
});

fn distinct(received: &[Received]) -> usize {
    received.iter().map(|r| r.id.as_str()).collect::<std::collections::HashSet<_>>().len()
}

#[cfg(crm_test_postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_once_per_endpoint() {
    use tests::replica::Replica;
    tests::run_test_with(tests::Engine::Postgres, not_delivering(), |app: TestApp| async move {
        let admin = admin(&app).await;
        let (first, second) = (Receiver::ok().await, Receiver::ok().await);
        endpoint(&app, &admin, &first.url, &["*"]).await;
        endpoint(&app, &admin, &second.url, &["contact.created"]).await;
        let binary = env!("CARGO_BIN_EXE_replica");
        let replicas =
            [Replica::start(binary, &app, &DELIVERING).await, Replica::start(binary, &app, &DELIVERING).await];
        app.import_contacts(&admin, "R", 200, None).await;
        for receiver in [&first, &second] {
            let got = receiver.wait_until(Duration::from_secs(60), |r| distinct(r) == 200).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(receiver.received().len(), 200, "every event exactly once (got {})", got.len());
        }
        drop(replicas);
    })
    .await;
}
