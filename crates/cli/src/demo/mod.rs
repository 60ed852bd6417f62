//! The demo district: 株洲市 → 荷塘区 → 3 streets → 6 communities, admins,
//! 50 volunteers, and a year of earning made through the real code paths. Loading
//! is keyed by fixed phone numbers and external ids, so a second run reuses
//! what the first created.

use anyhow::Context;
use diesel::prelude::*;
use timebank_directory::passwords::hash_password;
use timebank_directory::{self as directory, Org, OrgKind};
use timebank_store::schema::users;
use timebank_store::{DbConnection, Pool};

use crate::config::Config;

mod earning;
mod organising;
mod services;
mod spending;

pub struct Summary {
    pub admin_phone: &'static str,
    pub volunteer_phone: String,
    pub volunteer_id: String,
    pub volunteers: usize,
    /// What the demo's history holds (empty when it was loaded before).
    pub counts: Option<(
        earning::Counts,
        spending::Counts,
        services::Counts,
        organising::Counts,
    )>,
}

pub const ADMIN_PHONE: &str = "13800000000";
const DISTRICT: &str = "荷塘区";
pub const ADMIN_PASSWORD: &str = "admin-demo-2026";
const VOLUNTEER_PASSWORD: &str = "volunteer-demo";

const STREETS: [(&str, [&str; 2]); 3] = [
    ("月塘街道", ["新塘社区", "东环社区"]),
    ("宋家桥街道", ["合泰社区", "白马社区"]),
    ("茨菇塘街道", ["文化园社区", "龙泉社区"]),
];
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: [&str; 25] = [
    "秀英", "建国", "丽华", "志强", "海燕", "伟", "芳", "敏", "静", "磊", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "霞", "平", "桂兰", "红梅", "国庆", "晓燕", "子涵",
];
const SKILLS: [&str; 8] = [
    "助老陪护",
    "维修",
    "代买",
    "理发",
    "心理疏导",
    "医疗护理",
    "法律咨询",
    "文艺演出",
];
const VOLUNTEERS: usize = 50;

fn api(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn user_by_phone(conn: &mut DbConnection, phone: &str) -> anyhow::Result<Option<String>> {
    Ok(users::table
        .filter(users::phone.eq(phone))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// Loads the demo district unless it is already there.
pub fn load(pool: &Pool) -> anyhow::Result<Summary> {
    let mut conn = pool.get()?;
    let conn = &mut *conn;
    let first_volunteer_phone = volunteer_phone(0);
    if let Some(id) = user_by_phone(conn, &first_volunteer_phone)? {
        return Ok(Summary {
            admin_phone: ADMIN_PHONE,
            volunteer_phone: first_volunteer_phone,
            volunteer_id: id,
            volunteers: VOLUNTEERS,
            counts: None,
        });
    }
    eprintln!("loading the demo district (a few seconds)…");
    // One transaction: a load cut short leaves nothing behind to trip over.
    timebank_store::write_tx(conn, load_all)
}

/// The district as it stands today after a year: founded a year and a
/// month ago, then every week of the year through the real code paths at
/// its own date (the domain's clock), then this week's open business.
fn load_all(conn: &mut DbConnection) -> anyhow::Result<Summary> {
    use timebank_store::clock;
    let today = timebank_store::now();
    let founded = earning::at(today, 7 * earning::WEEKS + 30, 0);
    let town = clock::at(founded, || found(conn))?;
    let Town {
        admin_id,
        district,
        streets,
        communities,
        by_community,
        volunteer_ids,
    } = town;
    let shops = clock::at(founded, || {
        // Points stay spendable for ten months after they were earned.
        let policy = timebank_rules::EarningPolicy {
            expiry: timebank_rules::ExpiryPolicy::RollingMonths { months: 10 },
            ..Default::default()
        };
        timebank_policy::publish(
            conn,
            timebank_policy::PolicyKind::Earning,
            &district.id,
            &policy,
            &admin_id,
        )?;
        spending::open_shops(conn, &district, &streets, &communities[0], &admin_id)
    })?;
    let mut spent = spending::Counts::default();
    let earned = earning::load(
        conn,
        today,
        &district,
        &communities,
        &by_community,
        &admin_id,
        |conn, week, end| {
            // Once a month points past their ten months expire (the batch
            // job), and the volunteers redeem some of theirs.
            if week % 4 != 3 {
                return Ok(());
            }
            clock::at(end, || {
                // The batch jobs a district schedules, recorded as runs.
                for job in [
                    timebank_jobs::Job::Expire { as_of: end.date() },
                    timebank_jobs::Job::OrdersExpire,
                    timebank_jobs::Job::Stars,
                ] {
                    timebank_jobs::run(conn, &job, &admin_id, &timebank_jobs::Silent)?;
                }
                spending::month(
                    conn,
                    &shops,
                    &by_community,
                    week / 4,
                    &admin_id,
                    end,
                    &mut spent,
                )
            })
        },
    )?;
    spending::recent(conn, &shops, &by_community, &admin_id, &mut spent)?;
    let served = services::load(conn, &communities, &by_community, &admin_id)?;
    let organised = organising::load(
        conn,
        today,
        &district,
        &streets,
        &communities,
        &by_community,
        &admin_id,
    )?;
    // A few registered this week and wait for approval.
    let hash = hash_password(VOLUNTEER_PASSWORD).map_err(api)?;
    for (n, i) in (0..VOLUNTEERS).filter(|i| is_new(*i)).enumerate() {
        let registered = today - chrono::Duration::hours(20 * n as i64 + 3);
        clock::at(registered, || {
            directory::register_volunteer(
                conn,
                &volunteer_name(i),
                &volunteer_phone(i),
                &hash,
                &communities[i % communities.len()].id,
                &volunteer_skills(i),
            )
        })
        .map_err(api)?;
    }
    Ok(Summary {
        admin_phone: ADMIN_PHONE,
        volunteer_phone: volunteer_phone(0),
        volunteer_id: volunteer_ids
            .first()
            .cloned()
            .context("no volunteers created")?,
        volunteers: VOLUNTEERS,
        counts: Some((earned, spent, served, organised)),
    })
}

/// The org tree, its staff and the volunteers approved when it started.
struct Town {
    admin_id: String,
    district: Org,
    streets: Vec<Org>,
    communities: Vec<Org>,
    by_community: Vec<Vec<String>>,
    volunteer_ids: Vec<String>,
}

fn found(conn: &mut DbConnection) -> anyhow::Result<Town> {
    let (admin_id, root_id) = match user_by_phone(conn, ADMIN_PHONE)? {
        Some(admin) => (
            admin,
            directory::root_org(conn)
                .map_err(api)?
                .context("no root organisation")?
                .id,
        ),
        None => crate::admin::create_platform_admin(
            conn,
            "平台管理员",
            ADMIN_PHONE,
            ADMIN_PASSWORD,
            "株洲市",
            "city",
        )?,
    };
    let root = directory::get_org(conn, &root_id).map_err(api)?;
    let district =
        directory::create_org(conn, DISTRICT, OrgKind::District, Some(&root)).map_err(api)?;
    staff(conn, "区级管理员", "13800000001", &district, "org_admin")?;
    staff(conn, "区级审计员", "13800000003", &district, "auditor")?;
    let mut communities: Vec<Org> = Vec::new();
    let mut streets: Vec<Org> = Vec::new();
    for (street_name, community_names) in STREETS {
        let street = directory::create_org(conn, street_name, OrgKind::Street, Some(&district))
            .map_err(api)?;
        streets.push(street.clone());
        for name in community_names {
            communities.push(
                directory::create_org(conn, name, OrgKind::Community, Some(&street))
                    .map_err(api)?,
            );
        }
    }
    staff(
        conn,
        "新塘社区管理员",
        "13800000002",
        &communities[0],
        "org_admin",
    )?;

    let hash = hash_password(VOLUNTEER_PASSWORD).map_err(api)?;
    let mut volunteer_ids = Vec::new();
    let mut by_community: Vec<Vec<String>> = vec![Vec::new(); communities.len()];
    for i in 0..VOLUNTEERS {
        if is_new(i) {
            continue; // they register this week
        }
        let ci = i % communities.len();
        let id = directory::register_volunteer(
            conn,
            &volunteer_name(i),
            &volunteer_phone(i),
            &hash,
            &communities[ci].id,
            &volunteer_skills(i),
        )
        .map_err(api)?;
        directory::approve_volunteer(conn, &id, &admin_id, &timebank_kernel::anyone)
            .map_err(api)?;
        volunteer_ids.push(id.clone());
        by_community[ci].push(id);
    }
    Ok(Town {
        admin_id,
        district,
        streets,
        communities,
        by_community,
        volunteer_ids,
    })
}

/// The volunteers who registered this week and wait for approval: one in
/// eight, in every other community.
fn is_new(i: usize) -> bool {
    i % 8 == 6
}

fn volunteer_name(i: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[i % SURNAMES.len()],
        GIVEN[(i * 7) % GIVEN.len()]
    )
}

fn volunteer_skills(i: usize) -> Vec<String> {
    vec![
        SKILLS[(i + i / 8) % SKILLS.len()].to_owned(),
        SKILLS[(i * 3 + 1 + i / 8) % SKILLS.len()].to_owned(),
    ]
}

fn volunteer_phone(i: usize) -> String {
    format!("139{:08}", i + 1)
}

fn staff(
    conn: &mut DbConnection,
    name: &str,
    phone: &str,
    org: &Org,
    role: &str,
) -> anyhow::Result<()> {
    let hash = hash_password(ADMIN_PASSWORD).map_err(api)?;
    let id = directory::create_user(conn, name, phone, &hash).map_err(api)?;
    directory::grant_org_role(conn, &id, role, &org.id, None).map_err(api)?;
    Ok(())
}

/// Ids a newcomer needs to try more than the first three commands.
pub struct Landmarks {
    pub district: (String, String),
    pub community: (String, String),
    pub site: (String, String),
    pub item: (String, String),
}

/// The district, its first community, its first site and the cheapest item
/// on sale, read from the database (a second run reuses the first's).
pub fn landmarks(pool: &Pool) -> anyhow::Result<Landmarks> {
    use timebank_store::schema::{catalog_items, orgs, sites};
    let mut conn = pool.get()?;
    let named = |conn: &mut DbConnection, name: &str| -> anyhow::Result<(String, String)> {
        orgs::table
            .filter(orgs::name.eq(name))
            .select((orgs::id, orgs::name))
            .first(conn)
            .with_context(|| format!("the demo's org {name}"))
    };
    let district = named(&mut conn, DISTRICT)?;
    let community = named(&mut conn, STREETS[0].1[0])?;
    let site = sites::table
        .order(sites::created_at.asc())
        .select((sites::id, sites::name))
        .first(&mut conn)
        .context("the demo's sites")?;
    let item = catalog_items::table
        .filter(catalog_items::status.eq("active"))
        .order((catalog_items::points_price.asc(), catalog_items::id.asc()))
        .select((catalog_items::id, catalog_items::name))
        .first(&mut conn)
        .context("the demo's catalog")?;
    Ok(Landmarks {
        district,
        community,
        site,
        item,
    })
}

pub fn print_welcome(url: &str, s: &Summary, marks: &Landmarks, config: &Config) {
    // Each command stops at the first failure: `curl -f` says the status
    // and prints nothing on an error, `sed -n` then finds no token, and
    // `test -n` ends the `&&` chain — never a later call with an error page
    // in $TOKEN.
    let token = |phone: &str, password: &str| {
        format!(
            "TOKEN=$(curl -fsS -X POST {url}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"phone\":\"{phone}\",\"password\":\"{password}\"}}' | sed -n 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/p') && test -n \"$TOKEN\""
        )
    };
    let db = config.database.redacted();
    println!(
        "\n timebank demo — 株洲市 · 荷塘区 (1 district, 3 streets, 6 communities, {n} volunteers)\n\
         \n  API:        {url}/api/v1   (contract: {url}/openapi.yaml)\
         \n  console:    {url}/console\
         \n  database:   {db}\
         \n  JWT secret: {secret}\
         \n\n  logins (phone / password):\
         \n    platform admin 株洲市       {admin} / {apw}\
         \n    district admin 荷塘区       13800000001 / {apw}\
         \n    community admin 新塘社区    13800000002 / {apw}\
         \n    auditor 荷塘区              13800000003 / {apw}\
         \n    site operator 服务中心      13800000004 / {apw}\
         \n    residents                  13700000001 … 13700000005 / resident-demo\
         \n    volunteers                 13900000001 … 139000000{n} / {vpw}\
         \n\n  ids:\
         \n    district  {dn}  {did}\
         \n    community {cn}  {cid}\
         \n    site      {sn}  {sid}\
         \n    item      {iname}  {iid}\
         \n    volunteer {vphone}  {vid}\
         {history}\
         \n\n  try (each line stops at the first error):\
         \n  1. that volunteer's balance:\
         \n     {t1} && curl -fsS {url}/api/v1/volunteers/{vid}/balance -H \"Authorization: Bearer $TOKEN\"\
         \n  2. the volunteer orders one {iname} at {sn}; run the second line again: the same order comes back, not a second one:\
         \n     KEY=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)\
         \n     {t1} && curl -fsS -X POST {url}/api/v1/redemptions -H \"Authorization: Bearer $TOKEN\" -H 'content-type: application/json' -H \"Idempotency-Key: $KEY\" -d '{{\"item_id\":\"{iid}\",\"site_id\":\"{sid}\",\"quantity\":1}}'\
         \n  3. verify the whole ledger as the platform admin:\
         \n     {t2} && curl -fsS {url}/api/v1/ledger/verify -H \"Authorization: Bearer $TOKEN\"\
         \n  4. the district's report for the last 30 days:\
         \n     {t2} && curl -fsS '{url}/api/v1/reports/summary?org_id={did}' -H \"Authorization: Bearer $TOKEN\"\
         \n  5. batch jobs and exports on this database, from another terminal in this directory:\
         \n     DATABASE_URL={db} {exe} verify\
         \n     DATABASE_URL={db} {exe} settle\
         \n     DATABASE_URL={db} {exe} export --org 株洲市/荷塘区 --from 2026-01-01 --to 2026-12-31 --format jsonl\
         \n\n  stop: Ctrl-C.  start again: the same command (the data is kept).  start afresh: delete {path}* first.\n",
        n = s.volunteers,
        exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "timebank".to_owned()),
        secret = config.jwt_secret_source,
        admin = s.admin_phone,
        apw = ADMIN_PASSWORD,
        vpw = VOLUNTEER_PASSWORD,
        t1 = token(&s.volunteer_phone, VOLUNTEER_PASSWORD),
        vphone = s.volunteer_phone,
        vid = s.volunteer_id,
        t2 = token(s.admin_phone, ADMIN_PASSWORD),
        dn = marks.district.1,
        did = marks.district.0,
        cn = marks.community.1,
        cid = marks.community.0,
        sn = marks.site.1,
        sid = marks.site.0,
        iname = marks.item.1,
        iid = marks.item.0,
        path = config
            .database
            .sqlite_path()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        history = s
            .counts
            .as_ref()
            .map(|(earned, spent, served, organised)| earned.describe()
                + &spent.describe()
                + &served.describe()
                + &organised.describe())
            .unwrap_or_default(),
    );
}
