//! The first start of a platform: the root organisation and an admin over
//! it (`timebank admin create`).

use timebank_kernel::Code;

use crate::{
    DomainError, OrgKind, accounts, create_org, create_user, grant_org_role, passwords, root_org,
};

/// What [`create_platform_admin`] made or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAdmin {
    pub user_id: String,
    pub root_org_id: String,
    /// The root already existed under another name: the admin was granted
    /// over it, not over a new `org_name`.
    pub existing_root_name: Option<String>,
}

/// Creates the root organisation on first use and a platform admin over it.
/// Refusals name the option at fault (`--kind`, `--password`).
pub fn create_platform_admin(
    conn: &mut timebank_store::DbConnection,
    name: &str,
    phone: &str,
    password: &str,
    org_name: &str,
    kind: &str,
) -> Result<PlatformAdmin, DomainError> {
    let kind = OrgKind::parse(kind).ok_or_else(|| {
        DomainError::refused(
            Code::InvalidOrgKind,
            format!("--kind {kind:?}: use city, district, street or community"),
        )
    })?;
    accounts::check_password(password, phone, "--password")?;
    let (root, existing_root_name) = match root_org(conn)? {
        Some(root) => {
            let other = (root.name != org_name).then(|| root.name.clone());
            (root, other)
        }
        None => (create_org(conn, org_name, kind, None)?, None),
    };
    let hash = passwords::hash_password(password)?;
    let user_id = create_user(conn, name, phone, &hash)?;
    grant_org_role(conn, &user_id, "org_admin", &root.id, None)?;
    Ok(PlatformAdmin {
        user_id,
        root_org_id: root.id,
        existing_root_name,
    })
}
