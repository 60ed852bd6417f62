//! Sites (兑换点/服务站): places that hand out goods, each with a sink
//! account that receives the points spent there.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::{Org, get_org};
use timebank_kernel::DomainError;
use timebank_ledger::{AccountKind, open_account};
use timebank_store::generation::REFERENCE;
use timebank_store::memo::Memo;
use timebank_store::schema::sites;
use timebank_store::{DbConnection, write_tx};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sites)]
pub struct SiteRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub address: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn create(
    conn: &mut DbConnection,
    org: &Org,
    name: &str,
    address: &str,
    actor: &str,
) -> Result<SiteRow, DomainError> {
    let id = timebank_store::new_id();
    write_tx(conn, |c| {
        diesel::insert_into(sites::table)
            .values((
                sites::id.eq(&id),
                sites::org_id.eq(&org.id),
                sites::name.eq(name),
                sites::address.eq(address),
                sites::created_by.eq(actor),
                sites::created_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        // A created site that rolls back must not stay in memory.
        REFERENCE.touch();
        open_account(c, AccountKind::SiteSink, &id, &org.path)?;
        get(c, &id)
    })
}

/// Sites are never changed once created, so they are kept in memory.
pub fn get(conn: &mut DbConnection, id: &str) -> Result<SiteRow, DomainError> {
    static MEMO: LazyLock<Memo<SiteRow>> = LazyLock::new(|| Memo::new(&REFERENCE));
    let found = MEMO.find_or_load(id, || {
        sites::table
            .find(id)
            .select(SiteRow::as_select())
            .first(conn)
            .optional()
    })?;
    found
        .map(|site| (*site).clone())
        .ok_or(DomainError::NotFound("site"))
}

/// The site with its org (for scope checks and district rules).
/// Where a site is, which is what access to it is decided on.
#[derive(Debug, Clone)]
pub struct SiteScope {
    pub site_id: String,
    pub org_path: String,
}

/// The site and its org, once `allowed` agrees on its scope.
pub fn get_allowed(
    conn: &mut DbConnection,
    id: &str,
    allowed: timebank_kernel::Check<'_, SiteScope>,
) -> Result<(SiteRow, Org), DomainError> {
    let (site, org) = get_with_org(conn, id)?;
    let scope = SiteScope {
        site_id: site.id.clone(),
        org_path: org.path.clone(),
    };
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    Ok((site, org))
}

pub fn get_with_org(conn: &mut DbConnection, id: &str) -> Result<(SiteRow, Org), DomainError> {
    let site = get(conn, id)?;
    let org = get_org(conn, &site.org_id)?;
    Ok((site, org))
}

pub fn list(conn: &mut DbConnection, org_path: &str) -> Result<Vec<SiteRow>, DomainError> {
    use timebank_store::schema::orgs;
    Ok(sites::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{org_path}%")))
        .order(sites::id.asc())
        .select(SiteRow::as_select())
        .load(conn)?)
}

/// Grants site_operator at this site; granting twice changes nothing.
pub fn add_operator(
    conn: &mut DbConnection,
    site: &SiteRow,
    user_id: &str,
    actor: &str,
) -> Result<bool, DomainError> {
    timebank_directory::grant_role(
        conn,
        user_id,
        "site_operator",
        None,
        Some(&site.id),
        Some(actor),
    )
}

/// Revokes site_operator at this site from another user, if `allowed` on
/// the site's scope: the site and the roles that were held.
pub fn revoke_operator(
    conn: &mut DbConnection,
    site_id: &str,
    user_id: &str,
    actor: &str,
    allowed: timebank_kernel::Check<'_, SiteScope>,
) -> Result<(SiteRow, Vec<String>), DomainError> {
    let (site, _) = get_allowed(conn, site_id, allowed)?;
    let revoked = timebank_directory::revoke_held(
        conn,
        user_id,
        timebank_directory::GrantPlace::Site(&site.id),
        &["site_operator"],
        actor,
    )?;
    Ok((site, revoked))
}
