//! Spending points (通存通兑): sites and their operators, a catalog owned
//! by an org and offered at the sites in its subtree, stock kept as
//! append-only movements, orders that debit points and reserve stock in one
//! database transaction (fulfilled with a pickup code, refunded on cancel or
//! expiry), gifts between confirmed family members, and the district public
//! pool (公益池). Every movement of points goes through `timebank-ledger`.

pub mod catalog;
pub mod gifts;
pub mod orders;
pub mod sites;
pub mod stock;

use timebank_kernel::DomainError;
use timebank_ledger::VerifyReport;
use timebank_store::DbConnection;

/// The whole audit: the ledger's own checks, and every stock level against
/// the sum of its movements.
pub fn verify(conn: &mut DbConnection) -> Result<VerifyReport, DomainError> {
    let mut report = timebank_ledger::verify(conn)?;
    let problems = stock::verify(conn)?;
    report.ok &= problems.is_empty();
    report.problems.extend(problems);
    Ok(report)
}

/// Six random digits for a pickup code.
pub(crate) fn six_digits() -> Result<String, DomainError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|_| DomainError::Internal("no randomness available".into()))?;
    Ok(format!("{:06}", u32::from_be_bytes(bytes) % 1_000_000))
}

/// Compares in constant time, so timing does not reveal digits.
pub(crate) fn same(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}
