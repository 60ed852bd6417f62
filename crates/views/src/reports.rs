//! The summary report (API.md): for an org subtree and period — hours,
//! points issued, redeemed and expired, active volunteers, new
//! registrations, requests served and their average rating — in total, per
//! child org, and per month. Figures come from the ledger's postings, so
//! reversals and refunds net out.

use std::collections::{BTreeMap, HashSet};
use timebank_rules::states::{MemberStatus, RequestStatus};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{Org, children};
use timebank_kernel::DomainError;
use timebank_ledger::{AccountKind, Amount, Asset, TxKind};
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, service_requests as sr, volunteers};

#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub hours: Amount,
    pub points_issued: Amount,
    pub points_redeemed: Amount,
    pub points_expired: Amount,
    pub active_volunteers: usize,
    pub new_registrations: usize,
    pub requests_served: usize,
    /// Mean stars of the requests served, two places; null when none.
    pub average_rating: Option<Amount>,
    #[serde(skip)]
    active: HashSet<String>,
    #[serde(skip)]
    stars: (i64, i64),
}

impl Figures {
    fn close(&mut self) {
        self.active_volunteers = self.active.len();
        self.average_rating =
            (self.stars.1 > 0).then(|| Amount::from_units(self.stars.0 * 100 / self.stars.1));
    }
}

#[derive(Debug, Serialize)]
pub struct ChildFigures {
    pub org_id: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub org_id: String,
    pub from: String,
    pub to: String,
    pub totals: Figures,
    pub children: Vec<ChildFigures>,
    /// Month (local, YYYY-MM) → figures.
    pub months: BTreeMap<String, Figures>,
    /// Approved volunteers of the subtree per star level now, 0★ to 5★.
    pub star_levels: Vec<StarCount>,
    /// Each team of the subtree: its members now, and the activities it
    /// held in the period with what their attendance earned.
    pub teams: Vec<TeamLine>,
}

#[derive(Debug, Serialize)]
pub struct TeamLine {
    pub team_id: String,
    pub name: String,
    pub org_id: String,
    pub category: String,
    pub status: String,
    pub members: i64,
    pub activities: i64,
    pub volunteers: i64,
    pub hours: Amount,
    pub points: Amount,
}

fn team_lines(
    conn: &mut DbConnection,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<TeamLine>, DomainError> {
    Ok(
        timebank_services::teams::figures(conn, &org.path, from, to)?
            .into_iter()
            .map(|f| TeamLine {
                team_id: f.team.id,
                name: f.team.name,
                org_id: f.team.org_id,
                category: f.team.category,
                status: f.team.status.as_str().to_owned(),
                members: f.members,
                activities: f.tally.activities,
                volunteers: f.tally.volunteers,
                hours: Amount::from_units(f.tally.hours),
                points: Amount::from_units(f.tally.points),
            })
            .collect(),
    )
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct StarCount {
    pub level: i32,
    pub volunteers: i64,
}

/// `from`..`to` are UTC instants (to exclusive); `utc_offset` places months.
pub fn summary(
    conn: &mut DbConnection,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
    utc_offset: Duration,
) -> Result<Summary, DomainError> {
    let kids = children(conn, &org.id, None, 10_000)?;
    let mut tally = Tally {
        kid_paths: kids.iter().map(|k| k.path.clone()).collect(),
        utc_offset,
        totals: Figures::default(),
        per_child: vec![Figures::default(); kids.len()],
        months: BTreeMap::new(),
    };
    tally_postings(conn, &mut tally, org, from, to)?;
    tally_registrations(conn, &mut tally, org, from, to)?;
    tally_served(conn, &mut tally, org, from, to)?;
    let star_levels = star_levels(conn, org)?;
    let teams = team_lines(conn, org, from, to)?;
    let Tally {
        mut totals,
        mut per_child,
        mut months,
        ..
    } = tally;
    totals.close();
    months.values_mut().for_each(Figures::close);
    per_child.iter_mut().for_each(Figures::close);
    Ok(Summary {
        org_id: org.id.clone(),
        from: timebank_directory::utc_string(&from),
        to: timebank_directory::utc_string(&to),
        totals,
        children: kids
            .into_iter()
            .zip(per_child)
            .map(|(k, figures)| ChildFigures {
                org_id: k.id,
                name: k.name,
                figures,
            })
            .collect(),
        months,
        star_levels,
        teams,
    })
}

/// Figures added up three ways at once: the whole subtree, per direct
/// child, per local month.
struct Tally {
    kid_paths: Vec<String>,
    utc_offset: Duration,
    totals: Figures,
    per_child: Vec<Figures>,
    months: BTreeMap<String, Figures>,
}

impl Tally {
    fn add(&mut self, path: &str, at: NaiveDateTime, apply: impl Fn(&mut Figures)) {
        apply(&mut self.totals);
        let month = (at + self.utc_offset).format("%Y-%m").to_string();
        apply(self.months.entry(month).or_default());
        if let Some(i) = self.kid_paths.iter().position(|k| path.starts_with(k)) {
            apply(&mut self.per_child[i]);
        }
    }
}

/// Hours earned, points issued, redeemed and expired, and who was active.
fn tally_postings(
    conn: &mut DbConnection,
    tally: &mut Tally,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(), DomainError> {
    for posting in timebank_ledger::read::subtree_postings(conn, &org.path, from, to)? {
        let timebank_ledger::read::SubtreePosting {
            account_kind: kind,
            org_path: path,
            amount,
            created_at: at,
            asset,
            tx_kind,
            owner_id: owner,
            ..
        } = posting;
        let earning = tx_kind.parse::<TxKind>().is_ok_and(TxKind::is_earning);
        let active = kind == AccountKind::VolunteerWallet.as_str()
            && earning
            && amount > 0
            && asset == Asset::Hour.as_str();
        tally.add(&path, at, |f| {
            match (kind.as_str(), asset.as_str()) {
                (k, "HOUR") if k == AccountKind::VolunteerWallet.as_str() => {
                    f.hours = Amount::from_units(f.hours.units() + amount)
                }
                (k, "POINT") if k == AccountKind::OrgIssuance.as_str() => {
                    f.points_issued = Amount::from_units(f.points_issued.units() - amount)
                }
                (k, "POINT") if k == AccountKind::SiteSink.as_str() => {
                    f.points_redeemed = Amount::from_units(f.points_redeemed.units() + amount)
                }
                (k, "POINT") if k == AccountKind::ExpirySink.as_str() => {
                    f.points_expired = Amount::from_units(f.points_expired.units() + amount)
                }
                _ => {}
            }
            if active {
                f.active.insert(owner.clone());
            }
        });
    }
    Ok(())
}

fn tally_registrations(
    conn: &mut DbConnection,
    tally: &mut Tally,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(), DomainError> {
    let registered: Vec<(String, NaiveDateTime)> = volunteers::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", org.path)))
        .filter(volunteers::created_at.ge(from))
        .filter(volunteers::created_at.lt(to))
        .select((orgs::path, volunteers::created_at))
        .load(conn)?;
    for (path, at) in registered {
        tally.add(&path, at, |f| f.new_registrations += 1);
    }
    Ok(())
}

/// Service requests paid out in the period, with their ratings.
fn tally_served(
    conn: &mut DbConnection,
    tally: &mut Tally,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(), DomainError> {
    let served: Vec<(String, NaiveDateTime, Option<i32>)> = sr::table
        .inner_join(orgs::table.on(orgs::id.eq(sr::community_id)))
        .filter(orgs::path.like(format!("{}%", org.path)))
        .filter(sr::status.eq_any([RequestStatus::Rated, RequestStatus::Settled]))
        .filter(sr::updated_at.ge(from))
        .filter(sr::updated_at.lt(to))
        .select((orgs::path, sr::updated_at, sr::stars))
        .load(conn)?;
    for (path, at, stars) in served {
        tally.add(&path, at, |f| {
            f.requests_served += 1;
            if let Some(s) = stars {
                f.stars = (f.stars.0 + i64::from(s), f.stars.1 + 1);
            }
        });
    }
    Ok(())
}

/// Active volunteers of the subtree by star level, 0 to 5.
fn star_levels(conn: &mut DbConnection, org: &Org) -> Result<Vec<StarCount>, DomainError> {
    let levels: Vec<i32> = volunteers::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", org.path)))
        .filter(volunteers::status.eq(MemberStatus::Active))
        .select(volunteers::star_level)
        .load(conn)?;
    Ok((0..=5)
        .map(|level| StarCount {
            level,
            volunteers: levels.iter().filter(|l| **l == level).count() as i64,
        })
        .collect())
}
