//! What is waiting for the staff of a subtree: one count per queue, each an
//! index range (status and community or org).

use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::DomainError;
use timebank_rules::states::{
    ActivityStatus, AwardStatus, MemberStatus, OrderStatus, RequestStatus, WishStatus,
};
use timebank_store::DbConnection;
use timebank_store::schema::{
    activities, case_awards, orders, residents, service_requests, sites, volunteers, wishes,
};

use crate::Scope;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Queues {
    pub org_id: String,
    pub pending_volunteers: i64,
    pub pending_residents: i64,
    pub activities_to_review: i64,
    pub awards_to_approve: i64,
    pub disputed_requests: i64,
    pub open_wishes: i64,
    pub reserved_orders: i64,
}

pub fn counts(conn: &mut DbConnection, org_id: &str, scope: &Scope) -> Result<Queues, DomainError> {
    let communities = &scope.community_ids;
    let pending_volunteers = volunteers::table
        .filter(volunteers::community_id.eq_any(communities))
        .filter(volunteers::status.eq(MemberStatus::Pending))
        .count()
        .get_result(conn)?;
    let pending_residents = residents::table
        .filter(residents::community_id.eq_any(communities))
        .filter(residents::status.eq(MemberStatus::Pending))
        .count()
        .get_result(conn)?;
    let activities_to_review = activities::table
        .filter(activities::org_id.eq_any(&scope.org_ids))
        .filter(activities::status.eq(ActivityStatus::PendingReview))
        .count()
        .get_result(conn)?;
    let awards_to_approve = case_awards::table
        .inner_join(volunteers::table.on(volunteers::user_id.eq(case_awards::volunteer_id)))
        .filter(volunteers::community_id.eq_any(communities))
        .filter(case_awards::status.eq(AwardStatus::Pending))
        .count()
        .get_result(conn)?;
    let disputed_requests = service_requests::table
        .filter(service_requests::community_id.eq_any(communities))
        .filter(service_requests::status.eq(RequestStatus::Disputed))
        .count()
        .get_result(conn)?;
    let open_wishes = wishes::table
        .filter(wishes::community_id.eq_any(communities))
        .filter(wishes::status.eq(WishStatus::Open))
        .count()
        .get_result(conn)?;
    let reserved_orders = orders::table
        .inner_join(sites::table.on(sites::id.eq(orders::site_id)))
        .filter(sites::org_id.eq_any(&scope.org_ids))
        .filter(orders::status.eq(OrderStatus::Reserved))
        .count()
        .get_result(conn)?;
    Ok(Queues {
        org_id: org_id.to_owned(),
        pending_volunteers,
        pending_residents,
        activities_to_review,
        awards_to_approve,
        disputed_requests,
        open_wishes,
        reserved_orders,
    })
}
