//! The admin dashboard's three lists (三张清单) and the services report:
//! what residents need, who can help, and which services are wanted.

use std::collections::BTreeMap;
use timebank_rules::states::{MemberStatus, RequestStatus, WishStatus};

use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::DomainError;
use timebank_ledger::Amount;
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, service_requests as sr, volunteers};

use timebank_services::wishes;

#[derive(Debug, Default, Serialize)]
pub struct NeedCount {
    pub requests: usize,
    pub wishes: usize,
}

/// Open requests and wishes in a subtree, counted by category.
pub fn needs(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<BTreeMap<String, NeedCount>, DomainError> {
    let requests: Vec<String> = sr::table
        .inner_join(orgs::table.on(orgs::id.eq(sr::community_id)))
        .filter(orgs::path.like(format!("{org_path}%")))
        .filter(sr::status.eq(RequestStatus::Open))
        .select(sr::category)
        .load(conn)?;
    let communities: Vec<String> = orgs::table
        .filter(orgs::path.like(format!("{org_path}%")))
        .select(orgs::id)
        .load(conn)?;
    let open_wishes = wishes::list_open(conn, &communities)?;
    let mut out: BTreeMap<String, NeedCount> = BTreeMap::new();
    for category in requests {
        out.entry(category).or_default().requests += 1;
    }
    for wish in open_wishes.iter().filter(|w| w.status == WishStatus::Open) {
        out.entry(wish.category.clone()).or_default().wishes += 1;
    }
    Ok(out)
}

/// Active volunteers in a subtree, counted by skill.
pub fn volunteers_by_skill(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<BTreeMap<String, usize>, DomainError> {
    let now = timebank_store::now();
    let rows: Vec<(String, Option<chrono::NaiveDateTime>)> = volunteers::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{org_path}%")))
        .filter(volunteers::status.eq(MemberStatus::Active))
        .select((volunteers::skills, volunteers::suspended_until))
        .load(conn)?;
    let mut out = BTreeMap::new();
    for (skills, suspended) in rows {
        if suspended.is_some_and(|until| until > now) {
            continue;
        }
        let skills: Vec<String> = serde_json::from_str(&skills).unwrap_or_default();
        for skill in skills {
            *out.entry(skill).or_insert(0) += 1;
        }
    }
    Ok(out)
}

#[derive(Debug, Default, Serialize)]
pub struct ServiceStats {
    pub requests: usize,
    pub completed: usize,
    pub cancelled: usize,
    /// completed / requests, two places.
    pub completion_rate: Amount,
    /// Mean stars of rated requests, two places; null when none.
    pub average_rating: Option<Amount>,
    pub ratings: usize,
}

/// Per category: how many were asked for, completed and cancelled, and how
/// they were rated — to keep wanted services and retire unwanted ones.
pub fn services_report(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<BTreeMap<String, ServiceStats>, DomainError> {
    let rows: Vec<(String, String, Option<i32>)> = sr::table
        .inner_join(orgs::table.on(orgs::id.eq(sr::community_id)))
        .filter(orgs::path.like(format!("{org_path}%")))
        .select((sr::category, sr::status, sr::stars))
        .load(conn)?;
    let mut out: BTreeMap<String, (ServiceStats, i64)> = BTreeMap::new();
    for (category, status, stars) in rows {
        let status = RequestStatus::parse(&status);
        let (stats, star_sum) = out.entry(category).or_default();
        stats.requests += 1;
        if status.is_some_and(RequestStatus::is_done) {
            stats.completed += 1;
        }
        if status == Some(RequestStatus::Cancelled) {
            stats.cancelled += 1;
        }
        if let Some(s) = stars {
            stats.ratings += 1;
            *star_sum += i64::from(s);
        }
    }
    Ok(out
        .into_iter()
        .map(|(category, (mut stats, star_sum))| {
            stats.completion_rate =
                Amount::from_units((stats.completed * 100 / stats.requests.max(1)) as i64);
            stats.average_rating = (stats.ratings > 0)
                .then(|| Amount::from_units(star_sum * 100 / stats.ratings as i64));
            (category, stats)
        })
        .collect())
}
