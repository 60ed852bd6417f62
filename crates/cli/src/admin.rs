//! `timebank admin create`: the platform's first admin.

use timebank_directory as directory;
use timebank_store::DbConnection;

use crate::config::ConfigError;

/// Creates the root organisation on first use and a platform admin over
/// it; a refusal is a usage error (exit code 2).
pub fn create_platform_admin(
    conn: &mut DbConnection,
    name: &str,
    phone: &str,
    password: &str,
    org_name: &str,
    kind: &str,
) -> anyhow::Result<(String, String)> {
    use timebank_kernel::{Class, DomainError};
    let made =
        directory::bootstrap::create_platform_admin(conn, name, phone, password, org_name, kind)
            .map_err(|e| match e {
                DomainError::Refused { code, message, .. }
                    if code.class() == Class::Unprocessable =>
                {
                    anyhow::Error::from(ConfigError(message))
                }
                other => anyhow::anyhow!("{other}"),
            })?;
    if let Some(existing) = made.existing_root_name {
        eprintln!(
            "note: the root organisation already exists as {existing:?}; granting admin over it"
        );
    }
    Ok((made.user_id, made.root_org_id))
}
