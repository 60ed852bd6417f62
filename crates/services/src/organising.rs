//! What teams, units and projects share: the tally of the activities they
//! run, and the text search over names and titles.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use timebank_kernel::DomainError;
use timebank_rules::states::ActivityStatus;
use timebank_store::DbConnection;
use timebank_store::schema::{activities, attendances};

/// Whose activities a tally counts.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Team(&'a str),
    Project(&'a str),
}

/// Activities published, and what their settled attendances earned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub activities: i64,
    /// Distinct volunteers with a settled attendance.
    pub volunteers: i64,
    /// Hundredths of an hour and of a point, as stored.
    pub hours: i64,
    pub points: i64,
}

/// The tally of everything, or of what happened on or after `since`
/// (`YYYY-MM-DD`, the local day an attendance was credited to).
pub fn tally(
    conn: &mut DbConnection,
    by: By<'_>,
    since: Option<&str>,
) -> Result<Tally, DomainError> {
    let mut earned = attendances::table
        .inner_join(activities::table)
        .filter(attendances::settled_at.is_not_null())
        .into_boxed();
    let mut held = activities::table
        .filter(activities::status.eq(ActivityStatus::Published))
        .into_boxed();
    match by {
        By::Team(id) => {
            earned = earned.filter(activities::team_id.eq(id.to_owned()));
            held = held.filter(activities::team_id.eq(id.to_owned()));
        }
        By::Project(id) => {
            earned = earned.filter(activities::project_id.eq(id.to_owned()));
            held = held.filter(activities::project_id.eq(id.to_owned()));
        }
    }
    if let Some(day) = since {
        earned = earned.filter(attendances::credited_day.ge(day.to_owned()));
        if let Some(start) = day_start(day) {
            held = held.filter(activities::starts_at.ge(start));
        }
    }
    let (hours, points, volunteers) = earned
        .select(earned_columns())
        .first::<(i64, i64, i64)>(conn)?;
    let activities = held.count().get_result::<i64>(conn)?;
    Ok(Tally {
        activities,
        volunteers,
        hours,
        points,
    })
}

type Earned = (
    diesel::expression::SqlLiteral<BigInt>,
    diesel::expression::SqlLiteral<BigInt>,
    diesel::expression::SqlLiteral<BigInt>,
);

/// Hours, points and distinct volunteers of the attendances selected.
/// SUM(BIGINT) is NUMERIC on Postgres: it is cast back to what amounts are.
pub(crate) fn earned_columns() -> Earned {
    (
        sql::<BigInt>("CAST(COALESCE(SUM(attendances.hours), 0) AS BIGINT)"),
        sql::<BigInt>("CAST(COALESCE(SUM(attendances.points), 0) AS BIGINT)"),
        sql::<BigInt>("COUNT(DISTINCT attendances.volunteer_id)"),
    )
}

fn day_start(day: &str) -> Option<NaiveDateTime> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
}

/// A volunteer a request names (a leader, a member): 422 when there is
/// none or they may not take part now — it is about them, not the caller.
pub fn named_active(
    conn: &mut DbConnection,
    volunteer_id: &str,
) -> Result<timebank_directory::Volunteer, DomainError> {
    let v = timebank_directory::find_volunteer(conn, volunteer_id)?.ok_or_else(|| {
        DomainError::refused(
            timebank_kernel::Code::UnknownVolunteer,
            "volunteer_id is not a volunteer",
        )
    })?;
    v.row
        .require_active(timebank_store::now())
        .map_err(|e| match e {
            DomainError::Refused { message, .. } => {
                DomainError::refused(timebank_kernel::Code::VolunteerUnavailable, message)
            }
            other => other,
        })?;
    Ok(v)
}

/// A `LIKE` pattern (escaped with `\`) matching names that contain `text`.
pub fn escape_like(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_matches_its_text_literally() {
        assert_eq!(escape_like(" 医疗 "), "%医疗%");
        assert_eq!(escape_like("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
