//! How the domain says what moves: a transfer built leg by leg. `moving`
//! debits one account and credits another with the same amount of one
//! asset, so a transfer of whole moves balances by construction; `debit`
//! and `credit` add single legs where one side is split (an award shared
//! between a wallet and the district pool). The ledger still checks the
//! sum per asset when it posts.

use timebank_store::DbConnection;

use crate::{Amount, Asset, LedgerError, NewPosting, NewTransaction, Posted, TxKind};

#[derive(Debug, Clone)]
#[must_use]
pub struct Transfer(NewTransaction);

impl Transfer {
    pub fn new(kind: TxKind, reason: impl Into<String>) -> Self {
        Self(NewTransaction {
            kind,
            actor_id: None,
            reason: reason.into(),
            external_id: None,
            rule_version: None,
            request_id: None,
            postings: Vec::new(),
        })
    }

    /// Who made it happen (a user id, or `system`).
    pub fn by(mut self, actor: impl Into<String>) -> Self {
        self.0.actor_id = Some(actor.into());
        self
    }

    /// Posted at most once: a second post with this id returns the first.
    pub fn once(mut self, external_id: impl Into<String>) -> Self {
        self.0.external_id = Some(external_id.into());
        self
    }

    /// The published rule version the amounts were computed under.
    pub fn under(mut self, rule_version: impl Into<String>) -> Self {
        self.0.rule_version = Some(rule_version.into());
        self
    }

    /// The HTTP request that caused it, for the audit trail.
    pub fn in_request(mut self, request_id: Option<&str>) -> Self {
        self.0.request_id = request_id.map(str::to_owned);
        self
    }

    /// `amount` of `asset` from one account to another.
    pub fn moving(
        self,
        asset: Asset,
        amount: Amount,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        self.debit(from, asset, amount).credit(to, asset, amount)
    }

    /// Takes `amount` out of an account (a negative leg).
    pub fn debit(mut self, account: impl Into<String>, asset: Asset, amount: Amount) -> Self {
        self.0.postings.push(NewPosting {
            account_id: account.into(),
            asset,
            amount: Amount::from_units(amount.units().saturating_neg()),
        });
        self
    }

    /// Puts `amount` into an account (a positive leg).
    pub fn credit(mut self, account: impl Into<String>, asset: Asset, amount: Amount) -> Self {
        self.0.postings.push(NewPosting {
            account_id: account.into(),
            asset,
            amount,
        });
        self
    }

    pub fn legs(&self) -> &[NewPosting] {
        &self.0.postings
    }

    /// Posts it in a write transaction of its own.
    pub fn post(&self, conn: &mut DbConnection) -> Result<Posted, LedgerError> {
        crate::post(conn, &self.0)
    }

    /// Posts it inside the caller's write transaction.
    pub fn post_in(&self, conn: &mut DbConnection) -> Result<Posted, LedgerError> {
        crate::post_in(conn, &self.0)
    }

    /// Posts it inside the caller's write transaction, its external id being
    /// new by construction (see [`crate::post_fresh_in`]).
    pub fn post_fresh_in(&self, conn: &mut DbConnection) -> Result<Posted, LedgerError> {
        crate::post_fresh_in(conn, &self.0)
    }

    pub fn into_new(self) -> NewTransaction {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_is_a_debit_and_a_credit_of_the_same_amount() {
        let t = Transfer::new(TxKind::Gift, "gift")
            .by("u1")
            .once("gift:1")
            .moving(Asset::Point, Amount::from_units(250), "a", "b");
        let legs: Vec<(&str, i64)> = t
            .legs()
            .iter()
            .map(|p| (p.account_id.as_str(), p.amount.units()))
            .collect();
        assert_eq!(legs, [("a", -250), ("b", 250)]);
        assert!(crate::validate(&t.clone().into_new()).is_ok());
        let new = t.into_new();
        assert_eq!(new.actor_id.as_deref(), Some("u1"));
        assert_eq!(new.external_id.as_deref(), Some("gift:1"));
    }

    #[test]
    fn a_split_credit_must_still_balance() {
        let t = Transfer::new(TxKind::CaseAward, "award")
            .debit("issuer", Asset::Point, Amount::from_units(100))
            .credit("wallet", Asset::Point, Amount::from_units(60));
        assert!(matches!(
            crate::validate(&t.into_new()),
            Err(LedgerError::Unbalanced(Asset::Point))
        ));
    }
}
