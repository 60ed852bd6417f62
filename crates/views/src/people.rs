//! Volunteers and residents of a subtree: the approval queues and the
//! search by name or phone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::DomainError;
use timebank_rules::states::MemberStatus;
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, residents, users, volunteers};

use crate::{After, Page, Scope, opt_utc, utc};

/// A search: all digits is a phone prefix, anything else a name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    PhonePrefix(String),
    NamePrefix(String),
}

impl Search {
    pub fn parse(q: &str) -> Option<Search> {
        let q = q.trim();
        if q.is_empty() {
            None
        } else if q.bytes().all(|b| b.is_ascii_digit()) {
            Some(Search::PhonePrefix(q.to_owned()))
        } else {
            Some(Search::NamePrefix(q.to_owned()))
        }
    }

    /// `[low, high)` bounds over the column: a prefix is an index range on
    /// both backends (names compare by code point there).
    fn bounds(&self) -> (String, String) {
        match self {
            // Digits sort before ':'.
            Search::PhonePrefix(p) => (p.clone(), format!("{p}:")),
            Search::NamePrefix(p) => (p.clone(), format!("{p}\u{10FFFF}")),
        }
    }
}

pub struct PeopleFilter {
    pub standing: Option<MemberStatus>,
    pub search: Option<Search>,
    pub after: Option<After>,
    pub limit: i64,
    pub now: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    /// Whole here; the API masks it for callers who may not see it.
    pub phone: String,
    pub community_id: String,
    pub community_name: String,
    #[serde(skip)]
    pub community_path: String,
    pub status: MemberStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub star_level: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_until: Option<String>,
    pub approved_at: Option<String>,
    pub created_at: String,
    #[serde(skip)]
    pub created: NaiveDateTime,
}

fn key(p: &Person) -> After {
    After::new(p.created, &p.id)
}

type VolunteerTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    i32,
    String,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

/// Volunteers of the subtree, newest first.
pub fn volunteers(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &PeopleFilter,
) -> Result<Page<Person>, DomainError> {
    list(conn, scope, f, volunteers_in)
}

/// Residents of the subtree, newest first.
pub fn residents(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &PeopleFilter,
) -> Result<Page<Person>, DomainError> {
    list(conn, scope, f, residents_in)
}

/// Searches naming more people than this walk the subtree instead.
const MAX_CANDIDATES: i64 = 1000;

/// (communities, or every one; the people named, or anyone) → rows newest
/// first, at most a page and one more when `communities` is given.
type Query = fn(
    &mut DbConnection,
    Option<&[String]>,
    &PeopleFilter,
    Option<&[String]>,
) -> Result<Vec<Person>, DomainError>;

/// Every plan is an index range that stops at the page: a selective search
/// starts from the people it names (at most [`MAX_CANDIDATES`]); otherwise
/// each community's rows are walked newest first on their own index and
/// the walks merged, so a district-wide page never sorts the district.
fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &PeopleFilter,
    query: Query,
) -> Result<Page<Person>, DomainError> {
    let candidates = match &f.search {
        Some(search) => candidates(conn, search)?,
        None => None,
    };
    let page = usize::try_from(f.limit + 1).unwrap_or(0);
    let rows = match candidates {
        // A few primary-key lookups, kept to the subtree here.
        // A few primary-key lookups; every other filter is applied here, so
        // no plan can prefer a long index walk.
        Some(ids) => {
            let mut rows = query(conn, None, f, Some(&ids))?;
            rows.retain(|p| {
                scope.community_ids.contains(&p.community_id)
                    && f.standing.is_none_or(|s| s == p.status)
                    && f.after
                        .as_ref()
                        .is_none_or(|a| (p.created, p.id.as_str()) < (a.at, a.id.as_str()))
            });
            rows.truncate(page);
            rows
        }
        None if scope.community_ids.len() <= 1 => query(conn, Some(&scope.community_ids), f, None)?,
        None => {
            let mut all = Vec::new();
            for community in &scope.community_ids {
                all.extend(query(conn, Some(std::slice::from_ref(community)), f, None)?);
            }
            all.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
            all.truncate(page);
            all
        }
    };
    Ok(Page::from_rows(rows, f.limit, key))
}

/// The users a search names, when they are few enough to start from.
fn candidates(
    conn: &mut DbConnection,
    search: &Search,
) -> Result<Option<Vec<String>>, DomainError> {
    let (low, high) = search.bounds();
    let q = users::table
        .select(users::id)
        .limit(MAX_CANDIDATES + 1)
        .into_boxed();
    let ids: Vec<String> = match search {
        Search::PhonePrefix(_) => q.filter(users::phone.ge(low).and(users::phone.lt(high))),
        Search::NamePrefix(_) => q.filter(users::name.ge(low).and(users::name.lt(high))),
    }
    .load(conn)?;
    Ok((ids.len() as i64 <= MAX_CANDIDATES).then_some(ids))
}

fn volunteers_in(
    conn: &mut DbConnection,
    communities: Option<&[String]>,
    f: &PeopleFilter,
    candidates: Option<&[String]>,
) -> Result<Vec<Person>, DomainError> {
    let mut q = volunteers::table
        .inner_join(users::table.on(users::id.eq(volunteers::user_id)))
        .inner_join(orgs::table.on(orgs::id.eq(volunteers::community_id)))
        .select((
            volunteers::user_id,
            users::name,
            users::phone,
            volunteers::community_id,
            orgs::name,
            orgs::path,
            volunteers::status,
            volunteers::suspended_until,
            volunteers::star_level,
            volunteers::skills,
            volunteers::approved_at,
            volunteers::created_at,
        ))
        .into_boxed();
    if let Some(ids) = candidates {
        q = q.filter(volunteers::user_id.eq_any(ids.to_vec()));
    } else {
        q = match f.standing {
            None => q,
            Some(MemberStatus::Pending) => q.filter(volunteers::status.eq(MemberStatus::Pending)),
            Some(MemberStatus::Active) => q
                .filter(volunteers::status.eq(MemberStatus::Active))
                .filter(
                    volunteers::suspended_until
                        .is_null()
                        .or(volunteers::suspended_until.le(f.now)),
                ),
            Some(MemberStatus::Suspended) => q
                .filter(volunteers::status.eq(MemberStatus::Active))
                .filter(volunteers::suspended_until.gt(f.now)),
        };
        if let Some(communities) = communities {
            q = q
                .filter(volunteers::community_id.eq_any(communities.to_vec()))
                .limit(f.limit + 1);
        }
        if let Some(search) = &f.search {
            let (low, high) = search.bounds();
            q = match search {
                Search::PhonePrefix(_) => q.filter(users::phone.ge(low).and(users::phone.lt(high))),
                Search::NamePrefix(_) => q.filter(users::name.ge(low).and(users::name.lt(high))),
            };
        }
        if let Some(after) = &f.after {
            q = q.filter(
                volunteers::created_at
                    .lt(after.at)
                    .or(volunteers::created_at
                        .eq(after.at)
                        .and(volunteers::user_id.lt(after.id.clone()))),
            );
        }
    }
    let rows: Vec<VolunteerTuple> = q
        .order((volunteers::created_at.desc(), volunteers::user_id.desc()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| volunteer_person(row, f.now))
        .collect())
}

/// A suspension that is over shows as active, and is not shown.
fn volunteer_person(row: VolunteerTuple, now: NaiveDateTime) -> Person {
    let (
        id,
        name,
        phone,
        community_id,
        community_name,
        community_path,
        status,
        suspended_until,
        star_level,
        skills,
        approved_at,
        created,
    ) = row;
    let status = match (MemberStatus::parse(&status), suspended_until) {
        (Some(MemberStatus::Pending), _) => MemberStatus::Pending,
        (_, Some(until)) if until > now => MemberStatus::Suspended,
        _ => MemberStatus::Active,
    };
    Person {
        id,
        name,
        phone,
        community_id,
        community_name,
        community_path,
        status,
        star_level: Some(star_level),
        skills: Some(serde_json::from_str(&skills).unwrap_or_default()),
        suspended_until: opt_utc(suspended_until.filter(|u| *u > now)),
        approved_at: opt_utc(approved_at),
        created_at: utc(&created),
        created,
    }
}

type ResidentTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

fn residents_in(
    conn: &mut DbConnection,
    communities: Option<&[String]>,
    f: &PeopleFilter,
    candidates: Option<&[String]>,
) -> Result<Vec<Person>, DomainError> {
    let mut q = residents::table
        .inner_join(users::table.on(users::id.eq(residents::user_id)))
        .inner_join(orgs::table.on(orgs::id.eq(residents::community_id)))
        .select((
            residents::user_id,
            users::name,
            users::phone,
            residents::community_id,
            orgs::name,
            orgs::path,
            residents::status,
            residents::approved_at,
            residents::created_at,
        ))
        .into_boxed();
    if let Some(ids) = candidates {
        q = q.filter(residents::user_id.eq_any(ids.to_vec()));
    } else {
        q = match f.standing {
            None => q,
            Some(MemberStatus::Pending) => q.filter(residents::status.eq(MemberStatus::Pending)),
            Some(MemberStatus::Active) => q.filter(residents::status.eq(MemberStatus::Active)),
            // Residents are never suspended.
            Some(MemberStatus::Suspended) => {
                q.filter(residents::status.eq(MemberStatus::Suspended))
            }
        };
        if let Some(communities) = communities {
            q = q
                .filter(residents::community_id.eq_any(communities.to_vec()))
                .limit(f.limit + 1);
        }
        if let Some(search) = &f.search {
            let (low, high) = search.bounds();
            q = match search {
                Search::PhonePrefix(_) => q.filter(users::phone.ge(low).and(users::phone.lt(high))),
                Search::NamePrefix(_) => q.filter(users::name.ge(low).and(users::name.lt(high))),
            };
        }
        if let Some(after) = &f.after {
            q = q.filter(
                residents::created_at.lt(after.at).or(residents::created_at
                    .eq(after.at)
                    .and(residents::user_id.lt(after.id.clone()))),
            );
        }
    }
    let rows: Vec<ResidentTuple> = q
        .order((residents::created_at.desc(), residents::user_id.desc()))
        .load(conn)?;
    Ok(rows.into_iter().map(resident_person).collect())
}

fn resident_person(row: ResidentTuple) -> Person {
    let (
        id,
        name,
        phone,
        community_id,
        community_name,
        community_path,
        status,
        approved_at,
        created,
    ) = row;
    Person {
        id,
        name,
        phone,
        community_id,
        community_name,
        community_path,
        status: if status == MemberStatus::Pending.as_str() {
            MemberStatus::Pending
        } else {
            MemberStatus::Active
        },
        star_level: None,
        skills: None,
        suspended_until: None,
        approved_at: opt_utc(approved_at),
        created_at: utc(&created),
        created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_search_phones_and_the_rest_names() {
        assert_eq!(
            Search::parse(" 138 "),
            Some(Search::PhonePrefix("138".into()))
        );
        assert_eq!(Search::parse("王"), Some(Search::NamePrefix("王".into())));
        assert_eq!(Search::parse("  "), None);
        let (low, high) = Search::PhonePrefix("138".into()).bounds();
        for inside in ["138", "1380", "13899999999"] {
            assert!(inside >= low.as_str() && inside < high.as_str(), "{inside}");
        }
        for outside in ["137", "139", "13"] {
            assert!(
                !(outside >= low.as_str() && outside < high.as_str()),
                "{outside}"
            );
        }
        let (low, high) = Search::NamePrefix("王".into()).bounds();
        assert!("王秀英" >= low.as_str() && "王秀英" < high.as_str());
        assert!(!("李王" >= low.as_str() && "李王" < high.as_str()));
    }
}
