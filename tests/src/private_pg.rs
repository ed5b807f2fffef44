//! A PostgreSQL server of the test's own, started from the machine's binaries
//! (`/usr/lib/postgresql/*/bin`, `initdb` as the `postgres` user, a free port), so a test
//! can stop and restart it to simulate an outage. Removed when dropped.

use std::path::PathBuf;
use std::process::Command;

pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL binaries under /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|p| p.join("initdb").exists())
            .expect("an initdb");
        let data = std::env::temp_dir().join(format!("crm_pg_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&data).expect("data directory");
        let status = Command::new("chown").arg("postgres:postgres").arg(&data).status().expect("chown runs");
        assert!(status.success(), "chown failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = PrivatePostgres { bin, data, port };
        pg.run("initdb", &["-D", pg.dir(), "-U", "postgres", "--auth=trust", "--no-sync"]);
        pg.start_again();
        pg
    }

    fn dir(&self) -> &str {
        self.data.to_str().expect("UTF-8 path")
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn start_again(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir());
        self.run("pg_ctl", &["-D", self.dir(), "-o", &options, "-w", "-l", &format!("{}/log", self.dir()), "start"]);
    }

    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", self.dir(), "-m", "immediate", "-w", "stop"]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let out = as_postgres(&[program.to_str().expect("UTF-8 path")], args).expect("tool runs");
        assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn as_postgres(program: &[&str], args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new("runuser").args(["-u", "postgres", "--"]).args(program).args(args).output()
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = as_postgres(
            &[self.bin.join("pg_ctl").to_str().unwrap_or("pg_ctl")],
            &["-D", self.dir(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
