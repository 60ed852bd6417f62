//! The activity calendar a volunteer scrolls: by default the upcoming
//! activities (soonest first) and then the past ones (latest first), in one
//! cursor; a named period is one window, soonest first.

use chrono::NaiveDateTime;
use timebank_earning::activities::{self, ActivityRow, ListFilter};
use timebank_kernel::DomainError;
use timebank_rules::states::ActivityStatus;
use timebank_store::DbConnection;

use crate::After;

/// Where a page of activities continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Window,
    Upcoming,
    Past,
}

impl Phase {
    /// The list name its cursors are bound to.
    pub fn tag(self) -> &'static str {
        match self {
            Phase::Window => "activities",
            Phase::Upcoming => "activities-upcoming",
            Phase::Past => "activities-past",
        }
    }
}

/// Which activities: a state, where, and an optional period.
#[derive(Debug, Clone)]
pub struct Listing {
    pub status: ActivityStatus,
    /// Visible to this community: organised by it or an ancestor.
    pub community_path: Option<String>,
    /// Organised anywhere in this subtree.
    pub org_path: Option<String>,
    pub category: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Published, with no period: the upcoming-then-past calendar.
pub fn is_calendar(
    status: ActivityStatus,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> bool {
    status == ActivityStatus::Published && from.is_none() && to.is_none()
}

impl Phase {
    /// The phase and position a cursor names (none: the first page); a
    /// cursor of another list is `None`.
    pub fn resume(calendar: bool, cursor: Option<&str>) -> Option<(Phase, Option<After>)> {
        let phases: &[Phase] = if calendar {
            &[Phase::Upcoming, Phase::Past]
        } else {
            &[Phase::Window]
        };
        match cursor {
            None => Some((phases[0], None)),
            Some(text) => phases
                .iter()
                .find_map(|p| After::parse(p.tag(), text).map(|a| (*p, Some(a)))),
        }
    }
}

/// Up to `limit` activities from a position; the upcoming run straight on
/// into the past when they are all on this page.
pub fn page(
    conn: &mut DbConnection,
    listing: &Listing,
    (phase, after): (Phase, Option<After>),
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<(Phase, ActivityRow)>, DomainError> {
    let filter = |phase: Phase, after: Option<After>, limit| ListFilter {
        status: listing.status,
        community_path: listing.community_path.clone(),
        org_path: listing.org_path.clone(),
        category: listing.category.clone(),
        from: match phase {
            Phase::Upcoming => Some(now),
            _ => listing.from,
        },
        to: listing.to,
        ended_before: (phase == Phase::Past).then_some(now),
        latest_first: phase == Phase::Past,
        after: after.map(|a| (a.at, a.id)),
        limit,
    };
    let mut rows: Vec<(Phase, ActivityRow)> = activities::list(conn, &filter(phase, after, limit))?
        .into_iter()
        .map(|a| (phase, a))
        .collect();
    if phase == Phase::Upcoming && (rows.len() as i64) < limit {
        let rest = limit - rows.len() as i64;
        rows.extend(
            activities::list(conn, &filter(Phase::Past, None, rest))?
                .into_iter()
                .map(|a| (Phase::Past, a)),
        );
    }
    Ok(rows)
}
