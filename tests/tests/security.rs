//! Authentication and access: API keys, session and external tokens, every way a credential
//! can be bad — on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entity::enums::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ConnectionTrait, Statement};
use tests::{TestApp, Value, db_test, gid, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
const CREATE_KEY: &str = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) {
    key apiKey { id name role keyPrefix active lastUsedAt revokedAt expiresAt createdBy { email } } } }";

/// `errors[0].extensions.code` of a response that must carry no data.
fn rejected(body: &Value) -> &str {
    assert!(body["data"].is_null() || body["data"]["me"].is_null(), "no data for a rejected credential: {body}");
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>")
}

db_test!(api_keys_are_shown_once_stored_hashed_scoped_and_revocable, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let (_, rep) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    app.ok(
        &rep,
        "mutation { createContact(input: { firstName: \"Pat\", email: \"pat@example.com\" }) { contact { id } } }",
        json!({}),
    )
    .await;

    let created = app.ok(&admin, CREATE_KEY, json!({ "i": { "name": "BI export" } })).await["createApiKey"].clone();
    let key = created["key"].as_str().unwrap().to_owned();
    let record = &created["apiKey"];
    assert!(key.starts_with("crm_") && key.len() == 47, "{key}");
    assert_eq!(record["role"], "ANALYST", "read-only by default");
    assert_eq!(record["keyPrefix"], key[..12]);
    assert_eq!((record["active"].as_bool(), record["lastUsedAt"].is_null()), (Some(true), true));
    assert_eq!(record["createdBy"]["email"], "admin@example.com");
    // Only a hash is stored, apart from the key's record: the key appears nowhere.
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM api_key_hashes WHERE key_hash = '{}'", tests::sha256_hex(&key))).await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_keys k JOIN api_key_hashes h ON h.api_key_id = k.id \
             WHERE h.key_hash = '{key}' OR k.key_prefix = '{key}' OR k.name = '{key}'"
        ))
        .await,
        0
    );

    // The key reads everything like an ANALYST: contact PII is null with a FORBIDDEN entry.
    let body = app.gql(Some(&key), "{ contacts { nodes { firstName email } } }", json!({})).await;
    assert_eq!(body["data"]["contacts"]["nodes"], json!([{ "firstName": "Pat", "email": null }]));
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let write =
        app.err(&key, "mutation { createContact(input: { firstName: \"X\" }) { contact { id } } }", json!({})).await;
    assert_eq!(write["code"], "FORBIDDEN");
    let listed = app.ok(&admin, "{ apiKeys { name lastUsedAt } }", json!({})).await;
    assert!(listed["apiKeys"][0]["lastUsedAt"].is_string(), "use is recorded: {listed}");

    // Keys are ADMIN business; to others they do not exist.
    let id = record["id"].as_str().unwrap();
    assert_eq!(app.err(&rep, CREATE_KEY, json!({ "i": { "name": "mine" } })).await["code"], "FORBIDDEN");
    assert_eq!(app.err(&rep, "{ apiKeys { id } }", json!({})).await["code"], "FORBIDDEN");
    assert_eq!(
        app.ok(&rep, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await["node"],
        Value::Null
    );
    assert_eq!(app.ok(&admin, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await["node"]["id"], id);
    assert_eq!(
        app.err(&key, CREATE_KEY, json!({ "i": { "name": "escalate", "role": "ADMIN" } })).await["code"],
        "FORBIDDEN"
    );

    // Roles: ANALYST or ADMIN only; an ADMIN key writes, on behalf of its creator.
    let per_user = app.err(&admin, CREATE_KEY, json!({ "i": { "name": "rep key", "role": "SALES_REP" } })).await;
    assert_eq!((per_user["code"].as_str(), per_user["field"].as_str()), (Some("BAD_USER_INPUT"), Some("role")));
    let past =
        app.err(&admin, CREATE_KEY, json!({ "i": { "name": "old", "expiresAt": "2020-01-01T00:00:00Z" } })).await;
    assert_eq!(past["field"], "expiresAt");
    let admin_key =
        app.ok(&admin, CREATE_KEY, json!({ "i": { "name": "sync", "role": "ADMIN" } })).await["createApiKey"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
    let made = app
        .ok(
            &admin_key,
            "mutation { createContact(input: { firstName: \"Via key\" }) { contact { owner { email } } } }",
            json!({}),
        )
        .await;
    assert_eq!(made["createContact"]["contact"]["owner"]["email"], "admin@example.com");

    // Revoked and expired keys stop working at once; unknown ones never did.
    let revoked = app
        .ok(
            &admin,
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { active revokedAt } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoked["revokeApiKey"]["apiKey"]["active"], false);
    assert_eq!(rejected(&app.gql(Some(&key), "{ me { id } }", json!({})).await), "UNAUTHENTICATED");
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let expiring =
        app.ok(&admin, CREATE_KEY, json!({ "i": { "name": "trial", "expiresAt": soon } })).await["createApiKey"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(app.gql(Some(&expiring), "{ me { id } }", json!({})).await["errors"].is_null(), "valid until it expires");
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(rejected(&app.gql(Some(&expiring), "{ me { id } }", json!({})).await), "UNAUTHENTICATED");
    let unknown = format!("crm_{}", "A".repeat(43));
    assert_eq!(rejected(&app.gql(Some(&unknown), "{ me { id } }", json!({})).await), "UNAUTHENTICATED");
    let still = app.gql(Some(&admin_key), "{ me { email } }", json!({})).await;
    assert_eq!(still["data"]["me"]["email"], "admin@example.com", "other keys still work: {still}");
});

/// The server's session secret, as kept in the `settings` table.
async fn session_secret(app: &TestApp) -> Vec<u8> {
    let backend = app.db.get_database_backend();
    let sql = "SELECT value FROM settings WHERE key = 'jwt_secret'";
    let row = app.db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
    STANDARD.decode(row.try_get_by_index::<String>(0).unwrap()).unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `claims` with each key of `changes` set, or removed when its value is null.
fn changed(claims: &Value, changes: &Value) -> Value {
    let mut c = claims.clone();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c.as_object_mut().unwrap().insert(k.clone(), v.clone());
        }
    }
    c
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

db_test!(bad_session_credentials_are_unauthenticated_never_anonymous, |app| {
    let (_, token) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let secret = session_secret(&app).await;
    let claims = claims_of(&token);
    let now = chrono::Utc::now().timestamp();
    let with = |changes: Value| changed(&claims, &changes);
    // Re-signing the real claims with the real secret works, so each rejection below is
    // about the one thing changed.
    let me = "{ me { email } }";
    assert_eq!(app.gql(Some(&hs256(&claims, &secret)), me, json!({})).await["data"]["me"]["email"], "rep@example.com");

    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = token.split('.').nth(1).unwrap();
    let signature = token.split('.').nth(2).unwrap();
    let other_user = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(json!({ "sub": "1" }))).unwrap());
    let cases: Vec<(&str, String)> = vec![
        ("unsigned, alg none", format!("Bearer {header_none}.{payload}.")),
        ("wrong secret", format!("Bearer {}", hs256(&claims, b"not the server's secret at all!!"))),
        ("expired beyond leeway", format!("Bearer {}", hs256(&with(json!({ "exp": now - 120 })), &secret))),
        ("no exp", format!("Bearer {}", hs256(&with(json!({ "exp": null })), &secret))),
        ("nbf in the future", format!("Bearer {}", hs256(&with(json!({ "nbf": now + 600 })), &secret))),
        ("nbf as a string", format!("Bearer {}", hs256(&with(json!({ "nbf": now.to_string() })), &secret))),
        ("wrong issuer", format!("Bearer {}", hs256(&with(json!({ "iss": "someone-else" })), &secret))),
        ("tampered payload", format!("Bearer {}.{other_user}.{signature}", token.split('.').next().unwrap())),
        ("user that does not exist", format!("Bearer {}", hs256(&with(json!({ "sub": "987654" })), &secret))),
        (
            "old token version",
            format!("Bearer {}", hs256(&with(json!({ "tv": claims["tv"].as_i64().unwrap() - 1 })), &secret)),
        ),
        ("garbage", "Bearer garbage".into()),
        ("empty bearer", "Bearer ".into()),
        ("empty header", String::new()),
        ("another scheme", format!("Basic {}", STANDARD.encode("rep@example.com:pw"))),
    ];
    for (what, authorization) in &cases {
        let body = app.gql_with_authorization(Some(authorization), me).await;
        assert_eq!(rejected(&body), "UNAUTHENTICATED", "{what}: {body}");
    }
    // Even `login` is refused with a bad credential attached: it is never treated as anonymous.
    let login = "mutation { login(input: { email: \"rep@example.com\", password: \"x\" }) { token } }";
    assert_eq!(rejected(&app.gql_with_authorization(Some("Bearer garbage"), login).await), "UNAUTHENTICATED");

    // Deactivating the user ends their sessions on the next request.
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let id = gid("User", claims["sub"].as_str().unwrap().parse().unwrap());
    let user =
        app.ok(&admin, "query($id: ID!) { node(id: $id) { ... on User { version } } }", json!({ "id": id })).await;
    app.ok(
        &admin,
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { active } } }",
        json!({ "i": { "id": id, "version": user["node"]["version"], "active": false } }),
    )
    .await;
    assert_eq!(rejected(&app.gql(Some(&token), me, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(app.ok(&admin, me, json!({})).await["me"]["email"], "admin@example.com", "the server serves others");
});

db_test!(credential_rows_are_cached_for_their_ttl_only, |app| {
    let (_, token) = app.signed_in("rep@example.com", Role::SalesRep, None).await;
    let me = "{ me { email } }";
    let with_ttl = |ms: u64| {
        let mut cfg = api::config::ServeConfig::default();
        cfg.auth.credential_cache_ms = ms;
        cfg
    };
    let uncached = app.with_config(with_ttl(0)).await;
    let short = app.with_config(with_ttl(300)).await;
    for server in [&app, &short] {
        assert_eq!(server.ok(&token, me, json!({})).await["me"]["email"], "rep@example.com");
    }
    // Another process (a second replica, the CLI) deactivates the user behind this
    // server's back: no `updateUser` here drops the cached copies.
    let deactivate = "UPDATE users SET active = false WHERE email = 'rep@example.com'";
    app.db.execute_unprepared(deactivate).await.unwrap();
    assert_eq!(rejected(&uncached.gql(Some(&token), me, json!({})).await), "UNAUTHENTICATED", "no cache");
    let cached = app.gql(Some(&token), me, json!({})).await;
    assert_eq!(cached["data"]["me"]["email"], "rep@example.com", "within the TTL the copy is used: {cached}");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(rejected(&short.gql(Some(&token), me, json!({})).await), "UNAUTHENTICATED", "after the TTL");
});

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let header = Header { kid: kid.map(str::to_owned), ..Header::new(alg) };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

db_test!(external_identity_provider_tokens_are_pinned_and_checked, |app| {
    app.create_user("sso@example.com", Role::Manager, None).await;
    let read = |name: &str| std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
    let rsa = EncodingKey::from_rsa_pem(&read("idp_rsa_private.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(&read("idp_ec_private.pem")).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iss": "https://idp.example", "aud": "crm-api", "sub": "u-1", "email": "SSO@example.com",
                         "iat": now, "exp": now + 600 });
    let with = |changes: Value| changed(&claims, &changes);
    let me = "{ me { email role } }";

    let mut cfg = api::config::ServeConfig::default();
    cfg.auth.jwt_external_algorithm = Some("RS256".into());
    cfg.auth.jwt_external_public_key_file = Some(format!("{FIXTURES}/idp_rsa_public.pem").into());
    cfg.auth.jwt_external_issuer = Some("https://idp.example".into());
    cfg.auth.jwt_external_audience = Some("crm-api".into());
    let rs = app.with_config(cfg.clone()).await;
    let good = sign(Algorithm::RS256, None, &claims, &rsa);
    assert_eq!(
        rs.gql(Some(&good), me, json!({})).await["data"]["me"],
        json!({ "email": "sso@example.com", "role": "MANAGER" })
    );
    let public_pem = read("idp_rsa_public.pem");
    let cases = [
        (
            "HS256 keyed with the public key",
            sign(Algorithm::HS256, None, &claims, &EncodingKey::from_secret(&public_pem)),
        ),
        ("another algorithm (ES256)", sign(Algorithm::ES256, None, &claims, &ec)),
        ("no iss", sign(Algorithm::RS256, None, &with(json!({ "iss": null })), &rsa)),
        ("wrong iss", sign(Algorithm::RS256, None, &with(json!({ "iss": "https://evil.example" })), &rsa)),
        ("no aud", sign(Algorithm::RS256, None, &with(json!({ "aud": null })), &rsa)),
        ("wrong aud", sign(Algorithm::RS256, None, &with(json!({ "aud": "another-api" })), &rsa)),
        ("no exp", sign(Algorithm::RS256, None, &with(json!({ "exp": null })), &rsa)),
        ("expired", sign(Algorithm::RS256, None, &with(json!({ "exp": now - 120 })), &rsa)),
        ("unknown user", sign(Algorithm::RS256, None, &with(json!({ "email": "nobody@example.com" })), &rsa)),
        ("no email claim", sign(Algorithm::RS256, None, &with(json!({ "email": null })), &rsa)),
    ];
    for (what, token) in &cases {
        assert_eq!(rejected(&rs.gql(Some(token), me, json!({})).await), "UNAUTHENTICATED", "{what}");
    }

    // A JWKS file: the key is chosen by `kid`; an unknown kid is refused.
    cfg.auth.jwt_external_algorithm = Some("ES256".into());
    cfg.auth.jwt_external_public_key_file = None;
    cfg.auth.jwt_external_jwks_file = Some(format!("{FIXTURES}/idp_ec_jwks.json").into());
    let es = app.with_config(cfg).await;
    let by_kid = sign(Algorithm::ES256, Some("idp-ec-1"), &claims, &ec);
    assert_eq!(es.gql(Some(&by_kid), me, json!({})).await["data"]["me"]["email"], "sso@example.com");
    let unknown_kid = sign(Algorithm::ES256, Some("rotated-away"), &claims, &ec);
    assert_eq!(rejected(&es.gql(Some(&unknown_kid), me, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(rejected(&es.gql(Some(&good), me, json!({})).await), "UNAUTHENTICATED", "RS256 not configured here");
    // Session tokens from `login` keep working beside the external provider.
    let session = app.login("sso@example.com").await;
    assert_eq!(es.gql(Some(&session), me, json!({})).await["data"]["me"]["email"], "sso@example.com");
});

/// `{ me { team { members { team … { name } } } } }` with `levels` fields from root to leaf.
fn nested(levels: usize) -> String {
    let mut fields = vec!["me".to_owned()];
    fields.extend((1..levels - 1).map(|i| if i % 2 == 1 { "team".to_owned() } else { "members".to_owned() }));
    let open: String = fields.iter().map(|f| format!("{f} {{ ")).collect();
    format!("{{ {open}name {} }}", "} ".repeat(fields.len()))
}

db_test!(limits_reject_before_any_sql_and_the_server_keeps_serving, |app| {
    let (_, token) = app.signed_in("ada@example.com", Role::Admin, None).await;
    assert!(app.gql(Some(&token), &nested(10), json!({})).await["errors"].is_null(), "depth 10 is allowed");

    let fragment_chain = |n: usize| {
        let defs: String = (0..n)
            .map(|i| {
                if i + 1 < n {
                    format!("fragment F{i} on Query {{ ...F{} }} ", i + 1)
                } else {
                    format!("fragment F{i} on Query {{ __typename }} ")
                }
            })
            .collect();
        format!("{{ ...F0 }} {defs}")
    };
    assert!(
        app.gql(Some(&token), &fragment_chain(32), json!({})).await["errors"].is_null(),
        "32 nested fragments are allowed"
    );
    let aliases =
        |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
    let directives = format!("{{ __typename {} }}", "@include(if: true) ".repeat(11));
    let cases: Vec<(&str, String, &str)> = vec![
        ("depth 11", nested(11), "QUERY_TOO_COMPLEX"),
        ("65 levels", nested(65), "QUERY_TOO_COMPLEX"),
        ("33-deep fragment chain", fragment_chain(33), "QUERY_TOO_COMPLEX"),
        (
            "fragment cycle",
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }".into(),
            "QUERY_TOO_COMPLEX",
        ),
        ("16 aliases", aliases(16), "QUERY_TOO_COMPLEX"),
        ("11 directives on a field", directives, "QUERY_TOO_COMPLEX"),
        ("first: 100000", "{ contacts(first: 100000) { nodes { id } } }".into(), "QUERY_TOO_COMPLEX"),
        (
            "100 × 100 nested lists",
            "{ contacts(first: 100) { nodes { deals(first: 100) { id } } } }".into(),
            "QUERY_TOO_COMPLEX",
        ),
    ];
    for (what, query, code) in &cases {
        let before = app.statements.count();
        let body = app.gql(Some(&token), query, json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], *code, "{what}: {body}");
        assert!(body["data"].is_null(), "{what}: nothing runs");
        assert_eq!(app.statements.count(), before, "{what}: rejected before any SQL, even the credential lookup");
    }

    // Unknown fields: no "Did you mean" for callers without introspection.
    let typo = app.gql(None, "{ deel }", json!({})).await;
    assert_eq!(typo["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert!(!typo.to_string().contains("Did you mean"), "{typo}");
    let anonymous_schema = app.gql(None, "{ __schema { types { name } } }", json!({})).await;
    assert!(anonymous_schema["data"].is_null() && anonymous_schema["errors"].is_array(), "{anonymous_schema}");

    // Transport: oversized bodies (with and without Content-Length), batches, GET mutations,
    // non-JSON POSTs.
    let endpoint = format!("{}/graphql", app.url);
    let body =
        serde_json::to_vec(&json!({ "query": "{ __typename }", "variables": { "pad": "x".repeat(3 << 20) } })).unwrap();
    for (chunked, write_first) in [(false, false), (true, false), (false, true), (true, true)] {
        let (status, answer) = raw_post(&app, &body, chunked, write_first).await;
        assert_eq!(status, 413, "3 MiB, chunked: {chunked}, whole body written before reading: {write_first}");
        let answer: Value = serde_json::from_str(answer.trim()).unwrap_or_else(|_| panic!("a JSON body: {answer}"));
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{answer}");
    }
    // More than socket buffers hold: only a server that reads on lets the writer finish.
    let huge = serde_json::to_vec(&json!({ "query": "{ __typename }", "pad": "x".repeat(24 << 20) })).unwrap();
    assert_eq!(raw_post(&app, &huge, false, true).await.0, 413, "24 MiB written before reading");
    let batch = app
        .http
        .post(&endpoint)
        .bearer_auth(&token)
        .json(&json!([{ "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400);
    let batch: Value = batch.json().await.unwrap();
    assert_eq!(batch["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert!(batch["errors"][0]["message"].as_str().unwrap().contains("batched"), "{batch}");
    for (body, says) in
        [(" {\"query\": ", "not valid JSON"), ("{\"query\": 5}", "not a GraphQL request"), ("  [1", "batched")]
    {
        let answer = app
            .http
            .post(&endpoint)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let answer: Value = answer.json().await.unwrap();
        assert!(answer["errors"][0]["message"].as_str().unwrap().contains(says), "{body}: {answer}");
    }
    let mutation = "mutation { createContact(input: { firstName: \"X\" }) { contact { id } } }";
    let get = app.http.get(&endpoint).bearer_auth(&token).query(&[("query", mutation)]).send().await.unwrap();
    assert_eq!(get.status(), 405);
    let text = app
        .http
        .post(&endpoint)
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(json!({ "query": mutation }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 0, "no rejected mutation ran");

    // Still serving, anonymous and signed-in.
    assert_eq!(app.gql(None, "{ __typename }", json!({})).await["data"]["__typename"], "Query");
    assert_eq!(app.ok(&token, "{ me { email } }", json!({})).await["me"]["email"], "ada@example.com");
});

/// POSTs `body` over a raw connection (with Content-Length, or chunked without it) and
/// returns the response status and body. The body is written by another task while the
/// response is read, or (`write_first`) entirely before reading, as Python's urllib does.
async fn raw_post(app: &TestApp, body: &[u8], chunked: bool, write_first: bool) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let framing =
        if chunked { "transfer-encoding: chunked".to_owned() } else { format!("content-length: {}", body.len()) };
    let head =
        format!("POST /graphql HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n{framing}\r\n\r\n", app.addr);
    let body = body.to_vec();
    let write = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body.chunks(64 * 1024) {
            if chunked {
                writer.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await?;
                writer.write_all(piece).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(piece).await?;
            }
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        Ok::<_, std::io::Error>(writer)
    });
    let _open = if write_first { Some(write.await.unwrap().expect("the whole body was accepted")) } else { None };
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let complete = |r: &[u8]| {
        let text = String::from_utf8_lossy(r);
        text.split_once("\r\n\r\n").is_some_and(|(_, rest)| rest.trim_end().ends_with('}'))
    };
    while !complete(&response) {
        let n = reader.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before a response: {}", String::from_utf8_lossy(&response));
        response.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.lines().next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    // A chunked response frames its body: keep the JSON object only.
    let json = body.find('{').map_or(body, |start| &body[start..=body.rfind('}').unwrap_or(start)]);
    (status, json.to_owned())
}

/// One rep's records in the matrix: (contact, deal, meeting) global IDs.
struct Owned {
    rep: usize,
    contact: String,
    deal: String,
    meeting: String,
    /// The deal's first stage event.
    event: String,
}

fn ids(list: &Value) -> std::collections::BTreeSet<String> {
    list["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
}

db_test!(authorization_matrix_matches_the_spec_for_every_role, |app| {
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    let (_, analyst) = app.member("analyst@example.com", Role::Analyst, None).await;
    let (north, south) = (app.team("North").await, app.team("South").await);
    let (_, north_manager) = app.member("north-manager@example.com", Role::Manager, Some(north)).await;
    let (_, south_manager) = app.member("south-manager@example.com", Role::Manager, Some(south)).await;
    let mut reps = Vec::new();
    for (i, team) in [north, north, south, south].into_iter().enumerate() {
        reps.push(app.member(&format!("rep{i}@example.com"), Role::SalesRep, Some(team)).await.1);
    }
    app.ok(&admin, "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [{ name: \"A\", probability: 10 }, { name: \"B\", probability: 50 }] }) { pipeline { id } } }", json!({}))
        .await;
    let mut owned = Vec::new();
    for (rep, token) in reps.iter().enumerate() {
        let contact = app
            .ok(token, "mutation($n: String!) { createContact(input: { firstName: $n, email: \"x@example.com\" }) { contact { id } } }", json!({ "n": format!("C{rep}") }))
            .await["createContact"]["contact"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let deal = app
            .ok(token, "mutation($c: ID!) { createDeal(input: { contactId: $c, title: \"D\", amount: \"100\" }) { deal { id } } }", json!({ "c": contact }))
            .await["createDeal"]["deal"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let meeting = app
            .ok(token, "mutation($c: ID!, $d: ID!) { scheduleMeeting(input: { contactId: $c, dealId: $d, kind: CALL, scheduledAt: \"2026-01-05T10:00:00Z\" }) { meeting { id } } }", json!({ "c": contact, "d": deal }))
            .await["scheduleMeeting"]["meeting"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let history =
            app.ok(token, "query($d: ID!) { deal(id: $d) { stageHistory { id } } }", json!({ "d": deal })).await;
        let event = history["deal"]["stageHistory"][0]["id"].as_str().unwrap().to_owned();
        owned.push(Owned { rep, contact, deal, meeting, event });
    }
    let (_, stages) = {
        let p = app.ok(&admin, "{ pipelines { id stages { id } } }", json!({})).await;
        (p["pipelines"][0]["id"].clone(), p["pipelines"][0]["stages"].clone())
    };
    let reason = app
        .ok(&admin, "mutation { createLostReason(input: { name: \"Price\" }) { lostReason { id } } }", json!({}))
        .await["createLostReason"]["lostReason"]["id"]
        .clone();

    // (caller, name, reps whose records it sees, whether it may write)
    let roles: Vec<(&str, &str, Vec<usize>, bool)> = vec![
        (&admin, "ADMIN", vec![0, 1, 2, 3], true),
        (&analyst, "ANALYST", vec![0, 1, 2, 3], false),
        (&north_manager, "MANAGER North", vec![0, 1], true),
        (&south_manager, "MANAGER South", vec![2, 3], true),
        (&reps[0], "SALES_REP 0", vec![0], true),
        (&reps[3], "SALES_REP 3", vec![3], true),
    ];
    let lists =
        "{ contacts { totalCount nodes { id } } deals { totalCount nodes { id } } meetings { totalCount nodes { id } }
                   pipelines { stages { deals { totalCount } } }
                   feed: changes(first: 100) { events { entity recordId } } }";
    for (token, role, sees, writes) in &roles {
        let visible: Vec<&Owned> = owned.iter().filter(|o| sees.contains(&o.rep)).collect();
        let expect = |pick: fn(&Owned) -> &String| {
            visible.iter().map(|o| pick(o).clone()).collect::<std::collections::BTreeSet<_>>()
        };
        let body = app.gql(Some(token), lists, json!({})).await;
        let data = &body["data"];
        for (list, pick) in [
            ("contacts", (|o: &Owned| &o.contact) as fn(&Owned) -> &String),
            ("deals", |o| &o.deal),
            ("meetings", |o| &o.meeting),
        ] {
            assert_eq!(ids(&data[list]), expect(pick), "{role}: {list}");
            assert_eq!(data[list]["totalCount"], visible.len(), "{role}: {list} totalCount");
            let entity = list.trim_end_matches('s').to_uppercase();
            let in_feed: std::collections::BTreeSet<String> = data["feed"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["entity"] == entity.as_str())
                .map(|e| e["recordId"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(in_feed, expect(pick), "{role}: change feed {list}");
        }
        let stage_total: u64 = data["pipelines"][0]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["deals"]["totalCount"].as_u64().unwrap())
            .sum();
        assert_eq!(stage_total, visible.len() as u64, "{role}: stage → deals");

        for o in &owned {
            let seen = sees.contains(&o.rep);
            let lookups = app
                .gql(Some(token), "query($c: ID!, $d: ID!, $m: ID!, $e: ID!) { contact(id: $c) { id } deal(id: $d) { id contact { id } meetings { id } }
                                   meeting(id: $m) { id contact { id } deal { id } } nc: node(id: $c) { id } nd: node(id: $d) { id } nm: node(id: $m) { id }
                                   ne: node(id: $e) { id } }",
                     json!({ "c": o.contact, "d": o.deal, "m": o.meeting, "e": o.event }))
                .await;
            let d = &lookups["data"];
            for field in ["contact", "deal", "meeting", "nc", "nd", "nm", "ne"] {
                assert_eq!(!d[field].is_null(), seen, "{role}: {field} of rep {}", o.rep);
            }
            if seen {
                assert_eq!(d["meeting"]["contact"]["id"], o.contact.as_str(), "{role}: meeting → contact");
                assert_eq!(d["deal"]["meetings"][0]["id"], o.meeting.as_str(), "{role}: deal → meetings");
            }
            // Writes with a stale version: CONFLICT proves the record was reachable, NOT_FOUND
            // that it is out of scope, FORBIDDEN that the role writes nothing. Nothing changes.
            let expected = match (seen, *writes) {
                (_, false) => "FORBIDDEN",
                (true, true) => "CONFLICT",
                (false, true) => "NOT_FOUND",
            };
            let writes_ = [
                (
                    "updateContact",
                    "mutation($id: ID!) { updateContact(input: { id: $id, version: 999, lastName: \"X\" }) { contact { id } } }",
                    &o.contact,
                    json!({}),
                ),
                (
                    "deleteContact",
                    "mutation($id: ID!) { deleteContact(input: { id: $id, version: 999 }) { deletedContactId } }",
                    &o.contact,
                    json!({}),
                ),
                (
                    "updateDeal",
                    "mutation($id: ID!) { updateDeal(input: { id: $id, version: 999, title: \"X\" }) { deal { id } } }",
                    &o.deal,
                    json!({}),
                ),
                (
                    "moveDeal",
                    "mutation($id: ID!, $s: ID!) { moveDeal(input: { id: $id, version: 999, stageId: $s }) { deal { id } } }",
                    &o.deal,
                    json!({ "s": stages[1]["id"] }),
                ),
                (
                    "winDeal",
                    "mutation($id: ID!) { winDeal(input: { id: $id, version: 999 }) { deal { id } } }",
                    &o.deal,
                    json!({}),
                ),
                (
                    "loseDeal",
                    "mutation($id: ID!, $r: ID!) { loseDeal(input: { id: $id, version: 999, lostReasonId: $r }) { deal { id } } }",
                    &o.deal,
                    json!({ "r": reason }),
                ),
                (
                    "deleteDeal",
                    "mutation($id: ID!) { deleteDeal(input: { id: $id, version: 999 }) { deletedDealId } }",
                    &o.deal,
                    json!({}),
                ),
                (
                    "logMeetingOutcome",
                    "mutation($id: ID!) { logMeetingOutcome(input: { id: $id, version: 999, status: COMPLETED }) { meeting { id } } }",
                    &o.meeting,
                    json!({}),
                ),
                (
                    "updateMeeting",
                    "mutation($id: ID!) { updateMeeting(input: { id: $id, version: 999, notes: \"X\" }) { meeting { id } } }",
                    &o.meeting,
                    json!({}),
                ),
                (
                    "deleteMeeting",
                    "mutation($id: ID!) { deleteMeeting(input: { id: $id, version: 999 }) { deletedMeetingId } }",
                    &o.meeting,
                    json!({}),
                ),
            ];
            for (name, mutation, id, mut vars) in writes_ {
                vars["id"] = json!(id);
                let err = app.err(token, mutation, vars).await;
                assert_eq!(err["code"], expected, "{role}: {name} on rep {}'s record", o.rep);
            }
            // A new meeting with an impossible duration: for an unreachable contact the
            // contact is named as well.
            let schedule = app
                .err(token, "mutation($c: ID!) { scheduleMeeting(input: { contactId: $c, kind: CALL, scheduledAt: \"2030-01-01T10:00:00Z\", durationMinutes: 0 }) { meeting { id } } }", json!({ "c": o.contact }))
                .await;
            let fields: &[&str] = if seen { &["durationMinutes"] } else { &["durationMinutes", "contactId"] };
            let named: Vec<&str> =
                schedule["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str()).collect();
            match writes {
                true => assert_eq!(
                    (schedule["code"].as_str(), named.as_slice()),
                    (Some("BAD_USER_INPUT"), fields),
                    "{role}: scheduleMeeting"
                ),
                false => assert_eq!(schedule["code"], "FORBIDDEN", "{role}: scheduleMeeting"),
            }
        }

        // Metrics count exactly the visible records (each rep owns one of each).
        let metrics = app
            .ok(
                token,
                "{ funnel { deals } noShowStats { meetings } leadRejection { leads } leadEconomics { leads }
                          lostDeals { count } targetAttainment { wonCount } }",
                json!({}),
            )
            .await;
        assert_eq!(metrics["funnel"]["deals"], visible.len(), "{role}: funnel");
        assert_eq!(metrics["noShowStats"]["meetings"], visible.len(), "{role}: noShowStats");
        assert_eq!(metrics["leadRejection"]["leads"], visible.len(), "{role}: leadRejection");
        assert_eq!(metrics["leadEconomics"]["leads"], visible.len(), "{role}: leadEconomics");
        assert_eq!(metrics["lostDeals"]["count"], 0, "{role}: lostDeals");
        // The forecast counts the visible open deals, as the deal list does.
        let open = app
            .ok(
                token,
                "{ forecast { total { deals } } deals(where: { status: { eq: OPEN } }) { totalCount } staleDeals { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(open["forecast"]["total"]["deals"], open["deals"]["totalCount"], "{role}: forecast");
        assert_eq!(open["deals"]["totalCount"], visible.len(), "{role}: every visible deal is open");
        assert_eq!(open["staleDeals"]["totalCount"], 0, "{role}: no stage has a threshold");

        // PII: only ANALYST gets null plus FORBIDDEN for email.
        let pii = app.gql(Some(token), "{ contacts(first: 1) { nodes { email } } }", json!({})).await;
        if *role == "ANALYST" {
            assert_eq!(pii["data"]["contacts"]["nodes"][0]["email"], Value::Null);
            assert_eq!(pii["errors"][0]["extensions"]["code"], "FORBIDDEN");
        } else {
            assert_eq!(pii["data"]["contacts"]["nodes"][0]["email"], "x@example.com", "{role}: {pii}");
        }

        // ADMIN-only writes are FORBIDDEN to everyone else (and change nothing).
        if *role != "ADMIN" {
            let admin_only = [
                "mutation { createTeam(input: { name: \"T\" }) { team { id } } }",
                "mutation { createPipeline(input: { name: \"P\" }) { pipeline { id } } }",
                "mutation { createLostReason(input: { name: \"L\" }) { lostReason { id } } }",
                "mutation { createUser(input: { email: \"u@example.com\", name: \"U\", role: ADMIN }) { user { id } } }",
                "mutation { createApiKey(input: { name: \"K\" }) { key } }",
                "mutation { importRecords(input: { contacts: [{ externalId: \"e\", firstName: \"E\" }] }) { contacts { created } } }",
            ];
            for mutation in admin_only {
                assert_eq!(app.err(token, mutation, json!({})).await["code"], "FORBIDDEN", "{role}: {mutation}");
            }
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts WHERE last_name = 'X'").await, 0, "no write got through");
    assert_eq!(app.count("SELECT COUNT(*) FROM deals WHERE status <> 'OPEN' OR deleted_at IS NOT NULL").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM meetings").await, 4);
});

/// One random organization: reps (team 0 or 1), each with contacts, each with deal amounts.
type Graph = Vec<(usize, Vec<Vec<u32>>)>;

fn graphs() -> impl proptest::strategy::Strategy<Value = Graph> {
    use proptest::collection::vec;
    vec((0..2usize, vec(vec(0u32..50_000, 0..3), 0..3)), 1..5)
}

db_test!(property_reps_and_managers_receive_exactly_their_scope, |app| {
    use proptest::test_runner::{Config, TestRunner};
    let (_, admin) = app.member("admin@example.com", Role::Admin, None).await;
    app.ok(&admin, "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [{ name: \"A\", probability: 10 }] }) { pipeline { id } } }", json!({}))
        .await;
    let case = std::sync::atomic::AtomicUsize::new(0);
    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config { cases: 12, failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&graphs(), |graph| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::task::block_in_place(|| runtime.block_on(check_scope(&app, &admin, n, &graph)));
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
});

/// Builds `graph` (case `n`, with its own teams and users) and checks every member's view.
async fn check_scope(app: &TestApp, admin: &str, n: usize, graph: &Graph) {
    let teams = [app.team(&format!("case{n}-t0")).await, app.team(&format!("case{n}-t1")).await];
    let mut reps = Vec::new();
    let (mut contacts, mut deals) = (Vec::new(), Vec::new());
    for (r, (team, owned)) in graph.iter().enumerate() {
        let email = format!("case{n}-rep{r}@example.com");
        reps.push(app.member(&email, Role::SalesRep, Some(teams[*team])).await.1);
        for (c, amounts) in owned.iter().enumerate() {
            let key = format!("case{n}-r{r}-c{c}");
            contacts.push(json!({ "externalId": key, "firstName": "C", "ownerEmail": email }));
            for (d, amount) in amounts.iter().enumerate() {
                deals.push(json!({ "externalId": format!("{key}-d{d}"), "contactExternalId": key, "title": "D", "amount": amount }));
            }
        }
    }
    let import = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) { deals { created } } }";
    app.ok(admin, import, json!({ "i": { "contacts": contacts, "deals": deals } })).await;
    let managers = [
        app.member(&format!("case{n}-m0@example.com"), Role::Manager, Some(teams[0])).await.1,
        app.member(&format!("case{n}-m1@example.com"), Role::Manager, Some(teams[1])).await.1,
    ];

    let view = "{ me { email } contacts(first: 100) { totalCount nodes { owner { email } } }
                  deals(first: 100) { totalCount nodes { amount owner { email team { name } } } }
                  funnel { deals steps { amount } } leadRejection { leads } }";
    let members = reps
        .iter()
        .enumerate()
        .map(|(r, t)| (t, Some(r), graph[r].0))
        .chain(managers.iter().enumerate().map(|(t, m)| (m, None, t)));
    for (token, rep, team) in members {
        let mine = |r: usize| match rep {
            Some(me) => r == me,
            None => graph[r].0 == team,
        };
        let own_contacts: usize = graph.iter().enumerate().filter(|(r, _)| mine(*r)).map(|(_, (_, c))| c.len()).sum();
        let own_amounts: Vec<u64> = graph
            .iter()
            .enumerate()
            .filter(|(r, _)| mine(*r))
            .flat_map(|(_, (_, c))| c.iter().flatten().map(|a| u64::from(*a)))
            .collect();
        let body = app.ok(token, view, json!({})).await;
        let who = body["me"]["email"].as_str().unwrap().to_owned();
        // Subset: everything received is in scope...
        for node in body["contacts"]["nodes"].as_array().unwrap() {
            let owner = node["owner"]["email"].as_str().unwrap();
            assert!(owner.starts_with(&format!("case{n}-")), "{who} received another case's contact of {owner}");
        }
        for node in body["deals"]["nodes"].as_array().unwrap() {
            let expected_team = format!("case{n}-t{team}");
            match rep {
                Some(_) => assert_eq!(node["owner"]["email"], who.as_str(), "{who} received a deal of someone else"),
                None => assert_eq!(
                    node["owner"]["team"]["name"],
                    expected_team.as_str(),
                    "{who} received another team's deal"
                ),
            }
        }
        // ...and the totals are exactly those of their own rows.
        assert_eq!(body["contacts"]["totalCount"], own_contacts, "{who}: contacts in {graph:?}");
        assert_eq!(body["deals"]["totalCount"], own_amounts.len(), "{who}: deals in {graph:?}");
        let received: u64 = body["deals"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["amount"].as_str().unwrap().trim_end_matches(".00").parse::<u64>().unwrap())
            .sum();
        assert_eq!(received, own_amounts.iter().sum::<u64>(), "{who}: amounts in {graph:?}");
        // The metrics aggregate exactly the same rows (note: earlier cases' rows are other
        // owners', so a correct scope leaves them out).
        assert_eq!(body["funnel"]["deals"], own_amounts.len(), "{who}: funnel deals in {graph:?}");
        let first_stage =
            body["funnel"]["steps"][0]["amount"].as_str().unwrap().trim_end_matches(".00").parse::<u64>().unwrap();
        assert_eq!(first_stage, own_amounts.iter().sum::<u64>(), "{who}: funnel amount in {graph:?}");
        assert_eq!(body["leadRejection"]["leads"], own_contacts, "{who}: leads in {graph:?}");
    }
}

/// Three attempts per email and five per address a minute.
fn tight_logins() -> api::config::ServeConfig {
    tests::configured(|c| (c.auth.login_per_email_per_minute, c.auth.login_per_address_per_minute) = (3, 5))
}

/// POSTs `login` with extra headers; returns (HTTP status, Retry-After, body).
async fn login_attempt(
    app: &TestApp,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let query = "mutation($i: LoginInput!) { login(input: $i) { token } }";
    let mut req = app
        .http
        .post(format!("{}/graphql", app.url))
        .json(&json!({ "query": query, "variables": { "i": { "email": email, "password": password } } }));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

db_test!(sign_ins_are_throttled_per_email_and_per_address, config = tight_logins(), |app| {
    app.create_user("rep@example.com", Role::SalesRep, None).await;
    app.create_user("other@example.com", Role::SalesRep, None).await;
    for _ in 0..3 {
        let (status, _, body) = login_attempt(&app, "rep@example.com", "wrong password", &[]).await;
        assert_eq!((status, rejected(&body)), (200, "UNAUTHENTICATED"), "{body}");
    }
    // The fourth attempt for that email is refused before any password is checked, even
    // with the right password and another spelling of the email.
    let (status, retry_after, body) = login_attempt(&app, " REP@example.com", tests::PASSWORD, &[]).await;
    assert_eq!((status, rejected(&body)), (429, "RATE_LIMITED"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 20, "{body}");
    assert_eq!(retry_after.as_deref(), Some("20"));
    // Another email from the same address still signs in: the address has used 5 of 5.
    let (status, _, body) = login_attempt(&app, "other@example.com", tests::PASSWORD, &[]).await;
    assert!(status == 200 && body["data"]["login"]["token"].is_string(), "{body}");
    // Now the address is spent too, and a forged X-Forwarded-For does not get around it
    // (only trusted with CRM_TRUST_FORWARDED_FOR behind a proxy).
    let forged = [("x-forwarded-for", "203.0.113.9")];
    let (status, _, body) = login_attempt(&app, "other@example.com", tests::PASSWORD, &forged).await;
    assert_eq!((status, rejected(&body)), (429, "RATE_LIMITED"), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("address"), "{body}");
});

/// No per-address limit, so a flood from one address reaches the password hashing.
fn open_logins() -> api::config::ServeConfig {
    tests::configured(|c| c.auth.login_per_address_per_minute = 0)
}

/// The hashing turns are per process (they share its cores): the two engines' floods take
/// turns, or each would see the other's sign-ins in the queue.
static ONE_FLOOD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

db_test!(a_sign_in_flood_waits_its_turn_while_other_requests_go_on, config = open_logins(), |app| {
    let _alone = ONE_FLOOD_AT_A_TIME.lock().await;
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    // Every attempt a different email, so only the bounded hashing can hold them back.
    let flood = (0..120).map(|i| {
        let app = app.clone();
        tokio::spawn(async move { login_attempt(&app, &format!("nobody{i}@example.com"), "guess", &[]).await })
    });
    let flood: Vec<_> = flood.collect();
    let mut light = 0;
    for _ in 0..20 {
        let me = app.ok(&rep, "{ me { email } }", json!({})).await;
        assert_eq!(me["me"]["email"], "rep@example.com");
        light += 1;
    }
    let mut codes = std::collections::BTreeMap::new();
    for attempt in flood {
        let (status, _, body) = attempt.await.unwrap();
        *codes.entry((status, rejected(&body).to_owned())).or_insert(0) += 1;
    }
    assert_eq!(light, 20);
    let refused = codes.get(&(429, "RATE_LIMITED".to_owned())).copied().unwrap_or(0);
    let checked = codes.get(&(200, "UNAUTHENTICATED".to_owned())).copied().unwrap_or(0);
    assert_eq!(refused + checked, 120, "nothing but wrong-password answers and waits: {codes:?}");
    // A few sign-ins of tests running beside this one may hold turns too: hence not 64.
    assert!(refused > 0 && checked >= 48, "at most 64 wait for a turn, the rest are told to retry: {codes:?}");
});

/// Requests time out after one second.
fn one_second() -> api::config::ServeConfig {
    tests::configured(|c| c.http.request_timeout_secs = 1)
}

db_test!(a_request_past_the_timeout_gets_a_json_timeout_error, config = one_second(), |app| {
    let (_, rep) = app.member("rep@example.com", Role::SalesRep, None).await;
    // Another writer holds the contacts table, so the mutation waits past the timeout.
    let blocker = api::db::begin_write(&app.db).await.unwrap();
    if app.engine == tests::Engine::Postgres {
        blocker.execute_unprepared("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE").await.unwrap();
    }
    let create = json!({ "query": "mutation { createContact(input: { firstName: \"Slow\" }) { contact { id } } }" });
    let response = app.http.post(format!("{}/graphql", app.url)).bearer_auth(&rep).json(&create).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    blocker.rollback().await.unwrap();
    // The cancelled write left nothing behind, and the server goes on.
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 0);
    let me = app.ok(&rep, "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "rep@example.com");
});

/// One browser origin allowed.
fn with_browser_origin() -> api::config::ServeConfig {
    tests::configured(|c| c.http.cors_origins = vec!["https://app.example.com".into()])
}

db_test!(browsers_may_send_apollo_headers_and_read_the_request_id, config = with_browser_origin(), |app| {
    let endpoint = format!("{}/graphql", app.url);
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, &endpoint)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,apollographql-client-name,apollographql-client-version",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    for name in ["authorization", "content-type", "apollographql-client-name", "apollographql-client-version"] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
    let response = app
        .http
        .post(&endpoint)
        .header("origin", "https://app.example.com")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    for name in ["x-request-id", "retry-after", "ratelimit-policy", "ratelimit"] {
        assert!(exposed.split(',').any(|h| h.trim() == name), "{name} not in {exposed}");
    }
    // A credential error belongs to no place in the document: no `locations` at all.
    let refused = app.gql_with_authorization(Some("Bearer garbage"), "{ __typename }").await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(refused["errors"][0].get("locations").is_none(), "{refused}");
});

/// Whether a statement reads or writes a credential: a password or an API key's hash.
fn touches_credentials(sql: &str) -> bool {
    ["user_passwords", "api_key_hashes", "password_hash", "key_hash"].iter().any(|name| sql.contains(name))
}

db_test!(credentials_are_read_only_by_sign_in_and_the_key_check, |app| {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    let team = app.team("North").await;
    let (rep_id, rep) = app.member("rep@example.com", Role::SalesRep, Some(team)).await;
    let created = app.ok(&admin, CREATE_KEY, json!({ "i": { "name": "BI export" } })).await["createApiKey"].clone();
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["apiKey"]["id"].clone();
    let since = |start: usize| app.statements.since(start);
    let pipeline = "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [{ name: \"Lead\", probability: 10 }] }) { pipeline { id } } }";
    app.ok(&admin, pipeline, json!({})).await;

    // The key's first use checks its hash; a login reads the password.
    let start = app.statements.count();
    app.ok(&key, "{ teams { id } }", json!({})).await;
    assert!(since(start).iter().any(|s| touches_credentials(s)), "the key check reads the hash");
    let start = app.statements.count();
    app.login("admin@example.com").await;
    assert!(since(start).iter().any(|s| touches_credentials(s)), "a login reads the password");

    // Everything else reads no credential, however much of users and keys it shows.
    let start = app.statements.count();
    let contact = app
        .ok(&rep, "mutation { createContact(input: { firstName: \"Ann\" }) { contact { id } } }", json!({}))
        .await["createContact"]["contact"]["id"]
        .clone();
    let deal = app
        .ok(
            &rep,
            "mutation($c: ID!) { createDeal(input: { contactId: $c, title: \"T\", amount: \"10.00\" }) { deal { id } } }",
            json!({ "c": contact }),
        )
        .await["createDeal"]["deal"]["id"]
        .clone();
    let rep_gid = gid("User", rep_id);
    let version =
        app.ok(&admin, "query($id: ID!) { user(id: $id) { version } }", json!({ "id": rep_gid })).await["user"]["version"].clone();
    let reads = [
        ("{ me { id email name role active team { name } } }", json!({})),
        (
            "{ users(first: 10) { edges { node { id email name role active team { name members { email } } } } } }",
            json!({}),
        ),
        ("{ apiKeys { id name role keyPrefix active lastUsedAt createdBy { email } } }", json!({})),
        ("{ teams { id name members { id email } } }", json!({})),
        (
            "{ contacts(first: 10) { edges { node { id owner { email } deals(first: 5) { id owner { email name } stage { name } } } } } }",
            json!({}),
        ),
        ("query($id: ID!) { deal(id: $id) { id owner { id email role } stage { name } } }", json!({ "id": deal })),
        ("query($id: ID!) { node(id: $id) { id ... on User { email } } }", json!({ "id": rep_gid })),
        ("{ changes { events { entity op } endCursor } }", json!({})),
        ("{ noShowStats(groupBy: OWNER) { groups { group { owner { email } } meetings } } }", json!({})),
        ("{ funnel(groupBy: OWNER) { groups { group { owner { email } } deals } } }", json!({})),
        (
            "mutation($id: ID!, $v: Int!) { updateUser(input: { id: $id, version: $v, name: \"Rep\", role: MANAGER }) { user { id } } }",
            json!({ "id": tests::gid("User", rep_id), "v": version }),
        ),
        ("mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id active } } }", json!({ "id": key_id })),
    ];
    for (query, variables) in reads {
        app.ok(&admin, query, variables).await;
    }
    let touched: Vec<String> = since(start).into_iter().filter(|s| touches_credentials(s)).collect();
    assert!(touched.is_empty(), "statements outside sign-in that touch credentials: {touched:#?}");
});
