//! Policies are data: each publication is a new version for one org, and
//! the nearest ancestor's latest version applies to a subtree.

mod publication;

pub use publication::{parse, publish_over};

use std::sync::LazyLock;

use diesel::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use timebank_directory::path_ids;
use timebank_kernel::{Code, DomainError};
use timebank_rules::{EarningPolicy, SpendingPolicy, StarPolicy};
use timebank_store::generation::REFERENCE;
use timebank_store::memo::Memo;
use timebank_store::schema::policies;
use timebank_store::{DbConnection, write_tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Earning,
    Stars,
    Spending,
}

impl PolicyKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "earning" => Some(Self::Earning),
            "stars" => Some(Self::Stars),
            "spending" => Some(Self::Spending),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Earning => "earning",
            Self::Stars => "stars",
            Self::Spending => "spending",
        }
    }
}

/// A policy with where it comes from. `version` is what ledger rows record.
#[derive(Debug, Clone, Serialize)]
pub struct Effective<T> {
    pub policy: T,
    pub version: String,
    /// The org that published it; `None` for the built-in default.
    pub source_org_id: Option<String>,
    pub number: i32,
}

fn version_label(kind: PolicyKind, org_id: Option<&str>, number: i32) -> String {
    match org_id {
        Some(org) => format!("{}:{org}:v{number}", kind.as_str()),
        None => format!("{}:default", kind.as_str()),
    }
}

/// The policy in force for the org at `org_path`, read now (the functions
/// per kind below keep it in memory until a policy is published).
pub fn effective<T: DeserializeOwned + Default>(
    conn: &mut DbConnection,
    kind: PolicyKind,
    org_path: &str,
) -> Result<Effective<T>, DomainError> {
    let ids = path_ids(org_path);
    let rows: Vec<(String, i32, String)> = policies::table
        .filter(policies::kind.eq(kind.as_str()))
        .filter(policies::org_id.eq_any(&ids))
        .select((policies::org_id, policies::version, policies::body))
        .load(conn)?;
    let depth = |org: &str| ids.iter().position(|id| *id == org).unwrap_or(0);
    let Some((org, number, body)) = rows.into_iter().max_by_key(|(org, v, _)| (depth(org), *v))
    else {
        return Ok(Effective {
            policy: T::default(),
            version: version_label(kind, None, 0),
            source_org_id: None,
            number: 0,
        });
    };
    let policy = serde_json::from_str(&body).map_err(|e| {
        tracing::error!(error = %e, %org, "stored policy is unreadable");
        DomainError::refused(Code::PolicyUnreadable, "the stored policy cannot be read")
    })?;
    Ok(Effective {
        policy,
        version: version_label(kind, Some(&org), number),
        source_org_id: Some(org),
        number,
    })
}

pub fn earning(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<Effective<EarningPolicy>, DomainError> {
    static MEMO: LazyLock<Memo<Effective<EarningPolicy>>> = LazyLock::new(|| Memo::new(&REFERENCE));
    let found = MEMO.get_or_load(org_path, || effective(conn, PolicyKind::Earning, org_path))?;
    Ok((*found).clone())
}

/// The local days of the org at `org_path`: its earning policy's offset.
pub fn calendar(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<timebank_kernel::LocalCalendar, DomainError> {
    let policy = earning(conn, org_path)?;
    Ok(timebank_kernel::LocalCalendar::from_offset_minutes(
        policy.policy.utc_offset_minutes,
    ))
}

pub fn stars(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<Effective<StarPolicy>, DomainError> {
    static MEMO: LazyLock<Memo<Effective<StarPolicy>>> = LazyLock::new(|| Memo::new(&REFERENCE));
    let found = MEMO.get_or_load(org_path, || effective(conn, PolicyKind::Stars, org_path))?;
    Ok((*found).clone())
}

pub fn spending(
    conn: &mut DbConnection,
    org_path: &str,
) -> Result<Effective<SpendingPolicy>, DomainError> {
    static MEMO: LazyLock<Memo<Effective<SpendingPolicy>>> =
        LazyLock::new(|| Memo::new(&REFERENCE));
    let found = MEMO.get_or_load(org_path, || effective(conn, PolicyKind::Spending, org_path))?;
    Ok((*found).clone())
}

/// Publishes a new version for `org_id` (already validated by the caller).
pub fn publish<T: Serialize>(
    conn: &mut DbConnection,
    kind: PolicyKind,
    org_id: &str,
    policy: &T,
    actor: &str,
) -> Result<(String, i32), DomainError> {
    let body = serde_json::to_string(policy)
        .map_err(|_| DomainError::refused(Code::InvalidPolicy, "policy cannot be stored"))?;
    write_tx(conn, |c| {
        let latest: Option<i32> = policies::table
            .filter(policies::org_id.eq(org_id))
            .filter(policies::kind.eq(kind.as_str()))
            .select(diesel::dsl::max(policies::version))
            .first(c)?;
        let number = latest.unwrap_or(0) + 1;
        diesel::insert_into(policies::table)
            .values((
                policies::id.eq(timebank_store::new_id()),
                policies::org_id.eq(org_id),
                policies::kind.eq(kind.as_str()),
                policies::version.eq(number),
                policies::body.eq(&body),
                policies::created_by.eq(actor),
                policies::created_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        timebank_store::generation::REFERENCE.touch();
        Ok((version_label(kind, Some(org_id), number), number))
    })
}
