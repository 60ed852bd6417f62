//! A throwaway Postgres cluster a test may stop, start, limit and break
//! without touching the shared server other tests use.

use std::path::PathBuf;
use std::process::Command;

/// A throwaway Postgres cluster this test may stop and start, under the
/// system temp dir, run as the `postgres` user when we are root.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    pub fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|dirs| {
                dirs.filter_map(Result::ok)
                    .map(|d| d.path().join("bin"))
                    .filter(|b| b.join("pg_ctl").exists())
                    .max()
            });
        let Some(bin) = bin else {
            // Same rule as TestDb: under CI a missing Postgres is a failure.
            assert!(
                std::env::var("CI").is_err(),
                "CI=true but no Postgres server binaries to start a private cluster"
            );
            eprintln!("postgres: skipped (no PostgreSQL server binaries for a private cluster)");
            return None;
        };
        let uid = Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = std::env::temp_dir().join(format!("timebank-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres", dir.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    /// A command run as the cluster's owner (`postgres` when we are root:
    /// the server tools refuse to run as root).
    fn as_owner(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .as_owner(self.bin.join(tool))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sets the soft file-size limit of the postmaster and every backend
    /// (new backends inherit the postmaster's): with `0`, every write to a
    /// data or WAL file fails as on a full disk. Run as the server's user.
    pub fn limit_file_size(&self, limit: &str) {
        let pid_file =
            std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap_or_default();
        let Some(postmaster) = pid_file
            .lines()
            .next()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        else {
            return; // not running: nothing to limit
        };
        let children = Command::new("pgrep")
            .args(["-P", postmaster])
            .output()
            .unwrap();
        let children = String::from_utf8_lossy(&children.stdout).to_string();
        for pid in std::iter::once(postmaster).chain(children.split_whitespace()) {
            // A backend may have ended meanwhile: its error does not matter.
            let _ = self
                .as_owner("prlimit")
                .args(["--pid", pid, &format!("--fsize={limit}:")])
                .output();
        }
    }

    /// Starts the server again if it has shut itself down (as Postgres does
    /// when it cannot write its WAL).
    pub fn ensure_running(&self) {
        let data = self.dir.join("data");
        let running = self
            .as_owner(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "status"])
            .output()
            .is_ok_and(|out| out.status.success());
        if !running {
            eprintln!("postgres had shut itself down; starting it again");
            self.start_server();
        }
    }

    pub fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data");
        let mut all = vec!["-D", data.to_str().unwrap(), "-w"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    pub fn start_server(&self) {
        let log = self.dir.join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "start"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .as_owner(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "stop", "-m", "immediate"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
