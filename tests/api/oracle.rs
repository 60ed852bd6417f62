//! The oracle for write loads on redemptions: one client call recorded as
//! an [`Answer`], and [`assert_consistent`], which checks every recorded
//! answer against the database (nothing lost, nothing doubled, nothing
//! below zero, every sum whole).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use diesel::prelude::*;
use serde_json::Value;
use timebank_ledger::{AccountKind, find_account};
use timebank_store::schema::{balances, orders, postings, transactions};

use crate::helpers::*;

/// 2.00 points, the price of the item `oil_shop` stocks, in hundredths.
pub const PRICE: i64 = 200;

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

/// One site stocked with the 2.00-point item and a few hot wallets, each
/// funded through the ledger: what a write load orders against.
pub struct Shop {
    pub t: Tree,
    pub site: String,
    pub item: String,
    /// (volunteer id, access token)
    pub wallets: Vec<(String, String)>,
    pub stock: i64,
    /// Each wallet's funding, in hundredths.
    pub funded: i64,
}

impl Shop {
    /// `wallets` volunteers named `{name}{i}` with phones `{phone_prefix}{i:04}`.
    pub fn open(
        app: &App,
        wallets: usize,
        stock: i64,
        funded: i64,
        name: &str,
        phone_prefix: &str,
    ) -> Self {
        let t = tree(app);
        let (site, item) = oil_shop(app, &t, stock);
        let wallets = (0..wallets)
            .map(|i| {
                let (id, token) = app.active_volunteer(
                    &format!("{name}{i}"),
                    &format!("{phone_prefix}{i:04}"),
                    &t.community_a,
                );
                earn(app, &id, &t.community_a, &format!("{}.00", funded / 100));
                (id, token)
            })
            .collect();
        Self {
            t,
            site,
            item,
            wallets,
            stock,
            funded,
        }
    }

    /// The body of an order for `quantity` items.
    pub fn order_body(&self, quantity: i64) -> Value {
        serde_json::json!({ "item_id": self.item, "site_id": self.site, "quantity": quantity })
    }
}

/// The oracle: checks every recorded answer against the database. Returns
/// how many orders exist.
pub fn assert_consistent(app: &App, ctx: &str, shop: &Shop, answers: &[Answer]) -> usize {
    let Shop {
        t,
        site,
        wallets,
        stock,
        funded,
        ..
    } = shop;
    let (stock, funded) = (*stock, *funded);
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
