//! The benchmark's metric cases: each GraphQL request beside hand-written SQL that computes the
//! same numbers, and the code that reduces both answers to comparable rows. The benchmark
//! binary times them; the `bench` test checks on both engines that the answers agree.

use base64::Engine;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{Value, json};

/// One comparable row: group keys and integer values, all as text.
pub type Row = Vec<String>;

pub struct Case {
    pub name: &'static str,
    pub query: &'static str,
    /// Reduces the GraphQL `data` to rows.
    pub rows_of: fn(&Value) -> Vec<Row>,
    /// Statements whose rows together are the same numbers; every column is named `c0`… and
    /// cast to text. `{month(col)}`, `{from}` and `{to}` are filled per engine.
    pub sql: &'static [&'static str],
    /// A statement timed with `sql` but not compared (its answer depends on "now").
    pub timed_only: Option<&'static str>,
    /// The period the case asks for, given the benchmark's.
    pub period_of: fn(&Period) -> Period,
}

/// The period every case covers: `[from, to)`, RFC 3339.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl Period {
    /// The period 3 days shorter at its start and 5 at its end: whole days, not months.
    fn whole_days_inside(&self) -> Period {
        let shift = |at: &str, days: i64| {
            let at = chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339 period") + chrono::Duration::days(days);
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        Period { from: shift(&self.from, 3), to: shift(&self.to, -5) }
    }

    /// The same period ending one second later: no longer whole months or days, so the
    /// funnel and the no-show rate read the last second from the deals and meetings.
    fn one_second_longer(&self) -> Period {
        let to =
            chrono::DateTime::parse_from_rfc3339(&self.to).expect("RFC 3339 period") + chrono::Duration::seconds(1);
        Period { from: self.from.clone(), to: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) }
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "funnel, owner × month, 1 year",
            query: FUNNEL,
            rows_of: funnel_rows,
            sql: FUNNEL_SQL,
            timed_only: Some(FUNNEL_STAYS_SQL),
            period_of: Period::clone,
        },
        Case {
            name: "funnel, period 1 s past whole months (cells and 1 s of deals)",
            query: FUNNEL,
            rows_of: funnel_rows,
            sql: FUNNEL_SQL,
            timed_only: Some(FUNNEL_STAYS_SQL),
            period_of: Period::one_second_longer,
        },
        Case {
            name: "funnel, period of whole days, not months (day and month cells)",
            query: FUNNEL,
            rows_of: funnel_rows,
            sql: FUNNEL_SQL,
            timed_only: Some(FUNNEL_STAYS_SQL),
            period_of: Period::whole_days_inside,
        },
        Case {
            name: "funnel without time in stage",
            query: FUNNEL_WITHOUT_STAYS,
            rows_of: funnel_rows,
            sql: FUNNEL_SQL,
            timed_only: None,
            period_of: Period::clone,
        },
        Case {
            name: "no-show stats, owner × month (summary cells)",
            query: NO_SHOW,
            rows_of: no_show_rows,
            sql: NO_SHOW_SQL,
            timed_only: None,
            period_of: Period::clone,
        },
        Case {
            name: "no-show stats, period 1 s past whole days (the partial day from the meetings)",
            query: NO_SHOW,
            rows_of: no_show_rows,
            sql: NO_SHOW_SQL,
            timed_only: None,
            period_of: Period::one_second_longer,
        },
        Case {
            name: "lost deals by reason",
            query: LOST,
            rows_of: lost_rows,
            sql: LOST_SQL,
            timed_only: None,
            period_of: Period::clone,
        },
        Case {
            name: "lead economics",
            query: ECONOMICS,
            rows_of: economics_rows,
            sql: ECONOMICS_SQL,
            timed_only: None,
            period_of: Period::clone,
        },
        Case {
            name: "lead rejection by source",
            query: REJECTION,
            rows_of: rejection_rows,
            sql: REJECTION_SQL,
            timed_only: None,
            period_of: Period::clone,
        },
    ]
}

pub fn variables(period: &Period) -> Value {
    json!({ "filter": { "period": { "from": period.from, "to": period.to } } })
}

/// Runs a case's statements and returns their rows, sorted.
pub async fn sql_rows(db: &DatabaseConnection, case: &Case, period: &Period) -> Vec<Row> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for sql in case.sql {
        let stmt = Statement::from_string(backend, fill(backend, sql, period));
        let rows = db.query_all_raw(stmt).await.unwrap_or_else(|e| panic!("{}: {e}\n{sql}", case.name));
        for row in rows {
            let cells = (0..row.column_names().len())
                .map(|i| row.try_get::<Option<String>>("", &format!("c{i}")).map(Option::unwrap_or_default))
                .collect::<Result<Row, _>>();
            out.push(cells.unwrap_or_else(|e| panic!("{}: {e}", case.name)));
        }
    }
    out.sort();
    out
}

/// The GraphQL answer reduced to rows, sorted.
pub fn graphql_rows(case: &Case, data: &Value) -> Vec<Row> {
    let mut rows = (case.rows_of)(data);
    rows.sort();
    rows
}

/// An engine's SQL for a placeholder's column expression.
type Expand<'a> = dyn Fn(&str) -> String + 'a;

/// Fills `{from}`, `{to}`, `{now}`, `{month(col)}`, `{epoch(col)}` and `{plus_hour(col)}`.
pub fn fill(backend: DatabaseBackend, sql: &str, period: &Period) -> String {
    let pg = backend == DatabaseBackend::Postgres;
    let now = chrono::Utc::now().to_rfc3339();
    let mut out = sql
        .replace("{from}", &literal(pg, &period.from))
        .replace("{to}", &literal(pg, &period.to))
        .replace("{now}", &literal(pg, &now));
    let month = |c: &str| {
        if pg {
            format!("to_char(date_trunc('month', {c} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')")
        } else {
            format!("strftime('%Y-%m-01', {c})")
        }
    };
    let epoch =
        |c: &str| if pg { format!("CAST(EXTRACT(EPOCH FROM {c}) AS BIGINT)") } else { format!("unixepoch({c})") };
    let plus_hour = |c: &str| {
        if pg {
            format!("{c} + INTERVAL '1 hour'")
        } else {
            format!("strftime('%Y-%m-%dT%H:%M:%f', {c}, '+3601 seconds')")
        }
    };
    let expanders: [(&str, &Expand); 3] = [("{month(", &month), ("{epoch(", &epoch), ("{plus_hour(", &plus_hour)];
    for (tag, expand) in expanders {
        while let Some(start) = out.find(tag) {
            let end = start + out[start..].find(")}").expect("closed placeholder");
            let column = out[start + tag.len()..end].to_owned();
            out.replace_range(start..end + 2, &expand(&column));
        }
    }
    out
}

/// A timestamp literal in the engine's storage form.
fn literal(pg: bool, rfc3339: &str) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("RFC 3339 period");
    let utc = t.with_timezone(&chrono::Utc);
    if pg {
        format!("TIMESTAMPTZ '{}'", utc.to_rfc3339())
    } else {
        format!("'{}'", utc.format("%Y-%m-%dT%H:%M:%S%.f+00:00"))
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Decimal money string (`"1234.5"`) as integer cents.
fn cents(v: &Value) -> String {
    let s = text(v);
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = format!("{frac:0<2}");
    (whole.parse::<i64>().expect("money") * 100 + frac[..2].parse::<i64>().expect("cents")).to_string()
}

/// The numeric id inside a Relay global id (`base64("User:5")`).
fn raw_id(v: &Value) -> String {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text(v)).expect("global id");
    let decoded = String::from_utf8(bytes).expect("utf-8 id");
    decoded.rsplit(':').next().unwrap_or_default().to_owned()
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field].as_array().map(Vec::as_slice).unwrap_or_default()
}

const FUNNEL: &str = "query($filter: MetricFilterInput) { funnel(filter: $filter, groupBy: OWNER, thenBy: MONTH) { \
    groups { group { owner { id } } groups { group { periodStart } deals won lost open \
    steps { stage { id } isWon reached amount lostHere conversionFromPrevious avgDaysInStage } } } } }";

/// The same funnel without `avgDaysInStage`: the server then reads no stage events.
const FUNNEL_WITHOUT_STAYS: &str = "query($filter: MetricFilterInput) { funnel(filter: $filter, groupBy: OWNER, \
    thenBy: MONTH) { groups { group { owner { id } } groups { group { periodStart } deals won lost open \
    steps { stage { id } isWon reached amount lostHere conversionFromPrevious } } } } }";

fn funnel_rows(data: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    for owner in list(&data["funnel"], "groups") {
        let owner_id = raw_id(&owner["group"]["owner"]["id"]);
        for month in list(owner, "groups") {
            let start = text(&month["group"]["periodStart"]);
            let key = |part: &str| vec![part.to_owned(), owner_id.clone(), start.clone()];
            let mut totals = key("deals");
            totals.extend(["deals", "won", "lost", "open"].map(|f| text(&month[f])));
            rows.push(totals);
            // The SQL has no row for a step nobody reached.
            for step in list(month, "steps").iter().filter(|s| s["reached"] != json!(0)) {
                if step["isWon"] == json!(true) {
                    let mut won = key("won");
                    won.extend([text(&step["reached"]), cents(&step["amount"]), String::new(), String::new()]);
                    rows.push(won);
                } else {
                    let mut stage = key("stage");
                    stage.push(raw_id(&step["stage"]["id"]));
                    stage.extend([text(&step["reached"]), cents(&step["amount"]), text(&step["lostHere"])]);
                    rows.push(stage);
                }
            }
        }
    }
    rows
}

/// Two statements, as a DBA would write them. First the cohort's deals once, aggregated by what
/// decides the stages (status, highest position entered, current stage), then deal counts,
/// WON, and stages reached (a deal reached every stage up to the highest it entered, a WON
/// deal all of them) from that small set. Second, time in stage from the cohort's events
/// (`left_at` kept by each move; timed, not compared: open deals count up to "now").
const FUNNEL_SQL: &[&str] = &["WITH agg AS MATERIALIZED (SELECT d.owner_id, {month(d.created_at)} AS m, d.status, \
     d.max_stage_position AS mp, d.stage_id, d.pipeline_id, COUNT(*) AS n, SUM(d.amount) AS a \
     FROM deals d JOIN pipelines p ON p.id = d.pipeline_id AND p.is_default \
     WHERE d.deleted_at IS NULL AND d.created_at >= {from} AND d.created_at < {to} GROUP BY 1, 2, 3, 4, 5, 6) \
     SELECT 'deals' AS c0, CAST(owner_id AS TEXT) AS c1, m AS c2, CAST(SUM(n) AS TEXT) AS c3, \
     CAST(SUM(CASE WHEN status = 'WON' THEN n ELSE 0 END) AS TEXT) AS c4, \
     CAST(SUM(CASE WHEN status = 'LOST' THEN n ELSE 0 END) AS TEXT) AS c5, \
     CAST(SUM(CASE WHEN status = 'OPEN' THEN n ELSE 0 END) AS TEXT) AS c6 FROM agg GROUP BY 2, 3 \
     UNION ALL \
     SELECT 'won', CAST(owner_id AS TEXT), m, CAST(SUM(n) AS TEXT), CAST(SUM(a) AS TEXT), NULL, NULL \
     FROM agg WHERE status = 'WON' GROUP BY 2, 3 \
     UNION ALL \
     SELECT 'stage', CAST(g.owner_id AS TEXT), g.m, CAST(s.id AS TEXT), CAST(SUM(g.n) AS TEXT), \
     CAST(SUM(g.a) AS TEXT), CAST(SUM(CASE WHEN g.status = 'LOST' AND g.stage_id = s.id THEN g.n ELSE 0 END) AS TEXT) \
     FROM agg g JOIN stages s ON s.pipeline_id = g.pipeline_id AND (s.position <= g.mp OR g.status = 'WON') \
     GROUP BY 2, 3, 4"];

/// Time in stage (the second statement of a hand-written funnel), timed but not compared. A
/// deal's events never precede its creation, so the cohort's events start in the period.
const FUNNEL_STAYS_SQL: &str = "WITH cohort AS (SELECT d.id, d.owner_id, d.created_at, d.closed_at FROM deals d \
     JOIN pipelines p ON p.id = d.pipeline_id AND p.is_default \
     WHERE d.deleted_at IS NULL AND d.created_at >= {from} AND d.created_at < {to}) \
     SELECT CAST(k.owner_id AS TEXT) AS c0, {month(k.created_at)} AS c1, CAST(e.to_stage_id AS TEXT) AS c2, \
     CAST(COUNT(*) AS TEXT) AS c3, CAST(SUM({epoch(COALESCE(e.left_at, k.closed_at, {now}))} - {epoch(e.moved_at)}) AS TEXT) AS c4 \
     FROM cohort k JOIN deal_stage_events e ON e.deal_id = k.id AND e.moved_at >= {from} GROUP BY 1, 2, 3";

const NO_SHOW: &str = "query($filter: MetricFilterInput) { noShowStats(filter: $filter, groupBy: OWNER, thenBy: MONTH) { \
    groups { group { owner { id } } groups { group { periodStart } meetings completed noShows canceled rescheduled \
    unlogged followedUpWithinHour noShowRate } } } }";

fn no_show_rows(data: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    for owner in list(&data["noShowStats"], "groups") {
        let owner_id = raw_id(&owner["group"]["owner"]["id"]);
        for month in list(owner, "groups") {
            let mut row = vec![owner_id.clone(), text(&month["group"]["periodStart"])];
            row.extend(
                ["meetings", "completed", "noShows", "canceled", "rescheduled", "unlogged", "followedUpWithinHour"]
                    .map(|f| text(&month[f])),
            );
            rows.push(row);
        }
    }
    rows
}

/// Every meeting of the period lies in the past in the benchmark's data, so SCHEDULED ones
/// are all "unlogged".
const NO_SHOW_SQL: &[&str] = &["SELECT CAST(m.owner_id AS TEXT) AS c0, {month(m.scheduled_at)} AS c1, \
     CAST(COUNT(*) AS TEXT) AS c2, \
     CAST(SUM(CASE WHEN m.status = 'COMPLETED' THEN 1 ELSE 0 END) AS TEXT) AS c3, \
     CAST(SUM(CASE WHEN m.status = 'NO_SHOW' THEN 1 ELSE 0 END) AS TEXT) AS c4, \
     CAST(SUM(CASE WHEN m.status = 'CANCELED' THEN 1 ELSE 0 END) AS TEXT) AS c5, \
     CAST(SUM(CASE WHEN m.status = 'RESCHEDULED' THEN 1 ELSE 0 END) AS TEXT) AS c6, \
     CAST(SUM(CASE WHEN m.status = 'SCHEDULED' THEN 1 ELSE 0 END) AS TEXT) AS c7, \
     CAST(SUM(CASE WHEN m.status = 'NO_SHOW' AND EXISTS (SELECT 1 FROM meetings f WHERE f.contact_id = m.contact_id \
       AND f.id <> m.id AND f.deleted_at IS NULL AND f.created_at >= m.outcome_logged_at \
       AND f.created_at <= {plus_hour(m.outcome_logged_at)} AND {epoch(f.created_at)} - {epoch(m.outcome_logged_at)} <= 3600) \
       THEN 1 ELSE 0 END) AS TEXT) AS c8 \
     FROM meetings m WHERE m.deleted_at IS NULL AND m.scheduled_at >= {from} AND m.scheduled_at < {to} GROUP BY 1, 2"];

const LOST: &str = "query($filter: MetricFilterInput) { lostDeals(filter: $filter) { count lostAmount weightedLostAmount \
    acquisitionCost byReason { reason { id } count lostAmount } } }";

fn lost_rows(data: &Value) -> Vec<Row> {
    let lost = &data["lostDeals"];
    let mut rows = vec![vec![
        "total".to_owned(),
        text(&lost["count"]),
        cents(&lost["lostAmount"]),
        cents(&lost["weightedLostAmount"]),
        cents(&lost["acquisitionCost"]),
    ]];
    for r in list(lost, "byReason") {
        rows.push(vec![
            "reason".to_owned(),
            raw_id(&r["reason"]["id"]),
            text(&r["count"]),
            cents(&r["lostAmount"]),
            String::new(),
        ]);
    }
    rows
}

/// Weighted amounts are Σ amount × probability in cents × percent, rounded half-up to cents once.
const LOST_SQL: &[&str] = &[
    "SELECT 'total' AS c0, CAST(COUNT(*) AS TEXT) AS c1, CAST(COALESCE(SUM(d.amount), 0) AS TEXT) AS c2, \
     CAST((CAST(COALESCE(SUM(d.amount * s.probability), 0) AS BIGINT) + 50) / 100 AS TEXT) AS c3, \
     CAST((SELECT COALESCE(SUM(c.acquisition_cost), 0) FROM contacts c WHERE c.id IN (SELECT l.contact_id FROM deals l \
       WHERE l.deleted_at IS NULL AND l.status = 'LOST' AND l.closed_at >= {from} AND l.closed_at < {to})) AS TEXT) AS c4 \
     FROM deals d JOIN stages s ON s.id = d.stage_id \
     WHERE d.deleted_at IS NULL AND d.status = 'LOST' AND d.closed_at >= {from} AND d.closed_at < {to}",
    "SELECT 'reason' AS c0, CAST(d.lost_reason_id AS TEXT) AS c1, CAST(COUNT(*) AS TEXT) AS c2, \
     CAST(SUM(d.amount) AS TEXT) AS c3, '' AS c4 FROM deals d \
     WHERE d.deleted_at IS NULL AND d.status = 'LOST' AND d.closed_at >= {from} AND d.closed_at < {to} \
     AND d.lost_reason_id IS NOT NULL GROUP BY d.lost_reason_id",
];

const ECONOMICS: &str = "query($filter: MetricFilterInput) { leadEconomics(filter: $filter) { leads convertedLeads \
    customers wonRevenue lostLeads acquisitionCostPerLead expectedValuePerLead } }";

fn economics_rows(data: &Value) -> Vec<Row> {
    let e = &data["leadEconomics"];
    vec![vec![
        text(&e["leads"]),
        text(&e["convertedLeads"]),
        text(&e["customers"]),
        cents(&e["wonRevenue"]),
        text(&e["lostLeads"]),
    ]]
}

const ECONOMICS_SQL: &[&str] = &["WITH leads AS (SELECT c.id, c.lifecycle FROM contacts c \
       WHERE c.deleted_at IS NULL AND c.created_at >= {from} AND c.created_at < {to}), \
     won AS (SELECT d.contact_id, d.amount FROM deals d \
       WHERE d.deleted_at IS NULL AND d.status = 'WON' AND d.closed_at >= {from} AND d.closed_at < {to}) \
     SELECT CAST((SELECT COUNT(*) FROM leads) AS TEXT) AS c0, \
     CAST((SELECT COUNT(*) FROM leads l WHERE EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = l.id \
       AND d.deleted_at IS NULL AND d.status = 'WON')) AS TEXT) AS c1, \
     CAST((SELECT COUNT(DISTINCT contact_id) FROM won) AS TEXT) AS c2, \
     CAST((SELECT COALESCE(SUM(amount), 0) FROM won) AS TEXT) AS c3, \
     CAST((SELECT COUNT(*) FROM leads l WHERE l.lifecycle = 'DISQUALIFIED' OR ( \
       EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = l.id AND d.deleted_at IS NULL) AND \
       NOT EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = l.id AND d.deleted_at IS NULL AND d.status <> 'LOST'))) \
       AS TEXT) AS c4"];

const REJECTION: &str = "query($filter: MetricFilterInput) { leadRejection(filter: $filter) { leads rejected \
    wastedAcquisitionCost bySource { source leads rejected wastedAcquisitionCost } } }";

fn rejection_rows(data: &Value) -> Vec<Row> {
    let r = &data["leadRejection"];
    let mut rows = vec![vec![
        "total".to_owned(),
        String::new(),
        text(&r["leads"]),
        text(&r["rejected"]),
        cents(&r["wastedAcquisitionCost"]),
    ]];
    for s in list(r, "bySource") {
        rows.push(vec![
            "source".to_owned(),
            text(&s["source"]),
            text(&s["leads"]),
            text(&s["rejected"]),
            cents(&s["wastedAcquisitionCost"]),
        ]);
    }
    rows
}

const REJECTION_SQL: &[&str] = &["SELECT 'source' AS c0, c.source AS c1, CAST(COUNT(*) AS TEXT) AS c2, \
     CAST(SUM(CASE WHEN c.lifecycle = 'DISQUALIFIED' THEN 1 ELSE 0 END) AS TEXT) AS c3, \
     CAST(SUM(CASE WHEN c.lifecycle = 'DISQUALIFIED' THEN c.acquisition_cost ELSE 0 END) AS TEXT) AS c4 \
     FROM contacts c WHERE c.deleted_at IS NULL AND c.created_at >= {from} AND c.created_at < {to} GROUP BY c.source \
     UNION ALL \
     SELECT 'total', '', CAST(COUNT(*) AS TEXT), \
     CAST(SUM(CASE WHEN c.lifecycle = 'DISQUALIFIED' THEN 1 ELSE 0 END) AS TEXT), \
     CAST(COALESCE(SUM(CASE WHEN c.lifecycle = 'DISQUALIFIED' THEN c.acquisition_cost ELSE 0 END), 0) AS TEXT) \
     FROM contacts c WHERE c.deleted_at IS NULL AND c.created_at >= {from} AND c.created_at < {to}"];
