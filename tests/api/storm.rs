//! A redemption storm checked by an oracle: many clients order from a few
//! hot wallets at one site; some requests are resent with their
//! `Idempotency-Key` (some at the same moment), some are cut off mid-flight
//! and retried later, some reuse a key with another body. Every answer is
//! recorded, then checked against the database: nothing lost, nothing
//! doubled, nothing below zero, every sum whole.
//!
//! Sizes and seed come from the environment (`STORM_CLIENTS`,
//! `STORM_REQUESTS`, `STORM_SEED`); `scripts/soak/run` runs it longer.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;
use crate::oracle::{Answer, Shop, agent, assert_consistent, order};
use crate::seeded::{Rng, env_size, seed};

const WALLETS: usize = 6;
const FUNDED: i64 = 4_000; // 40.00 points each, in hundredths
const STOCK: i64 = 100;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    Once,
    ResentAfter,
    ResentAtOnce,
    CutOff,
    OtherBody,
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
        let shop = Shop::open(&app, WALLETS, STOCK, FUNDED, "热点", "1350000");

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
                let (shop, ctx) = (&shop, &ctx);
                s.spawn(move || {
                    for (_, key, plan, wallet, quantity, cut_after) in mine {
                        let token = &shop.wallets[wallet].1;
                        let body = shop.order_body(quantity);
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
                                let other = shop.order_body(quantity + 1);
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
            let a = order(&normal, &app.url, &shop.wallets[*wallet].1, key, body).unwrap();
            answers.lock().unwrap().push(a);
            sent += 1;
        }
        let answers = answers.into_inner().unwrap();

        let orders = assert_consistent(&app, &ctx, &shop, &answers);
        eprintln!(
            "storm on {backend:?}: {sent} requests, {faults} faults planned ({} cut off), {} orders, 0 problems",
            cut.len(),
            orders
        );
    }
}
