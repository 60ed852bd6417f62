//! The benchmark's district, loaded through the real domain code: one
//! district, its streets and communities, funded volunteers, sites with a
//! catalog item in stock; then, for the batch and scale runs, history.

use anyhow::Context;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use timebank_directory::{self as directory, Org, OrgKind};
use timebank_ledger::{AccountKind, Amount, Asset, NewTransaction, Transfer, TxKind};
use timebank_redemption::catalog::{self, NewItem};
use timebank_redemption::sites;
use timebank_redemption::stock::{self, MovementKind};
use timebank_rules::states::ActivityStatus;
use timebank_store::schema::{accounts, activities, attendances};
use timebank_store::{DbConnection, write_tx};

const STREETS: usize = 5;
const COMMUNITIES_PER_STREET: usize = 2;
/// Points every volunteer starts with: enough for every write a run makes.
/// In hundredths: 1,000,000.00 points.
const FUNDING: i64 = 100_000_000;
const ITEM_PRICE: i64 = 1_00;
const STOCK_PER_SITE: i32 = 10_000_000;

/// What the load generator needs to know about the loaded district.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub district_id: String,
    pub admin_id: String,
    pub volunteer_ids: Vec<String>,
    pub site_ids: Vec<String>,
    pub item_id: String,
}

fn domain(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Loads the district in one transaction.
pub fn district(
    conn: &mut DbConnection,
    volunteers: usize,
    site_count: usize,
) -> anyhow::Result<Fixture> {
    // One hash for everyone: argon2 per volunteer would dominate the load.
    let hash = timebank_directory::passwords::hash_password("bench-password").map_err(domain)?;
    write_tx(conn, |conn| {
        let district =
            directory::create_org(conn, "基准测试区", OrgKind::District, None).map_err(domain)?;
        let admin_id =
            directory::create_user(conn, "区级管理员", "13900000000", &hash).map_err(domain)?;
        directory::grant_org_role(conn, &admin_id, "org_admin", &district.id, None)
            .map_err(domain)?;
        let mut communities: Vec<Org> = Vec::new();
        for s in 0..STREETS {
            let street = directory::create_org(
                conn,
                &format!("第{}街道", s + 1),
                OrgKind::Street,
                Some(&district),
            )
            .map_err(domain)?;
            for c in 0..COMMUNITIES_PER_STREET {
                communities.push(
                    directory::create_org(
                        conn,
                        &format!("第{}街道第{}社区", s + 1, c + 1),
                        OrgKind::Community,
                        Some(&street),
                    )
                    .map_err(domain)?,
                );
            }
        }
        let mut issuers = Vec::new();
        for community in &communities {
            issuers.push(
                timebank_ledger::open_account(
                    conn,
                    AccountKind::OrgIssuance,
                    &community.id,
                    &community.path,
                )
                .map_err(domain)?,
            );
        }
        let mut volunteer_ids = Vec::with_capacity(volunteers);
        for i in 0..volunteers {
            let ci = i % communities.len();
            let id = directory::register_volunteer(
                conn,
                &format!("志愿者{i}"),
                &format!("137{i:08}"),
                &hash,
                &communities[ci].id,
                &[],
            )
            .map_err(domain)?;
            directory::approve_volunteer(conn, &id, &admin_id, &timebank_kernel::anyone)
                .map_err(domain)?;
            let wallet = timebank_ledger::find_account(conn, AccountKind::VolunteerWallet, &id)
                .map_err(domain)?
                .context("no wallet")?;
            let funding = Amount::from_units(FUNDING);
            Transfer::new(TxKind::Adjustment, "基准测试开户")
                .by(&admin_id)
                .once(format!("bench-fund:{id}"))
                .moving(Asset::Point, funding, &issuers[ci].id, &wallet.id)
                .post_in(conn)
                .map_err(domain)?;
            volunteer_ids.push(id);
        }
        let item = catalog::create(
            conn,
            &district,
            NewItem {
                name: "爱心兑换券".to_owned(),
                description: "基准测试商品".to_owned(),
                points_price: Amount::from_units(ITEM_PRICE),
                min_star_level: None,
                limit_per_person_per_quarter: None,
            },
            &admin_id,
        )
        .map_err(domain)?;
        let mut site_ids = Vec::with_capacity(site_count);
        for n in 0..site_count {
            let org = &communities[n % communities.len()];
            let site = sites::create(
                conn,
                org,
                &format!("爱心超市{n}"),
                &format!("{}服务站", org.name),
                &admin_id,
            )
            .map_err(domain)?;
            stock::apply(
                conn,
                &site.id,
                &item.id,
                MovementKind::Restock,
                STOCK_PER_SITE,
                "基准测试入库",
                None,
                &admin_id,
            )
            .map_err(domain)?;
            site_ids.push(site.id);
        }
        Ok(Fixture {
            district_id: district.id,
            admin_id,
            volunteer_ids,
            site_ids,
            item_id: item.id,
        })
    })
}

/// Postings in the ledger, as `/metrics` counts them.
pub fn posting_count(conn: &mut DbConnection) -> anyhow::Result<i64> {
    Ok(timebank_ledger::read::posting_count(conn)?)
}

/// Posts small adjustments (issuance → wallet, through the ledger crate,
/// hash chains and all) until the ledger holds at least `target` postings.
pub fn grow_ledger(
    conn: &mut DbConnection,
    fixture: &Fixture,
    target: i64,
    report: &dyn Fn(i64),
) -> anyhow::Result<()> {
    let mut have = posting_count(conn)?;
    let pairs: Vec<(String, String)> = fixture
        .volunteer_ids
        .iter()
        .map(|id| -> anyhow::Result<(String, String)> {
            let wallet = timebank_ledger::find_account(conn, AccountKind::VolunteerWallet, id)
                .map_err(domain)?
                .context("no wallet")?;
            let issuer = accounts::table
                .filter(accounts::kind.eq("org_issuance"))
                .filter(accounts::org_path.eq(&wallet.org_path))
                .select(accounts::id)
                .first::<String>(conn)?;
            Ok((issuer, wallet.id))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut n = 0usize;
    while have < target {
        let batch: Vec<NewTransaction> = (0..5_000)
            .map(|_| {
                let (issuer, wallet) = &pairs[n % pairs.len()];
                n += 1;
                Transfer::new(TxKind::Adjustment, "基准测试历史")
                    .by(&fixture.admin_id)
                    .moving(Asset::Point, Amount::from_units(1), issuer, wallet)
                    .into_new()
            })
            .collect();
        write_tx(conn, |c| timebank_ledger::post_many_in(c, &batch)).map_err(domain)?;
        have += 10_000;
        report(have);
    }
    Ok(())
}

/// Volunteers per benchmark activity.
pub const ATTENDANCE_PER_ACTIVITY: usize = 100;

/// `count` checked-out attendance rows, unsettled: activities of two hours
/// on successive past days, each volunteer at most once a day so no daily
/// cap or overlap refuses them. Written with plain inserts, as a year of
/// check-ins would have left them.
pub fn attendances(
    conn: &mut DbConnection,
    fixture: &Fixture,
    count: usize,
    report: &dyn Fn(usize),
) -> anyhow::Result<()> {
    let communities: Vec<(String, String)> = {
        use timebank_store::schema::volunteers;
        volunteers::table
            .filter(volunteers::user_id.eq_any(&fixture.volunteer_ids))
            .select((volunteers::user_id, volunteers::community_id))
            .load(conn)?
    };
    let community_of: std::collections::HashMap<String, String> = communities.into_iter().collect();
    let n_activities = count.div_ceil(ATTENDANCE_PER_ACTIVITY);
    let first_day = NaiveDate::from_ymd_opt(2000, 1, 1).context("date")?;
    let now = timebank_store::now();
    let volunteers = &fixture.volunteer_ids;
    let mut written = 0usize;
    for chunk in (0..n_activities).collect::<Vec<_>>().chunks(50) {
        write_tx(conn, |c| -> anyhow::Result<()> {
            for &a in chunk {
                let starts = first_day
                    .checked_add_signed(Duration::days(a as i64))
                    .and_then(|d| d.and_hms_opt(1, 0, 0))
                    .context("date")?;
                let ends = starts + Duration::hours(2);
                let first_volunteer = (a * ATTENDANCE_PER_ACTIVITY) % volunteers.len();
                let org_id = community_of
                    .get(&volunteers[first_volunteer])
                    .context("community")?;
                let activity_id = timebank_store::new_id();
                diesel::insert_into(activities::table)
                    .values((
                        activities::id.eq(&activity_id),
                        activities::org_id.eq(org_id),
                        activities::title.eq(format!("基准活动{a}")),
                        activities::category.eq("community"),
                        activities::description.eq(""),
                        activities::starts_at.eq(starts),
                        activities::ends_at.eq(ends),
                        activities::capacity.eq(ATTENDANCE_PER_ACTIVITY as i32),
                        activities::status.eq(ActivityStatus::Published),
                        activities::signed_up.eq(0),
                        activities::code_secret.eq("bench"),
                        activities::created_by.eq(&fixture.admin_id),
                        activities::created_at.eq(now),
                    ))
                    .execute(c)?;
                let take = ATTENDANCE_PER_ACTIVITY
                    .min(count - written)
                    .min(volunteers.len());
                let rows: Vec<_> = (0..take)
                    .map(|j| {
                        (
                            attendances::id.eq(timebank_store::new_id()),
                            attendances::activity_id.eq(activity_id.clone()),
                            attendances::volunteer_id
                                .eq(volunteers[(first_volunteer + j) % volunteers.len()].clone()),
                            attendances::check_in_at.eq(starts),
                            attendances::check_out_at.eq(Some(ends)),
                            attendances::source.eq("organiser"),
                            attendances::recorded_by.eq(fixture.admin_id.clone()),
                            attendances::created_at.eq(now),
                        )
                    })
                    .collect();
                // Multi-row INSERT is per backend in diesel.
                let insert = diesel::insert_into(attendances::table).values(&rows);
                match c {
                    DbConnection::Sqlite(s) => insert.execute(s)?,
                    DbConnection::Pg(p) => insert.execute(p)?,
                };
                written += take;
            }
            Ok(())
        })?;
        report(written);
    }
    Ok(())
}
