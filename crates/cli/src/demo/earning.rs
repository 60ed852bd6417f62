//! The demo's earning history: weekly activities in every community over
//! 40 weeks, reviewed, attended and settled; a case rule table with awards;
//! upcoming activities with sign-ups. Everything goes through the same
//! domain functions the API calls, so the demo's ledger is a real one.

use std::collections::BTreeMap;
use timebank_kernel::anyone;

use chrono::{Duration, NaiveDateTime, Timelike};
use diesel::prelude::*;
use timebank_directory::{self as directory, Org};
use timebank_earning::activities::{self, NewActivity};
use timebank_earning::cases::{self, NewCaseRule};
use timebank_earning::settle::settle_activity;
use timebank_ledger::Amount;
use timebank_store::DbConnection;
use timebank_store::schema::volunteers;

use super::api;

/// A year of weekly activities.
pub const WEEKS: i64 = 52;
const TITLES: [(&str, &str); 6] = [
    ("社区环境清洁", "环境保护"),
    ("敬老院陪伴", "助老"),
    ("文明交通劝导", "文明实践"),
    ("图书角整理", "文化"),
    ("义诊服务", "医疗"),
    ("防诈骗宣传", "宣传"),
];

#[derive(Debug, Default)]
pub struct Counts {
    pub activities: usize,
    pub settled: usize,
    pub awards: usize,
    pub stars: BTreeMap<i32, usize>,
}

impl Counts {
    pub fn describe(&self) -> String {
        let stars: Vec<String> = self
            .stars
            .iter()
            .rev()
            .map(|(level, n)| format!("{level}★ {n}"))
            .collect();
        format!(
            "\n  history:    {} activities, {} settled attendances, {} case awards; star levels: {}",
            self.activities,
            self.settled,
            self.awards,
            stars.join(", ")
        )
    }
}

/// `hour`:00 UTC on the day `days_ago` days before `today`.
pub fn at(today: NaiveDateTime, days_ago: i64, hour: u32) -> NaiveDateTime {
    let day = today - Duration::days(days_ago);
    day.with_hour(hour)
        .and_then(|d| d.with_minute(0))
        .and_then(|d| d.with_second(0))
        .and_then(|d| d.with_nanosecond(0))
        .unwrap_or(day)
}

/// Runs the year week by week, oldest first, each step at its own date:
/// an activity is published six days ahead, attended, and settled two
/// hours after it ends. `after_week(conn, week, end)` runs once a week
/// (week 0 is the oldest) at the end of its last activity day, for the
/// rest of the history to happen in between.
pub fn load(
    conn: &mut DbConnection,
    today: NaiveDateTime,
    district: &Org,
    communities: &[Org],
    by_community: &[Vec<String>],
    admin: &str,
    mut after_week: impl FnMut(&mut DbConnection, i64, NaiveDateTime) -> anyhow::Result<()>,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let first_day = at(today, 7 * WEEKS + 14, 0);
    timebank_store::clock::at(first_day, || {
        publish_case_rules(conn, today, district, admin)
    })?;
    // The first volunteers are the most devoted: they serve in several
    // communities, which lifts them to the top star levels.
    let devoted: Vec<(&String, usize)> = [(0usize, 6usize), (1, 4), (2, 2), (3, 0), (4, 0)]
        .iter()
        .filter_map(|(ci, reach)| {
            by_community
                .get(*ci)
                .and_then(|v| v.first())
                .map(|id| (id, *reach))
        })
        .collect();
    for oldest_first in 0..WEEKS {
        let week = WEEKS - 1 - oldest_first;
        let mut week_end = at(today, 7 * week + 1, 11);
        // Community 0 meets last in the week: the days in order.
        for (ci, community) in communities.iter().enumerate().rev() {
            let days_ago = 7 * week + ci as i64 + 1;
            // 09:00–17:00 in China (UTC+8).
            let (start, end) = (at(today, days_ago, 1), at(today, days_ago, 9));
            let (title, category) = TITLES[(ci + week as usize) % TITLES.len()];
            let published = start - Duration::days(6);
            let activity = timebank_store::clock::at(published, || {
                let activity = activities::create(
                    conn,
                    NewActivity {
                        org_id: community.id.clone(),
                        title: title.to_owned(),
                        category: category.to_owned(),
                        description: format!("{}每周志愿服务日", community.name),
                        location: Some(format!("{}党群服务中心", community.name)),
                        starts_at: start,
                        ends_at: end,
                        capacity: 30,
                        points_per_hour: (week % 5 == 0).then(|| Amount::from_units(150)),
                        team_id: None,
                        project_id: None,
                    },
                    admin,
                )?;
                activities::review(conn, &activity.id, true, None, admin, &anyone)?;
                Ok::<_, anyhow::Error>(activity)
            })?;
            counts.activities += 1;
            let settled_at = end + Duration::hours(2);
            week_end = week_end.max(settled_at);
            let locals = by_community.get(ci).map(Vec::as_slice).unwrap_or_default();
            counts.settled += timebank_store::clock::at(settled_at, || {
                for (i, volunteer) in locals.iter().enumerate().skip(1) {
                    if devoted.iter().any(|(d, _)| *d == volunteer) {
                        continue;
                    }
                    let every = [1, 2, 3, 5, 8][i % 5];
                    if !(week as usize + i).is_multiple_of(every) {
                        continue;
                    }
                    // Some arrive a little late; one in a while leaves early.
                    let late = Duration::minutes(((week as usize * 7 + i * 13) % 4) as i64 * 10);
                    let early = if (week as usize + i).is_multiple_of(11) {
                        Duration::hours(5)
                    } else {
                        Duration::zero()
                    };
                    attend(
                        conn,
                        &activity.id,
                        volunteer,
                        start + late,
                        end - early,
                        admin,
                    )?;
                }
                for (volunteer, reach) in &devoted {
                    // Each serves their own community and `reach` of the first ones.
                    if ci < *reach || locals.first() == Some(*volunteer) {
                        attend(conn, &activity.id, volunteer, start, end, admin)?;
                    }
                }
                let settled = settle_activity(
                    conn,
                    &activity.id,
                    admin,
                    None,
                    settled_at,
                    &timebank_kernel::anyone,
                )?;
                Ok::<_, anyhow::Error>(settled.settled.len())
            })?;
        }
        // Six weeks back, the case awards of the year's deeds come in.
        if week == 6 {
            counts.awards = timebank_store::clock::at(week_end, || {
                case_awards(conn, by_community, admin, week_end)
            })?;
        }
        timebank_store::clock::at(week_end, || {
            week_extras(conn, by_community, oldest_first, week_end, admin)
        })?;
        after_week(conn, oldest_first, week_end)?;
    }
    upcoming(conn, today, communities, by_community, admin)?;
    // One activity still waits for review.
    let now = today;
    if let Some(community) = communities.first() {
        activities::create(
            conn,
            NewActivity {
                org_id: community.id.clone(),
                title: "重阳节敬老活动".to_owned(),
                category: "助老".to_owned(),
                description: "为社区高龄老人包饺子、理发、体检".to_owned(),
                location: Some(format!("{}老年活动室", community.name)),
                starts_at: now + Duration::days(20),
                ends_at: now + Duration::days(20) + Duration::hours(4),
                capacity: 15,
                points_per_hour: None,
                team_id: None,
                project_id: None,
            },
            admin,
        )?;
    }
    let levels: Vec<i32> = volunteers::table
        .select(volunteers::star_level)
        .load(conn)?;
    for level in levels {
        *counts.stars.entry(level).or_default() += 1;
    }
    Ok(counts)
}

fn publish_case_rules(
    conn: &mut DbConnection,
    today: NaiveDateTime,
    district: &Org,
    admin: &str,
) -> anyhow::Result<()> {
    let from = at(today, 400, 0);
    for (code, name, points, hours, limit, evidence) in [
        ("blood_donation", "无偿献血", 2000, 0, Some(2), true),
        ("charity_donation", "爱心捐赠", 500, 0, Some(12), false),
        ("act_of_bravery", "见义勇为", 10000, 1000, None, true),
        ("micro_wish", "微心愿", 300, 100, None, false),
    ] {
        cases::publish_rule(
            conn,
            NewCaseRule {
                org_id: district.id.clone(),
                code: code.to_owned(),
                name: name.to_owned(),
                points: Amount::from_units(points),
                hours: Amount::from_units(hours),
                max_per_person_per_year: limit,
                evidence_required: evidence,
                effective_from: Some(from),
                for_teams: false,
            },
            admin,
        )?;
    }
    Ok(())
}

/// Records attendance, except of a volunteer suspended that week: they
/// stay home, as the rules say.
fn attend(
    conn: &mut DbConnection,
    activity: &str,
    volunteer: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    admin: &str,
) -> anyhow::Result<()> {
    match activities::record(conn, activity, volunteer, from, to, admin, &anyone) {
        Err(timebank_kernel::DomainError::Refused {
            code: timebank_kernel::Code::VolunteerSuspended,
            ..
        }) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// What else a year brings, at the end of week `week` (0 the oldest): now
/// and then a donation filed and approved, once a claim rejected for want
/// of proof, once a volunteer suspended for two weeks for misconduct.
pub fn week_extras(
    conn: &mut DbConnection,
    by_community: &[Vec<String>],
    week: i64,
    end: NaiveDateTime,
    admin: &str,
) -> anyhow::Result<()> {
    let pick = |ci: usize, i: usize| {
        by_community
            .get(ci % by_community.len())
            .and_then(|v| v.get(i))
    };
    if week % 8 == 2
        && let Some(id) = pick(week as usize / 8, 1 + week as usize % 3)
    {
        let volunteer = directory::get_volunteer(conn, id).map_err(api)?;
        let award = cases::file(
            conn,
            &volunteer,
            "charity_donation",
            end - Duration::days(2),
            None,
            admin,
        )?;
        cases::approve(conn, &award.id, admin, None, &anyone)?;
    }
    if week == 26
        && let Some(id) = pick(3, 2)
    {
        let volunteer = directory::get_volunteer(conn, id).map_err(api)?;
        let award = cases::file(
            conn,
            &volunteer,
            "act_of_bravery",
            end - Duration::days(4),
            Some("邻居口述".to_owned()),
            admin,
        )?;
        cases::reject(
            conn,
            &award.id,
            admin,
            "缺少派出所或社区出具的证明",
            &anyone,
        )?;
    }
    if week == 20
        && let Some(id) = pick(2, 1)
    {
        timebank_earning::violations::record(
            conn,
            &timebank_earning::violations::NewViolation {
                volunteer_id: id.clone(),
                kind: timebank_earning::violations::ViolationKind::Misconduct,
                transaction_ids: Vec::new(),
                penalty_points: Some(Amount::from_units(500)),
                suspend_days: Some(14),
                reason: "服务中与老人发生争执，经核实属实".to_owned(),
            },
            admin,
            None,
            &anyone,
        )?;
    }
    Ok(())
}

/// Deeds of the last weeks, filed at `filed` (the clock): most approved at
/// once, the last of each community still waiting.
fn case_awards(
    conn: &mut DbConnection,
    by_community: &[Vec<String>],
    admin: &str,
    filed: NaiveDateTime,
) -> anyhow::Result<usize> {
    let mut approved = 0;
    for (ci, locals) in by_community.iter().enumerate() {
        for (i, id) in locals.iter().enumerate().take(4) {
            let volunteer = directory::get_volunteer(conn, id).map_err(api)?;
            let (code, evidence) = match (ci + i) % 4 {
                0 => ("blood_donation", Some(format!("献血证 No.2026-{ci}{i:02}"))),
                1 => ("charity_donation", None),
                2 => ("micro_wish", None),
                _ => ("blood_donation", Some(format!("献血证 No.2026-{ci}{i:02}"))),
            };
            let award = cases::file(
                conn,
                &volunteer,
                code,
                at(filed, 1 + ((ci * 5 + i) % 20) as i64, 2),
                evidence,
                admin,
            )?;
            // The last of each community's waits for an admin's decision.
            if i < 3 {
                cases::approve(conn, &award.id, admin, None, &anyone)?;
                approved += 1;
            }
        }
    }
    Ok(approved)
}

fn upcoming(
    conn: &mut DbConnection,
    today: NaiveDateTime,
    communities: &[Org],
    by_community: &[Vec<String>],
    admin: &str,
) -> anyhow::Result<()> {
    let now = today;
    for (ci, community) in communities.iter().enumerate() {
        let start = at(today, -(ci as i64 + 3), 1);
        let (title, category) = TITLES[ci % TITLES.len()];
        let activity = activities::create(
            conn,
            NewActivity {
                org_id: community.id.clone(),
                title: title.to_owned(),
                category: category.to_owned(),
                description: format!("{}每周志愿服务日", community.name),
                location: Some(format!("{}党群服务中心", community.name)),
                starts_at: start.max(now + Duration::hours(1)),
                ends_at: start.max(now + Duration::hours(1)) + Duration::hours(8),
                capacity: 20,
                points_per_hour: None,
                team_id: None,
                project_id: None,
            },
            admin,
        )?;
        activities::review(conn, &activity.id, true, None, admin, &anyone)?;
        for volunteer in by_community
            .get(ci)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .take(5)
        {
            activities::sign_up(conn, &activity.id, volunteer)?;
        }
    }
    Ok(())
}
