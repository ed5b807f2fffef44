//! The benchmark suite at a tiny size: every metric's GraphQL answer must equal the answer of
//! the hand-written SQL the benchmark times it against (no timings are asserted here).

use api::config::SeedConfig;
use entity::enums::Role;
use sea_orm::{ConnectionTrait, Statement};
use tests::bench::{self, Period};
use tests::db_test;

db_test!(graphql_answers_equal_hand_written_sql, |app| {
    let cfg = SeedConfig {
        contacts: 400,
        deals: 900,
        meetings: 1500,
        months: 14,
        end_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        ..SeedConfig::default()
    };
    api::seed::generate(&app.db, &cfg).await.unwrap();
    let (_, token) = app.member("bench-admin@example.com", Role::Admin, None).await;
    let period = Period { from: "2025-07-01T00:00:00Z".into(), to: "2026-07-01T00:00:00Z".into() };
    for case in bench::cases() {
        let period = (case.period_of)(&period);
        let data = app.ok(&token, case.query, bench::variables(&period)).await;
        let from_graphql = bench::graphql_rows(&case, &data);
        let from_sql = bench::sql_rows(&app.db, &case, &period).await;
        // A case that compares nothing would prove nothing.
        assert!(from_sql.len() > 1 || case.name.starts_with("lead economics"), "{}: {from_sql:?}", case.name);
        assert!(from_sql.iter().flatten().any(|v| v.parse::<i64>().is_ok_and(|n| n > 0)), "{}", case.name);
        assert_eq!(from_graphql, from_sql, "{}", case.name);
        // A statement the benchmark only times (time in stage) must at least run and answer.
        if let Some(extra) = case.timed_only {
            let sql = bench::fill(app.db.get_database_backend(), extra, &period);
            let rows = app.db.query_all_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
            assert!(!rows.is_empty(), "{}", case.name);
        }
    }
});
