//! Read-only views: the work queues and searches of a subtree, the audit
//! trail, who holds which grant, recent batch runs, a subtree's needs and
//! resources, and the reports and their figures. Every list is
//! scoped to an org subtree, ordered newest first and paged by a keyset
//! cursor, so a page costs the same on the first day and at a million rows.

pub mod audit;
pub mod calendar;
pub mod grants;
pub mod jobs;
pub mod lists;
pub mod people;
pub mod queues;
pub mod reports;
pub mod work;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::Org;
use timebank_kernel::DomainError;
use timebank_store::DbConnection;
use timebank_store::schema::orgs;

/// The orgs of a subtree: every id (activities, sites and grants hang on
/// any level) and the communities (people belong to a community).
#[derive(Debug, Clone)]
pub struct Scope {
    pub path: String,
    pub org_ids: Vec<String>,
    pub community_ids: Vec<String>,
}

impl Scope {
    /// Org trees are small (a district has a few dozen orgs), so the subtree
    /// is read once and the big tables are filtered by id.
    pub fn of(conn: &mut DbConnection, org: &Org) -> Result<Scope, DomainError> {
        let rows: Vec<(String, String)> = orgs::table
            .filter(orgs::path.like(format!("{}%", org.path)))
            .select((orgs::id, orgs::kind))
            .load(conn)?;
        let community_ids = rows
            .iter()
            .filter(|(_, kind)| kind == "community")
            .map(|(id, _)| id.clone())
            .collect();
        Ok(Scope {
            path: org.path.clone(),
            org_ids: rows.into_iter().map(|(id, _)| id).collect(),
            community_ids,
        })
    }
}

/// A keyset position: the (time, id) of the last row of a page. Rows come
/// newest first, so the next page holds the rows strictly before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub at: NaiveDateTime,
    pub id: String,
}

impl After {
    pub fn new(at: NaiveDateTime, id: &str) -> Self {
        After {
            at,
            id: id.to_owned(),
        }
    }

    /// `None` for anything but a position [`After::render`] gave out for
    /// the same list: another list's cursor, or a made-up one, is refused.
    pub fn parse(list: &str, text: &str) -> Option<After> {
        let rest = text.strip_prefix(list)?.strip_prefix('|')?;
        let (micros, id) = rest.split_once('|')?;
        let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        uuid::Uuid::parse_str(id).ok()?;
        Some(After::new(at, id))
    }

    /// The position, named for `list`.
    pub fn render(&self, list: &str) -> String {
        format!(
            "{list}|{}|{}",
            self.at.and_utc().timestamp_micros(),
            self.id
        )
    }
}

/// One page of a list and where the next one starts (`None`: no more).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<After>,
}

impl<T> Page<T> {
    /// `rows` were loaded with `limit + 1`: the extra row only says that
    /// another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> After) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(key) } else { None };
        Page { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

pub(crate) use timebank_kernel::wire::{opt_utc, utc_string as utc};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_forgeries_do_not() {
        let at = chrono::DateTime::from_timestamp_micros(1_795_000_000_123_456)
            .unwrap()
            .naive_utc();
        let id = "01a23101-6960-7018-97d8-e29d730a89d0";
        let after = After::new(at, id);
        assert_eq!(
            After::parse("volunteers", &after.render("volunteers")),
            Some(after.clone())
        );
        assert_eq!(After::parse("jobs", &after.render("volunteers")), None);
        let forged = [
            String::new(),
            "volunteers|x|y".into(),
            "volunteers|12".into(),
            "volunteers|12|".into(),
            "volunteers|1|x".into(),
            format!("volunteers|99999999999999999999|{id}"),
            format!("1795000000123456|{id}"),
        ];
        for bad in forged {
            assert_eq!(After::parse("volunteers", &bad), None, "{bad}");
        }
    }

    #[test]
    fn a_page_knows_whether_more_follow() {
        let at = chrono::NaiveDateTime::default();
        let key = |n: &i32| After::new(at, &n.to_string());
        // (ids are not checked by a page, only by a parsed cursor)
        let page = Page::from_rows(vec![5, 4, 3], 2, key);
        assert_eq!(page.items, vec![5, 4]);
        assert_eq!(page.next.map(|a| a.id), Some("4".to_owned()));
        let last = Page::from_rows(vec![2, 1], 2, key);
        assert_eq!(last.next, None);
    }
}
