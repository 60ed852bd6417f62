//! Gifts (转赠): between confirmed family members, or to the district's
//! public pool (公益池), from which district admins grant points to people
//! in need. The pool can never go below zero.

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{Org, get_org, get_volunteer, utc_string};
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::{
    Account, AccountKind, Amount, Asset, Transaction, Transfer, TxKind, find_account, read,
};
use timebank_policy as policy;
use timebank_rules::states::{LinkStatus, LinkStep};
use timebank_store::schema::{family_links, gifts, users};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = family_links)]
pub struct LinkRow {
    pub id: String,
    pub requester_id: String,
    pub other_id: String,
    pub relation: String,
    #[diesel(deserialize_as = String)]
    pub status: LinkStatus,
    #[serde(serialize_with = "utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "utc_opt")]
    pub confirmed_at: Option<NaiveDateTime>,
}

fn utc<S: serde::Serializer>(v: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&utc_string(v))
}

fn utc_opt<S: serde::Serializer>(v: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&utc_string(v)),
        None => s.serialize_none(),
    }
}

fn link_between(conn: &mut DbConnection, a: &str, b: &str) -> Result<Option<LinkRow>, DomainError> {
    Ok(family_links::table
        .filter(
            family_links::requester_id
                .eq(a)
                .and(family_links::other_id.eq(b))
                .or(family_links::requester_id
                    .eq(b)
                    .and(family_links::other_id.eq(a))),
        )
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?)
}

/// Asks to link the caller with `other_id`; the other side confirms.
pub fn request_link(
    conn: &mut DbConnection,
    requester: &str,
    other_id: &str,
    relation: &str,
) -> Result<LinkRow, DomainError> {
    if requester == other_id {
        return Err(DomainError::refused(
            Code::InvalidFamilyLink,
            "a person cannot be linked to themselves",
        ));
    }
    if relation.trim().is_empty() || relation.chars().count() > 20 {
        return Err(DomainError::refused(
            Code::ValidationFailed,
            "relation must be 1 to 20 characters, e.g. parent, child, 父子",
        )
        .with_details(serde_json::json!({ "fields": { "relation": ["length"] } })));
    }
    let exists = users::table
        .find(other_id)
        .select(users::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if !exists {
        return Err(DomainError::NotFound("user"));
    }
    write_tx(conn, |c| {
        if link_between(c, requester, other_id)?.is_some() {
            return Err(DomainError::refused(
                Code::LinkExists,
                "these two are already linked or asked to be",
            ));
        }
        let id = timebank_store::new_id();
        diesel::insert_into(family_links::table)
            .values((
                family_links::id.eq(&id),
                family_links::requester_id.eq(requester),
                family_links::other_id.eq(other_id),
                family_links::relation.eq(relation),
                family_links::status.eq(LinkStatus::Pending),
                family_links::created_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        Ok(family_links::table
            .find(&id)
            .select(LinkRow::as_select())
            .first(c)?)
    })
}

/// The other side confirms; nobody else can.
pub fn confirm_link(conn: &mut DbConnection, id: &str, user: &str) -> Result<LinkRow, DomainError> {
    let link = family_links::table
        .find(id)
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("family link"))?;
    if link.other_id != user {
        return Err(DomainError::refused(
            Code::Forbidden,
            "only the person asked can confirm this link",
        ));
    }
    let changed = diesel::update(
        family_links::table
            .find(id)
            .filter(family_links::status.eq_any(LinkStep::Confirm.from_states())),
    )
    .set((
        family_links::status.eq(LinkStep::Confirm.to()),
        family_links::confirmed_at.eq(timebank_store::now()),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(DomainError::refused(
            Code::InvalidState,
            "the link is already confirmed",
        ));
    }
    Ok(family_links::table
        .find(id)
        .select(LinkRow::as_select())
        .first(conn)?)
}

pub fn links_of(conn: &mut DbConnection, user: &str) -> Result<Vec<LinkRow>, DomainError> {
    Ok(family_links::table
        .filter(
            family_links::requester_id
                .eq(user)
                .or(family_links::other_id.eq(user)),
        )
        .order(family_links::created_at.asc())
        .select(LinkRow::as_select())
        .load(conn)?)
}

fn district_of(conn: &mut DbConnection, community_id: &str) -> Result<Org, DomainError> {
    let community = get_org(conn, community_id)?;
    timebank_directory::district_of(conn, &community)
}

pub fn pool_account(conn: &mut DbConnection, district: &Org) -> Result<Account, DomainError> {
    timebank_directory::org_account(conn, AccountKind::DistrictPool, district)
}

pub fn pool_balance(conn: &mut DbConnection, district: &Org) -> Result<Amount, DomainError> {
    let pool = pool_account(conn, district)?;
    Ok(read::balances_of(conn, &pool.id)?.points)
}

#[derive(Debug, Clone)]
pub enum Recipient {
    Person(String),
    Pool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gift {
    pub id: String,
    pub from_id: String,
    pub to_id: Option<String>,
    pub to_pool: bool,
    pub points: Amount,
    pub note: Option<String>,
    pub transaction: Transaction,
}

/// Gives points from the giver's wallet. Run inside the caller's write
/// transaction.
pub fn give(
    conn: &mut DbConnection,
    from: &str,
    to: Recipient,
    points: Amount,
    note: Option<String>,
    now: NaiveDateTime,
) -> Result<Gift, DomainError> {
    if !points.is_positive() {
        return Err(
            DomainError::refused(Code::ValidationFailed, "points must be above zero")
                .with_details(serde_json::json!({ "fields": { "points": ["range"] } })),
        );
    }
    lock_row(conn, Lockable::Volunteer, from)?;
    let giver = get_volunteer(conn, from)?;
    giver.row.require_active(now)?;
    let spending = policy::spending(conn, &giver.community_path)?;
    let year = now.year();
    within_gift_limits(conn, from, points, year, &spending.policy)?;
    let from_wallet = find_account(conn, AccountKind::VolunteerWallet, from)?
        .ok_or(DomainError::NotFound("wallet"))?;
    let (to_account, to_id, to_pool) = recipient_account(conn, &giver, to)?;
    let reason = note.clone().unwrap_or_else(|| {
        if to_pool {
            "捐赠至公益池".to_owned()
        } else {
            "家庭转赠".to_owned()
        }
    });
    let posted = Transfer::new(TxKind::Gift, reason)
        .by(from)
        .under(spending.version)
        .moving(Asset::Point, points, from_wallet.id, to_account.id)
        .post_in(conn)?;
    let id = timebank_store::new_id();
    diesel::insert_into(gifts::table)
        .values((
            gifts::id.eq(&id),
            gifts::from_id.eq(from),
            gifts::to_id.eq(&to_id),
            gifts::to_pool.eq(to_pool),
            gifts::points.eq(points.units()),
            gifts::year.eq(year),
            gifts::note.eq(&note),
            gifts::transaction_id.eq(&posted.transaction.id),
            gifts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Gift {
        id,
        from_id: from.to_owned(),
        to_id,
        to_pool,
        points,
        note,
        transaction: posted.transaction,
    })
}

/// Grants points from the recipient's district pool. Run inside the
/// caller's write transaction; the pool refuses to go below zero.
pub fn grant(
    conn: &mut DbConnection,
    recipient: &str,
    points: Amount,
    reason: &str,
    actor: &str,
    now: NaiveDateTime,
    allowed: Check<'_, Org>,
) -> Result<Transaction, DomainError> {
    let person = timebank_directory::get_member(conn, recipient)?;
    let district = district_of(conn, &person.community_id)?;
    if !allowed(&district) {
        return Err(DomainError::forbidden());
    }
    if !points.is_positive() {
        return Err(
            DomainError::refused(Code::ValidationFailed, "points must be above zero")
                .with_details(serde_json::json!({ "fields": { "points": ["range"] } })),
        );
    }
    person.require_active()?;
    let _ = now;
    let pool = pool_account(conn, &district)?;
    let wallet = find_account(conn, AccountKind::VolunteerWallet, recipient)?
        .ok_or(DomainError::NotFound("wallet"))?;
    let posted = Transfer::new(TxKind::PoolGrant, reason)
        .by(actor)
        .moving(Asset::Point, points, pool.id, wallet.id)
        .post_in(conn)?;
    Ok(posted.transaction)
}

/// One gift and a year's gifts stay within the spending policy's limits.
fn within_gift_limits(
    conn: &mut DbConnection,
    from: &str,
    points: Amount,
    year: i32,
    policy: &timebank_rules::SpendingPolicy,
) -> Result<(), DomainError> {
    let max_gift = Amount::from_decimal(policy.max_points_per_gift).unwrap_or(Amount::ZERO);
    let max_year = Amount::from_decimal(policy.max_gift_points_per_year).unwrap_or(Amount::ZERO);
    // SUM(BIGINT) would be NUMERIC on Postgres; a year's gifts are few.
    let given: Vec<i64> = gifts::table
        .filter(gifts::from_id.eq(from))
        .filter(gifts::year.eq(year))
        .select(gifts::points)
        .load(conn)?;
    let given = Amount::from_units(given.iter().sum());
    if points > max_gift || given.units() + points.units() > max_year.units() {
        return Err(DomainError::refused(Code::GiftLimitReached, "over the gift limit")
            .with_details(serde_json::json!({ "max_points_per_gift": max_gift, "max_gift_points_per_year": max_year, "given_this_year": given })));
    }
    Ok(())
}

/// The account a gift goes to: the district's pool, or the wallet of a
/// confirmed family member. Returns it with the person's id and whether it
/// is the pool.
fn recipient_account(
    conn: &mut DbConnection,
    giver: &timebank_directory::Volunteer,
    to: Recipient,
) -> Result<(Account, Option<String>, bool), DomainError> {
    match to {
        Recipient::Pool => {
            let district = district_of(conn, &giver.row.community_id)?;
            Ok((pool_account(conn, &district)?, None, true))
        }
        Recipient::Person(to) => {
            let from = &giver.row.user_id;
            let confirmed =
                link_between(conn, from, &to)?.is_some_and(|l| l.status == LinkStatus::Confirmed);
            if !confirmed {
                return Err(DomainError::refused(
                    Code::NotFamily,
                    "gifts go to a confirmed family member or the public pool",
                ));
            }
            let wallet =
                find_account(conn, AccountKind::VolunteerWallet, &to)?.ok_or_else(|| {
                    DomainError::refused(
                        Code::RecipientHasNoWallet,
                        "the recipient cannot hold points yet",
                    )
                })?;
            Ok((wallet, Some(to), false))
        }
    }
}
