//! The benchmark: starts the release server on an already seeded database and prints, as
//! Markdown, metric times through GraphQL beside hand-written SQL, statements and latency of a
//! nested list, and throughput under 16 connections (wrk), with the server's peak RSS.
//! Run it through `scripts/bench`, which builds, seeds and calls it (see BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tests::bench::{self, Period};

struct Args {
    database_url: String,
    server: String,
    port: u16,
    runs: usize,
    wrk_seconds: u32,
    period: Period,
}

fn args() -> Args {
    let mut a = Args {
        database_url: String::new(),
        server: "target/release/crm-api".into(),
        port: 18080,
        runs: 5,
        wrk_seconds: 10,
        period: Period { from: "2025-11-01T00:00:00Z".into(), to: "2026-11-01T00:00:00Z".into() },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => a.database_url = value,
            "--server" => a.server = value,
            "--port" => a.port = value.parse().expect("--port"),
            "--runs" => a.runs = value.parse().expect("--runs"),
            "--wrk-seconds" => a.wrk_seconds = value.parse().expect("--wrk-seconds"),
            "--from" => a.period.from = value,
            "--to" => a.period.to = value,
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.database_url.is_empty(), "--database-url is required");
    a
}

struct Server {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Server {
    async fn start(a: &Args) -> Self {
        let child = Command::new(&a.server)
            .args(["--database-url", &a.database_url, "serve", "--listen", &format!("127.0.0.1:{}", a.port)])
            // 100 contacts × 5 deals with their stage and owner cost more than the default 5000.
            .env("CRM_MAX_COMPLEXITY", "20000")
            // One caller drives the whole load: no cost budget, and metric turns for every
            // concurrent request of it.
            .env("CRM_COST_BUDGET_PER_MINUTE", "0")
            .env("CRM_METRIC_CONCURRENCY_PER_CALLER", "64")
            .env("CRM_METRIC_CONCURRENCY", "16")
            // Measure how long a metric takes, however long: the defaults cancel it at 10 s (and
            // a PostgreSQL statement at 5 s), which a slow machine reaches on SQLite.
            .env("CRM_REQUEST_TIMEOUT_SECS", "300")
            .env("CRM_DB_STATEMENT_TIMEOUT_MS", "300000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let server = Self { child, url: format!("http://127.0.0.1:{}", a.port), http: reqwest::Client::new() };
        for _ in 0..200 {
            if server.http.get(format!("{}/readyz", server.url)).send().await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not become ready");
    }

    async fn gql(&self, token: &str, query: &str, variables: &Value) -> Value {
        let body = self.try_gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    /// The whole response, errors included.
    async fn try_gql(&self, token: &str, query: &str, variables: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}/graphql", self.url))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("response body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("HTTP {status}, not JSON ({e}): {text:.200}"))
    }

    async fn statements_so_far(&self) -> u64 {
        let text = self.http.get(format!("{}/metrics", self.url)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with("crm_sql_statements_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// The CPU time the server process has used so far (user + system, all its threads).
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (in parentheses, may hold spaces): utime and stime
        // are the 12th and 13th, in clock ticks.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        let ticks: u64 = after.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }

    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0);
        kb / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().ok();
    out.and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
}

/// CPU time per request, in µs.
fn per_request(cpu: Duration, requests: u64) -> String {
    if requests == 0 { "?".into() } else { format!("{:.0}", cpu.as_secs_f64() * 1e6 / requests as f64) }
}

async fn timed<F: std::future::Future>(f: F) -> (Duration, F::Output) {
    let start = Instant::now();
    let out = f.await;
    (start.elapsed(), out)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn raw(db: &DatabaseConnection, sql: &str) -> usize {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.expect(sql).len()
}

const NESTED: &str = "query($first: Int!) { contacts(first: $first) { edges { node { id firstName lastName \
    deals(first: 5) { id title amount status stage { id name } owner { id name } } } } } }";

/// The same page as raw statements: contacts, their 5 latest deals, the deals' stages and owners.
fn nested_sql(first: usize) -> String {
    format!(
        "WITH page AS (SELECT id, first_name, last_name FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT {first}), \
         latest AS (SELECT * FROM (SELECT d.id, d.contact_id, d.title, d.amount, d.status, d.stage_id, d.owner_id, \
         ROW_NUMBER() OVER (PARTITION BY d.contact_id ORDER BY d.created_at DESC, d.id DESC) AS n FROM deals d \
         WHERE d.contact_id IN (SELECT id FROM page) AND d.deleted_at IS NULL) x WHERE n <= 5) \
         SELECT p.id, p.first_name, p.last_name, l.id, l.title, l.amount, l.status, s.id, s.name, u.id, u.name \
         FROM page p LEFT JOIN latest l ON l.contact_id = p.id LEFT JOIN stages s ON s.id = l.stage_id \
         LEFT JOIN users u ON u.id = l.owner_id ORDER BY p.id, l.n"
    )
}

/// Runs wrk for `seconds` at 16 connections; returns (requests/s, p50, p99) as printed and
/// the number of requests.
fn wrk(url: &str, script: &str, seconds: u32) -> (String, String, String, u64) {
    let dir = std::env::temp_dir().join(format!("crm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("request.lua");
    std::fs::write(&path, script).unwrap();
    let out = Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(&path)
        .arg(format!("{url}/graphql"))
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    if text.contains("Non-2xx") {
        println!("<!-- wrk saw non-2xx answers:\n{text}\n-->");
    }
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (field("Requests/sec:"), field("50%"), field("99%"), requests)
}

fn lua_body(token: &str, bodies: &[String]) -> String {
    let list: Vec<String> = bodies.iter().map(|b| format!("[==[{b}]==]")).collect();
    format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{}\
         local bodies = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  \
         return wrk.format(nil, nil, nil, bodies[i])\nend\n",
        if token.is_empty() { String::new() } else { format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n") },
        list.join(",")
    )
}

fn body(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

#[tokio::main]
async fn main() {
    let a = args();
    // The hand-written SQL runs on one connection with the server's session settings (JIT off).
    let mut opts = sea_orm::ConnectOptions::new(a.database_url.clone());
    opts.max_connections(1).sqlx_logging(false).map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
    let db = Database::connect(opts).await.expect("connect");
    let server = Server::start(&a).await;
    let login = server
        .http
        .post(format!("{}/graphql", server.url))
        .json(&json!({ "query": "mutation { login(input: { email: \"admin@demo.example\", password: \"demo-password\" }) { token } }" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let token = login["data"]["login"]["token"].as_str().expect("admin login (seeded data)").to_owned();
    let engine = format!("{:?}", db.get_database_backend());
    println!("## {engine}\n");
    for table in ["contacts", "deals", "deal_stage_events", "meetings"] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
        println!("- {table}: {}", row.try_get::<i64>("", "n").unwrap());
    }
    println!("- period: [{}, {})\n", a.period.from, a.period.to);

    println!("### Metrics: GraphQL over HTTP vs hand-written SQL (median of {} runs, ms)\n", a.runs);
    println!("| metric | GraphQL | server CPU | SQL | ratio | answers equal |\n|---|---:|---:|---:|---:|---|");
    for case in bench::cases() {
        let period = (case.period_of)(&a.period);
        let vars = bench::variables(&period);
        let first = server.try_gql(&token, case.query, &vars).await;
        if let Some(errors) = first.get("errors") {
            let code = errors[0]["extensions"]["code"].as_str().unwrap_or("?");
            println!("| {} | failed: {code} (see the server log) | | | |", case.name);
            continue;
        }
        let _ = bench::sql_rows(&db, &case, &period).await;
        let (mut g, mut s) = (Vec::new(), Vec::new());
        let (mut from_graphql, mut from_sql) = (Vec::new(), Vec::new());
        let mut cpu = Duration::ZERO;
        for _ in 0..a.runs {
            let before = server.cpu();
            let (t, data) = timed(server.gql(&token, case.query, &vars)).await;
            cpu += server.cpu().saturating_sub(before);
            g.push(t);
            from_graphql = bench::graphql_rows(&case, &data);
            let (t, rows) = timed(async {
                let rows = bench::sql_rows(&db, &case, &period).await;
                if let Some(extra) = case.timed_only {
                    raw(&db, &bench::fill(db.get_database_backend(), extra, &period)).await;
                }
                rows
            })
            .await;
            s.push(t);
            from_sql = rows;
        }
        let (g, s) = (median(g), median(s));
        println!(
            "| {} | {} | {} | {} | {:.2}× | {} |",
            case.name,
            ms(g),
            ms(cpu.div_f64(a.runs.max(1) as f64)),
            ms(s),
            g.as_secs_f64() / s.as_secs_f64(),
            if from_graphql == from_sql { "yes" } else { "NO" }
        );
    }

    println!("\n### Nested list: contacts → 5 latest deals → stage, owner (1 connection, 200 requests)\n");
    println!(
        "| page size | SQL statements | p50 ms | p99 ms | server CPU per page, µs | raw SQL p50 ms |\n|---:|---:|---:|---:|---:|---:|"
    );
    for first in [10usize, 50, 100] {
        let vars = json!({ "first": first });
        let before = server.statements_so_far().await;
        server.gql(&token, NESTED, &vars).await;
        let statements = server.statements_so_far().await - before;
        let (mut lat, mut sql_lat) = (Vec::new(), Vec::new());
        let sql = nested_sql(first);
        let mut cpu = Duration::ZERO;
        for _ in 0..200 {
            let before = server.cpu();
            lat.push(timed(server.gql(&token, NESTED, &vars)).await.0);
            cpu += server.cpu().saturating_sub(before);
            sql_lat.push(timed(raw(&db, &sql)).await.0);
        }
        println!(
            "| {first} | {statements} | {} | {} | {} | {} |",
            ms(percentile(&mut lat, 0.5)),
            ms(percentile(&mut lat, 0.99)),
            per_request(cpu, 200),
            ms(percentile(&mut sql_lat, 0.5))
        );
    }

    println!("\n### Under load: wrk, 16 connections, {} s each\n", a.wrk_seconds);
    println!("| request | requests/s | p50 | p99 | server CPU per request, µs |\n|---|---:|---:|---:|---:|");
    let ids: Vec<i64> = {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM meetings WHERE deleted_at IS NULL ORDER BY id LIMIT 2000".to_owned(),
            ))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get::<i64>("", "id").unwrap()).collect()
    };
    let typename = lua_body("", &[body("{ __typename }", json!({}))]);
    // One request body per id, so that requests cycle over rows instead of hitting one.
    let per_id = |kind: &str, query: &str| -> Vec<String> {
        ids.iter().map(|id| body(query, json!({ "id": tests::gid(kind, *id) }))).collect()
    };
    let by_id =
        per_id("Deal", "query($id: ID!) { deal(id: $id) { id title amount status stage { name } owner { name } } }");
    let nested = vec![body(NESTED, json!({ "first": 50 }))];
    let log = per_id(
        "Meeting",
        "mutation($id: ID!) { logMeetingOutcome(input: { id: $id, status: COMPLETED }) { meeting { id version } } }",
    );
    let mut nested_rps: Option<f64> = None;
    for (name, script) in [
        ("`{ __typename }` (anonymous)", typename),
        ("deal by id (+ stage, owner)", lua_body(&token, &by_id)),
        ("nested list, 50 contacts", lua_body(&token, &nested)),
        ("logMeetingOutcome", lua_body(&token, &log)),
    ] {
        let before = server.cpu();
        let (rps, p50, p99, requests) = wrk(&server.url, &script, a.wrk_seconds);
        let cpu = server.cpu().saturating_sub(before);
        println!("| {name} | {rps} | {p50} | {p99} | {} |", per_request(cpu, requests));
        if name.starts_with("nested") {
            nested_rps = rps.parse().ok();
        }
    }
    let raw_rps = raw_throughput(&a.database_url, &nested_sql(50), 4, a.wrk_seconds).await;
    let share = nested_rps.map(|g| format!("{:.0} %", g / raw_rps * 100.0)).unwrap_or_else(|| "?".into());
    println!(
        "\nThe nested list's raw SQL (one statement per page) from 4 clients for {} s: {raw_rps:.0} pages/s; \
         GraphQL at 16 connections reaches {share} of that.",
        a.wrk_seconds
    );
    println!("\nServer peak RSS (VmHWM) after all of the above: {:.0} MiB", server.peak_rss_mib());
}

/// Statements per second that `clients` connections reach running `sql` back to back.
async fn raw_throughput(url: &str, sql: &str, clients: u32, seconds: u32) -> f64 {
    let mut opts = sea_orm::ConnectOptions::new(url.to_owned());
    opts.max_connections(clients)
        .min_connections(clients)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
    let db = Database::connect(opts).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(u64::from(seconds));
    let clients: Vec<_> = (0..clients)
        .map(|_| {
            let (db, sql) = (db.clone(), sql.to_owned());
            tokio::spawn(async move {
                let mut pages = 0u64;
                while Instant::now() < deadline {
                    raw(&db, &sql).await;
                    pages += 1;
                }
                pages
            })
        })
        .collect();
    let mut pages = 0;
    for client in clients {
        pages += client.await.unwrap();
    }
    pages as f64 / f64::from(seconds)
}
