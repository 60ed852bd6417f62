//! Who holds which staff grant in a subtree: org admins and auditors of
//! its orgs, operators of its sites. Revoked grants are not listed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::DomainError;
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, role_grants, sites, users};

use crate::{After, Page, Scope, utc};

#[derive(Debug, Clone, Serialize)]
pub struct GrantItem {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// Whole here; the API masks it for readers who may not see it.
    pub phone: String,
    pub role: String,
    pub org_id: Option<String>,
    pub org_name: Option<String>,
    pub site_id: Option<String>,
    pub site_name: Option<String>,
    pub granted_by: Option<String>,
    pub created_at: String,
    #[serde(skip)]
    pub created: NaiveDateTime,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

pub fn in_scope(
    conn: &mut DbConnection,
    scope: &Scope,
    after: Option<&After>,
    limit: i64,
) -> Result<Page<GrantItem>, DomainError> {
    let site_ids: Vec<String> = sites::table
        .filter(sites::org_id.eq_any(&scope.org_ids))
        .select(sites::id)
        .load(conn)?;
    let mut q = role_grants::table
        .inner_join(users::table.on(users::id.eq(role_grants::user_id)))
        .left_join(orgs::table.on(orgs::id.nullable().eq(role_grants::org_id)))
        .left_join(sites::table.on(sites::id.nullable().eq(role_grants::site_id)))
        .filter(role_grants::revoked_at.is_null())
        .filter(
            role_grants::org_id
                .eq_any(scope.org_ids.clone())
                .or(role_grants::site_id.eq_any(site_ids)),
        )
        .select((
            role_grants::id,
            role_grants::user_id,
            users::name,
            users::phone,
            role_grants::role,
            role_grants::org_id,
            orgs::name.nullable(),
            role_grants::site_id,
            sites::name.nullable(),
            role_grants::granted_by,
            role_grants::created_at,
        ))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(
            role_grants::created_at.lt(a.at).or(role_grants::created_at
                .eq(a.at)
                .and(role_grants::id.lt(a.id.clone()))),
        );
    }
    let rows: Vec<Row> = q
        .order((role_grants::created_at.desc(), role_grants::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(
                id,
                user_id,
                name,
                phone,
                role,
                org_id,
                org_name,
                site_id,
                site_name,
                granted_by,
                created,
            )| GrantItem {
                id,
                user_id,
                name,
                phone,
                role,
                org_id,
                org_name,
                site_id,
                site_name,
                granted_by,
                created_at: utc(&created),
                created,
            },
        )
        .collect();
    Ok(Page::from_rows(items, limit, |g: &GrantItem| {
        After::new(g.created, &g.id)
    }))
}
