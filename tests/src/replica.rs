//! A real `crm-api serve` process on a test's database: two of them on one PostgreSQL are
//! two replicas, and one can be killed and started again. The binary is the test crate's
//! `replica` (`env!("CARGO_BIN_EXE_replica")`, which Cargo sets for test targets only).

use std::time::Duration;

use crate::TestApp;

pub struct Replica {
    child: std::process::Child,
    pub url: String,
}

impl Replica {
    /// Starts a server on `app`'s database with extra environment `env` and waits until it
    /// is ready.
    pub async fn start(binary: &str, app: &TestApp, env: &[(&str, &str)]) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = std::process::Command::new(binary);
        command
            .arg("serve")
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_LISTEN", format!("127.0.0.1:{port}"))
            .env("CRM_LOG", "warn")
            .stdout(std::process::Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("replica starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = app.http.get(format!("{url}/readyz")).send().await
                && r.status().is_success()
            {
                return Replica { child, url };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the replica did not become ready");
    }

    /// `app` talking to this process instead.
    pub fn on(&self, app: &TestApp) -> TestApp {
        TestApp { url: self.url.clone(), ..app.clone() }
    }

    /// Kills the process at once (SIGKILL): no shutdown, no last write.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}
