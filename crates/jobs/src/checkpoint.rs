//! Checkpoints: every account's chain head at one moment, with a SHA-256
//! digest that can be kept outside the database. A later verify checks that
//! the ledger still extends each checkpoint: every recorded head is still
//! the posting at that place in its account's chain.

use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use timebank_directory::utc_string;
use timebank_kernel::DomainError;
use timebank_ledger::Problem;
use timebank_store::schema::{checkpoint_heads, checkpoints};
use timebank_store::{DbConnection, write_tx};

#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub id: String,
    pub created_at: String,
    pub accounts: i64,
    pub postings: i64,
    pub digest: String,
}

fn digest(heads: &[(String, i64, String)]) -> String {
    let mut h = Sha256::new();
    h.update(b"timebank/checkpoint/v1");
    for (account, seq, hash) in heads {
        h.update((account.len() as u64).to_be_bytes());
        h.update(account.as_bytes());
        h.update(seq.to_be_bytes());
        h.update(hash.as_bytes());
    }
    timebank_ledger::hash::hex(&h.finalize())
}

/// The newest checkpoint, if any was written.
pub fn last_checkpoint(conn: &mut DbConnection) -> Result<Option<Checkpoint>, DomainError> {
    let row: Option<(String, chrono::NaiveDateTime, i64, i64, String)> = checkpoints::table
        .order(checkpoints::created_at.desc())
        .select((
            checkpoints::id,
            checkpoints::created_at,
            checkpoints::accounts,
            checkpoints::postings,
            checkpoints::digest,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, at, accounts, postings, digest)| Checkpoint {
        id,
        created_at: utc_string(&at),
        accounts,
        postings,
        digest,
    }))
}

/// Records the current heads. Run after a clean verify.
pub fn write_checkpoint(conn: &mut DbConnection) -> Result<Checkpoint, DomainError> {
    write_tx(conn, |c| {
        let heads = timebank_ledger::read::chain_heads(c)?;
        let id = timebank_store::new_id();
        let now = timebank_store::now();
        let total: i64 = heads.iter().map(|h| h.1).sum();
        let cp = Checkpoint {
            id: id.clone(),
            created_at: utc_string(&now),
            accounts: heads.len() as i64,
            postings: total,
            digest: digest(&heads),
        };
        diesel::insert_into(checkpoints::table)
            .values((
                checkpoints::id.eq(&id),
                checkpoints::created_at.eq(now),
                checkpoints::accounts.eq(cp.accounts),
                checkpoints::postings.eq(cp.postings),
                checkpoints::digest.eq(&cp.digest),
            ))
            .execute(c)?;
        for chunk in heads.chunks(500) {
            for (account, seq, hash) in chunk {
                diesel::insert_into(checkpoint_heads::table)
                    .values((
                        checkpoint_heads::checkpoint_id.eq(&id),
                        checkpoint_heads::account_id.eq(account),
                        checkpoint_heads::seq.eq(seq),
                        checkpoint_heads::hash.eq(hash),
                    ))
                    .execute(c)?;
            }
        }
        Ok(cp)
    })
}

fn problem(code: &'static str, message: String, account: Option<String>) -> Problem {
    Problem {
        code,
        message,
        account_id: account,
        transaction_id: None,
        posting_id: None,
    }
}

/// Every earlier checkpoint must still be extended by the ledger.
pub fn verify_checkpoints(conn: &mut DbConnection) -> Result<Vec<Problem>, DomainError> {
    let all: Vec<(String, String)> = checkpoints::table
        .order(checkpoints::created_at.asc())
        .select((checkpoints::id, checkpoints::digest))
        .load(conn)?;
    let mut problems = Vec::new();
    for (id, stored_digest) in all {
        let heads: Vec<(String, i64, String)> = checkpoint_heads::table
            .filter(checkpoint_heads::checkpoint_id.eq(&id))
            .order(checkpoint_heads::account_id.asc())
            .select((
                checkpoint_heads::account_id,
                checkpoint_heads::seq,
                checkpoint_heads::hash,
            ))
            .load(conn)?;
        if digest(&heads) != stored_digest {
            problems.push(problem(
                "checkpoint_altered",
                format!("checkpoint {id}: its recorded heads no longer match its digest"),
                None,
            ));
        }
        for (account, seq, hash) in heads {
            if seq == 0 {
                continue;
            }
            let now = timebank_ledger::read::posting_hash_at(conn, &account, seq)?;
            if now.as_deref() != Some(hash.as_str()) {
                problems.push(problem("checkpoint_not_extended", format!("checkpoint {id}: posting {seq} of the account is no longer the one recorded"), Some(account)));
            }
        }
    }
    Ok(problems)
}
