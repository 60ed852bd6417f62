//! Who a signed-in user is to the service: their staff grants with the
//! org or site each covers, and their volunteer and resident records.

use diesel::prelude::*;
use serde::Serialize;
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, residents, role_grants, sites, users, volunteers};

use timebank_kernel::DomainError;

#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub role: String,
    pub org_id: Option<String>,
    pub org_name: Option<String>,
    /// `None` for a grant over the root org: the whole platform.
    pub org_parent_id: Option<String>,
    #[serde(skip)]
    pub org_path: Option<String>,
    pub site_id: Option<String>,
    pub site_name: Option<String>,
}

/// A signed-in person: their grants (revoked ones left out) and their
/// volunteer and resident records.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub grants: Vec<Grant>,
    /// The caller's own volunteer record: (community id, status).
    pub volunteer: Option<(String, String)>,
    /// The caller's resident record: (community id, status).
    pub resident: Option<(String, String)>,
}

type GrantTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub fn load(conn: &mut DbConnection, user_id: &str) -> Result<Option<Identity>, DomainError> {
    let Some((id, name)) = users::table
        .find(user_id)
        .select((users::id, users::name))
        .first::<(String, String)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let grants = role_grants::table
        .left_join(orgs::table.on(orgs::id.nullable().eq(role_grants::org_id)))
        .left_join(sites::table.on(sites::id.nullable().eq(role_grants::site_id)))
        .filter(role_grants::user_id.eq(&id))
        .filter(role_grants::revoked_at.is_null())
        .select((
            role_grants::role,
            role_grants::org_id,
            orgs::name.nullable(),
            orgs::parent_id.nullable(),
            orgs::path.nullable(),
            role_grants::site_id,
            sites::name.nullable(),
        ))
        .load::<GrantTuple>(conn)?
        .into_iter()
        .map(
            |(role, org_id, org_name, org_parent_id, org_path, site_id, site_name)| Grant {
                role,
                org_id,
                org_name,
                org_parent_id,
                org_path,
                site_id,
                site_name,
            },
        )
        .collect();
    let volunteer = volunteers::table
        .find(&id)
        .select((volunteers::community_id, volunteers::status))
        .first::<(String, String)>(conn)
        .optional()?;
    let resident = residents::table
        .find(&id)
        .select((residents::community_id, residents::status))
        .first::<(String, String)>(conn)
        .optional()?;
    Ok(Some(Identity {
        id,
        name,
        grants,
        volunteer,
        resident,
    }))
}
