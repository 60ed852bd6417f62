use std::sync::LazyLock;

use diesel::prelude::*;
use timebank_store::generation::ACCOUNTS;
use timebank_store::memo::Memo;
use timebank_store::schema::{accounts, balances};
use timebank_store::{DbConnection, is_unique_violation};

use crate::hash::GENESIS_HASH;
use crate::rows::{AccountRow, BalanceRow};
use crate::{Account, AccountKind, Asset, LedgerError};

/// Returns the account of `kind` owned by `owner_id`, creating it (with a
/// zero balance per asset) on first use. `org_path` places it in the org tree
/// for scoped reads.
pub fn open_account(
    conn: &mut DbConnection,
    kind: AccountKind,
    owner_id: &str,
    org_path: &str,
) -> Result<Account, LedgerError> {
    if let Some(found) = find_account(conn, kind, owner_id)? {
        return Ok(found);
    }
    let row = AccountRow {
        id: timebank_store::new_id(),
        kind: kind.as_str().to_owned(),
        owner_id: owner_id.to_owned(),
        org_path: org_path.to_owned(),
        may_go_negative: kind.may_go_negative(),
        last_seq: 0,
        head_hash: GENESIS_HASH.to_owned(),
        created_at: timebank_store::now(),
    };
    let inserted = timebank_store::write_tx(conn, |c| {
        diesel::insert_into(accounts::table)
            .values(&row)
            .execute(c)?;
        // An account opened in a transaction that rolls back must not stay
        // in memory.
        ACCOUNTS.touch();
        let zero: Vec<BalanceRow> = Asset::ALL
            .iter()
            .map(|asset| BalanceRow {
                account_id: row.id.clone(),
                asset: asset.as_str().to_owned(),
                amount: 0,
                earned: 0,
                may_go_negative: row.may_go_negative,
            })
            .collect();
        for balance in &zero {
            diesel::insert_into(balances::table)
                .values(balance)
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    });
    match inserted {
        Ok(()) => account_from_row(row),
        // Another writer opened it first.
        Err(e) if is_unique_violation(&e) => find_account(conn, kind, owner_id)?
            .ok_or_else(|| LedgerError::UnknownAccount(owner_id.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Which account an owner has of a kind never changes once it is opened,
/// so the answer is kept in memory.
pub fn find_account(
    conn: &mut DbConnection,
    kind: AccountKind,
    owner_id: &str,
) -> Result<Option<Account>, LedgerError> {
    static MEMO: LazyLock<Memo<Account>> = LazyLock::new(|| Memo::new(&ACCOUNTS));
    let key = format!("{}:{owner_id}", kind.as_str());
    let found = MEMO.find_or_load(&key, || {
        accounts::table
            .filter(accounts::kind.eq(kind.as_str()))
            .filter(accounts::owner_id.eq(owner_id))
            .select(AccountRow::as_select())
            .first(conn)
            .optional()?
            .map(account_from_row)
            .transpose()
    })?;
    Ok(found.map(|a| (*a).clone()))
}

pub fn get_account(conn: &mut DbConnection, account_id: &str) -> Result<Account, LedgerError> {
    accounts::table
        .find(account_id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
        .map(account_from_row)
        .transpose()?
        .ok_or_else(|| LedgerError::UnknownAccount(account_id.to_owned()))
}

fn account_from_row(row: AccountRow) -> Result<Account, LedgerError> {
    Ok(Account {
        kind: row.kind.parse()?,
        id: row.id,
        owner_id: row.owner_id,
        org_path: row.org_path,
    })
}
