//! Service requests (群众点单、平台派单、志愿者接单、群众评单):
//! open → dispatched → accepted → completed → rated, with declined (back to
//! open, reason kept), disputed (an admin resolves the hours), cancelled,
//! and settled (no rating within 72 hours).
//!
//! Payment `platform` mints points from the community's issuance account.
//! Payment `requester` is a true time bank: on acceptance the estimate
//! (max_hours × points per hour) moves from the requester's wallet into the
//! district's escrow account, so it cannot be spent twice; settlement pays
//! the volunteer from escrow and returns the rest, in one transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use timebank_directory::{Org, district_of, get_member, get_org, get_volunteer, org_account};
use timebank_kernel::{Check, Class, Code, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, TxKind, find_account};
use timebank_rules::states::{RequestStatus, RequestStep};
use timebank_store::schema::service_requests as sr;
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use timebank_earning::{amount, credit_points, stars};
use timebank_policy as policy;

/// A completed request without a rating or dispute settles after this.
pub const RATING_WINDOW_HOURS: i64 = 72;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sr)]
pub struct RequestRow {
    pub id: String,
    pub requester_id: String,
    pub community_id: String,
    pub category: String,
    pub description: String,
    pub wanted_at: NaiveDateTime,
    pub wanted_until: Option<NaiveDateTime>,
    pub payment: String,
    pub max_hours: i64,
    #[diesel(deserialize_as = String)]
    pub status: RequestStatus,
    pub volunteer_id: Option<String>,
    pub dispatched_by: Option<String>,
    pub reported_hours: Option<i64>,
    pub completed_at: Option<NaiveDateTime>,
    pub stars: Option<i32>,
    pub comment: Option<String>,
    pub rated_at: Option<NaiveDateTime>,
    pub settled_hours: Option<i64>,
    pub settled_points: Option<i64>,
    pub held_points: i64,
    pub hold_transaction_id: Option<String>,
    pub settlement_transaction_id: Option<String>,
    pub release_transaction_id: Option<String>,
    pub declines: String,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decline {
    pub volunteer_id: String,
    pub reason: String,
    pub at: String,
}

pub struct NewRequest {
    pub requester_id: String,
    pub community_id: String,
    pub category: String,
    pub description: String,
    pub wanted_at: NaiveDateTime,
    pub wanted_until: Option<NaiveDateTime>,
    pub requester_pays: bool,
    pub max_hours: Amount,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<RequestRow, DomainError> {
    sr::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("service request"))
}

/// The request's community (for scope checks).
pub fn community_of(conn: &mut DbConnection, request: &RequestRow) -> Result<Org, DomainError> {
    get_org(conn, &request.community_id)
}

fn locked(conn: &mut DbConnection, id: &str, step: RequestStep) -> Result<RequestRow, DomainError> {
    let r = lock_request(conn, id)?;
    may_take(&r, step)?;
    Ok(r)
}

/// Who a request concerns, which is what staff access to it is decided on.
#[derive(Debug, Clone)]
pub struct RequestScope {
    pub requester_id: String,
    pub community_path: String,
}

/// Locks the request and lets `allowed` decide on its scope, read once.
fn locked_scoped(
    conn: &mut DbConnection,
    id: &str,
    allowed: Check<'_, RequestScope>,
) -> Result<RequestRow, DomainError> {
    let r = lock_request(conn, id)?;
    let community = community_of(conn, &r)?;
    let scope = RequestScope {
        requester_id: r.requester_id.clone(),
        community_path: community.path,
    };
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    Ok(r)
}

/// Steps taken by one party check the party first, so nobody else learns
/// the request's state.
fn lock_request(conn: &mut DbConnection, id: &str) -> Result<RequestRow, DomainError> {
    lock_row(conn, Lockable::ServiceRequest, id)?;
    get(conn, id)
}

fn may_take(r: &RequestRow, step: RequestStep) -> Result<(), DomainError> {
    match r.status.after(step) {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid_state(
            "request",
            r.status.as_str(),
            &step.wanted(),
        )),
    }
}

fn assigned(r: &RequestRow, volunteer_id: &str) -> Result<(), DomainError> {
    if r.volunteer_id.as_deref() == Some(volunteer_id) {
        Ok(())
    } else {
        Err(DomainError::refused(
            Code::NotAssigned,
            "this request is not assigned to you",
        ))
    }
}

fn valid_hours(hours: Amount, field: &str) -> Result<(), DomainError> {
    if hours.is_positive() && hours <= Amount::from_units(2400) {
        Ok(())
    } else {
        Err(DomainError::refused(
            Code::ValidationFailed,
            format!("{field} must be above 0 and at most 24"),
        )
        .with_details(serde_json::json!({ "fields": { field: ["range"] } })))
    }
}

pub fn create(conn: &mut DbConnection, new: NewRequest) -> Result<RequestRow, DomainError> {
    get_member(conn, &new.requester_id)?.require_active()?;
    get_org(conn, &new.community_id)
        .ok()
        .filter(|o| o.kind == "community")
        .ok_or_else(|| {
            DomainError::refused(Code::InvalidCommunity, "community_id is not a community")
        })?;
    valid_hours(new.max_hours, "max_hours")?;
    if new.wanted_until.is_some_and(|until| until <= new.wanted_at) {
        return Err(DomainError::refused(
            Code::InvalidWindow,
            "wanted_until must be after wanted_at",
        ));
    }
    let now = timebank_store::now();
    let id = timebank_store::new_id();
    diesel::insert_into(sr::table)
        .values((
            sr::id.eq(&id),
            sr::requester_id.eq(&new.requester_id),
            sr::community_id.eq(&new.community_id),
            sr::category.eq(&new.category),
            sr::description.eq(&new.description),
            sr::wanted_at.eq(new.wanted_at),
            sr::wanted_until.eq(new.wanted_until),
            sr::payment.eq(if new.requester_pays {
                "requester"
            } else {
                "platform"
            }),
            sr::max_hours.eq(new.max_hours.units()),
            sr::status.eq(RequestStatus::Open),
            sr::held_points.eq(0i64),
            sr::declines.eq("[]"),
            sr::created_at.eq(now),
            sr::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, &id)
}

pub fn dispatch(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    actor: &str,
    allowed: Check<'_, RequestScope>,
) -> Result<RequestRow, DomainError> {
    write_tx(conn, |c| {
        let r = locked_scoped(c, id, allowed)?;
        may_take(&r, RequestStep::Dispatch)?;
        if r.requester_id == volunteer_id {
            return Err(DomainError::refused(
                Code::VolunteerUnavailable,
                "a request cannot be dispatched to its requester",
            ));
        }
        let volunteer = get_volunteer(c, volunteer_id)?;
        volunteer
            .row
            .require_active(timebank_store::now())
            .map_err(|e| DomainError::refused(Code::VolunteerUnavailable, e.to_string()))?;
        diesel::update(sr::table.find(id))
            .set((
                sr::status.eq(RequestStep::Dispatch.to()),
                sr::volunteer_id.eq(volunteer_id),
                sr::dispatched_by.eq(actor),
                sr::updated_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        get(c, id)
    })
}

/// The dispatched volunteer declines; the request is open again.
pub fn decline(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    reason: &str,
) -> Result<RequestRow, DomainError> {
    write_tx(conn, |c| {
        let r = locked(c, id, RequestStep::Decline)?;
        assigned(&r, volunteer_id)?;
        let mut declines: Vec<Decline> = serde_json::from_str(&r.declines).unwrap_or_default();
        let now = timebank_store::now();
        declines.push(Decline {
            volunteer_id: volunteer_id.to_owned(),
            reason: reason.to_owned(),
            at: timebank_directory::utc_string(&now),
        });
        diesel::update(sr::table.find(id))
            .set((
                sr::status.eq(RequestStep::Decline.to()),
                sr::volunteer_id.eq(None::<String>),
                sr::declines
                    .eq(serde_json::to_string(&declines).unwrap_or_else(|_| "[]".to_owned())),
                sr::updated_at.eq(now),
            ))
            .execute(c)?;
        get(c, id)
    })
}

fn escrow(
    conn: &mut DbConnection,
    community: &Org,
) -> Result<timebank_ledger::Account, DomainError> {
    let district = district_of(conn, community)?;
    org_account(conn, AccountKind::Escrow, &district)
}

fn wallet(conn: &mut DbConnection, user: &str) -> Result<String, DomainError> {
    Ok(find_account(conn, AccountKind::VolunteerWallet, user)?
        .ok_or(DomainError::NotFound("wallet"))?
        .id)
}

/// The assigned volunteer accepts; a requester-paid request holds points.
/// Run inside the caller's write transaction.
pub fn accept(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
) -> Result<RequestRow, DomainError> {
    let r = locked(conn, id, RequestStep::Accept)?;
    assigned(&r, volunteer_id)?;
    get_volunteer(conn, volunteer_id)?
        .row
        .require_active(timebank_store::now())?;
    let now = timebank_store::now();
    let mut hold_tx = None;
    let mut held = 0;
    if r.payment == "requester" {
        let community = community_of(conn, &r)?;
        let earning = policy::earning(conn, &community.path)?;
        let hold =
            amount(Amount::from_units(r.max_hours).to_decimal() * earning.policy.points_per_hour)?;
        let from = wallet(conn, &r.requester_id)?;
        let escrow = escrow(conn, &community)?;
        let posted = Transfer::new(
            TxKind::ServicePayment,
            format!("服务预付（暂存）：{}", r.category),
        )
        .by(volunteer_id)
        .once(format!("service-hold:{id}"))
        .under(earning.version)
        .moving(Asset::Point, hold, from, escrow.id)
        .post_in(conn)?;
        hold_tx = Some(posted.transaction.id);
        held = hold.units();
    }
    diesel::update(sr::table.find(id))
        .set((
            sr::status.eq(RequestStep::Accept.to()),
            sr::held_points.eq(held),
            sr::hold_transaction_id.eq(hold_tx),
            sr::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, id)
}

pub fn complete(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    hours: Amount,
) -> Result<RequestRow, DomainError> {
    valid_hours(hours, "hours")?;
    write_tx(conn, |c| {
        let r = lock_request(c, id)?;
        assigned(&r, volunteer_id)?;
        may_take(&r, RequestStep::Complete)?;
        let now = timebank_store::now();
        diesel::update(sr::table.find(id))
            .set((
                sr::status.eq(RequestStep::Complete.to()),
                sr::reported_hours.eq(hours.units()),
                sr::completed_at.eq(now),
                sr::updated_at.eq(now),
            ))
            .execute(c)?;
        get(c, id)
    })
}

/// What the hourly rule will credit for the hours reported, and why it is
/// less when it is: the request's `max_hours`, the policy's cap per
/// activity, or its increment.
pub fn creditable(
    conn: &mut DbConnection,
    r: &RequestRow,
) -> Result<Option<(Amount, &'static str)>, DomainError> {
    let Some(reported) = r.reported_hours.map(Amount::from_units) else {
        return Ok(None);
    };
    let community = community_of(conn, r)?;
    let earning = policy::earning(conn, &community.path)?.policy;
    let max = Amount::from_units(r.max_hours).to_decimal();
    let credited = earning.credit_reported(reported.to_decimal(), max);
    let why = if credited == reported.to_decimal() {
        "as_reported"
    } else if reported.to_decimal() > max && credited == earning.credit_reported(max, max) {
        "capped_at_max_hours"
    } else if earning
        .max_hours_per_activity
        .is_some_and(|cap| reported.to_decimal() > cap)
    {
        "capped_by_policy"
    } else {
        "rounded_down_to_increment"
    };
    Ok(Some((amount(credited)?, why)))
}

/// The requester rates; without a dispute this settles the points. Run
/// inside the caller's write transaction.
pub fn rate(
    conn: &mut DbConnection,
    id: &str,
    requester: &str,
    stars: i32,
    comment: Option<&str>,
    dispute: bool,
) -> Result<RequestRow, DomainError> {
    let r = lock_request(conn, id)?;
    if r.requester_id != requester {
        return Err(DomainError::refused(
            Code::NotRequester,
            "only the requester rates a request",
        ));
    }
    may_take(&r, RequestStep::Rate)?;
    if !(1..=5).contains(&stars) {
        return Err(
            DomainError::refused(Code::ValidationFailed, "stars must be 1 to 5")
                .with_details(serde_json::json!({ "fields": { "stars": ["range"] } })),
        );
    }
    let now = timebank_store::now();
    diesel::update(sr::table.find(id))
        .set((
            sr::stars.eq(stars),
            sr::comment.eq(comment),
            sr::rated_at.eq(now),
            sr::updated_at.eq(now),
        ))
        .execute(conn)?;
    if dispute {
        diesel::update(sr::table.find(id))
            .set(sr::status.eq(RequestStep::Dispute.to()))
            .execute(conn)?;
    } else {
        settle(
            conn,
            &r,
            Amount::from_units(r.reported_hours.unwrap_or(0)),
            RequestStep::Rate.to(),
            now,
        )?;
    }
    get(conn, id)
}

/// An admin settles a disputed request with the hours they find. Run
/// inside the caller's write transaction.
pub fn resolve(
    conn: &mut DbConnection,
    id: &str,
    hours: Amount,
    allowed: Check<'_, RequestScope>,
) -> Result<RequestRow, DomainError> {
    let r = locked_scoped(conn, id, allowed)?;
    if hours.is_negative() || hours > Amount::from_units(2400) {
        return Err(
            DomainError::refused(Code::ValidationFailed, "hours must be 0 to 24")
                .with_details(serde_json::json!({ "fields": { "hours": ["range"] } })),
        );
    }
    may_take(&r, RequestStep::Resolve)?;
    settle(
        conn,
        &r,
        hours,
        RequestStep::Resolve.to(),
        timebank_store::now(),
    )?;
    get(conn, id)
}

/// Cancels before completion; a hold goes back to the requester. Run inside
/// the caller's write transaction.
pub fn cancel(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    reason: Option<&str>,
    allowed: Check<'_, RequestScope>,
) -> Result<RequestRow, DomainError> {
    let r = locked_scoped(conn, id, allowed)?;
    may_take(&r, RequestStep::Cancel)?;
    let release = release_hold(conn, &r, r.held_points, "服务取消，退还预付积分")?;
    let now = timebank_store::now();
    diesel::update(sr::table.find(id))
        .set((
            sr::status.eq(RequestStep::Cancel.to()),
            sr::cancelled_by.eq(actor),
            sr::cancel_reason.eq(reason),
            sr::release_transaction_id.eq(release),
            sr::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, id)
}

fn release_hold(
    conn: &mut DbConnection,
    r: &RequestRow,
    units: i64,
    reason: &str,
) -> Result<Option<String>, DomainError> {
    if units <= 0 {
        return Ok(None);
    }
    let community = community_of(conn, r)?;
    let escrow = escrow(conn, &community)?;
    let to = wallet(conn, &r.requester_id)?;
    let posted = Transfer::new(TxKind::Refund, reason)
        .once(format!("service-release:{}", r.id))
        .moving(Asset::Point, Amount::from_units(units), escrow.id, to)
        .post_in(conn)?;
    Ok(Some(posted.transaction.id))
}

/// Pays the volunteer by the hourly rule (`external_id = service:<id>`) and
/// returns any unused hold to the requester, in the caller's transaction.
fn settle(
    conn: &mut DbConnection,
    r: &RequestRow,
    reported: Amount,
    final_status: RequestStatus,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let volunteer_id = r
        .volunteer_id
        .clone()
        .ok_or(DomainError::NotFound("assigned volunteer"))?;
    // The volunteer row before any ledger account, as every writer does.
    lock_row(conn, Lockable::Volunteer, &volunteer_id)?;
    let volunteer = get_volunteer(conn, &volunteer_id)?;
    let community = community_of(conn, r)?;
    let earning = policy::earning(conn, &community.path)?;
    let hours = amount(earning.policy.credit_reported(
        reported.to_decimal(),
        Amount::from_units(r.max_hours).to_decimal(),
    ))?;
    let mut points = amount(hours.to_decimal() * earning.policy.points_per_hour)?;
    let requester_pays = r.payment == "requester";
    if requester_pays {
        points = points.min(Amount::from_units(r.held_points));
    }
    let mut settlement = None;
    if hours.is_positive() {
        let issuer = org_account(conn, AccountKind::OrgIssuance, &community)?;
        let to = wallet(conn, &volunteer_id)?;
        let kind = if requester_pays {
            TxKind::ServicePayment
        } else {
            TxKind::EarnHours
        };
        let mut transfer = Transfer::new(kind, format!("服务：{}", r.category))
            .once(format!("service:{}", r.id))
            .under(earning.version)
            .moving(Asset::Hour, hours, &issuer.id, &to);
        if points.is_positive() {
            if requester_pays {
                let escrow = escrow(conn, &community)?;
                transfer = transfer.moving(Asset::Point, points, escrow.id, &to);
            } else {
                transfer = credit_points(conn, transfer, &volunteer, &issuer.id, &to, points)?.0;
            }
        }
        let posted = transfer.post_in(conn)?;
        stars::refresh(conn, &volunteer, Some(&posted.transaction.id), now)?;
        settlement = Some(posted.transaction.id);
    }
    let release = release_hold(
        conn,
        r,
        r.held_points - if requester_pays { points.units() } else { 0 },
        "服务结算，退还未用预付积分",
    )?;
    diesel::update(sr::table.find(&r.id))
        .set((
            sr::status.eq(final_status),
            sr::settled_hours.eq(hours.units()),
            sr::settled_points.eq(points.units()),
            sr::settlement_transaction_id.eq(settlement),
            sr::release_transaction_id.eq(release),
            sr::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Settles completed requests left without a rating or dispute for 72
/// hours, each in its own transaction; a re-run settles nothing twice.
pub fn settle_unrated(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, DomainError> {
    let due: Vec<String> = sr::table
        .filter(sr::status.eq_any(RequestStep::SettleUnrated.from_states()))
        .filter(sr::completed_at.le(now - Duration::hours(RATING_WINDOW_HOURS)))
        .order(sr::completed_at.asc())
        .limit(limit)
        .select(sr::id)
        .load(conn)?;
    let mut done = Vec::new();
    for id in due {
        let settled = write_tx(conn, |c| {
            let r = locked(c, &id, RequestStep::SettleUnrated)?;
            settle(
                c,
                &r,
                Amount::from_units(r.reported_hours.unwrap_or(0)),
                RequestStep::SettleUnrated.to(),
                now,
            )
        });
        match settled {
            Ok(()) => done.push(id),
            Err(e) if e.code().is_some_and(|c| c.class() == Class::Conflict) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

pub enum Filter<'a> {
    Community {
        path: &'a str,
        status: Option<RequestStatus>,
    },
    Requester(&'a str),
    Volunteer(&'a str),
}

/// Requests newest first, `limit` of them before a (created, id) position.
pub fn list(
    conn: &mut DbConnection,
    filter: Filter<'_>,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<RequestRow>, DomainError> {
    use timebank_store::schema::orgs;
    let mut q = sr::table
        .inner_join(orgs::table.on(orgs::id.eq(sr::community_id)))
        .select(RequestRow::as_select())
        .into_boxed();
    q = match filter {
        Filter::Community { path, status } => {
            let q = q.filter(orgs::path.like(format!("{path}%")));
            match status {
                Some(s) => q.filter(sr::status.eq(s)),
                None => q,
            }
        }
        Filter::Requester(id) => q.filter(sr::requester_id.eq(id.to_owned())),
        Filter::Volunteer(id) => q.filter(sr::volunteer_id.eq(id.to_owned())),
    };
    if let Some((at, id)) = before {
        q = q.filter(
            sr::created_at
                .lt(at)
                .or(sr::created_at.eq(at).and(sr::id.lt(id))),
        );
    }
    Ok(q.order((sr::created_at.desc(), sr::id.desc()))
        .limit(limit)
        .load(conn)?)
}

/// A volunteer's average rating (two places, rounded down) and count.
pub fn rating_of(
    conn: &mut DbConnection,
    volunteer_id: &str,
) -> Result<(Option<Amount>, usize), DomainError> {
    let stars: Vec<Option<i32>> = sr::table
        .filter(sr::volunteer_id.eq(volunteer_id))
        .filter(sr::stars.is_not_null())
        .select(sr::stars)
        .load(conn)?;
    let stars: Vec<i64> = stars.into_iter().flatten().map(i64::from).collect();
    if stars.is_empty() {
        return Ok((None, 0));
    }
    let avg = stars.iter().sum::<i64>() * 100 / stars.len() as i64;
    Ok((Some(Amount::from_units(avg)), stars.len()))
}
