//! Canonical encoding and SHA-256 for the per-account hash chains. Every
//! field is length-prefixed so no two different records encode alike.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

struct Canonical(Sha256);

impl Canonical {
    fn new(domain: &str) -> Self {
        let mut c = Canonical(Sha256::new());
        c.text(Some(domain));
        c
    }

    fn text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            None => self.0.update([0u8]),
            Some(v) => {
                self.0.update([1u8]);
                self.0.update((v.len() as u64).to_be_bytes());
                self.0.update(v.as_bytes());
            }
        }
        self
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.0.update(value.to_be_bytes());
        self
    }

    fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// The fields of a transaction that its postings' hashes commit to.
pub struct TxFields<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub reason: &'a str,
    pub external_id: Option<&'a str>,
    pub rule_version: Option<&'a str>,
    pub reverses_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn transaction_digest(tx: &TxFields<'_>) -> String {
    let mut c = Canonical::new("timebank/transaction/v1");
    c.text(Some(tx.id))
        .text(Some(tx.kind))
        .text(tx.actor_id)
        .text(Some(tx.reason))
        .text(tx.external_id)
        .text(tx.rule_version)
        .text(tx.reverses_id)
        .text(tx.request_id)
        .int(tx.created_at.and_utc().timestamp_micros());
    c.finish()
}

pub struct PostingFields<'a> {
    pub id: &'a str,
    pub transaction_digest: &'a str,
    pub account_id: &'a str,
    pub seq: i64,
    pub asset: &'a str,
    pub amount: i64,
    pub balance_after: i64,
    pub prev_hash: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn posting_hash(p: &PostingFields<'_>) -> String {
    let mut c = Canonical::new("timebank/posting/v1");
    c.text(Some(p.id))
        .text(Some(p.transaction_digest))
        .text(Some(p.account_id))
        .int(p.seq)
        .text(Some(p.asset))
        .int(p.amount)
        .int(p.balance_after)
        .text(Some(p.prev_hash))
        .int(p.created_at.and_utc().timestamp_micros());
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefix_separates_fields() {
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        let a = TxFields {
            id: "ab",
            kind: "c",
            actor_id: None,
            reason: "",
            external_id: None,
            rule_version: None,
            reverses_id: None,
            request_id: None,
            created_at: t,
        };
        let b = TxFields {
            id: "a",
            kind: "bc",
            ..a
        };
        assert_ne!(transaction_digest(&a), transaction_digest(&b));
        let c = TxFields {
            actor_id: Some(""),
            ..a
        };
        assert_ne!(transaction_digest(&a), transaction_digest(&c));
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
    }
}
