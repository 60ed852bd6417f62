//! Earning (项目制积分 and 案例制积分): versioned earning and star policies
//! per organisation subtree, activities with review, sign-up, check-in
//! codes and attendance, settlement through the hourly rule, case-based
//! awards from a versioned rule table, star levels with their history, and
//! violations that reverse, penalise, suspend and bar.
//!
//! Every function that moves points runs inside the caller's write
//! transaction (see `timebank_store::write_tx`) and posts through
//! `timebank_ledger`, so the caller can commit it together with an
//! idempotency record.

pub mod activities;
pub mod cases;
use timebank_policy as policy;
pub mod settle;
pub mod stars;
pub mod violations;

use rust_decimal::Decimal;
use timebank_directory::{Volunteer, district_of, get_org, org_account};
use timebank_kernel::{Code, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, read};
use timebank_store::DbConnection;

/// Decimal hours or points from the rules → ledger hundredths, rounding down.
pub fn amount(value: Decimal) -> Result<Amount, DomainError> {
    Amount::from_decimal(timebank_rules::floor_cents(value))
        .map_err(|_| DomainError::refused(Code::AmountTooLarge, "amount too large"))
}

/// Adds the legs that credit `points` from `issuer_id` to the volunteer's
/// wallet, sending what would pass the spending policy's balance cap to the
/// district's public pool instead. Returns the transfer and the amount pooled.
pub fn credit_points(
    conn: &mut DbConnection,
    transfer: Transfer,
    volunteer: &Volunteer,
    issuer_id: &str,
    wallet_id: &str,
    points: Amount,
) -> Result<(Transfer, Amount), DomainError> {
    let spending = policy::spending(conn, &volunteer.community_path)?;
    let wallet = Wallet {
        id: wallet_id,
        points: read::balances_of(conn, wallet_id)?.points,
    };
    credit_points_under(
        conn,
        transfer,
        volunteer,
        issuer_id,
        wallet,
        points,
        &spending.policy,
    )
}

/// A wallet and the points it holds before the credit.
pub(crate) struct Wallet<'a> {
    pub id: &'a str,
    pub points: Amount,
}

/// [`credit_points`] under a spending policy the caller already holds, with
/// the wallet's balance already read.
pub(crate) fn credit_points_under(
    conn: &mut DbConnection,
    transfer: Transfer,
    volunteer: &Volunteer,
    issuer_id: &str,
    wallet: Wallet<'_>,
    points: Amount,
    spending: &timebank_rules::SpendingPolicy,
) -> Result<(Transfer, Amount), DomainError> {
    let mut transfer = transfer.debit(issuer_id, Asset::Point, points);
    let (wallet_id, balance) = (wallet.id, wallet.points);
    let (to_wallet, to_pool) = spending.split_earning(balance.to_decimal(), points.to_decimal());
    let (to_wallet, to_pool) = (amount(to_wallet)?, amount(to_pool)?);
    if to_wallet.is_positive() {
        transfer = transfer.credit(wallet_id, Asset::Point, to_wallet);
    }
    if to_pool.is_positive() {
        let community = get_org(conn, &volunteer.row.community_id)?;
        let district = district_of(conn, &community)?;
        let pool = org_account(conn, AccountKind::DistrictPool, &district)?;
        transfer = transfer.credit(pool.id, Asset::Point, to_pool);
    }
    Ok((transfer, to_pool))
}
