//! A redemption storm checked by an oracle: many clients order from a few
//! hot wallets at one site; some requests are resent with their
//! `Idempotency-Key` (some at the same moment), some are cut off mid-flight
//! and retried later, some reuse a key with another body. Every answer is
//! recorded, then checked against the database: nothing lost, nothing
//! doubled, nothing below zero, every sum whole.
//!
//! Sizes and seed come from the environment (`STORM_CLIENTS`,
//! `STORM_REQUESTS`, `STORM_SEED`); `scripts/soak/run` runs it longer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};
use timebank_ledger::{AccountKind, find_account};
use timebank_store::schema::{balances, orders, postings, transactions};

use crate::helpers::*;

const WALLETS: usize = 6;
const FUNDED: i64 = 4_000; // 40.00 points each, in hundredths
pub const PRICE: i64 = 200; // 2.00 points
const STOCK: i64 = 100;

/// A small deterministic generator (xorshift64*), so a seed replays the plan.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `STORM_SEED` or the clock; printed so a failure can be replayed.
pub fn seed(name: &str) -> u64 {
    let seed = std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{name}={seed}");
    seed
}

pub fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    Once,
    ResentAfter,
    ResentAtOnce,
    CutOff,
    OtherBody,
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub key: String,
    pub status: u16,
    pub code: String,
    pub order: Option<String>,
    pub replayed: bool,
}

pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

pub fn order(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> Result<Answer, String> {
    let mut resp = agent
        .post(format!("{url}/api/v1/redemptions"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Idempotency-Key", key)
        .send_json(body)
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("Idempotent-Replayed")
        .is_some_and(|v| v == "true");
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(Answer {
        key: key.to_owned(),
        status,
        code: body["error"]["code"].as_str().unwrap_or("").to_owned(),
        order: (status < 300)
            .then(|| body["id"].as_str().map(str::to_owned))
            .flatten(),
        replayed,
    })
}

#[test]
fn redemption_storm_with_an_oracle() {
    let clients = env_size("STORM_CLIENTS", 64);
    let per_client = env_size("STORM_REQUESTS", 4);
    let seed = seed("STORM_SEED");
    for db in timebank_store::testing::TestDb::all() {
        let backend = db.backend();
        let ctx = format!("STORM_SEED={seed} on {backend:?}");
        let app = spawn(db);
        let t = tree(&app);
        let (site, item) = oil_shop(&app, &t, STOCK);
        let wallets: Vec<(String, String)> = (0..WALLETS)
            .map(|i| {
                let (id, token) = app.active_volunteer(
                    &format!("热点{i}"),
                    &format!("1350000{i:04}"),
                    &t.community_a,
                );
                earn(&app, &id, &t.community_a, &format!("{}.00", FUNDED / 100));
                (id, token)
            })
            .collect();

        let answers = Mutex::new(Vec::<Answer>::new());
        let cut_off = Mutex::new(Vec::<(usize, String, Value)>::new());
        let (mut sent, mut faults) = (0usize, 0usize);
        let mut plans = Vec::new();
        let mut rng = Rng::new(seed);
        for c in 0..clients {
            for r in 0..per_client {
                let plan = match rng.below(100) {
                    0..10 => Plan::ResentAfter,
                    10..20 => Plan::ResentAtOnce,
                    20..28 => Plan::CutOff,
                    28..33 => Plan::OtherBody,
                    _ => Plan::Once,
                };
                let wallet = rng.below(WALLETS as u64) as usize;
                let quantity = 1 + rng.below(2) as i64;
                let cut_after = Duration::from_millis(1 + rng.below(15));
                plans.push((
                    c,
                    format!("storm-{c}-{r}"),
                    plan,
                    wallet,
                    quantity,
                    cut_after,
                ));
            }
        }
        let normal = agent(Duration::from_secs(60));
        std::thread::scope(|s| {
            for c in 0..clients {
                let mine: Vec<_> = plans.iter().filter(|p| p.0 == c).cloned().collect();
                let (answers, cut_off, normal, url) = (&answers, &cut_off, &normal, &app.url);
                let (wallets, site, item, ctx) = (&wallets, &site, &item, &ctx);
                s.spawn(move || {
                    for (_, key, plan, wallet, quantity, cut_after) in mine {
                        let token = &wallets[wallet].1;
                        let body = json!({ "item_id": item, "site_id": site, "quantity": quantity });
                        let record = |a: Result<Answer, String>| match a {
                            Ok(a) => answers.lock().unwrap().push(a),
                            Err(e) => panic!("{ctx}: transport error on {key}: {e}"),
                        };
                        match plan {
                            Plan::Once => record(order(normal, url, token, &key, &body)),
                            Plan::ResentAfter => {
                                record(order(normal, url, token, &key, &body));
                                record(order(normal, url, token, &key, &body));
                            }
                            Plan::ResentAtOnce => std::thread::scope(|inner| {
                                let twin = inner.spawn(|| order(normal, url, token, &key, &body));
                                record(order(normal, url, token, &key, &body));
                                record(twin.join().unwrap());
                            }),
                            Plan::CutOff => {
                                // The client gives up; whatever the server did stands.
                                match order(&agent(cut_after), url, token, &key, &body) {
                                    Ok(a) => answers.lock().unwrap().push(a),
                                    Err(_) => cut_off.lock().unwrap().push((wallet, key, body)),
                                }
                            }
                            Plan::OtherBody => {
                                let first = order(normal, url, token, &key, &body).unwrap();
                                let other = json!({ "item_id": item, "site_id": site, "quantity": quantity + 1 });
                                let reused = order(normal, url, token, &key, &other).unwrap();
                                if first.status < 300 {
                                    assert_eq!(
                                        (reused.status, reused.code.as_str()),
                                        (422, "idempotency_key_reused"),
                                        "{ctx}: {key}"
                                    );
                                } else {
                                    // A refusal binds nothing: the key is free.
                                    answers.lock().unwrap().push(reused);
                                }
                                answers.lock().unwrap().push(first);
                            }
                        }
                    }
                });
            }
        });
        for (_, _, plan, ..) in &plans {
            sent += match plan {
                Plan::Once | Plan::CutOff => 1,
                _ => 2,
            };
            faults += usize::from(*plan != Plan::Once);
        }
        // Cut-off requests are retried with their key: one outcome each.
        let cut = cut_off.into_inner().unwrap();
        for (wallet, key, body) in &cut {
            let a = order(&normal, &app.url, &wallets[*wallet].1, key, body).unwrap();
            answers.lock().unwrap().push(a);
            sent += 1;
        }
        let answers = answers.into_inner().unwrap();

        let orders = assert_consistent(
            &app,
            &ctx,
            &t,
            &site,
            &wallets,
            &answers,
            Start {
                stock: STOCK,
                funded: FUNDED,
            },
        );
        eprintln!(
            "storm on {backend:?}: {sent} requests, {faults} faults planned ({} cut off), {} orders, 0 problems",
            cut.len(),
            orders
        );
    }
}

/// What the site and each wallet held before the load.
#[derive(Clone, Copy)]
pub struct Start {
    pub stock: i64,
    pub funded: i64,
}

/// The oracle: checks every recorded answer against the database. Returns
/// how many orders exist.
pub fn assert_consistent(
    app: &App,
    ctx: &str,
    t: &Tree,
    site: &str,
    wallets: &[(String, String)],
    answers: &[Answer],
    start: Start,
) -> usize {
    let Start { stock, funded } = start;
    // Only business answers: created, replayed, refused; never a 5xx.
    for a in answers {
        let fine = matches!(a.status, 200 | 201)
            || (a.status == 422
                && ["insufficient_points", "out_of_stock", "limit_reached"]
                    .contains(&a.code.as_str()));
        assert!(fine, "{ctx}: unexpected answer {a:?}");
    }
    // One order per key: every 2xx for a key names the same order, and
    // all but the first say they are replays.
    let mut by_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in answers.iter().filter(|a| a.status < 300) {
        by_key
            .entry(&a.key)
            .or_default()
            .insert(a.order.as_deref().unwrap());
    }
    for (key, ids) in &by_key {
        assert_eq!(ids.len(), 1, "{ctx}: key {key} made orders {ids:?}");
    }
    for key in by_key.keys() {
        let fresh = answers
            .iter()
            .filter(|a| a.key == *key && a.status < 300 && !a.replayed)
            .count();
        assert!(fresh <= 1, "{ctx}: key {key} answered fresh {fresh} times");
    }
    let answered: BTreeSet<&str> = by_key.values().flatten().copied().collect();

    let pool = app.db.pool(1).unwrap();
    let conn = &mut pool.get().unwrap();
    // Nothing lost, nothing doubled: the orders in the database are
    // exactly those some answer named, each with its one transaction.
    let stored: Vec<(String, String, i32, i64, String)> = orders::table
        .filter(orders::site_id.eq(&site))
        .select((
            orders::id,
            orders::volunteer_id,
            orders::quantity,
            orders::points,
            orders::transaction_id,
        ))
        .load(conn)
        .unwrap();
    let stored_ids: BTreeSet<&str> = stored.iter().map(|o| o.0.as_str()).collect();
    assert_eq!(
        stored_ids, answered,
        "{ctx}: orders in the database vs answered"
    );
    let order_txs: i64 = transactions::table
        .filter(transactions::external_id.like("order:%"))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(
        order_txs as usize,
        stored.len(),
        "{ctx}: one transaction per order"
    );
    for o in &stored {
        assert_eq!(o.3, PRICE * i64::from(o.2), "{ctx}: order {} price", o.0);
        let r = app.get(&format!("/api/v1/redemptions/{}", o.0), Some(&app.admin));
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    }

    // Every wallet: funded minus its orders, never below zero, equal to
    // the sum of its postings and to its last balance_after.
    for (id, _) in wallets {
        let spent: i64 = stored.iter().filter(|o| o.1 == *id).map(|o| o.3).sum();
        let wallet = find_account(conn, AccountKind::VolunteerWallet, id)
            .unwrap()
            .unwrap();
        let chain: Vec<(i64, i64)> = postings::table
            .filter(postings::account_id.eq(&wallet.id))
            .filter(postings::asset.eq("POINT"))
            .order(postings::seq.asc())
            .select((postings::amount, postings::balance_after))
            .load(conn)
            .unwrap();
        let cached: i64 = balances::table
            .find((&wallet.id, "POINT"))
            .select(balances::amount)
            .first(conn)
            .unwrap();
        let sum: i64 = chain.iter().map(|p| p.0).sum();
        assert_eq!(cached, funded - spent, "{ctx}: wallet {id}");
        assert!(cached >= 0, "{ctx}: wallet {id} below zero");
        assert_eq!(sum, cached, "{ctx}: wallet {id} postings");
        assert_eq!(
            chain.last().map(|p| p.1),
            Some(cached),
            "{ctx}: balance_after"
        );
    }
    // Every asset sums to zero over all accounts: points only moved,
    // and the only new points are the issuance that funded the wallets.
    let all: Vec<(String, String, i64)> = balances::table
        .select((balances::account_id, balances::asset, balances::amount))
        .load(conn)
        .unwrap();
    for asset in ["POINT", "HOUR"] {
        let total: i64 = all.iter().filter(|b| b.1 == asset).map(|b| b.2).sum();
        assert_eq!(total, 0, "{ctx}: {asset} does not sum to zero");
    }
    let issuer = find_account(conn, AccountKind::OrgIssuance, &t.community_a)
        .unwrap()
        .unwrap();
    let issued: i64 = all
        .iter()
        .filter(|b| b.0 == issuer.id && b.1 == "POINT")
        .map(|b| -b.2)
        .sum();
    assert_eq!(
        issued,
        funded * wallets.len() as i64,
        "{ctx}: only the funding was issued"
    );

    // Stock: what is left plus what is reserved is what was stocked.
    let catalog = app.get(&format!("/api/v1/catalog?site_id={site}"), Some(&app.admin));
    let line = &catalog.body["items"][0];
    let ordered: i64 = stored.iter().map(|o| i64::from(o.2)).sum();
    let (left, reserved) = (
        line["stock"].as_i64().unwrap(),
        line["reserved"].as_i64().unwrap(),
    );
    assert!(left >= 0, "{ctx}: stock below zero");
    assert_eq!(reserved, ordered, "{ctx}: reserved vs ordered: {line}");
    assert_eq!(left + reserved, stock, "{ctx}: stock not conserved: {line}");
    stored.len()
}
