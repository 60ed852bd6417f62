use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use timebank_directory::{get_org, path_ids};
use timebank_kernel::DomainError;
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, TxKind, open_account, read};
use timebank_policy as policy;
use timebank_rules::expirable;
use timebank_store::DbConnection;

use crate::{Progress, Summary, failpoint};

/// Applies each wallet's earning-policy expiry as of `as_of`: one `expiry`
/// transaction per wallet and cut-off (`external_id =
/// expiry:<wallet>:<cut-off>`), to the district's expiry sink.
pub fn expire_points(
    conn: &mut DbConnection,
    as_of: NaiveDate,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Summary, DomainError> {
    let wallets = read::accounts_of_kind(conn, AccountKind::VolunteerWallet)?;
    let mut policies = HashMap::new();
    let mut summary = Summary::default();
    let mut expired_units = 0i64;
    progress.start("expire", wallets.len() as u64);
    for (wallet, org_path) in &wallets {
        summary.units += 1;
        progress.advance(summary.units);
        if !policies.contains_key(org_path) {
            policies.insert(org_path.clone(), policy::earning(conn, org_path)?);
        }
        let earning = &policies[org_path];
        let Some(cutoff) = earning.policy.expiry.cutoff(as_of) else {
            summary.skipped += 1;
            continue;
        };
        // Local midnight of the cut-off day, in UTC.
        let cutoff_at: NaiveDateTime = cutoff.and_hms_opt(0, 0, 0).unwrap_or_default()
            - Duration::minutes(i64::from(earning.policy.utc_offset_minutes));
        let rows = read::movements(conn, wallet, Asset::Point)?;
        let credits_before: i64 = rows
            .iter()
            .filter(|(a, at, _)| *a > 0 && *at < cutoff_at)
            .map(|r| r.0)
            .sum();
        let debits: i64 = rows
            .iter()
            .filter(|(a, _, k)| *a < 0 && k != TxKind::Expiry.as_str())
            .map(|r| -r.0)
            .sum();
        let expiries: i64 = rows
            .iter()
            .filter(|(_, _, k)| k == TxKind::Expiry.as_str())
            .map(|r| -r.0)
            .sum();
        let units = expirable(credits_before, debits, expiries);
        if units == 0 {
            summary.skipped += 1;
            continue;
        }
        let community = get_org(conn, path_ids(org_path).last().copied().unwrap_or_default())?;
        let district = timebank_directory::district_of(conn, &community)?;
        let sink = open_account(conn, AccountKind::ExpirySink, &district.id, &district.path)?;
        let posted = Transfer::new(TxKind::Expiry, format!("积分到期（{cutoff} 之前获得）"))
            .by(actor)
            .once(format!("expiry:{wallet}:{cutoff}"))
            .under(earning.version.clone())
            .moving(
                Asset::Point,
                Amount::from_units(units),
                wallet.as_str(),
                sink.id,
            )
            .post(conn)?;
        if posted.created {
            summary.changed += 1;
            expired_units += units;
            failpoint("expire", summary.changed);
        } else {
            summary.skipped += 1;
        }
    }
    progress.finish();
    summary.details.insert(
        "points_expired".into(),
        Amount::from_units(expired_units).to_string().into(),
    );
    Ok(summary)
}
