//! `crm-api import` streaming a file (SPEC section 11 / issue: imports at any size): JSON and
//! JSON Lines read the same records, batches commit with a checkpoint that `--resume`
//! continues from, `--atomic` and `--dry-run` write nothing when a record is bad, and memory
//! holds a batch, not the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use entity::enums::Role;
use tests::{TestApp, Value, db_test, json};

/// Runs `crm-api import` (the test crate's build of the command line) on the test database.
fn import(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replica"))
        .arg("import")
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("CRM_LOG", "warn")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A directory of its own for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crm-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn org(app: &TestApp) -> String {
    let (_, admin) = app.signed_in("admin@example.com", Role::Admin, None).await;
    app.ok(
        &admin,
        "mutation { createPipeline(input: { name: \"Sales\", isDefault: true, stages: [
            { name: \"Lead\", probability: 10 }, { name: \"Demo\", probability: 50 }] }) { pipeline { id } } }",
        json!({}),
    )
    .await;
    admin
}

/// `contacts` contacts (every fifth at a company), a deal for every other contact (every
/// third of those won) and a meeting for every third.
fn records(contacts: usize) -> Vec<(&'static str, Value)> {
    let mut out = vec![
        ("companies", json!({ "externalId": "co-1", "name": "Acme" })),
        ("companies", json!({ "externalId": "co-2", "name": "Globex" })),
    ];
    for i in 0..contacts {
        let mut contact = json!({ "externalId": format!("c-{i}"), "firstName": format!("Person {i}"),
            "source": if i % 2 == 0 { "Web" } else { "Referral" }, "createdAt": "2025-01-02T10:00:00Z" });
        if i % 5 == 0 {
            contact["companyExternalId"] = json!(if i % 10 == 0 { "co-1" } else { "co-2" });
        }
        out.push(("contacts", contact));
    }
    for i in (0..contacts).step_by(2) {
        let mut deal = json!({ "externalId": format!("d-{i}"), "contactExternalId": format!("c-{i}"),
            "title": format!("Deal {i}"), "amount": format!("{}.50", 100 + i),
            "stageHistory": [{ "stageName": "Lead", "movedAt": "2025-01-03T10:00:00Z" },
                             { "stageName": "Demo", "movedAt": "2025-01-10T10:00:00Z" }] });
        if i % 3 == 0 {
            deal["status"] = json!("WON");
            deal["closedAt"] = json!("2025-02-01T10:00:00Z");
        }
        out.push(("deals", deal));
    }
    for i in (0..contacts).step_by(3) {
        out.push((
            "meetings",
            json!({ "externalId": format!("m-{i}"), "contactExternalId": format!("c-{i}"),
            "kind": "CALL", "scheduledAt": "2025-01-05T10:00:00Z", "status": "COMPLETED" }),
        ));
    }
    out
}

/// The records as one JSON object, lists in reverse dependency order (the reader finds each).
fn write_json(path: &Path, records: &[(&'static str, Value)]) {
    let mut file = serde_json::Map::new();
    for list in ["meetings", "deals", "contacts", "companies"] {
        let items: Vec<Value> = records.iter().filter(|(l, _)| *l == list).map(|(_, v)| v.clone()).collect();
        file.insert(list.to_owned(), Value::Array(items));
    }
    std::fs::write(path, Value::Object(file).to_string()).unwrap();
}

/// The records as JSON Lines, interleaved: a deal may come before its contact's line.
fn write_lines(path: &Path, records: &[(&'static str, Value)]) {
    let mut lines: Vec<String> = records
        .iter()
        .map(|(list, v)| {
            let mut v = v.clone();
            v["type"] = json!(list.trim_end_matches('s').replace("companie", "company"));
            v.to_string()
        })
        .collect();
    lines.reverse();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// What the database holds, as the API shows it (versions and change times aside).
async fn snapshot(app: &TestApp, admin: &str) -> Value {
    app
        .ok(
            admin,
            "{ contacts(first: 100, orderBy: { field: FIRST_NAME }) { totalCount nodes { firstName source company { name } } }
               deals(first: 100, orderBy: { field: TITLE }) { totalCount nodes { title amount status stage { name } contact { firstName } } }
               meetings(first: 100) { totalCount }
               funnel { deals won steps { reached } } }",
            json!({}),
        )
        .await
}

fn held(out: &Output) -> usize {
    let text = stderr(out);
    let line = text.lines().find(|l| l.starts_with("held at most ")).unwrap_or_else(|| panic!("{text}"));
    line["held at most ".len()..].split_whitespace().next().unwrap().parse().unwrap()
}

db_test!(json_and_json_lines_stream_the_same_records_in_batches, |app| {
    let admin = org(&app).await;
    let dir = scratch(&format!("same-{:?}", app.engine));
    let records = records(90);
    let (json_file, lines_file) = (dir.join("history.json"), dir.join("history.jsonl"));
    write_json(&json_file, &records);
    write_lines(&lines_file, &records);

    let out = import(&app, &[json_file.to_str().unwrap(), "--batch-size", "8"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("companies 2 created, 0 updated; contacts 90 created, 0 updated; deals 45 created, 0 updated; meetings 30 created"),
        "{}",
        stderr(&out)
    );
    // Memory held a batch and the records read ahead, not the file's 167 records.
    assert!(held(&out) <= 8 + 256, "{}", stderr(&out));
    assert!(!dir.join("history.json.checkpoint").exists(), "a finished import leaves no checkpoint");
    let after_json = snapshot(&app, &admin).await;
    assert_eq!(after_json["contacts"]["totalCount"], 90);
    assert_eq!(
        after_json["deals"]["nodes"][0],
        json!({ "title": "Deal 0", "amount": "100.50", "status": "WON",
        "stage": { "name": "Demo" }, "contact": { "firstName": "Person 0" } })
    );

    // The same records as JSON Lines: every one found again (updated, none created), and
    // the database says exactly what it said.
    let out = import(&app, &[lines_file.to_str().unwrap(), "--batch-size", "5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("companies 0 created, 2 updated; contacts 0 created, 90 updated; deals 0 created, 45 updated; meetings 0 created, 30 updated"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&app, &admin).await, after_json);
});

db_test!(a_bad_record_stops_at_a_checkpoint_and_resume_finishes, |app| {
    let admin = org(&app).await;
    let dir = scratch(&format!("resume-{:?}", app.engine));
    let mut records = records(300);
    // Contact 237 has no first name: the 63rd contact of the file, whose lines run backwards.
    let bad = records.iter().position(|(l, v)| *l == "contacts" && v["externalId"] == "c-237").unwrap();
    records[bad].1["firstName"] = json!(" ");
    let file = dir.join("history.jsonl");
    write_lines(&file, &records);
    let path = file.to_str().unwrap();
    let report = dir.join("report.jsonl");
    let contacts = "SELECT COUNT(*) FROM contacts";

    // All or nothing: the first pass finds the record, nothing is written.
    let out = import(&app, &[path, "--atomic", "--batch-size", "50"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("contacts[62]") && stderr(&out).contains("firstName"), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was written"), "{}", stderr(&out));
    assert_eq!(app.count(contacts).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM companies").await, 0);
    let out = import(&app, &[path, "--dry-run"]);
    assert!(!out.status.success());
    assert_eq!(app.count(contacts).await, 0);

    // In batches: those before the bad record's batch are committed, and the checkpoint says
    // where to go on; the report has the record, with its line.
    let out = import(&app, &[path, "--batch-size", "50", "--report", report.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    assert_eq!(app.count(contacts).await, 50, "the batch of 50 before contact 237's");
    let checkpoint: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("history.jsonl.checkpoint")).unwrap()).unwrap();
    assert_eq!(checkpoint, json!({ "list": "contacts", "next": 50 }));
    let reported: Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().lines().next().unwrap()).unwrap();
    let line =
        std::fs::read_to_string(&file).unwrap().lines().position(|l| l.contains(r#""externalId":"c-237""#)).unwrap()
            + 1;
    assert_eq!(
        reported,
        json!({ "list": "contacts", "index": 62, "line": line, "field": "firstName",
        "message": "must not be empty" })
    );

    // Fixed, the run continues where it stopped and finishes; a dry run writes nothing.
    records[bad].1["firstName"] = json!("Person 237");
    write_lines(&file, &records);
    let out = import(&app, &[path, "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("dry run: every record is valid"), "{}", stderr(&out));
    assert_eq!(app.count(contacts).await, 50);
    let out = import(&app, &[path, "--resume", "--batch-size", "50"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("contacts 250 created, 0 updated; deals 150 created"), "{}", stderr(&out));
    assert_eq!(app.count(contacts).await, 300);
    assert_eq!(app.count("SELECT COUNT(*) FROM deals").await, 150);
    assert!(!dir.join("history.jsonl.checkpoint").exists());
    let out = import(&app, &[path, "--resume"]);
    assert!(!out.status.success() && stderr(&out).contains("nothing to resume"), "{}", stderr(&out));
    let _ = admin;

    // --atomic with a valid file writes everything (a second time: all updated).
    let out = import(&app, &[path, "--atomic", "--batch-size", "64"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("contacts 0 created, 300 updated"), "{}", stderr(&out));
});
