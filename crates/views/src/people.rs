//! Volunteers and residents of a subtree: the approval queues and the
//! search by name or phone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::DomainError;
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, residents, users, volunteers};

use crate::{After, Page, Scope, opt_utc, utc};

/// pending, active or suspended (a suspension ends by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Pending,
    Active,
    Suspended,
}

impl Standing {
    pub fn parse(text: &str) -> Option<Standing> {
        match text {
            "pending" => Some(Standing::Pending),
            "active" => Some(Standing::Active),
            "suspended" => Some(Standing::Suspended),
            _ => None,
        }
    }
}

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
    pub standing: Option<Standing>,
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
    pub status: &'static str,
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

pub fn volunteers(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &PeopleFilter,
) -> Result<Page<Person>, DomainError> {
    let mut q = volunteers::table
        .inner_join(users::table.on(users::id.eq(volunteers::user_id)))
        .inner_join(orgs::table.on(orgs::id.eq(volunteers::community_id)))
        .filter(volunteers::community_id.eq_any(&scope.community_ids))
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
    q = match f.standing {
        None => q,
        Some(Standing::Pending) => q.filter(volunteers::status.eq("pending")),
        Some(Standing::Active) => q.filter(volunteers::status.eq("active")).filter(
            volunteers::suspended_until
                .is_null()
                .or(volunteers::suspended_until.le(f.now)),
        ),
        Some(Standing::Suspended) => q
            .filter(volunteers::status.eq("active"))
            .filter(volunteers::suspended_until.gt(f.now)),
    };
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
    let rows: Vec<VolunteerTuple> = q
        .order((volunteers::created_at.desc(), volunteers::user_id.desc()))
        .limit(f.limit + 1)
        .load(conn)?;
    let people = rows
        .into_iter()
        .map(
            |(
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
            )| {
                let status = match (status.as_str(), suspended_until) {
                    ("pending", _) => "pending",
                    (_, Some(until)) if until > f.now => "suspended",
                    _ => "active",
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
                    suspended_until: opt_utc(suspended_until.filter(|u| *u > f.now)),
                    approved_at: opt_utc(approved_at),
                    created_at: utc(&created),
                    created,
                }
            },
        )
        .collect();
    Ok(Page::from_rows(people, f.limit, key))
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

pub fn residents(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &PeopleFilter,
) -> Result<Page<Person>, DomainError> {
    let mut q = residents::table
        .inner_join(users::table.on(users::id.eq(residents::user_id)))
        .inner_join(orgs::table.on(orgs::id.eq(residents::community_id)))
        .filter(residents::community_id.eq_any(&scope.community_ids))
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
    q = match f.standing {
        None => q,
        Some(Standing::Pending) => q.filter(residents::status.eq("pending")),
        Some(Standing::Active) => q.filter(residents::status.eq("active")),
        // Residents are never suspended.
        Some(Standing::Suspended) => q.filter(residents::status.eq("suspended")),
    };
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
    let rows: Vec<ResidentTuple> = q
        .order((residents::created_at.desc(), residents::user_id.desc()))
        .limit(f.limit + 1)
        .load(conn)?;
    let people = rows
        .into_iter()
        .map(
            |(
                id,
                name,
                phone,
                community_id,
                community_name,
                community_path,
                status,
                approved_at,
                created,
            )| Person {
                id,
                name,
                phone,
                community_id,
                community_name,
                community_path,
                status: if status == "pending" {
                    "pending"
                } else {
                    "active"
                },
                star_level: None,
                skills: None,
                suspended_until: None,
                approved_at: opt_utc(approved_at),
                created_at: utc(&created),
                created,
            },
        )
        .collect();
    Ok(Page::from_rows(people, f.limit, key))
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
