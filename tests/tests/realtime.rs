//! Real time (SPEC section 8): the change log written by the one write path, the exact
//! change feed under concurrent writers, and subscriptions over graphql-transport-ws —
//! scoped per subscriber, replayed after a reconnect, limited, closed on revocation — on
//! SQLite and PostgreSQL, through the real server and a real WebSocket client.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use entity::enums::Role;
use tests::ws::WsClient;
use tests::{TestApp, Value, db_test, gid, json};

const CREATE_CONTACT: &str =
    "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id version } } }";
const CREATE_DEAL: &str = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id version } } }";

async fn contact(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, CREATE_CONTACT, json!({ "i": input })).await["createContact"]["contact"].clone()
}

async fn pipeline(app: &TestApp, admin: &str) -> Vec<String> {
    let data = app
        .ok(
            admin,
            "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [
                { name: \"Lead\", probability: 10 }, { name: \"Demo\", probability: 40 }] }) {
              pipeline { stages { id } } } }",
            json!({}),
        )
        .await;
    let stages = data["createPipeline"]["pipeline"]["stages"].as_array().unwrap();
    stages.iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

async fn change_cursor(app: &TestApp, token: &str) -> String {
    app.ok(token, "{ changeCursor }", json!({})).await["changeCursor"].as_str().unwrap().to_owned()
}

/// Every event the caller sees after `after`, paged through `changes(after:, first:)`.
async fn feed_after(app: &TestApp, token: &str, mut after: String) -> (Vec<i64>, String) {
    let query = "query($a: String) { changes(after: $a, first: 100) { events { cursor } endCursor hasNextPage } }";
    let mut seqs = Vec::new();
    loop {
        let page = app.ok(token, query, json!({ "a": after })).await["changes"].clone();
        seqs.extend(
            page["events"].as_array().unwrap().iter().map(|e| e["cursor"].as_str().unwrap().parse::<i64>().unwrap()),
        );
        after = page["endCursor"].as_str().unwrap().to_owned();
        if page["hasNextPage"] == false {
            return (seqs, after);
        }
    }
}

db_test!(subscriptions_reach_only_the_subscribers_whose_scope_allows, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let north = app.team("North").await;
    let south = app.team("South").await;
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let (_, manager) = app.member("manager@example.com", Role::Manager, Some(north)).await;
    let (a_id, rep_a) = app.member("a@example.com", Role::SalesRep, Some(north)).await;
    let (_, rep_b) = app.member("b@example.com", Role::SalesRep, Some(north)).await;
    let (_, rep_c) = app.member("c@example.com", Role::SalesRep, Some(south)).await;
    let stages = pipeline(&app, &admin).await;
    let a_id = gid("User", a_id);

    let watch = "subscription { d: dealChanged { cursor op kind changedFields node { title owner { email } } } }";
    let people = "subscription { c: contactChanged { op kind node { firstName email } } }";
    let mut clients = Vec::new();
    for (name, token) in [
        ("admin", &admin),
        ("analyst", &analyst),
        ("manager", &manager),
        ("rep a", &rep_a),
        ("rep b", &rep_b),
        ("rep c", &rep_c),
    ] {
        let mut ws = WsClient::connect(&app.url, token).await;
        ws.subscribe("d", watch, json!({})).await;
        ws.subscribe("c", people, json!({})).await;
        clients.push((name, ws));
    }
    // Subscriptions start listening before they are acknowledged by a first event; give
    // the server a moment to run the subscribe messages.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Rep A's contact and deal, written by the admin.
    let lead = contact(&app, &admin, json!({ "firstName": "Ada", "email": "ada@example.com", "ownerId": a_id })).await;
    let deal = app
        .ok(
            &admin,
            CREATE_DEAL,
            json!({ "i": { "contactId": lead["id"], "title": "Licence", "amount": "100", "ownerId": a_id } }),
        )
        .await["createDeal"]["deal"]
        .clone();
    for (name, ws) in clients.iter_mut().filter(|(n, _)| matches!(*n, "admin" | "analyst" | "manager" | "rep a")) {
        let mut got = [ws.message().await.unwrap(), ws.message().await.unwrap()];
        got.sort_by_key(|m| m["id"].as_str().unwrap().to_owned());
        let (person, created) = (&got[0]["payload"], &got[1]["payload"]);
        assert_eq!(created["data"]["d"]["op"], "CREATED", "{name}: {created}");
        assert_eq!(
            created["data"]["d"]["node"],
            json!({ "title": "Licence", "owner": { "email": "a@example.com" } }),
            "{name}"
        );
        assert!(created["data"]["d"]["changedFields"].as_array().unwrap().contains(&json!("title")), "{name}");
        assert_eq!(person["data"]["c"]["node"]["firstName"], "Ada", "{name}");
        if *name == "analyst" {
            assert_eq!(person["data"]["c"]["node"]["email"], Value::Null, "analysts get PII null");
            assert_eq!(person["errors"][0]["extensions"]["code"], "FORBIDDEN", "{person}");
        } else {
            assert_eq!(person["data"]["c"]["node"]["email"], "ada@example.com", "{name}");
        }
    }
    // Reps B and C saw none of it: their next message is their own marker.
    for (name, token) in [("rep b", &rep_b), ("rep c", &rep_c)] {
        contact(&app, token, json!({ "firstName": format!("{name} marker") })).await;
        let ws = &mut clients.iter_mut().find(|(n, _)| *n == name).unwrap().1;
        let first = ws.next("c").await;
        assert_eq!(
            first["data"]["c"]["node"]["firstName"],
            format!("{name} marker"),
            "{name} saw another rep's record"
        );
    }

    // Rep A moves the deal: a DEAL_MOVED event with the stage as a changed field.
    app.ok(
        &rep_a,
        "mutation($i: MoveDealInput!) { moveDeal(input: $i) { deal { id } } }",
        json!({ "i": { "id": deal["id"], "version": deal["version"], "stageId": stages[1] } }),
    )
    .await;
    let ws = &mut clients.iter_mut().find(|(n, _)| *n == "manager").unwrap().1;
    // The manager also saw rep B's marker (same team) before the move.
    assert_eq!(ws.next("c").await["data"]["c"]["node"]["firstName"], "rep b marker");
    let moved = ws.next("d").await;
    assert_eq!(moved["data"]["d"]["op"], "UPDATED");
    assert_eq!(moved["data"]["d"]["kind"], "DEAL_MOVED");
    assert!(moved["data"]["d"]["changedFields"].as_array().unwrap().contains(&json!("stageId")), "{moved}");
    for (_, ws) in clients {
        ws.close().await;
    }
});

db_test!(changes_replays_what_a_client_missed_then_goes_live, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let (_, other) = app.signed_in("other@example.com", Role::SalesRep, None).await;
    let start = change_cursor(&app, &rep).await;
    app.import_contacts(&admin, "early", 100, Some("rep@example.com")).await;
    app.import_contacts(&admin, "theirs", 20, Some("other@example.com")).await;

    let feed =
        "subscription($a: String) { changes(after: $a) { cursor op entity node { ... on Contact { firstName } } } }";
    let mut ws = WsClient::connect(&app.url, &rep).await;
    ws.subscribe("f", feed, json!({ "a": start })).await;
    let mut cursors = Vec::new();
    for i in 0..100 {
        let event = ws.next("f").await["data"]["changes"].clone();
        assert_eq!(event["node"]["firstName"], format!("early{i}"), "replayed in order");
        cursors.push(event["cursor"].as_str().unwrap().parse::<i64>().unwrap());
    }
    // Live: a new contact arrives after the replay, and nothing of the other rep's.
    contact(&app, &rep, json!({ "firstName": "live" })).await;
    let live = ws.next("f").await["data"]["changes"].clone();
    assert_eq!(live["node"]["firstName"], "live");
    cursors.push(live["cursor"].as_str().unwrap().parse().unwrap());
    ws.quiet_for(Duration::from_millis(500)).await;
    let last = live["cursor"].as_str().unwrap().to_owned();
    ws.close().await;

    // Offline: 100 more are written. Reconnecting with the last cursor replays exactly
    // those, in order, and then goes live again.
    app.import_contacts(&admin, "missed", 100, Some("rep@example.com")).await;
    contact(&app, &other, json!({ "firstName": "not mine" })).await;
    let mut ws = WsClient::connect(&app.url, &rep).await;
    ws.subscribe("f", feed, json!({ "a": last })).await;
    for i in 0..100 {
        let event = ws.next("f").await["data"]["changes"].clone();
        assert_eq!(event["node"]["firstName"], format!("missed{i}"));
        cursors.push(event["cursor"].as_str().unwrap().parse().unwrap());
    }
    contact(&app, &rep, json!({ "firstName": "live again" })).await;
    assert_eq!(ws.next("f").await["data"]["changes"]["node"]["firstName"], "live again");
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "strictly increasing cursors: no repeat");
    // The replay and the HTTP feed agree exactly.
    let (http, _) = feed_after(&app, &rep, start.clone()).await;
    assert_eq!(&http[..cursors.len()], &cursors[..]);

    // An expired cursor fails the subscription with CURSOR_EXPIRED.
    let retention = api::service::changes::retention::Retention {
        events: chrono::Duration::zero(),
        idempotency_keys: chrono::Duration::hours(24),
    };
    api::service::changes::retention::purge(&app.db, retention, api::service::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    ws.subscribe("old", feed, json!({ "a": start })).await;
    let refused = ws.message().await.unwrap();
    assert_eq!(refused["id"], "old");
    let errors =
        if refused["type"] == "error" { refused["payload"].clone() } else { refused["payload"]["errors"].clone() };
    assert_eq!(errors[0]["extensions"]["code"], "CURSOR_EXPIRED", "{refused}");
    ws.close().await;
});

/// No cost budgets: the readers below poll as fast as they can.
fn unmetered() -> api::config::ServeConfig {
    tests::configured(|c| c.limits.cost_budget_per_minute = 0)
}

db_test!(concurrent_writers_and_cursor_readers_never_skip_or_repeat, config = unmetered(), |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    if app.engine == tests::Engine::Postgres {
        // Widen the window between taking a sequence number and committing (as a slow disk
        // or a busy server would): every other write pauses right after appending its
        // event. Sequence numbers handed out in one order and committed in another would
        // now be seen by the readers below.
        use sea_orm::ConnectionTrait;
        app.db
            .execute_unprepared(
                "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.record_id % 2 = 0 THEN PERFORM pg_sleep(0.02); END IF; RETURN NEW; END $$; \
                 CREATE TRIGGER slow_commit AFTER INSERT ON change_events FOR EACH ROW EXECUTE FUNCTION slow_commit()",
            )
            .await
            .unwrap();
    }
    let start = change_cursor(&app, &admin).await;
    let mut ws = WsClient::connect(&app.url, &admin).await;
    ws.subscribe("f", "subscription($a: String) { changes(after: $a) { cursor } }", json!({ "a": start })).await;
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (app, admin) = (app.clone(), admin.clone());
            tokio::spawn(async move {
                for i in 0..EACH {
                    contact(&app, &admin, json!({ "firstName": format!("w{w}-{i}") })).await;
                }
            })
        })
        .collect();
    // Readers polling the feed while the writers commit in whatever order they do.
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (app, admin, start) = (app.clone(), admin.clone(), start.clone());
            tokio::spawn(async move {
                let (mut seen, mut cursor) = (Vec::new(), start);
                let deadline = Instant::now() + Duration::from_secs(60);
                while seen.len() < WRITERS * EACH && Instant::now() < deadline {
                    let (more, next) = feed_after(&app, &admin, cursor).await;
                    seen.extend(more);
                    cursor = next;
                }
                seen
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let mut streamed = Vec::new();
    while streamed.len() < WRITERS * EACH {
        streamed.push(ws.next("f").await["data"]["changes"]["cursor"].as_str().unwrap().parse::<i64>().unwrap());
    }
    let (everything, _) = feed_after(&app, &admin, start).await;
    assert_eq!(everything.len(), WRITERS * EACH, "one event per write");
    for reader in readers {
        let polled = reader.await.unwrap();
        assert_eq!(polled, everything, "a polling reader skipped or repeated an event");
    }
    assert_eq!(streamed, everything, "the subscriber skipped or repeated an event");
    let in_table = app.count("SELECT COUNT(*) FROM change_events WHERE entity = 'CONTACT'").await;
    assert_eq!(in_table, (WRITERS * EACH) as i64);
    ws.close().await;
});

db_test!(a_failed_write_leaves_no_event, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let lead = contact(&app, &rep, json!({ "firstName": "Ada" })).await;
    let events = || app.count("SELECT COUNT(*) FROM change_events");
    let before = events().await;
    // Refused before anything is written.
    let stale = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { id } } }";
    let conflict = app.err(&rep, stale, json!({ "i": { "id": lead["id"], "version": 7, "firstName": "X" } })).await;
    assert_eq!(conflict["code"], "CONFLICT");
    assert_eq!(events().await, before);

    // Fails once the events are appended: on PostgreSQL a deferred constraint trigger on
    // the log raises at COMMIT, after every statement of the write; on SQLite (no deferred
    // triggers) a trigger fails the append itself. The write and its events roll back.
    let (create, drop) = match app.engine {
        tests::Engine::Sqlite => (
            "CREATE TRIGGER forced_failure AFTER INSERT ON change_events BEGIN SELECT RAISE(ABORT, 'forced'); END"
                .to_owned(),
            "DROP TRIGGER forced_failure",
        ),
        tests::Engine::Postgres => (
            "CREATE FUNCTION forced_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'forced'; END $$; \
             CREATE CONSTRAINT TRIGGER forced_failure AFTER INSERT ON change_events DEFERRABLE INITIALLY DEFERRED \
             FOR EACH ROW EXECUTE FUNCTION forced_failure()"
                .to_owned(),
            "DROP TRIGGER forced_failure ON change_events",
        ),
    };
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared(&create).await.unwrap();
    let schedule = "mutation($i: ScheduleMeetingInput!) { scheduleMeeting(input: $i) { meeting { id } } }";
    let input = json!({ "i": { "contactId": lead["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z", "clientKey": "k1" } });
    let failed = app.err(&rep, schedule, input.clone()).await;
    assert_eq!(failed["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(events().await, before, "the appended events rolled back with the write");
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
    app.db.execute_unprepared(drop).await.unwrap();
    // The same request now goes through, once.
    app.ok(&rep, schedule, input.clone()).await;
    app.ok(&rep, schedule, input).await;
    assert_eq!(events().await, before + 1);
    let kinds = app.count("SELECT COUNT(*) FROM change_events WHERE entity = 'MEETING' AND op = 'CREATED'").await;
    assert_eq!(kinds, 1);
});

db_test!(revoked_credentials_close_their_sockets_at_once, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (rep_id, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let key = app
        .ok(&admin, "mutation { createApiKey(input: { name: \"BI\" }) { key apiKey { id } } }", json!({}))
        .await["createApiKey"]
        .clone();
    let mut by_key = WsClient::connect(&app.url, key["key"].as_str().unwrap()).await;
    by_key.subscribe("d", "subscription { dealChanged { cursor } }", json!({})).await;
    let mut by_rep = WsClient::connect(&app.url, &rep).await;
    by_rep.subscribe("d", "subscription { dealChanged { cursor } }", json!({})).await;

    let revoked = Instant::now();
    app.ok(
        &admin,
        "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }",
        json!({ "id": key["apiKey"]["id"] }),
    )
    .await;
    let closed = by_key.closed_within(Duration::from_secs(3)).await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(revoked.elapsed() < Duration::from_secs(1), "closed after {:?}", revoked.elapsed());

    let deactivated = Instant::now();
    let update = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { active } } }";
    app.ok(&admin, update, json!({ "i": { "id": gid("User", rep_id), "version": 1, "active": false } })).await;
    let closed = by_rep.closed_within(Duration::from_secs(3)).await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(deactivated.elapsed() < Duration::from_secs(1), "closed after {:?}", deactivated.elapsed());

    // An API key that expires while its socket is open closes it (expiry has no leeway).
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let expiring = app
        .ok(
            &admin,
            "mutation($at: DateTime) { createApiKey(input: { name: \"Soon\", expiresAt: $at }) { key } }",
            json!({ "at": soon }),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut short_lived = WsClient::connect(&app.url, &expiring).await;
    let closed = short_lived.closed_within(Duration::from_secs(5)).await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    let expired_at = chrono::DateTime::parse_from_rfc3339(&soon).unwrap();
    let late = chrono::Utc::now().signed_duration_since(expired_at);
    assert!(late < chrono::Duration::milliseconds(1500), "closed {late:?} after the key expired");

    // Credentials are checked in connection_init like HTTP ones.
    for payload in
        [json!({}), json!({ "authorization": "Bearer nonsense" }), json!({ "Authorization": format!("Bearer {rep}") })]
    {
        let mut ws = WsClient::open(&app.url).await;
        ws.init(payload.clone()).await;
        let refused = ws.closed_within(Duration::from_secs(3)).await;
        assert_eq!(refused.code, 4403, "{payload}: {refused:?}");
    }
    // The key is matched case-insensitively.
    let mut ws = WsClient::open(&app.url).await;
    ws.init(json!({ "AUTHORIZATION": format!("Bearer {admin}") })).await;
    assert_eq!(ws.message().await.unwrap()["type"], "connection_ack");
    ws.close().await;
});

db_test!(subscription_limits_are_enforced, |app| {
    let mut cfg = api::config::ServeConfig::default();
    cfg.auth.credential_cache_ms = 3_600_000;
    cfg.realtime.max_subscriptions = 2;
    cfg.realtime.max_connections_per_credential = 2;
    cfg.realtime.keepalive_secs = 1;
    let limited = app.with_config(cfg).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;

    // Streams start when first polled: open the subscriptions one at a time, each proven
    // live by an event, then the one over the limit.
    let mut ws = WsClient::connect(&limited.url, &rep).await;
    let watch = "subscription { contactChanged { node { firstName } } }";
    ws.subscribe("1", watch, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    contact(&limited, &rep, json!({ "firstName": "one" })).await;
    assert_eq!(ws.next("1").await["data"]["contactChanged"]["node"]["firstName"], "one");
    ws.subscribe("2", watch, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    contact(&limited, &rep, json!({ "firstName": "two" })).await;
    let mut got = [ws.message().await.unwrap(), ws.message().await.unwrap()];
    got.sort_by_key(|m| m["id"].as_str().unwrap().to_owned());
    assert_eq!((got[0]["id"].as_str(), got[1]["id"].as_str()), (Some("1"), Some("2")));
    ws.subscribe("3", "subscription { dealChanged { cursor } }", json!({})).await;
    let refused = ws.message().await.unwrap();
    assert_eq!(refused["id"], "3", "{refused}");
    let errors =
        if refused["type"] == "error" { refused["payload"].clone() } else { refused["payload"]["errors"].clone() };
    assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    // Completing one frees its slot.
    ws.send(json!({ "id": "2", "type": "complete" })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.subscribe("3", watch, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    contact(&limited, &rep, json!({ "firstName": "three" })).await;
    let mut got = ws.data_messages(2).await;
    got.sort_by_key(|m| m["id"].as_str().unwrap().to_owned());
    assert_eq!((got[0]["id"].as_str(), got[1]["id"].as_str()), (Some("1"), Some("3")), "{got:?}");

    // Documents are limited as on HTTP: aliases (checked before anything runs) and depth.
    let aliases: String = (0..16).map(|i| format!("a{i}: dealChanged {{ cursor }} ")).collect();
    ws.subscribe("4", &format!("subscription {{ {aliases} }}"), json!({})).await;
    let too_many = ws.message().await.unwrap();
    assert_eq!((too_many["id"].as_str(), too_many["type"].as_str()), (Some("4"), Some("error")), "{too_many}");
    assert_eq!(too_many["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    let deep = "subscription { dealChanged { node { contact { deals(first: 1) { nodes { contact { deals(first: 1) {
        nodes { contact { deals(first: 1) { nodes { contact { firstName } } } } } } } } } } } } }";
    ws.subscribe("5", deep, json!({})).await;
    let too_deep = ws.message().await.unwrap();
    assert_eq!((too_deep["id"].as_str(), too_deep["type"].as_str()), (Some("5"), Some("error")), "{too_deep}");
    assert_eq!(too_deep["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{too_deep}");

    // Keep-alive: the server pings an idle connection (every second here).
    ws.quiet_for(Duration::from_millis(2500)).await;
    assert!(ws.pings >= 2, "{} pings", ws.pings);

    // Connections per credential.
    let second = WsClient::connect(&limited.url, &rep).await;
    let mut third = WsClient::open(&limited.url).await;
    third.init(json!({ "Authorization": format!("Bearer {rep}") })).await;
    assert_eq!(third.closed_within(Duration::from_secs(3)).await.code, 4429);
    second.close().await;
    ws.close().await;
    // Subscriptions are a WebSocket operation only.
    let over_http = app.gql(Some(&rep), "subscription { dealChanged { cursor } }", json!({})).await;
    assert!(over_http["errors"][0]["extensions"]["code"].is_string(), "{over_http}");
});

db_test!(a_client_that_stops_reading_is_closed, |app| {
    let mut cfg = api::config::ServeConfig::default();
    cfg.auth.credential_cache_ms = 3_600_000;
    cfg.realtime.event_buffer = 8;
    let limited = app.with_config(cfg).await;
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let mut ws = WsClient::connect_with_receive_buffer(&limited.url, &admin, 4096).await;
    ws.subscribe("c", "subscription { contactChanged { cursor op changedFields } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Through the limited server's own write path, so its subscribers are woken at once.
    for batch in 0..3 {
        limited.import_contacts(&admin, &format!("burst{batch}"), 1000, Some("admin@example.com")).await;
    }
    // The client has read nothing so far; now it drains what reached it and must find the
    // close frame at the end instead of all 3000 events.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut delivered = 0;
    let closed = loop {
        match ws.message_within(Duration::from_secs(15)).await.expect("closed in time") {
            Ok(_) => delivered += 1,
            Err(closed) => break closed,
        }
    };
    assert_eq!(closed.code, 4499, "{closed:?} after {delivered} messages");
    assert!(delivered < 3000, "{delivered}");
});

db_test!(the_graphql_ws_client_works_unmodified, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let ws_url = format!("{}/graphql/ws", app.url.replacen("http://", "ws://", 1));
    let mut node = tokio::process::Command::new("node")
        .arg(tests::js_client("graphql-ws-check.mjs"))
        .args([ws_url.as_str(), rep.as_str(), "3"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(node.stdout.take().unwrap()).lines();
    assert_eq!(next_line(&mut lines).await, r#"{"connected":true}"#);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for name in ["one", "two", "three"] {
        contact(&app, &rep, json!({ "firstName": name })).await;
    }
    for name in ["one", "two", "three"] {
        let event: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
        assert_eq!(
            (event["op"].as_str(), event["node"]["firstName"].as_str()),
            (Some("CREATED"), Some(name)),
            "{event}"
        );
    }
    assert_eq!(next_line(&mut lines).await, "done");
    assert!(node.wait().await.unwrap().success());
});

db_test!(the_server_purges_expired_events_and_keys_by_itself, |app| {
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let start = change_cursor(&app, &rep).await;
    let lead = contact(&app, &rep, json!({ "firstName": "Ada" })).await;
    let schedule = "mutation($i: ScheduleMeetingInput!) { scheduleMeeting(input: $i) { meeting { id } } }";
    let input =
        json!({ "contactId": lead["id"], "kind": "CALL", "scheduledAt": "2026-05-01T10:00:00Z", "clientKey": "k" });
    app.ok(&rep, schedule, json!({ "i": input })).await;
    let end = change_cursor(&app, &rep).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    // A server whose retentions are zero purges everything older than its start, by itself.
    let mut cfg = api::config::ServeConfig::default();
    cfg.realtime.change_retention_days = 0;
    cfg.realtime.idempotency_retention_hours = 0;
    tokio::time::sleep(Duration::from_millis(10)).await;
    app.with_config(cfg).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.count("SELECT COUNT(*) FROM change_events").await > 0
        || app.count("SELECT COUNT(*) FROM idempotency_keys").await > 0
    {
        assert!(Instant::now() < deadline, "nothing was purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let feed = "query($a: String) { changes(after: $a) { events { cursor } endCursor } }";
    let expired = app.err(&rep, feed, json!({ "a": start })).await;
    assert_eq!(expired["code"], "CURSOR_EXPIRED");
    // "Now" stays where it was, although the log is empty, and reads fine.
    assert_eq!(change_cursor(&app, &rep).await, end);
    let now = app.ok(&rep, feed, json!({ "a": end })).await;
    assert_eq!(now["changes"]["events"], json!([]));
});

async fn next_line(lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) -> String {
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("node answers in time");
    line.unwrap().expect("node printed a line")
}

#[cfg(crm_test_postgres)]
mod replicas {
    use super::*;

    use tests::replica::Replica;

    async fn replica(app: &TestApp) -> Replica {
        // Long enough that only the shared bus can explain a change seen within 1 s.
        Replica::start(env!("CARGO_BIN_EXE_replica"), app, &[("CRM_CREDENTIAL_CACHE_MS", "60000")]).await
    }

    /// A database outage: writes fail with UNAVAILABLE while it lasts; once the database
    /// is back, the same subscription (still open) receives what is written next, and the
    /// LISTEN connection has reconnected by itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscriptions_survive_a_database_outage() {
        // Kept outside the body too: the cleanup after it still needs the server running.
        let pg = std::sync::Arc::new(tests::private_pg::PrivatePostgres::start());
        let server = pg.clone();
        tests::run_test_at(Some(pg.url()), |app: TestApp| async move {
            let pg = server;
            let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
            let mut ws = WsClient::connect(&app.url, &rep).await;
            ws.subscribe("c", "subscription { contactChanged { node { firstName } } }", json!({})).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            contact(&app, &rep, json!({ "firstName": "before" })).await;
            assert_eq!(ws.next("c").await["data"]["contactChanged"]["node"]["firstName"], "before");

            pg.stop();
            let down = app.gql(Some(&rep), CREATE_CONTACT, json!({ "i": { "firstName": "lost" } })).await;
            assert_eq!(down["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{down}");
            // Long enough for the LISTEN connection and the log reader to notice.
            tokio::time::sleep(Duration::from_secs(2)).await;
            pg.start_again();

            let back = Instant::now();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let body = app.gql(Some(&rep), CREATE_CONTACT, json!({ "i": { "firstName": "after" } })).await;
                if body.get("errors").is_none() {
                    break;
                }
                assert!(Instant::now() < deadline, "writes did not recover: {body}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let event = ws.message_within(Duration::from_secs(10)).await.expect("an event after the outage");
            assert!(back.elapsed() < Duration::from_secs(15), "recovered after {:?}", back.elapsed());
            let event = event.unwrap_or_else(|closed| panic!("the subscription was closed: {closed:?}"));
            assert_eq!(event["payload"]["data"]["contactChanged"]["node"]["firstName"], "after", "{event}");
            // Nothing was written while the database was down.
            assert_eq!(app.count("SELECT COUNT(*) FROM contacts WHERE first_name = 'lost'").await, 0);
            ws.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_share_events_and_credential_changes() {
        tests::run_test(tests::Engine::Postgres, |app: TestApp| async move {
            let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
            let (rep_id, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
            let (one, two) = (replica(&app).await, replica(&app).await);
            let (first, second) = (one.on(&app), two.on(&app));

            let mut ws = WsClient::connect(&second.url, &rep).await;
            ws.subscribe("c", "subscription { contactChanged { op node { firstName } } }", json!({})).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let written = Instant::now();
            contact(&first, &rep, json!({ "firstName": "from replica one" })).await;
            let event = ws.next("c").await;
            assert!(written.elapsed() < Duration::from_secs(1), "arrived after {:?}", written.elapsed());
            assert_eq!(event["data"]["contactChanged"]["node"]["firstName"], "from replica one");

            // Warm replica two's credential cache, then deactivate the rep through replica one.
            second.ok(&rep, "{ me { id } }", json!({})).await;
            let update = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { active } } }";
            let deactivated = Instant::now();
            first
                .ok(&admin, update, json!({ "i": { "id": gid("User", rep_id), "version": 1, "active": false } }))
                .await;
            loop {
                let body = second.gql(Some(&rep), "{ me { id } }", json!({})).await;
                if body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
                    break;
                }
                assert!(
                    deactivated.elapsed() < Duration::from_secs(1),
                    "still accepted after {:?}",
                    deactivated.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let closed = ws.closed_within(Duration::from_secs(3)).await;
            assert_eq!(closed.code, 4403);
            assert!(deactivated.elapsed() < Duration::from_secs(1), "socket closed after {:?}", deactivated.elapsed());
        })
        .await;
    }
}
