//! Micro-wishes (微心愿): a resident posts a small wish, a volunteer or a
//! partner organisation claims and fulfils it, the resident confirms, and
//! confirmation awards the `micro_wish` case rule to the volunteer.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::{Org, get_member, get_org, get_volunteer};
use timebank_kernel::{Check, Class, Code, DomainError, anyone};
use timebank_ledger::Amount;
use timebank_rules::states::{WishStatus, WishStep};
use timebank_store::schema::wishes;
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use timebank_earning::cases;

pub const AWARD_CODE: &str = "micro_wish";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wishes)]
pub struct WishRow {
    pub id: String,
    pub requester_id: String,
    pub community_id: String,
    pub category: String,
    pub description: String,
    pub budget: Option<i64>,
    #[diesel(deserialize_as = String)]
    pub status: WishStatus,
    pub claimed_by_volunteer: Option<String>,
    pub claimed_by_org: Option<String>,
    pub claimed_at: Option<NaiveDateTime>,
    pub fulfil_note: Option<String>,
    pub fulfilled_at: Option<NaiveDateTime>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub award_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub enum Claimer<'a> {
    Volunteer(String),
    /// A partner organisation, by someone `allowed` over it.
    Org(String, Check<'a, Org>),
}

/// Who claimed a wish, as the check of who may fulfil it sees them.
pub enum Claimant {
    Volunteer(String),
    Org(Org),
    Nobody,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<WishRow, DomainError> {
    wishes::table
        .find(id)
        .select(WishRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("wish"))
}

fn locked(conn: &mut DbConnection, id: &str, step: WishStep) -> Result<WishRow, DomainError> {
    let w = lock_wish(conn, id)?;
    may_take(&w, step)?;
    Ok(w)
}

/// Steps taken by one party check the party first, so nobody else learns
/// the wish's state.
fn lock_wish(conn: &mut DbConnection, id: &str) -> Result<WishRow, DomainError> {
    lock_row(conn, Lockable::Wish, id)?;
    get(conn, id)
}

fn may_take(w: &WishRow, step: WishStep) -> Result<(), DomainError> {
    match w.status.after(step) {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid_state(
            "wish",
            w.status.as_str(),
            &step.wanted(),
        )),
    }
}

pub fn create(
    conn: &mut DbConnection,
    requester: &str,
    category: &str,
    description: &str,
    budget: Option<Amount>,
) -> Result<WishRow, DomainError> {
    let member = get_member(conn, requester)?;
    member.require_active()?;
    if budget.is_some_and(|b| b.is_negative()) {
        return Err(DomainError::refused(
            Code::ValidationFailed,
            "budget must not be negative",
        ));
    }
    let id = timebank_store::new_id();
    diesel::insert_into(wishes::table)
        .values((
            wishes::id.eq(&id),
            wishes::requester_id.eq(requester),
            wishes::community_id.eq(&member.community_id),
            wishes::category.eq(category),
            wishes::description.eq(description),
            wishes::budget.eq(budget.map(Amount::units)),
            wishes::status.eq(WishStatus::Open),
            wishes::created_at.eq(timebank_store::now()),
        ))
        .execute(conn)?;
    get(conn, &id)
}

/// Claims an open wish, for oneself or for an org. The org's check comes
/// first, so who may not claim for it learns nothing of the wish.
pub fn claim(conn: &mut DbConnection, id: &str, by: Claimer<'_>) -> Result<WishRow, DomainError> {
    write_tx(conn, |c| {
        let org = match &by {
            Claimer::Org(o, allowed) => {
                let org = get_org(c, o)?;
                if !allowed(&org) {
                    return Err(DomainError::forbidden());
                }
                Some(org.id)
            }
            Claimer::Volunteer(_) => None,
        };
        let w = locked(c, id, WishStep::Claim)?;
        let volunteer = match &by {
            Claimer::Volunteer(v) => {
                if *v == w.requester_id {
                    return Err(DomainError::refused(
                        Code::OwnWish,
                        "a wish cannot be claimed by its author",
                    ));
                }
                get_volunteer(c, v)?
                    .row
                    .require_active(timebank_store::now())?;
                Some(v.clone())
            }
            Claimer::Org(..) => None,
        };
        diesel::update(wishes::table.find(id))
            .set((
                wishes::status.eq(WishStep::Claim.to()),
                wishes::claimed_by_volunteer.eq(volunteer),
                wishes::claimed_by_org.eq(org),
                wishes::claimed_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        get(c, id)
    })
}

/// Who claimed it marks it fulfilled, if `is_claimer` agrees on the
/// claimant read under the lock.
pub fn fulfil(
    conn: &mut DbConnection,
    id: &str,
    note: &str,
    is_claimer: Check<'_, Claimant>,
) -> Result<WishRow, DomainError> {
    write_tx(conn, |c| {
        let w = lock_wish(c, id)?;
        let claimant = match (&w.claimed_by_volunteer, &w.claimed_by_org) {
            (Some(v), _) => Claimant::Volunteer(v.clone()),
            (None, Some(org)) => Claimant::Org(get_org(c, org)?),
            (None, None) => Claimant::Nobody,
        };
        if !is_claimer(&claimant) {
            return Err(DomainError::refused(
                Code::NotClaimer,
                "only who claimed the wish fulfils it",
            ));
        }
        may_take(&w, WishStep::Fulfil)?;
        diesel::update(wishes::table.find(id))
            .set((
                wishes::status.eq(WishStep::Fulfil.to()),
                wishes::fulfil_note.eq(note),
                wishes::fulfilled_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        get(c, id)
    })
}

/// The requester confirms. A volunteer who fulfilled it receives the
/// `micro_wish` case award, filed and approved at once. Returns the wish and
/// why no award was made, if none was. Run inside the caller's write
/// transaction.
pub fn confirm(
    conn: &mut DbConnection,
    id: &str,
    requester: &str,
) -> Result<(WishRow, Option<String>), DomainError> {
    let w = lock_wish(conn, id)?;
    if w.requester_id != requester {
        return Err(DomainError::refused(
            Code::NotRequester,
            "only the person who made the wish confirms it",
        ));
    }
    may_take(&w, WishStep::Confirm)?;
    let now = timebank_store::now();
    let mut award = None;
    let mut skipped = None;
    if let Some(volunteer_id) = &w.claimed_by_volunteer {
        let volunteer = get_volunteer(conn, volunteer_id)?;
        let evidence = Some(format!(
            "微心愿 {id}：{}",
            w.fulfil_note.clone().unwrap_or_default()
        ));
        match cases::file(
            conn,
            &volunteer,
            AWARD_CODE,
            w.fulfilled_at.unwrap_or(now),
            evidence,
            requester,
        ) {
            Ok(filed) => {
                let (approved, _) = cases::approve(conn, &filed.id, requester, None, &anyone)?;
                award = Some(approved.id);
            }
            Err(DomainError::Refused { code, .. })
                if matches!(code.class(), Class::Unprocessable | Class::Forbidden) =>
            {
                skipped = Some(code.as_str().to_owned())
            }
            Err(e) => return Err(e),
        }
    } else {
        skipped = Some("claimed_by_organisation".to_owned());
    }
    diesel::update(wishes::table.find(id))
        .set((
            wishes::status.eq(WishStep::Confirm.to()),
            wishes::confirmed_at.eq(now),
            wishes::award_id.eq(&award),
        ))
        .execute(conn)?;
    Ok((get(conn, id)?, skipped))
}

pub fn list_open(
    conn: &mut DbConnection,
    community_ids: &[String],
) -> Result<Vec<WishRow>, DomainError> {
    Ok(wishes::table
        .filter(wishes::community_id.eq_any(community_ids))
        .filter(wishes::status.eq_any([WishStatus::Open, WishStatus::Claimed]))
        .order(wishes::created_at.asc())
        .select(WishRow::as_select())
        .load(conn)?)
}
