//! The demo's spending: a site per street and one at the district service
//! centre, a catalog with stock, orders handed out and waiting, a family
//! gift, and the public pool given to and granted from.

use timebank_directory::{self as directory, Org};
use timebank_ledger::Amount;
use timebank_redemption::catalog::{self, NewItem};
use timebank_redemption::gifts::{self, Recipient};
use timebank_redemption::stock::{self, MovementKind};
use timebank_redemption::{orders, sites};
use timebank_store::DbConnection;

use super::{ADMIN_PASSWORD, api};

pub const OPERATOR_PHONE: &str = "13800000004";

#[derive(Debug, Default)]
pub struct Counts {
    pub sites: usize,
    pub items: usize,
    pub fulfilled: usize,
    pub pending: usize,
}

/// name, description, price in hundredths, minimum star level, limit per quarter
type CatalogEntry = (&'static str, &'static str, i64, Option<i32>, Option<i32>);

const CATALOG: [CatalogEntry; 6] = [
    ("大米 5kg", "东北大米，每袋 5 公斤", 3000, None, None),
    ("食用油 5L", "非转基因菜籽油", 2500, None, None),
    ("理发券", "社区理发店单次理发", 1000, None, Some(1)),
    ("公交卡充值 50 元", "株洲公交卡充值", 5000, None, Some(2)),
    ("洗衣液 2kg", "", 1500, None, None),
    ("家政服务券", "2 小时上门家政服务", 6000, Some(3), Some(1)),
];

/// The sites and the catalog, opened at the start of the history.
pub struct Shops {
    pub site_ids: Vec<String>,
    pub items: Vec<String>,
    streets: usize,
}

pub fn open_shops(
    conn: &mut DbConnection,
    district: &Org,
    streets: &[Org],
    community: &Org,
    admin: &str,
) -> anyhow::Result<Shops> {
    let mut site_ids = Vec::new();
    let centre = sites::create(
        conn,
        district,
        "荷塘区志愿服务中心兑换点",
        "荷塘区新华东路 100 号",
        admin,
    )?;
    site_ids.push(centre.id.clone());
    for street in streets {
        let site = sites::create(
            conn,
            street,
            &format!("{}爱心超市", street.name),
            &format!("{}党群服务中心一楼", street.name),
            admin,
        )?;
        site_ids.push(site.id);
    }
    // A community's own counter, last in the list.
    let corner = sites::create(
        conn,
        community,
        &format!("{}爱心驿站", community.name),
        &format!("{}居委会", community.name),
        admin,
    )?;
    site_ids.push(corner.id);
    let hash = timebank_directory::passwords::hash_password(ADMIN_PASSWORD).map_err(api)?;
    let operator = directory::create_user(conn, "兑换点值班员", OPERATOR_PHONE, &hash)?;
    sites::add_operator(conn, &centre, &operator, admin)?;

    let mut items = Vec::new();
    for (name, description, price, min_star, limit) in CATALOG {
        let item = catalog::create(
            conn,
            district,
            NewItem {
                name: name.to_owned(),
                description: description.to_owned(),
                points_price: Amount::from_units(price),
                min_star_level: min_star,
                limit_per_person_per_quarter: limit,
            },
            admin,
        )?;
        for (n, site) in site_ids.iter().enumerate() {
            stock::apply(
                conn,
                site,
                &item.id,
                MovementKind::Restock,
                20 + 10 * n as i32,
                "首批入库",
                None,
                admin,
            )?;
        }
        items.push(item.id);
    }
    Ok(Shops {
        site_ids,
        items,
        streets: streets.len(),
    })
}

/// A month's orders, placed and handed out at `now` (the clock): across
/// streets (通存通兑), volunteers redeem at the next street's site.
pub fn month(
    conn: &mut DbConnection,
    shops: &Shops,
    by_community: &[Vec<String>],
    month: i64,
    admin: &str,
    now: chrono::NaiveDateTime,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    for (ci, locals) in by_community.iter().enumerate() {
        for (i, volunteer) in locals
            .iter()
            .enumerate()
            .skip(month as usize % 3)
            .step_by(3)
        {
            // Some never spend: their oldest points expire.
            if i % 5 == 4 {
                continue;
            }
            // Most at the next street's supermarket, some at the district centre.
            let site = if (i + month as usize).is_multiple_of(4) {
                &shops.site_ids[0]
            } else {
                &shops.site_ids[1 + (ci / 2 + 1) % shops.streets]
            };
            let item = &shops.items[(ci + i + month as usize) % shops.items.len()];
            let Ok(order) = orders::place(conn, volunteer, item, site, 1, now) else {
                continue; // not enough points, a quarter's limit: fine for a demo
            };
            // Now and then one changes their mind, or never comes (the
            // order expires and is refunded by the next month's job).
            match (ci + i + month as usize) % 9 {
                0 => {
                    orders::cancel(
                        conn,
                        &order.id,
                        volunteer,
                        false,
                        now,
                        &timebank_kernel::anyone,
                    )?;
                }
                1 => {}
                _ => {
                    orders::fulfil(
                        conn,
                        &order.id,
                        &order.pickup_code,
                        admin,
                        now,
                        &timebank_kernel::anyone,
                    )??;
                    counts.fulfilled += 1;
                }
            }
        }
    }
    Ok(())
}

/// What happened this week: orders waiting for pickup, a family gift, a
/// donation to the pool and a grant from it.
pub fn recent(
    conn: &mut DbConnection,
    shops: &Shops,
    by_community: &[Vec<String>],
    admin: &str,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    counts.sites = shops.site_ids.len();
    counts.items = shops.items.len();
    let now = timebank_store::now();
    for (ci, locals) in by_community.iter().enumerate() {
        if let Some(volunteer) = locals.get(2) {
            let site = &shops.site_ids[1 + (ci / 2 + 1) % shops.streets];
            if orders::place(conn, volunteer, &shops.items[ci % 2], site, 1, now).is_ok() {
                counts.pending += 1;
            }
        }
    }
    // Two will pick theirs up at the district centre, two neighbours at the
    // community's counter.
    if let (Some(centre), Some(locals)) = (shops.site_ids.first(), by_community.get(1)) {
        for volunteer in locals.iter().skip(3).take(2) {
            if orders::place(conn, volunteer, &shops.items[0], centre, 1, now).is_ok() {
                counts.pending += 1;
            }
        }
    }
    // Two neighbours will pick theirs up at the community's counter.
    if let (Some(corner), Some(locals)) = (shops.site_ids.last(), by_community.first()) {
        for volunteer in locals.iter().skip(3).take(2) {
            if orders::place(conn, volunteer, &shops.items[4], corner, 1, now).is_ok() {
                counts.pending += 1;
            }
        }
    }

    // A family gift, a donation to the pool, and a grant from it.
    let (Some(parent), Some(child)) = (
        by_community.first().and_then(|v| v.get(1)),
        by_community.get(1).and_then(|v| v.get(1)),
    ) else {
        return Ok(());
    };
    let link = gifts::request_link(conn, parent, child, "child")?;
    gifts::confirm_link(conn, &link.id, child)?;
    gifts::give(
        conn,
        parent,
        Recipient::Person(child.clone()),
        Amount::from_units(2000),
        Some("给孩子的学习用品".to_owned()),
        now,
    )?;
    gifts::give(
        conn,
        parent,
        Recipient::Pool,
        Amount::from_units(3000),
        Some("捐给公益池".to_owned()),
        now,
    )?;
    if let Some(in_need) = by_community.get(2).and_then(|v| v.last()) {
        gifts::grant(
            conn,
            in_need,
            Amount::from_units(1500),
            "困难家庭帮扶",
            admin,
            now,
            &timebank_kernel::anyone,
        )?;
    }
    Ok(())
}

impl Counts {
    pub fn describe(&self) -> String {
        format!(
            "\n  spending:   {} sites, {} catalog items with stock, {} orders handed out, {} waiting for pickup",
            self.sites, self.items, self.fulfilled, self.pending
        )
    }
}
