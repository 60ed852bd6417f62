//! The demo's organised volunteering: teams with members and their own
//! activities, partner units whose people report to their communities
//! (双报到), the three lists with open, claimed and matched items, and a
//! running and a closed project — through the domain functions the API
//! calls, each at its own date.

use chrono::{Duration, NaiveDateTime};
use timebank_directory::{self as directory, Org};
use timebank_earning::activities::{self, NewActivity};
use timebank_earning::cases::{self, NewCaseRule};
use timebank_earning::settle::settle_activity;
use timebank_kernel::{Code, DomainError, anyone};
use timebank_ledger::Amount;
use timebank_rules::states::{ProjectStep, WishStatus};
use timebank_services::honours::{self, Actor};
use timebank_services::lists::{self, NewItem, Party, Source};
use timebank_services::projects;
use timebank_services::teams::{self, NewTeam};
use timebank_services::units::{self, NewUnit};
use timebank_store::DbConnection;
use timebank_store::clock;

use super::earning::at;

#[derive(Debug, Default)]
pub struct Counts {
    pub teams: usize,
    pub units: usize,
    pub items: usize,
    pub projects: usize,
}

impl Counts {
    pub fn describe(&self) -> String {
        format!(
            "\n  organised:  {} teams, {} partner units, {} items on the three lists, {} projects",
            self.teams, self.units, self.items, self.projects
        )
    }
}

/// The n-th approved volunteer of a community, if it has that many.
fn nth(by_community: &[Vec<String>], community: usize, n: usize) -> anyhow::Result<&str> {
    by_community
        .get(community)
        .and_then(|v| v.get(n))
        .map(String::as_str)
        .ok_or_else(|| anyhow::anyhow!("the demo has no volunteer {n} in community {community}"))
}

/// Records an attendance unless the volunteer is suspended that day.
fn attend(
    conn: &mut DbConnection,
    activity: &str,
    volunteer: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    admin: &str,
) -> anyhow::Result<()> {
    match activities::record(conn, activity, volunteer, from, to, admin, &anyone) {
        Err(DomainError::Refused {
            code: Code::VolunteerSuspended,
            ..
        }) => Ok(()),
        other => other.map(|_| ()).map_err(anyhow::Error::from),
    }
}

/// A published activity of a team or project `days_ago` days back (or
/// ahead, negative), 18:00–20:00 China time, settled two hours after it
/// ends when it is over.
#[allow(clippy::too_many_arguments)]
fn activity(
    conn: &mut DbConnection,
    today: NaiveDateTime,
    org: &str,
    runner: (Option<&str>, Option<&str>),
    title: &str,
    category: &str,
    days_ago: i64,
    attendees: &[&str],
    admin: &str,
) -> anyhow::Result<()> {
    let (start, end) = (at(today, days_ago, 10), at(today, days_ago, 12));
    // Published five days ahead, or today for one coming sooner.
    let published = (start - Duration::days(5)).min(today);
    let created = clock::at(published, || {
        let a = activities::create(
            conn,
            NewActivity {
                org_id: org.to_owned(),
                title: title.to_owned(),
                category: category.to_owned(),
                description: title.to_owned(),
                location: None,
                starts_at: start,
                ends_at: end,
                capacity: 20,
                points_per_hour: None,
                team_id: runner.0.map(str::to_owned),
                project_id: runner.1.map(str::to_owned),
            },
            admin,
        )?;
        activities::review(conn, &a.id, true, None, admin, &anyone)?;
        Ok::<_, anyhow::Error>(a)
    })?;
    if days_ago <= 0 {
        return Ok(());
    }
    let settled_at = end + Duration::hours(2);
    clock::at(settled_at, || {
        for v in attendees {
            attend(conn, &created.id, v, start, end, admin)?;
        }
        settle_activity(conn, &created.id, admin, None, settled_at, &anyone)?;
        Ok::<_, anyhow::Error>(())
    })
}

pub fn load(
    conn: &mut DbConnection,
    today: NaiveDateTime,
    district: &Org,
    streets: &[Org],
    communities: &[Org],
    by_community: &[Vec<String>],
    admin: &str,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let started = at(today, 120, 2);
    let v = |c: usize, n: usize| nth(by_community, c, n);

    // Teams: a community's medical team with its members, a street's legal
    // team, and one a volunteer has just applied for.
    let medical = clock::at(started, || {
        let team = teams::create(
            conn,
            NewTeam {
                org_id: communities[0].id.clone(),
                name: "新塘社区医疗服务队".to_owned(),
                category: "医疗卫生".to_owned(),
                description: "每月义诊、测血压、健康讲座".to_owned(),
                leader_id: v(0, 1)?.to_owned(),
            },
            admin,
            true,
        )?;
        for n in 2..5 {
            teams::add_member(conn, &team.id, v(0, n)?, admin, &anyone)?;
        }
        Ok::<_, anyhow::Error>(team)
    })?;
    let legal = clock::at(started, || {
        let team = teams::create(
            conn,
            NewTeam {
                org_id: streets[0].id.clone(),
                name: "月塘街道法律结对服务队".to_owned(),
                category: "法律服务".to_owned(),
                description: "法律咨询、调解邻里纠纷".to_owned(),
                leader_id: v(1, 1)?.to_owned(),
            },
            admin,
            true,
        )?;
        teams::add_member(conn, &team.id, v(0, 5)?, admin, &anyone)?;
        Ok::<_, anyhow::Error>(team)
    })?;
    clock::at(at(today, 2, 3), || {
        let applicant = v(0, 5)?;
        teams::create(
            conn,
            NewTeam {
                org_id: communities[0].id.clone(),
                name: "新塘社区文艺宣传队".to_owned(),
                category: "文化教育".to_owned(),
                description: "广场舞、快板宣传文明新风".to_owned(),
                leader_id: applicant.to_owned(),
            },
            applicant,
            false,
        )?;
        Ok::<_, anyhow::Error>(())
    })?;
    counts.teams = 3;
    // The district honours its best team as a group; the honour's points
    // stay in the team's account until the district gives them on.
    clock::at(at(today, 35, 2), || {
        cases::publish_rule(
            conn,
            NewCaseRule {
                org_id: district.id.clone(),
                code: "star_team".to_owned(),
                name: "优秀志愿服务队".to_owned(),
                points: Amount::from_units(5000),
                hours: Amount::ZERO,
                max_per_person_per_year: Some(1),
                evidence_required: false,
                effective_from: Some(at(today, 400, 0)),
                for_teams: true,
            },
            admin,
        )?;
        let by = || Actor {
            id: admin,
            request_id: None,
        };
        honours::award(
            conn,
            &medical.id,
            "star_team",
            at(today, 36, 2),
            Some("区文明办表彰文件".to_owned()),
            by(),
            &anyone,
        )?;
        honours::grant(
            conn,
            &medical.id,
            v(0, 1)?,
            Amount::from_units(1000),
            "队长年度表彰",
            by(),
            &anyone,
        )?;
        honours::donate(
            conn,
            &medical.id,
            Amount::from_units(2000),
            None,
            by(),
            &anyone,
        )?;
        Ok::<_, anyhow::Error>(())
    })?;
    let medical_members: Vec<&str> = (1..5).filter_map(|n| v(0, n).ok()).collect();
    for (days_ago, title) in [(45, "社区义诊"), (17, "测血压进楼栋")] {
        activity(
            conn,
            today,
            &communities[0].id,
            (Some(&medical.id), None),
            title,
            "医疗卫生",
            days_ago,
            &medical_members,
            admin,
        )?;
    }
    activity(
        conn,
        today,
        &communities[0].id,
        (Some(&medical.id), None),
        "冬季健康讲座",
        "医疗卫生",
        -9,
        &[],
        admin,
    )?;
    activity(
        conn,
        today,
        &streets[0].id,
        (Some(&legal.id), None),
        "法律咨询日",
        "法律服务",
        24,
        &[v(1, 1)?, v(0, 5)?],
        admin,
    )?;

    // Partner units registered with the district, a street and a community;
    // their people report to their own communities. One waits for approval.
    let unit = |conn: &mut DbConnection, org: &Org, name: &str, kind: &str, contact: &str| {
        units::register(
            conn,
            NewUnit {
                org_id: org.id.clone(),
                name: name.to_owned(),
                kind: kind.to_owned(),
                contact: Some(contact.to_owned()),
            },
            admin,
            true,
        )
    };
    let (hospital, school, power) = clock::at(started, || {
        let hospital = unit(
            conn,
            district,
            "株洲市中心医院",
            "hospital",
            "医务科 0731-2833xxxx",
        )?;
        let school = unit(
            conn,
            &streets[0],
            "月塘小学",
            "school",
            "德育处 0731-2851xxxx",
        )?;
        let power = unit(
            conn,
            &communities[0],
            "国网荷塘供电服务站",
            "enterprise",
            "站长 0731-2266xxxx",
        )?;
        units::add_admin(conn, &hospital.id, v(3, 1)?, admin, &anyone)?;
        units::add_admin(conn, &power.id, v(0, 6)?, admin, &anyone)?;
        // Reported by themselves or staff; one the hospital added still
        // has to confirm.
        for (u, c, n, confirmed) in [
            (&hospital, 3, 1, true),
            (&hospital, 4, 2, false),
            (&school, 0, 3, true),
            (&power, 0, 6, true),
        ] {
            units::add_member(conn, &u.id, v(c, n)?, admin, &|_| Some(confirmed))?;
            directory::set_party_member(conn, v(c, n)?, true)?;
        }
        Ok::<_, anyhow::Error>((hospital, school, power))
    })?;
    clock::at(at(today, 1, 6), || {
        units::register(
            conn,
            NewUnit {
                org_id: streets[1].id.clone(),
                name: "湘楚律师事务所".to_owned(),
                kind: "agency".to_owned(),
                contact: Some("合伙人 0731-2888xxxx".to_owned()),
            },
            v(2, 2)?,
            false,
        )?;
        Ok::<_, anyhow::Error>(())
    })?;
    counts.units = 4;

    // The three lists: needs of communities, resources of units, a
    // street's project item; open, claimed and matched.
    let item = |conn: &mut DbConnection,
                list: &str,
                owner: Party,
                category: &str,
                title: &str,
                description: &str| {
        lists::create(
            conn,
            NewItem {
                list: list.to_owned(),
                owner,
                category: category.to_owned(),
                title: title.to_owned(),
                description: description.to_owned(),
                quantity: None,
                until: None,
            },
            None,
            admin,
            &anyone,
        )
    };
    let org = |c: &Org| Party::Org(c.id.clone());
    // A resident's open wish is put on the community's list of needs.
    let wishes = timebank_services::wishes::list_open(conn, &ids(communities))?;
    if let Some(wish) = wishes.iter().find(|w| w.status == WishStatus::Open) {
        let from = lists::source_of(conn, &Source::Wish(wish.id.clone()))?;
        lists::create(
            conn,
            NewItem {
                list: "need".to_owned(),
                owner: Party::Org(from.community_id.clone()),
                category: from.category.clone(),
                title: from.description.chars().take(30).collect(),
                description: from.description.clone(),
                quantity: None,
                until: None,
            },
            Some(from.key),
            admin,
            &anyone,
        )?;
        counts.items += 1;
    }
    let (closed_need, running_need, tutoring) = clock::at(at(today, 60, 2), || {
        let tutoring = item(
            conn,
            "need",
            org(&communities[0]),
            "助学",
            "四点半课堂辅导",
            "每周三下午辅导小学生作业，需要两位老师",
        )?;
        item(
            conn,
            "need",
            org(&communities[1]),
            "助老",
            "独居老人助餐",
            "为 12 位独居老人每日送餐",
        )?;
        item(
            conn,
            "resource",
            Party::Unit(hospital.id.clone()),
            "医疗",
            "专家义诊",
            "每季度一次，内科、骨科专家",
        )?;
        item(
            conn,
            "project",
            org(&streets[0]),
            "环保",
            "垃圾分类宣传",
            "进小区讲解垃圾分类，发放宣传册",
        )?;
        let closed = item(
            conn,
            "need",
            org(&communities[0]),
            "健康",
            "慢病健康讲座",
            "高血压、糖尿病的日常管理",
        )?;
        let running = item(
            conn,
            "need",
            org(&communities[0]),
            "维修",
            "老旧楼道灯改造",
            "3 栋老楼楼道灯更换为声控灯",
        )?;
        Ok::<_, anyhow::Error>((closed, running, tutoring))
    })?;
    let playground = clock::at(at(today, 40, 2), || {
        item(
            conn,
            "resource",
            Party::Unit(school.id.clone()),
            "场地",
            "周末开放操场",
            "周六上午开放给社区亲子活动",
        )
    })?;
    counts.items += 7;
    clock::at(at(today, 3, 2), || {
        lists::claim(
            conn,
            &playground.id,
            org(&communities[1]),
            Some("亲子运动会"),
            admin,
            &anyone,
        )?;
        // The school offers two teachers; the community has yet to confirm.
        lists::claim(
            conn,
            &tutoring.id,
            Party::Unit(school.id.clone()),
            Some("两位退休教师"),
            admin,
            &anyone,
        )
    })?;
    // The hospital ran the health talk and the community closed it;
    // the power station is fixing the stairwell lights.
    let closed = clock::at(at(today, 55, 2), || {
        lists::claim(
            conn,
            &closed_need.id,
            Party::Unit(hospital.id.clone()),
            Some("派内科医生两名"),
            admin,
            &anyone,
        )?;
        let (_, project) = lists::confirm(conn, &closed_need.id, admin, &anyone)?;
        projects::step(
            conn,
            &project.id,
            ProjectStep::Start,
            None,
            None,
            admin,
            &anyone,
        )?;
        Ok::<_, anyhow::Error>(project)
    })?;
    activity(
        conn,
        today,
        &communities[0].id,
        (None, Some(&closed.id)),
        "慢病健康讲座",
        "健康",
        30,
        &[v(3, 1)?, v(4, 2)?],
        admin,
    )?;
    clock::at(at(today, 20, 2), || {
        projects::step(
            conn,
            &closed.id,
            ProjectStep::Assess,
            None,
            None,
            admin,
            &anyone,
        )?;
        projects::step(
            conn,
            &closed.id,
            ProjectStep::Close,
            Some("讲座 2 场，居民 86 人次参加，反响好"),
            Some(5),
            admin,
            &anyone,
        )
    })?;
    let running = clock::at(at(today, 14, 2), || {
        lists::claim(
            conn,
            &running_need.id,
            Party::Unit(power.id.clone()),
            None,
            admin,
            &anyone,
        )?;
        let (_, project) = lists::confirm(conn, &running_need.id, admin, &anyone)?;
        projects::step(
            conn,
            &project.id,
            ProjectStep::Start,
            None,
            None,
            admin,
            &anyone,
        )
    })?;
    activity(
        conn,
        today,
        &communities[0].id,
        (None, Some(&running.id)),
        "楼道灯改造（第一批）",
        "维修",
        5,
        &[v(0, 6)?],
        admin,
    )?;
    counts.projects = 2;
    Ok(counts)
}

fn ids(orgs: &[Org]) -> Vec<String> {
    orgs.iter().map(|o| o.id.clone()).collect()
}
