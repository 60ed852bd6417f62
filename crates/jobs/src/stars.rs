use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::get_volunteer;
use timebank_kernel::DomainError;
use timebank_rules::states::MemberStatus;
use timebank_store::schema::volunteers;
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::{Progress, Summary, failpoint};

/// Recomputes every active volunteer's star level (tenure may have made a
/// level reachable, a bar may have ended). A level already right records
/// nothing, so the job is idempotent.
pub fn recompute_stars(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    progress: &dyn Progress,
) -> Result<Summary, DomainError> {
    let ids: Vec<String> = volunteers::table
        .filter(volunteers::status.eq(MemberStatus::Active))
        .order(volunteers::user_id.asc())
        .select(volunteers::user_id)
        .load(conn)?;
    let mut summary = Summary::default();
    progress.start("stars", ids.len() as u64);
    for chunk in ids.chunks(100) {
        let changed = write_tx(conn, |c| {
            let mut changed = 0u64;
            for id in chunk {
                lock_row(c, Lockable::Volunteer, id)?;
                let volunteer = get_volunteer(c, id)?;
                if timebank_earning::stars::refresh(c, &volunteer, None, now)?.is_some() {
                    changed += 1;
                }
            }
            Ok::<_, DomainError>(changed)
        })?;
        summary.units += chunk.len() as u64;
        summary.changed += changed;
        progress.advance(summary.units);
        failpoint("stars", summary.units);
    }
    progress.finish();
    Ok(summary)
}
