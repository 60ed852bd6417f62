//! Spending points: the goods catalog with per-site stock kept as
//! append-only movements, orders that debit points and reserve stock in one
//! database transaction (fulfilled with a pickup code, refunded on cancel or
//! expiry), gifts between linked family members, and the district public
//! pool (公益池). Every movement of points goes through `timebank-ledger`.
//!
//! Today it holds the account helpers every spending flow needs; the state
//! machines arrive with the spending features.

use timebank_ledger::{Account, AccountKind, LedgerError, open_account};
use timebank_store::DbConnection;

/// The district public pool account, opened on first use.
pub fn district_pool(
    conn: &mut DbConnection,
    district_id: &str,
    district_path: &str,
) -> Result<Account, LedgerError> {
    open_account(conn, AccountKind::DistrictPool, district_id, district_path)
}
