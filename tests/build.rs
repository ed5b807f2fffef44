//! Compiles the PostgreSQL variants of the integration tests in when CRM_TEST_POSTGRES_URL
//! is set; without it they are reported as ignored, never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(crm_test_postgres)");
    println!("cargo::rerun-if-env-changed=CRM_TEST_POSTGRES_URL");
    if std::env::var_os("CRM_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=crm_test_postgres");
    }
}
