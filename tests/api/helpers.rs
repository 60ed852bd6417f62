use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use timebank_ledger::{
    AccountKind, Amount, Asset, NewPosting, NewTransaction, TxKind, find_account,
};
use timebank_store::testing::TestDb;

pub const SECRET: &str = "e2e-test-secret-0123456789";
pub const ADMIN_PHONE: &str = "13700000000";
pub const ADMIN_PASSWORD: &str = "admin-pass-1";

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timebank"))
}

pub struct App {
    child: Child,
    /// Every line the server logged (every start of it), kept so the log can
    /// be searched for secrets and personal data when the test ends.
    log: ServerLog,
    /// Phones, passwords and tokens this test sent or received.
    secrets: std::sync::Mutex<Secrets>,
    pub url: String,
    pub db: TestDb,
    pub root_id: String,
    pub admin: String,
    agent: ureq::Agent,
    /// Set by tests that corrupt the ledger on purpose.
    pub tampered: std::sync::atomic::AtomicBool,
}

type ServerLog = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

#[derive(Default)]
struct Secrets {
    phones: std::collections::BTreeSet<String>,
    passwords: std::collections::BTreeSet<String>,
    tokens: std::collections::BTreeSet<String>,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an error of the one shape: status, code and a message.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
    }
}

/// Starts the server after creating a platform admin with the CLI.
pub fn spawn(db: TestDb) -> App {
    spawn_with(db, &[])
}

/// Starts the server at the `info` log level an operator would run, its log
/// appended to `log`.
fn serve(db: &TestDb, env: &[(&str, &str)], log: &ServerLog) -> (Child, String) {
    let mut command = bin();
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .env("DATABASE_URL", db.url())
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.lock().unwrap().push(line);
        }
    });
    let url = wait_for_listening(&mut child);
    (child, url)
}

/// [`spawn`] with extra environment for the server (failpoints).
pub fn spawn_with(db: TestDb, env: &[(&str, &str)]) -> App {
    let out = cli(
        &db,
        &[
            "admin",
            "create",
            "--phone",
            ADMIN_PHONE,
            "--password",
            ADMIN_PASSWORD,
            "--org-name",
            "测试市",
        ],
    );
    assert!(
        out.status.success(),
        "admin create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let log = ServerLog::default();
    let (child, url) = serve(&db, env, &log);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut app = App {
        child,
        log,
        secrets: Default::default(),
        url,
        db,
        root_id: created["org_id"].as_str().unwrap().to_owned(),
        admin: String::new(),
        agent,
        tampered: std::sync::atomic::AtomicBool::new(false),
    };
    app.admin = app.login(ADMIN_PHONE, ADMIN_PASSWORD);
    app
}

/// Reads the server's stdout until it says where it listens.
pub fn wait_for_listening(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("timebank listening on ") {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("server did not start")
}

pub fn cli(db: &TestDb, args: &[&str]) -> Output {
    let out = bin()
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    // The CLI's log, like the server's, never shows a password or a hash.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains("$argon2") && !log.contains(ADMIN_PASSWORD),
        "the CLI logged a secret: {log}"
    );
    out
}

impl Drop for App {
    fn drop(&mut self) {
        // Whatever a test did, the ledger must still verify at its end.
        if !std::thread::panicking() && !self.tampered.load(std::sync::atomic::Ordering::Relaxed) {
            self.assert_verified();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log.lock().unwrap();
        if std::thread::panicking() {
            let from = log.len().saturating_sub(40);
            eprintln!(
                "--- the server's last log lines ---\n{}",
                log[from..].join("\n")
            );
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("server-logs");
            let file = dir.join(format!("{}.log", uuid::Uuid::new_v4()));
            if std::fs::create_dir_all(&dir).is_ok()
                && std::fs::write(&file, log.join("\n")).is_ok()
            {
                eprintln!("--- the whole server log: {}", file.display());
            }
        } else {
            self.secrets
                .lock()
                .unwrap()
                .assert_absent("the server log", &log.join("\n"));
        }
    }
}

impl Secrets {
    /// Panics if `text` holds a password hash, a password, a token or a
    /// phone number in full.
    fn assert_absent(&self, place: &str, text: &str) {
        assert!(!text.contains("$argon2"), "a password hash in {place}");
        for (kind, set) in [
            ("password", &self.passwords),
            ("token", &self.tokens),
            ("phone number", &self.phones),
        ] {
            if let Some(found) = set.iter().find(|s| text.contains(s.as_str())) {
                panic!("{place} holds a {kind} ({found}): {}", excerpt(text, found));
            }
        }
    }
}

fn excerpt<'a>(text: &'a str, found: &str) -> &'a str {
    text.lines().find(|l| l.contains(found)).unwrap_or("")
}

/// Status, headers and the body (JSON when it parses, else the text).
fn read_resp(mut resp: ureq::http::Response<ureq::Body>) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        body,
        headers,
    }
}

impl App {
    /// Stops the server (it may have died already) and starts it again on
    /// the same database with `env`.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, url) = serve(&self.db, env, &self.log);
        self.child = child;
        self.url = url;
    }

    /// Every line the server has logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the server gets no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the server process has exited.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// A POST that may meet a dead server: transport errors are returned.
    pub fn try_post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let mut req = self
            .agent
            .post(format!("{}{}", self.url, path))
            .header("Authorization", format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send_json(body).map_err(|e| e.to_string())?;
        Ok(read_resp(resp))
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{}", self.url, path);
        let auth = token.map(|t| format!("Bearer {t}"));
        let sent = body.clone();
        let started = Instant::now();
        let mut headers_all: Vec<(&str, String)> =
            headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        if let Some(a) = &auth {
            headers_all.push(("Authorization", a.clone()));
        }
        let result = match method {
            "GET" | "DELETE" | "OPTIONS" => {
                let mut req = match method {
                    "GET" => self.agent.get(&url),
                    "DELETE" => self.agent.delete(&url),
                    _ => self.agent.options(&url),
                };
                for (k, v) in &headers_all {
                    req = req.header(*k, v);
                }
                req.call()
            }
            "POST" | "PUT" => {
                let mut req = if method == "POST" {
                    self.agent.post(&url)
                } else {
                    self.agent.put(&url)
                };
                for (k, v) in &headers_all {
                    req = req.header(*k, v);
                }
                match &body {
                    Some(b) => req.send_json(b),
                    None => req.send_empty(),
                }
            }
            other => panic!("method {other}"),
        };
        let resp = result.unwrap_or_else(|e| {
            panic!("{method} {path} failed after {:?}: {e}", started.elapsed())
        });
        let resp = read_resp(resp);
        self.screen(path, sent.as_ref(), &resp);
        resp
    }

    /// Remembers the phones, passwords and tokens that went by, and checks
    /// that no response shows a password, a hash, or a token outside /auth.
    fn screen(&self, path: &str, sent: Option<&Value>, resp: &Resp) {
        let mut guard = self.secrets.lock().unwrap();
        let secrets = &mut *guard;
        if let Some(sent) = sent {
            for (field, set) in [
                ("phone", &mut secrets.phones),
                ("password", &mut secrets.passwords),
                ("refresh_token", &mut secrets.tokens),
            ] {
                if let Some(v) = sent[field].as_str().filter(|v| v.len() >= 6) {
                    set.insert(v.to_owned());
                }
            }
            for field in ["current_password", "new_password"] {
                if let Some(v) = sent[field].as_str().filter(|v| v.len() >= 6) {
                    secrets.passwords.insert(v.to_owned());
                }
            }
        }
        let text = resp.body.to_string();
        // Token pairs are answered by sign-in and by a password change.
        if path.starts_with("/api/v1/auth/") || path == "/api/v1/me/password" {
            for field in ["access_token", "refresh_token"] {
                if let Some(t) = resp.body[field].as_str() {
                    secrets.tokens.insert(t.to_owned());
                }
            }
            assert!(!text.contains("$argon2"), "a password hash in {path}");
            return;
        }
        // Phones may be shown in full to their owner and admins; the rest
        // must never appear in a response.
        let phones = std::mem::take(&mut secrets.phones);
        secrets.assert_absent(&format!("the response to {path}"), &text);
        secrets.phones = phones;
        // A reset code is shown once, to the admin who issued it; never
        // again, and never in a log.
        if path.ends_with("/reset-code")
            && let Some(code) = resp.body["code"].as_str()
        {
            secrets.tokens.insert(code.to_owned());
        }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send("GET", path, token, None, &[])
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send("POST", path, token, Some(body), &[])
    }

    /// Sends raw bytes as the body, for malformed-input tests.
    pub fn post_raw(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> Resp {
        let url = format!("{}{}", self.url, path);
        let mut req = self.agent.post(&url);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        read_resp(req.send(body).unwrap())
    }

    /// Raw bytes with a token, for non-JSON bodies.
    pub fn post_raw_auth(&self, path: &str, token: &str, content_type: &str, body: &[u8]) -> Resp {
        let url = format!("{}{}", self.url, path);
        let resp = self
            .agent
            .post(&url)
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        read_resp(resp)
    }

    pub fn login(&self, phone: &str, password: &str) -> String {
        let r = self.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": phone, "password": password }),
        );
        assert_eq!(r.status, 200, "login {phone}: {}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates an org of `kind` under `parent` as the platform admin.
    pub fn org(&self, name: &str, kind: &str, parent: &str) -> String {
        let r = self.post(
            "/api/v1/orgs",
            Some(&self.admin),
            json!({ "name": name, "kind": kind, "parent_id": parent }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Registers a volunteer; returns their id.
    pub fn register(&self, name: &str, phone: &str, community: &str) -> String {
        let r = self.post(
            "/api/v1/volunteers/register",
            None,
            json!({ "name": name, "phone": phone, "password": "volunteer-pass", "community_id": community, "skills": ["维修"] }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["status"], "pending");
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Registers a user with no volunteer role beyond the pending record and
    /// makes them admin of `org`; returns their token.
    pub fn admin_of(&self, org: &str, phone: &str, community_for_record: &str) -> String {
        let id = self.register("管理员", phone, community_for_record);
        let r = self.post(
            &format!("/api/v1/orgs/{org}/admins"),
            Some(&self.admin),
            json!({ "user_id": id }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        self.login(phone, "volunteer-pass")
    }
}

/// A district with two streets and two communities (A under street 1, B
/// under street 2).
pub struct Tree {
    pub district: String,
    pub street_a: String,
    pub community_a: String,
    pub community_b: String,
}

pub fn tree(app: &App) -> Tree {
    let district = app.org("荷塘区", "district", &app.root_id);
    let street_a = app.org("月塘街道", "street", &district);
    let street_b = app.org("宋家桥街道", "street", &district);
    let community_a = app.org("新塘社区", "community", &street_a);
    let community_b = app.org("合泰社区", "community", &street_b);
    Tree {
        district,
        street_a,
        community_a,
        community_b,
    }
}

/// A site in community A offering oil at 2.00 points (a district item)
/// with `stock` in stock; returns (site, item).
pub fn oil_shop(app: &App, t: &Tree, stock: i64) -> (String, String) {
    let site = app.post(
        "/api/v1/sites",
        Some(&app.admin),
        json!({ "org_id": t.community_a, "name": "站", "address": "x" }),
    );
    let site = site.body["id"].as_str().unwrap().to_owned();
    let item = app.post(
        "/api/v1/catalog/items",
        Some(&app.admin),
        json!({ "org_id": t.district, "name": "油", "points_price": "2.00" }),
    );
    let item = item.body["id"].as_str().unwrap().to_owned();
    let stocked = app.post(
        &format!("/api/v1/sites/{site}/stock"),
        Some(&app.admin),
        json!({ "item_id": item, "delta": stock, "reason": "入库" }),
    );
    assert!(stocked.status < 300, "{}", stocked.body);
    (site, item)
}

/// `openapi.yaml` as JSON, with `$ref`s left in place.
pub fn spec() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    serde_json::to_value(yaml).unwrap()
}

/// Runs `test` against a fresh server on SQLite, then on Postgres when
/// TEST_DATABASE_URL is set.
pub fn each_backend(test: impl Fn(&App)) {
    for db in TestDb::all() {
        eprintln!("backend {:?}", db.backend());
        let app = spawn(db);
        test(&app);
    }
}

/// Posts earned hours and points straight through the ledger crate;
/// returns the transaction id.
pub fn earn(app: &App, volunteer: &str, community: &str, amount: &str) -> String {
    let pool = app.db.pool(1).unwrap();
    let conn = &mut pool.get().unwrap();
    let wallet = find_account(conn, AccountKind::VolunteerWallet, volunteer)
        .unwrap()
        .unwrap();
    let issuer = find_account(conn, AccountKind::OrgIssuance, community)
        .unwrap()
        .unwrap();
    let a = Amount::parse(amount).unwrap();
    let n = a.checked_neg().unwrap();
    let tx = NewTransaction {
        kind: TxKind::EarnHours,
        actor_id: Some("e2e".into()),
        reason: "社区清洁".into(),
        external_id: None,
        rule_version: Some("test".into()),
        request_id: None,
        postings: vec![
            NewPosting {
                account_id: issuer.id.clone(),
                asset: Asset::Point,
                amount: n,
            },
            NewPosting {
                account_id: wallet.id.clone(),
                asset: Asset::Point,
                amount: a,
            },
            NewPosting {
                account_id: issuer.id,
                asset: Asset::Hour,
                amount: n,
            },
            NewPosting {
                account_id: wallet.id,
                asset: Asset::Hour,
                amount: a,
            },
        ],
    };
    // As every earning path does: post, then refresh star levels, in one transaction.
    timebank_store::write_tx(conn, |c| {
        let posted = timebank_ledger::post_in(c, &tx)?;
        timebank_earning::stars::refresh_for_transaction(
            c,
            &posted.transaction,
            timebank_store::now(),
        )?;
        Ok::<_, timebank_kernel::DomainError>(posted.transaction.id)
    })
    .unwrap()
}

/// An RFC 3339 time `minutes` from now (negative: in the past), whole seconds.
pub fn minutes_from_now(minutes: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fixed UTC time on a day `days_ago` days back, at `hh:mm`.
pub fn day_at(days_ago: i64, hh: u32, mm: u32) -> String {
    let day = (chrono::Utc::now() - chrono::Duration::days(days_ago)).date_naive();
    format!("{}T{hh:02}:{mm:02}:00Z", day.format("%Y-%m-%d"))
}

impl App {
    /// Creates and publishes an activity as the platform admin.
    pub fn published_activity(
        &self,
        org: &str,
        starts_at: &str,
        ends_at: &str,
        capacity: i64,
        pph: Option<&str>,
    ) -> String {
        let mut body = json!({ "org_id": org, "title": "社区清洁", "category": "环境保护", "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity });
        if let Some(p) = pph {
            body["points_per_hour"] = json!(p);
        }
        let r = self.post("/api/v1/activities", Some(&self.admin), body);
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let r = self.post(
            &format!("/api/v1/activities/{id}/review"),
            Some(&self.admin),
            json!({ "decision": "approve" }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        id
    }

    /// A registered and approved volunteer; returns (id, token).
    pub fn active_volunteer(&self, name: &str, phone: &str, community: &str) -> (String, String) {
        let id = self.register(name, phone, community);
        let r = self.send(
            "POST",
            &format!("/api/v1/volunteers/{id}/approve"),
            Some(&self.admin),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        (id.clone(), self.login(phone, "volunteer-pass"))
    }

    pub fn attend(&self, activity: &str, volunteer: &str, check_in: &str, check_out: &str) -> Resp {
        self.post(
            &format!("/api/v1/activities/{activity}/attendance"),
            Some(&self.admin),
            json!({ "volunteer_id": volunteer, "check_in_at": check_in, "check_out_at": check_out }),
        )
    }

    pub fn settle(&self, activity: &str) -> Resp {
        let r = self.send(
            "POST",
            &format!("/api/v1/activities/{activity}/settle"),
            Some(&self.admin),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r
    }

    pub fn balance(&self, volunteer: &str) -> Value {
        let r = self.get(
            &format!("/api/v1/volunteers/{volunteer}/balance"),
            Some(&self.admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// The ledger must stay clean after every test.
    pub fn assert_verified(&self) {
        let r = self.get("/api/v1/ledger/verify", Some(&self.admin));
        assert_eq!(r.body["ok"], true, "{}", r.body);
    }
}
