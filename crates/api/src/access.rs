//! Who may do what, one named check per decision, each taken on the scope
//! the command read under its row lock (in the style of lemmy's `check_*`
//! functions). A check answers yes or no; the command refuses `forbidden`.

use timebank_directory::{Member, Org, Volunteer};
use timebank_redemption::orders::OrderScope;
use timebank_redemption::sites::SiteScope;
use timebank_services::lists::PartyScope;
use timebank_services::projects::ProjectScope;
use timebank_services::requests::RequestScope;
use timebank_services::teams::TeamScope;
use timebank_services::units::UnitScope;
use timebank_services::wishes::Claimant;

use crate::principal::Principal;

/// The volunteer themselves, and admins or auditors over their community,
/// read their private data (profile, balance, statement).
pub fn may_read_volunteer(p: &Principal, volunteer_id: &str, community_path: &str) -> bool {
    p.is_user(volunteer_id) || p.reads(community_path)
}

/// The volunteer who ordered, an operator of the site, or staff who read
/// the volunteer's community.
pub fn may_read_order(p: &Principal, s: &OrderScope) -> bool {
    p.is_user(&s.volunteer_id)
        || p.operates(&s.site_id, &s.site_org_path)
        || p.reads(&s.volunteer_community_path)
}

/// Only an operator at the counter of the order's site.
pub fn may_hand_out(p: &Principal, s: &OrderScope) -> bool {
    p.operates(&s.site_id, &s.site_org_path)
}

/// The volunteer who ordered, or an admin over their community or over
/// the site.
pub fn may_cancel_order(p: &Principal, s: &OrderScope) -> bool {
    p.is_user(&s.volunteer_id)
        || p.admin_over(&s.volunteer_community_path)
        || p.admin_over(&s.site_org_path)
}

/// An admin over an org sets up what it runs: child orgs, sites, catalog
/// items, case rules, activities.
pub fn may_administer(p: &Principal, org: &Org) -> bool {
    p.admin_over(&org.path)
}

/// An admin over the organiser: review, codes, attendance, settlement.
pub fn may_manage_activities(p: &Principal, organiser: &Org) -> bool {
    p.admin_over(&organiser.path)
}

/// An admin over the requester's community sends a volunteer.
pub fn may_dispatch(p: &Principal, s: &RequestScope) -> bool {
    p.admin_over(&s.community_path)
}

/// An admin over the community settles a dispute.
pub fn may_resolve(p: &Principal, s: &RequestScope) -> bool {
    p.admin_over(&s.community_path)
}

/// The requester, or an admin over their community.
pub fn may_cancel_request(p: &Principal, s: &RequestScope) -> bool {
    p.is_user(&s.requester_id) || p.admin_over(&s.community_path)
}

/// An admin over the person's community, who has met them, approves a
/// volunteer's or a resident's registration.
pub fn may_approve(p: &Principal, community_path: &str) -> bool {
    p.admin_over(community_path)
}

/// The volunteer for themselves, or an admin over their community on
/// their behalf, files a case award.
pub fn may_file_award(p: &Principal, volunteer: &Volunteer) -> bool {
    p.is_user(&volunteer.row.user_id) || p.admin_over(&volunteer.community_path)
}

/// An admin over the volunteer's community approves or rejects a claim.
pub fn may_decide_award(p: &Principal, volunteer: &Volunteer) -> bool {
    p.admin_over(&volunteer.community_path)
}

/// An admin over the volunteer's community records a violation.
pub fn may_record_violation(p: &Principal, volunteer: &Volunteer) -> bool {
    p.admin_over(&volunteer.community_path)
}

/// Granting from a district's pool is for admins of that district.
pub fn may_grant_from_pool(p: &Principal, district: &Org) -> bool {
    p.admin_over(&district.path)
}

/// An operator of the site (or an admin over its org) at the counter:
/// stock changes.
pub fn may_operate(p: &Principal, s: &SiteScope) -> bool {
    p.operates(&s.site_id, &s.org_path)
}

/// An admin over the site's org names its operators.
pub fn may_manage_site(p: &Principal, s: &SiteScope) -> bool {
    p.admin_over(&s.org_path)
}

/// An admin over the org that offers an item retires it.
pub fn may_manage_catalog(p: &Principal, offered_by: &Org) -> bool {
    p.admin_over(&offered_by.path)
}

/// An admin over the org grants admin or auditor over it.
pub fn may_grant_over(p: &Principal, org: &Org) -> bool {
    p.admin_over(&org.path)
}

/// An admin over the org publishes its policies (for its whole subtree).
pub fn may_publish_policy(p: &Principal, org: &Org) -> bool {
    p.admin_over(&org.path)
}

/// An admin over a partner org claims a wish for it.
pub fn may_claim_for(p: &Principal, org: &Org) -> bool {
    p.admin_over(&org.path)
}

/// Who claimed the wish: the volunteer, or an admin over the org.
pub fn may_fulfil_wish(p: &Principal, c: &Claimant) -> bool {
    match c {
        Claimant::Volunteer(v) => p.is_user(v),
        Claimant::Org(org) => p.admin_over(&org.path),
        Claimant::Nobody => false,
    }
}

/// The site's operators and staff who read its org see its orders.
pub fn may_read_site_orders(p: &Principal, s: &SiteScope) -> bool {
    p.operates(&s.site_id, &s.org_path) || p.reads(&s.org_path)
}

/// An admin over the person's community, who has checked them at the office.
pub fn may_issue_reset_code(p: &Principal, m: &Member) -> bool {
    p.admin_over(&m.community_path)
}

/// To reverse, an admin must hold every volunteer wallet the transaction
/// touches (or, with none, every account).
pub fn may_reverse(
    principal: &Principal,
    paths: &[(timebank_ledger::AccountKind, String)],
) -> bool {
    let wallets: Vec<&String> = paths
        .iter()
        .filter(|(k, _)| *k == timebank_ledger::AccountKind::VolunteerWallet)
        .map(|(_, p)| p)
        .collect();
    if wallets.is_empty() {
        !paths.is_empty() && paths.iter().all(|(_, p)| principal.admin_over(p))
    } else {
        wallets.iter().all(|p| principal.admin_over(p))
    }
}

/// An admin over a team's org approves, rejects or dissolves it.
pub fn may_decide_team(p: &Principal, s: &TeamScope) -> bool {
    p.admin_over(&s.org_path)
}

/// The team's leader, or an admin over its org: members, leader,
/// activities.
pub fn may_manage_team(p: &Principal, s: &TeamScope) -> bool {
    (p.is_user(&s.leader_id) && s.status.stands()) || p.admin_over(&s.org_path)
}

/// Who manages the team, or the member themselves leaving it.
pub fn may_remove_from_team(p: &Principal, s: &TeamScope, volunteer_id: &str) -> bool {
    may_manage_team(p, s) || p.is_user(volunteer_id)
}

/// An admin over a unit's org approves or rejects it and names its admins.
pub fn may_decide_unit(p: &Principal, s: &UnitScope) -> bool {
    p.admin_over(&s.org_path)
}

/// The unit's own admins, or an admin over its org: its members, list
/// items and projects.
pub fn may_manage_unit(p: &Principal, s: &UnitScope) -> bool {
    is_unit_admin(p, s) || p.admin_over(&s.org_path)
}

/// One of a pending or active unit's admins: a rejected or withdrawn unit's
/// admins hold nothing any more.
fn is_unit_admin(p: &Principal, s: &UnitScope) -> bool {
    s.status.stands() && s.admins.iter().any(|a| p.is_user(a))
}

/// Who records that a volunteer reports from a unit: the volunteer
/// themselves or staff over the unit's org (confirmed at once), or the
/// unit's admins (waiting for the volunteer to confirm).
pub fn joins_unit(p: &Principal, s: &UnitScope, volunteer_id: &str) -> Option<bool> {
    if p.is_user(volunteer_id) || p.admin_over(&s.org_path) {
        Some(true)
    } else if may_manage_unit(p, s) {
        Some(false)
    } else {
        None
    }
}

/// A unit's contact, admins and members' hours: its admins and staff who
/// read its org.
pub fn may_read_unit(p: &Principal, s: &UnitScope) -> bool {
    is_unit_admin(p, s) || p.reads(&s.org_path)
}

/// Publishes, claims, confirms or declines for an org, a unit or a team.
pub fn may_act_for(p: &Principal, party: &PartyScope) -> bool {
    match party {
        PartyScope::Org(org) => p.admin_over(&org.path),
        PartyScope::Unit(s) => may_manage_unit(p, s),
        PartyScope::Team(s) => may_manage_team(p, s),
    }
}

/// Its lead, or an admin over the org whose list it came from, runs a
/// project: starts it, adds activities, submits it for assessment.
pub fn may_run_project(p: &Principal, s: &ProjectScope) -> bool {
    may_act_for(p, &s.lead) || p.admin_over(&s.org_path)
}

/// The org whose list it came from assesses (验收) or cancels a project.
pub fn may_assess_project(p: &Principal, s: &ProjectScope) -> bool {
    p.admin_over(&s.org_path)
}
