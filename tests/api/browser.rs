//! The staff console in a real browser: Debian's headless Chromium, driven
//! over WebDriver (chromedriver), against the real binary serving the demo
//! district. Every step saves a screenshot under
//! `target/tmp/browser-screenshots/`.
//!
//! Without Chromium the test says `browser: skipped`; with `CI=true` a
//! missing browser is a failure, as a missing Postgres is.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::*;

const STAFF_PASSWORD: &str = "admin-demo-2026";
const COMMUNITY_ADMIN: &str = "13800000002";
const AUDITOR: &str = "13800000003";
const OPERATOR: &str = "13800000004";
const VOLUNTEER: &str = "13900000001";
const VOLUNTEER_PASSWORD: &str = "volunteer-demo";

fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo server on a fixed port (restarts keep the console's origin).
struct Demo {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Demo {
    fn start(dir: &Path, port: u16, secret: &str) -> (Demo, String) {
        let mut child = bin()
            .args(["demo", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--db", dir.join("demo.db").to_str().unwrap()])
            .env("JWT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = wait_for_listening(&mut child);
        (
            Demo {
                child,
                dir: dir.to_owned(),
                port,
            },
            url,
        )
    }

    /// The same database under another signing key: every access token the
    /// console holds is now refused, as one past its expiry is.
    fn restart(&mut self, secret: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (next, _) = Demo::start(&self.dir, self.port, secret);
        *self = next;
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_console_in_a_browser() {
    let (Some(chromium), Some(chromedriver)) = (
        find_tool(&["chromium", "chromium-browser", "google-chrome"]),
        find_tool(&["chromedriver"]),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "browser: Chromium and chromedriver are required in CI (Debian: chromium chromium-driver fonts-noto-cjk)"
        );
        eprintln!("browser: skipped (no chromium or chromedriver on PATH)");
        return;
    };
    let dir = tempdir();
    let (demo, url) = Demo::start(&dir, free_port(), "browser-test-secret-one");
    let driver_port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let client = connect(driver_port, &chromium).await;
        let mut run = Run {
            client: client.clone(),
            url: url.clone(),
            shots,
            step: 0,
            demo,
        };
        let outcome = run.flows().await;
        if outcome.is_err() {
            let _ = run.shot("failure").await;
        }
        let _ = client.close().await;
        outcome
    });
    drop(driver);
    if let Err(e) = result {
        panic!("browser: {e}");
    }
}

fn tempdir() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn connect(port: u16, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=zh-CN"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut last = None;
    // chromedriver takes a moment to listen.
    for _ in 0..50 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("browser: chromedriver did not answer: {last:?}")
}

type Step<T = ()> = Result<T, String>;

struct Run {
    client: Client,
    url: String,
    shots: PathBuf,
    step: usize,
    demo: Demo,
}

impl Run {
    async fn shot(&mut self, name: &str) -> Step {
        self.step += 1;
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        let file = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&file, png).map_err(|e| e.to_string())?;
        eprintln!("browser: screenshot {}", file.display());
        Ok(())
    }

    async fn wait(&self, css: &str) -> Step<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("waiting for {css}: {e}"))
    }

    async fn count(&self, css: &str) -> Step<usize> {
        Ok(self
            .client
            .find_all(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?
            .len())
    }

    async fn click(&self, css: &str) -> Step {
        self.wait(css)
            .await?
            .click()
            .await
            .map_err(|e| format!("clicking {css}: {e}"))
    }

    async fn open(&self, hash: &str) -> Step {
        self.client
            .goto(&format!("{}/console/{hash}", self.url))
            .await
            .map_err(|e| e.to_string())
    }

    async fn sign_in(&mut self, phone: &str, password: &str) -> Step {
        self.open("#/login").await?;
        let field = self.wait("#login-phone").await?;
        field.clear().await.map_err(|e| e.to_string())?;
        field.send_keys(phone).await.map_err(|e| e.to_string())?;
        let field = self.wait("#login-password").await?;
        field.clear().await.map_err(|e| e.to_string())?;
        field.send_keys(password).await.map_err(|e| e.to_string())?;
        self.click("#login-submit").await
    }

    async fn sign_out(&self) -> Step {
        self.click("#sign-out").await?;
        self.wait("main[data-page=login]").await?;
        Ok(())
    }

    /// The API as the test sees it (not through the browser).
    fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}/api/v1{path}", self.url);
        let mut resp = match (method, body) {
            ("GET", _) => {
                let mut r = agent.get(&url);
                if let Some(t) = token {
                    r = r.header("Authorization", format!("Bearer {t}"));
                }
                r.call().unwrap()
            }
            (_, body) => {
                let mut r = agent.post(&url);
                if let Some(t) = token {
                    r = r.header("Authorization", format!("Bearer {t}"));
                }
                r.send_json(body.unwrap_or(json!({}))).unwrap()
            }
        };
        resp.body_mut().read_json().unwrap_or(Value::Null)
    }

    fn token(&self, phone: &str, password: &str) -> String {
        let r = self.api(
            "POST",
            "/auth/login",
            None,
            Some(json!({ "phone": phone, "password": password })),
        );
        r["access_token"].as_str().unwrap().to_owned()
    }

    /// Clicks `action` in the first row of the list that has it, confirms,
    /// and returns that row's id.
    async fn act_on_first_row(&self, action: &str) -> Step<String> {
        let css = format!("tr[data-id] button[data-action={action}]");
        self.wait(&css).await?;
        let row_id: Value = self
            .client
            .execute(
                &format!(
                    "return document.querySelector('{css}').closest('tr[data-id]').dataset.id"
                ),
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let id = row_id.as_str().ok_or("a row without an id")?.to_owned();
        self.click(&format!(
            "tr[data-id=\"{id}\"] button[data-action={action}]"
        ))
        .await?;
        self.click("button[data-confirm=ok]").await?;
        Ok(id)
    }

    /// Teams, units, the three lists and projects, as a community admin.
    async fn organising(&mut self, admin: &str) -> Step {
        // Approve a team a volunteer applied for.
        self.open("#/teams?status=pending").await?;
        self.wait("main[data-page=teams]").await?;
        let team = self.act_on_first_row("approve").await?;
        self.until("the team's approval", || {
            self.api("GET", &format!("/teams/{team}"), Some(admin), None)["status"] == "active"
        })
        .await?;
        self.open("#/teams").await?;
        self.wait("main[data-page=teams] tr[data-id]").await?;
        self.click("main[data-page=teams] tr[data-id] button[data-action=details]")
            .await?;
        self.wait(".drawer table").await?;
        self.shot("teams").await?;
        self.open("#/units").await?;
        self.wait("main[data-page=units] tr[data-id]").await?;
        self.shot("units").await?;

        // Confirm a unit's claim on the community's need: a project is made.
        self.open("#/lists?list=need&status=claimed").await?;
        self.wait("main[data-page=lists]").await?;
        let need = self.act_on_first_row("confirm").await?;
        self.until("the match", || {
            self.api("GET", &format!("/list-items/{need}"), Some(admin), None)["status"]
                == "matched"
        })
        .await?;
        // Claim an open resource for the community.
        self.open("#/lists?list=resource&status=open").await?;
        self.wait("main[data-page=lists] tr[data-id]").await?;
        self.shot("lists").await?;
        let resource = self.act_on_first_row("claim").await?;
        self.until("the claim", || {
            let item = self.api("GET", &format!("/list-items/{resource}"), Some(admin), None);
            item["status"] == "claimed" && item["claim"]["by_org_id"].is_string()
        })
        .await?;

        // Submit the running project, then assess it with a result and a rating.
        self.open("#/projects?status=running").await?;
        self.wait("main[data-page=projects]").await?;
        let project = self.act_on_first_row("assess").await?;
        self.until("the submission", || {
            self.api("GET", &format!("/projects/{project}"), Some(admin), None)["status"]
                == "assessing"
        })
        .await?;
        self.open("#/projects?status=assessing").await?;
        self.click(&format!(
            "tr[data-id=\"{project}\"] button[data-action=close]"
        ))
        .await?;
        self.wait("#dlg-result")
            .await?
            .send_keys("楼道灯全部更换，居民满意")
            .await
            .map_err(|e| e.to_string())?;
        self.wait("#dlg-rating")
            .await?
            .send_keys("5")
            .await
            .map_err(|e| e.to_string())?;
        self.shot("project-assessment").await?;
        self.click("button[data-confirm=ok]").await?;
        self.until("the assessment", || {
            let p = self.api("GET", &format!("/projects/{project}"), Some(admin), None);
            p["status"] == "closed" && p["rating"] == 5
        })
        .await?;
        self.open("#/projects?status=closed").await?;
        self.wait("main[data-page=projects] tr[data-id]").await?;
        self.shot("projects").await?;
        Ok(())
    }

    async fn until(&self, what: &str, check: impl Fn() -> bool) -> Step {
        for _ in 0..100 {
            if check() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{what} did not happen"))
    }

    async fn flows(&mut self) -> Step {
        let admin = self.token(COMMUNITY_ADMIN, STAFF_PASSWORD);

        // Sign in; the home page counts what waits, each a link to its queue.
        self.open("").await?;
        self.wait("main[data-page=login]").await?;
        self.shot("login").await?;
        self.sign_in(COMMUNITY_ADMIN, STAFF_PASSWORD).await?;
        self.wait("main[data-page=home] [data-queue=pending_volunteers] .count")
            .await?;
        let count = self
            .wait("[data-queue=pending_volunteers] .count")
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let pending: usize = count
            .trim()
            .parse()
            .map_err(|_| format!("count {count:?}"))?;
        if pending == 0 {
            return Err("the demo has no pending volunteer in 新塘社区".into());
        }
        self.shot("home").await?;
        // Batch runs are the platform's: not in a community admin's menu.
        if self.count("a[data-nav=jobs]").await? > 0 {
            return Err("a community admin sees the batch runs page".into());
        }

        // Approve a pending volunteer from the queue.
        self.click("[data-queue=pending_volunteers]").await?;
        self.wait("main[data-page=volunteers]").await?;
        let volunteer = self.act_on_first_row("approve").await?;
        self.until("the approval", || {
            self.api(
                "GET",
                &format!("/volunteers/{volunteer}"),
                Some(&admin),
                None,
            )["status"]
                == "active"
        })
        .await?;
        self.shot("volunteer-approved").await?;
        let profile = self.api(
            "GET",
            &format!("/volunteers/{volunteer}"),
            Some(&admin),
            None,
        );
        if profile["approved_at"].is_null() {
            return Err(format!("not approved: {profile}"));
        }

        // Review an activity.
        self.open("#/activities?status=pending_review").await?;
        self.wait("main[data-page=activities]").await?;
        let activity = self.act_on_first_row("approve").await?;
        self.until("the review", || {
            self.api(
                "GET",
                &format!("/activities/{activity}"),
                Some(&admin),
                None,
            )["status"]
                == "published"
        })
        .await?;
        self.shot("activity-reviewed").await?;

        // Approve a case award.
        self.open("#/cases?status=pending").await?;
        self.wait("main[data-page=cases]").await?;
        let award = self.act_on_first_row("approve").await?;
        self.until("the award", || {
            self.api("GET", &format!("/case-awards/{award}"), Some(&admin), None)["status"]
                == "approved"
        })
        .await?;
        self.shot("award-approved").await?;

        // Reports draw their charts from the ledger.
        self.open("#/reports").await?;
        self.wait("svg[data-chart=monthly] rect").await?;
        for chart in ["monthly", "flows", "stars"] {
            let bars = self.count(&format!("svg[data-chart={chart}] rect")).await?;
            if bars < 3 {
                return Err(format!("the {chart} chart has {bars} bars"));
            }
        }
        let months = self.count("svg[data-chart=monthly] rect title").await?;
        if months < 12 {
            return Err(format!("a year of history shows {months} monthly bars"));
        }
        self.shot("reports").await?;

        self.organising(&admin).await?;

        // A phone-sized screen.
        self.client
            .set_window_size(390, 844)
            .await
            .map_err(|e| e.to_string())?;
        self.open("#/home").await?;
        self.wait("main[data-page=home] [data-queue] .count")
            .await?;
        self.shot("home-phone").await?;
        self.open("#/volunteers").await?;
        self.wait("main[data-page=volunteers] tr[data-id]").await?;
        self.shot("volunteers-phone").await?;
        self.client
            .set_window_size(1280, 900)
            .await
            .map_err(|e| e.to_string())?;
        self.sign_out().await?;

        // Hand out an order by its pickup code at the operator's site.
        let volunteer_token = self.token(VOLUNTEER, VOLUNTEER_PASSWORD);
        let me = self.api(
            "GET",
            "/me",
            Some(&self.token(OPERATOR, STAFF_PASSWORD)),
            None,
        );
        let site = me["scopes"][0]["site_id"]
            .as_str()
            .ok_or("the operator has no site")?
            .to_owned();
        let catalog = self.api(
            "GET",
            &format!("/catalog?site_id={site}"),
            Some(&volunteer_token),
            None,
        );
        let item = catalog["items"]
            .as_array()
            .and_then(|items| {
                items.iter().find(|i| {
                    i["min_star_level"].is_null() && i["limit_per_person_per_quarter"].is_null()
                })
            })
            .ok_or("no item to order")?["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let order = self.api(
            "POST",
            "/redemptions",
            Some(&volunteer_token),
            Some(json!({ "item_id": item, "site_id": site, "quantity": 1 })),
        );
        let order_id = order["id"]
            .as_str()
            .ok_or(format!("no order: {order}"))?
            .to_owned();
        let code = order["pickup_code"].as_str().unwrap().to_owned();
        self.sign_in(OPERATOR, STAFF_PASSWORD).await?;
        self.wait("main[data-page=site]").await?;
        self.click(&format!(
            "tr[data-id=\"{order_id}\"] button[data-action=handout]"
        ))
        .await?;
        self.wait("#pickup-code")
            .await?
            .send_keys(&code)
            .await
            .map_err(|e| e.to_string())?;
        self.shot("handout").await?;
        self.click("button[data-action=fulfil]").await?;
        if self.count("button[data-confirm=ok]").await? > 0 {
            self.click("button[data-confirm=ok]").await?;
        }
        self.until("the hand-out", || {
            self.api(
                "GET",
                &format!("/redemptions/{order_id}"),
                Some(&volunteer_token),
                None,
            )["status"]
                == "fulfilled"
        })
        .await?;
        self.shot("handed-out").await?;
        self.sign_out().await?;

        // An auditor reads everything and can act on nothing.
        self.sign_in(AUDITOR, STAFF_PASSWORD).await?;
        self.wait("main[data-page=home] [data-queue] .count")
            .await?;
        let acting = "button[data-action=approve], button[data-action=reject], button[data-action=settle], \
            button[data-action=fulfil], button[data-action=handout], button[data-action=restock], \
            button[data-action=reset-code], button[data-action=revoke], button[data-action=publish-rule], \
            button[data-action=new-version], button[data-action=record-attendance], button[data-action=dispatch], \
            button[data-action=resolve], button[data-action=create], button[data-action=claim], \
            button[data-action=confirm], button[data-action=decline], button[data-action=publish], \
            button[data-action=start], button[data-action=assess], button[data-action=close], \
            button[data-action=cancel], button[data-action=honour], button[data-action=grant], \
            button[data-action=donate], button[data-action=unclaim]";
        for (hash, page) in [
            ("#/home", "home"),
            ("#/volunteers?status=pending", "volunteers"),
            ("#/residents?status=pending", "residents"),
            ("#/activities?status=pending_review", "activities"),
            ("#/cases?status=pending", "cases"),
            ("#/services", "services"),
            ("#/sites", "sites"),
            ("#/ledger", "ledger"),
            ("#/teams?status=pending", "teams"),
            ("#/units?status=pending", "units"),
            ("#/lists?list=resource&status=claimed", "lists"),
            ("#/projects?status=running", "projects"),
        ] {
            self.open(hash).await?;
            self.wait(&format!("main[data-page={page}]")).await?;
            // Let the page's lists arrive before looking for buttons.
            tokio::time::sleep(Duration::from_millis(700)).await;
            let found = self.count(acting).await?;
            if found > 0 {
                self.shot(&format!("auditor-{page}-has-actions")).await?;
                return Err(format!("the auditor sees {found} action buttons on {page}"));
            }
        }
        self.open("#/volunteers?status=pending").await?;
        self.wait("main[data-page=volunteers] tr[data-id]").await?;
        self.shot("auditor-volunteers").await?;
        self.sign_out().await?;

        // A volunteer's account is refused with a clear message.
        self.sign_in(VOLUNTEER, VOLUNTEER_PASSWORD).await?;
        self.wait("#not-staff").await?;
        self.shot("volunteer-refused").await?;

        // An expired access token is refreshed without a word...
        self.sign_in(COMMUNITY_ADMIN, STAFF_PASSWORD).await?;
        self.wait("main[data-page=home] [data-queue] .count")
            .await?;
        self.demo.restart("browser-test-secret-two");
        self.click("a[data-nav=volunteers]").await?;
        self.wait("main[data-page=volunteers] tr[data-id]").await?;
        if self.count("main[data-page=login]").await? > 0 {
            return Err("a refreshable session was sent to sign-in".into());
        }
        // ...and a dead session goes back to sign-in.
        let refresh: Value = self
            .client
            .execute("return sessionStorage.getItem('timebank.refresh')", vec![])
            .await
            .map_err(|e| e.to_string())?;
        let local: Value = self
            .client
            .execute("return JSON.stringify(localStorage)", vec![])
            .await
            .map_err(|e| e.to_string())?;
        if local
            .as_str()
            .is_some_and(|l| l.contains("rt_") || l.contains("eyJ"))
        {
            return Err(format!("a token in localStorage: {local}"));
        }
        let refresh = refresh
            .as_str()
            .ok_or("no refresh token in the tab")?
            .to_owned();
        self.api(
            "POST",
            "/auth/logout",
            None,
            Some(json!({ "refresh_token": refresh })),
        );
        self.demo.restart("browser-test-secret-three");
        self.click("a[data-nav=cases]").await?;
        self.wait("main[data-page=login] #session-expired").await?;
        self.shot("session-expired").await?;
        Ok(())
    }
}
