//! Data exchange with the city platform (数据共享): export volunteers,
//! service records and transactions of an org subtree and period; import
//! volunteers and offline paper records of hours. Orgs travel as their name
//! path (`荷塘区/月塘街道/新塘社区`), people as their phone number, so a
//! file can be read into another database.
//!
//! Import applies each row in its own transaction together with an import
//! key, so a bad row changes nothing, good rows apply, and re-importing a
//! file — or resuming a killed import — applies nothing twice.

use std::collections::HashMap;
use timebank_rules::states::MemberStatus;

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use timebank_directory::{Org, get_volunteer, utc_string};
use timebank_earning::activities::{self, NewActivity};
use timebank_earning::settle::settle_activity;
use timebank_kernel::{Code, DomainError, anyone};
use timebank_ledger::{AccountKind, Amount};
use timebank_store::schema::{
    activities as act, attendances, import_keys, orgs, teams, users, volunteers,
};
use timebank_store::{DbConnection, write_tx};

use crate::{Progress, failpoint};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VolunteerRecord {
    pub phone: String,
    pub name: String,
    pub community: String,
    pub status: String,
    pub skills: String,
    pub registered_at: String,
}

/// One settled attendance: who served, what, when, how long, what it earned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceRecord {
    pub record_id: String,
    pub phone: String,
    pub title: String,
    pub category: String,
    pub organiser: String,
    pub started_at: String,
    pub ended_at: String,
    pub hours: String,
    pub points: String,
    pub points_per_hour: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransactionRecord {
    pub transaction_id: String,
    pub kind: String,
    pub created_at: String,
    pub account_kind: String,
    /// A phone for a person's wallet, `org path/team name` for a team's
    /// account, the org name path otherwise.
    pub owner: String,
    pub asset: String,
    pub amount: String,
    pub reason: String,
}

/// One team's figures for the period: the paper form of 团队服务统计.
#[derive(Debug, Clone, Serialize)]
pub struct TeamRecord {
    pub team: String,
    pub org: String,
    pub category: String,
    pub status: String,
    pub leader_phone: String,
    pub members: i64,
    pub activities: i64,
    pub volunteers: i64,
    pub hours: String,
    pub points: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Export {
    pub volunteers: Vec<VolunteerRecord>,
    pub service_records: Vec<ServiceRecord>,
    pub transactions: Vec<TransactionRecord>,
    pub teams: Vec<TeamRecord>,
}

/// The org `text` names: its id, or its name path as the export files
/// write it (`株洲市/荷塘区`).
pub fn find_org(
    conn: &mut DbConnection,
    text: &str,
) -> Result<timebank_directory::Org, DomainError> {
    let text = text.trim();
    if let Ok(org) = timebank_directory::get_org(conn, text) {
        return Ok(org);
    }
    let wanted = text.trim_matches('/');
    let matching: Vec<String> = name_paths(conn)?
        .into_iter()
        .filter(|(_, path)| path == wanted)
        .map(|(id, _)| id)
        .collect();
    match matching.as_slice() {
        [id] => timebank_directory::get_org(conn, id),
        [] => Err(DomainError::NotFound(
            "org (by id or name path such as 株洲市/荷塘区)",
        )),
        _ => Err(DomainError::refused(
            timebank_kernel::Code::ValidationFailed,
            format!("{wanted:?} names {} orgs; give the id", matching.len()),
        )),
    }
}

/// id → name path (without the leading slash), for every org.
fn name_paths(conn: &mut DbConnection) -> Result<HashMap<String, String>, DomainError> {
    let all: Vec<(String, String, String)> = orgs::table
        .select((orgs::id, orgs::name, orgs::path))
        .load(conn)?;
    let names: HashMap<&str, &str> = all
        .iter()
        .map(|(id, name, _)| (id.as_str(), name.as_str()))
        .collect();
    Ok(all
        .iter()
        .map(|(id, _, path)| {
            let named: Vec<&str> = timebank_directory::path_ids(path)
                .iter()
                .map(|i| names.get(i).copied().unwrap_or("?"))
                .collect();
            (id.clone(), named.join("/"))
        })
        .collect())
}

pub fn export(
    conn: &mut DbConnection,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Export, DomainError> {
    let paths = name_paths(conn)?;
    let phones: HashMap<String, String> = users::table
        .select((users::id, users::phone))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(Export {
        volunteers: volunteer_records(conn, org, &paths)?,
        service_records: service_records(conn, org, from, to, &paths, &phones)?,
        transactions: transaction_records(conn, org, from, to, &paths, &phones)?,
        teams: team_records(conn, org, from, to, &paths, &phones)?,
    })
}

fn team_records(
    conn: &mut DbConnection,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
    paths: &HashMap<String, String>,
    phones: &HashMap<String, String>,
) -> Result<Vec<TeamRecord>, DomainError> {
    Ok(
        timebank_services::teams::figures(conn, &org.path, from, to)?
            .into_iter()
            .map(|f| TeamRecord {
                org: paths.get(&f.team.org_id).cloned().unwrap_or_default(),
                leader_phone: phones.get(&f.team.leader_id).cloned().unwrap_or_default(),
                team: f.team.name,
                category: f.team.category,
                status: f.team.status.as_str().to_owned(),
                members: f.members,
                activities: f.tally.activities,
                volunteers: f.tally.volunteers,
                hours: Amount::from_units(f.tally.hours).to_string(),
                points: Amount::from_units(f.tally.points).to_string(),
            })
            .collect(),
    )
}

fn volunteer_records(
    conn: &mut DbConnection,
    org: &Org,
    paths: &HashMap<String, String>,
) -> Result<Vec<VolunteerRecord>, DomainError> {
    let people: Vec<(String, String, String, String, String, NaiveDateTime)> = volunteers::table
        .inner_join(users::table)
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", org.path)))
        .order(users::phone.asc())
        .select((
            users::phone,
            users::name,
            volunteers::community_id,
            volunteers::status,
            volunteers::skills,
            volunteers::created_at,
        ))
        .load(conn)?;
    Ok(people
        .into_iter()
        .map(|(phone, name, community, status, skills, at)| {
            let skills: Vec<String> = serde_json::from_str(&skills).unwrap_or_default();
            VolunteerRecord {
                phone,
                name,
                community: paths.get(&community).cloned().unwrap_or_default(),
                status,
                skills: skills.join(";"),
                registered_at: utc_string(&at),
            }
        })
        .collect())
}

/// Attendance that earned, settled in the period: the paper-record format.
fn service_records(
    conn: &mut DbConnection,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
    paths: &HashMap<String, String>,
    phones: &HashMap<String, String>,
) -> Result<Vec<ServiceRecord>, DomainError> {
    type Row = (
        String,
        String,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<i64>,
        Option<i64>,
        String,
        String,
        String,
    );
    let records: Vec<Row> = attendances::table
        .inner_join(act::table)
        .inner_join(orgs::table.on(orgs::id.eq(act::org_id)))
        .filter(orgs::path.like(format!("{}%", org.path)))
        .filter(attendances::outcome.eq("earned"))
        .filter(attendances::settled_at.ge(from))
        .filter(attendances::settled_at.lt(to))
        .order(attendances::id.asc())
        .select((
            attendances::id,
            attendances::volunteer_id,
            attendances::credited_from,
            attendances::credited_to,
            attendances::hours,
            attendances::points,
            act::title,
            act::category,
            act::org_id,
        ))
        .load(conn)?;
    Ok(records
        .into_iter()
        .map(
            |(id, volunteer, from_at, to_at, hours, points, title, category, org_id)| {
                let (hours, points) = (hours.unwrap_or(0), points.unwrap_or(0));
                let per_hour = if hours > 0 { points * 100 / hours } else { 0 };
                ServiceRecord {
                    record_id: format!("attendance:{id}"),
                    phone: phones.get(&volunteer).cloned().unwrap_or_default(),
                    title,
                    category,
                    organiser: paths.get(&org_id).cloned().unwrap_or_default(),
                    started_at: from_at.map(|t| utc_string(&t)).unwrap_or_default(),
                    ended_at: to_at.map(|t| utc_string(&t)).unwrap_or_default(),
                    hours: Amount::from_units(hours).to_string(),
                    points: Amount::from_units(points).to_string(),
                    points_per_hour: Amount::from_units(per_hour).to_string(),
                }
            },
        )
        .collect())
}

/// The subtree's postings in the period, owners named by phone or org path.
fn transaction_records(
    conn: &mut DbConnection,
    org: &Org,
    from: NaiveDateTime,
    to: NaiveDateTime,
    paths: &HashMap<String, String>,
    phones: &HashMap<String, String>,
) -> Result<Vec<TransactionRecord>, DomainError> {
    let postings = timebank_ledger::read::subtree_postings(conn, &org.path, from, to)?;
    let team_names: HashMap<String, String> = teams::table
        .select((teams::id, teams::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(postings
        .into_iter()
        .map(|p| {
            let org_named = timebank_directory::path_ids(&p.org_path)
                .last()
                .and_then(|o| paths.get(*o))
                .cloned();
            // A team's account is named by its org's path and its name.
            let team = (p.account_kind == AccountKind::TeamAccount.as_str())
                .then(|| team_names.get(&p.owner_id))
                .flatten();
            let owner = match (phones.get(&p.owner_id), team) {
                (Some(phone), _) => phone.clone(),
                (None, Some(name)) => format!("{}/{name}", org_named.unwrap_or_default()),
                (None, None) => org_named.unwrap_or(p.owner_id),
            };
            TransactionRecord {
                transaction_id: p.transaction_id,
                kind: p.tx_kind,
                created_at: utc_string(&p.created_at),
                account_kind: p.account_kind,
                owner,
                asset: p.asset,
                amount: Amount::from_units(p.amount).to_string(),
                reason: p.reason,
            }
        })
        .collect())
}

/// A row that was not applied, with its line in the file and why.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub applied: u64,
    pub already_imported: u64,
    pub rejected: Vec<Rejected>,
}

/// Name path → org, for resolving rows.
fn orgs_by_name_path(conn: &mut DbConnection) -> Result<HashMap<String, String>, DomainError> {
    Ok(name_paths(conn)?
        .into_iter()
        .map(|(id, path)| (path, id))
        .collect())
}

fn imported(conn: &mut DbConnection, key: &str) -> Result<bool, DomainError> {
    Ok(import_keys::table
        .find(key)
        .select(import_keys::import_key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn mark_imported(conn: &mut DbConnection, key: &str) -> Result<(), DomainError> {
    diesel::insert_into(import_keys::table)
        .values((
            import_keys::import_key.eq(key),
            import_keys::created_at.eq(timebank_store::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A CSV row with its line number, parsed or with why it did not parse.
type NumberedRow<T> = (u64, Result<T, String>);

fn rows<T: for<'de> Deserialize<'de>>(csv_text: &[u8]) -> Result<Vec<NumberedRow<T>>, DomainError> {
    let mut reader = csv::Reader::from_reader(csv_text);
    Ok(reader
        .deserialize::<T>()
        .map(|r| match r {
            Ok(v) => Ok(v),
            Err(e) => Err(e.to_string()),
        })
        .enumerate()
        // Line numbers as an editor shows them: the header is line 1.
        .map(|(i, r)| (i as u64 + 2, r))
        .collect())
}

fn apply_rows<T, F>(
    conn: &mut DbConnection,
    file: &[u8],
    job: &str,
    key_of: impl Fn(&T) -> String,
    apply: F,
    progress: &dyn Progress,
) -> Result<ImportReport, DomainError>
where
    T: for<'de> Deserialize<'de>,
    F: Fn(&mut DbConnection, &T) -> Result<(), DomainError>,
{
    let all = rows::<T>(file)?;
    let mut report = ImportReport::default();
    progress.start(job, all.len() as u64);
    for (n, (line, row)) in all.into_iter().enumerate() {
        progress.advance(n as u64 + 1);
        let row = match row {
            Ok(row) => row,
            Err(reason) => {
                report.rejected.push(Rejected { line, reason });
                continue;
            }
        };
        let key = key_of(&row);
        let outcome = write_tx(conn, |c| {
            if imported(c, &key)? {
                return Ok(false);
            }
            apply(c, &row)?;
            mark_imported(c, &key)?;
            Ok::<_, DomainError>(true)
        });
        match outcome {
            Ok(true) => {
                report.applied += 1;
                failpoint(job, report.applied);
            }
            Ok(false) => report.already_imported += 1,
            Err(e) => report.rejected.push(Rejected {
                line,
                reason: e.to_string(),
            }),
        }
    }
    progress.finish();
    Ok(report)
}

/// Imports volunteers (CSV text) as active, with no usable password (they cannot sign
/// in until one is set).
pub fn import_volunteers(
    conn: &mut DbConnection,
    file: &[u8],
    actor: &str,
    progress: &dyn Progress,
) -> Result<ImportReport, DomainError> {
    let orgs = orgs_by_name_path(conn)?;
    apply_rows::<VolunteerRecord, _>(
        conn,
        file,
        "import-volunteers",
        |r| format!("volunteer:{}", r.phone),
        |c, r| {
            let valid_phone = r.phone.len() == 11
                && r.phone.starts_with('1')
                && r.phone.bytes().all(|b| b.is_ascii_digit());
            if !valid_phone || r.name.trim().is_empty() {
                return Err(DomainError::refused(
                    Code::ValidationFailed,
                    "a phone of 11 digits and a name are required",
                ));
            }
            let community = orgs.get(&r.community).ok_or_else(|| {
                DomainError::refused(
                    Code::InvalidCommunity,
                    format!("no community {:?}", r.community),
                )
            })?;
            let skills: Vec<String> = r
                .skills
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            // Not a valid password hash, so it never verifies.
            let id = timebank_directory::register_volunteer(
                c,
                r.name.trim(),
                &r.phone,
                "!imported",
                community,
                &skills,
            )?;
            if MemberStatus::parse(&r.status) != Some(MemberStatus::Pending) {
                timebank_directory::approve_volunteer(c, &id, actor, &anyone)?;
            }
            Ok(())
        },
        progress,
    )
}

fn parse_time(text: &str, field: &str) -> Result<NaiveDateTime, DomainError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .map_err(|_| {
            DomainError::refused(
                Code::ValidationFailed,
                format!("{field} is not an RFC 3339 time"),
            )
        })
}

/// Imports paper records of hours: each becomes a one-off published activity
/// with the volunteer's attendance, settled through the normal rules.
pub fn import_hours(
    conn: &mut DbConnection,
    file: &[u8],
    actor: &str,
    progress: &dyn Progress,
) -> Result<ImportReport, DomainError> {
    let orgs = orgs_by_name_path(conn)?;
    let phones: HashMap<String, String> = users::table
        .select((users::phone, users::id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    apply_rows::<ServiceRecord, _>(
        conn,
        file,
        "import-hours",
        |r| format!("hours:{}", r.record_id),
        |c, r| {
            let volunteer = phones.get(&r.phone).ok_or_else(|| {
                DomainError::refused(
                    Code::UnknownVolunteer,
                    format!(
                        "no volunteer with phone {}",
                        timebank_directory::mask_phone(&r.phone)
                    ),
                )
            })?;
            get_volunteer(c, volunteer)?
                .row
                .require_active(timebank_store::now())?;
            let org = orgs.get(&r.organiser).ok_or_else(|| {
                DomainError::refused(
                    Code::InvalidOrg,
                    format!("no organisation {:?}", r.organiser),
                )
            })?;
            let (start, end) = (
                parse_time(&r.started_at, "started_at")?,
                parse_time(&r.ended_at, "ended_at")?,
            );
            let pph = Amount::parse(&r.points_per_hour)
                .map_err(|e| DomainError::refused(Code::ValidationFailed, e.to_string()))?;
            let activity = activities::create(
                c,
                NewActivity {
                    org_id: org.clone(),
                    title: r.title.clone(),
                    category: r.category.clone(),
                    description: format!("导入的纸质记录 {}", r.record_id),
                    location: None,
                    starts_at: start,
                    ends_at: end,
                    capacity: 1,
                    points_per_hour: pph.is_positive().then_some(pph),
                    team_id: None,
                    project_id: None,
                },
                actor,
            )?;
            activities::review(c, &activity.id, true, Some("导入"), actor, &anyone)?;
            activities::record(c, &activity.id, volunteer, start, end, actor, &anyone)?;
            let report = settle_activity(
                c,
                &activity.id,
                actor,
                None,
                timebank_store::now().max(end),
                &anyone,
            )?;
            if let Some(skipped) = report.skipped.first() {
                return Err(DomainError::refused(
                    Code::NotSettled,
                    format!("the record earns nothing: {}", skipped.reason),
                ));
            }
            Ok(())
        },
        progress,
    )
}
