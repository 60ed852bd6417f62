//! Names for the ids an audit trail shows: people, orgs, sites, units and
//! teams.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use timebank_kernel::DomainError;
use timebank_store::DbConnection;
use timebank_store::schema::{orgs, sites, teams, units, users};

/// Each id's display name, looked up once per kind (unknown ids, such as
/// the system actor, are left out).
pub fn names<'a>(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, DomainError> {
    let ids: Vec<&str> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out: HashMap<String, String> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(500) {
        out.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .select((users::id, users::name))
                .load::<(String, String)>(conn)?,
        );
        out.extend(
            orgs::table
                .filter(orgs::id.eq_any(chunk))
                .select((orgs::id, orgs::name))
                .load::<(String, String)>(conn)?,
        );
        out.extend(
            sites::table
                .filter(sites::id.eq_any(chunk))
                .select((sites::id, sites::name))
                .load::<(String, String)>(conn)?,
        );
        out.extend(
            units::table
                .filter(units::id.eq_any(chunk))
                .select((units::id, units::name))
                .load::<(String, String)>(conn)?,
        );
        out.extend(
            teams::table
                .filter(teams::id.eq_any(chunk))
                .select((teams::id, teams::name))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}
