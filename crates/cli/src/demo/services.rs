//! The demo's services: residents, requests in every state (open, declined
//! and reopened, dispatched, accepted with points held, completed, disputed,
//! rated, cancelled) and micro-wishes from open to confirmed.

use chrono::Duration;
use timebank_directory::{self as directory, Org};
use timebank_kernel::anyone;
use timebank_ledger::Amount;
use timebank_rules::states::RequestStatus;
use timebank_services::requests::{self as services, NewRequest};
use timebank_services::wishes::{self, Claimer};
use timebank_store::DbConnection;

use super::api;

pub const RESIDENT_PASSWORD: &str = "resident-demo";

#[derive(Debug, Default)]
pub struct Counts {
    pub residents: usize,
    pub requests: usize,
    pub wishes: usize,
}

const RESIDENTS: [&str; 5] = ["李奶奶", "王大爷", "赵阿姨", "刘爷爷", "陈婆婆"];
const CATEGORIES: [&str; 5] = ["助老陪护", "维修", "代买", "理发", "心理疏导"];

pub fn load(
    conn: &mut DbConnection,
    communities: &[Org],
    by_community: &[Vec<String>],
    admin: &str,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let hash = timebank_directory::passwords::hash_password(RESIDENT_PASSWORD).map_err(api)?;
    let mut residents = Vec::new();
    for (i, name) in RESIDENTS.iter().enumerate() {
        let community = &communities[i % communities.len()];
        let id = directory::register_resident(
            conn,
            name,
            &format!("137000000{:02}", i + 1),
            &hash,
            &community.id,
        )?;
        directory::approve_resident(conn, &id, admin, &timebank_kernel::anyone)?;
        residents.push((id, community.clone()));
    }
    // Two have just registered and wait for the community's approval.
    for (i, name) in ["孙大妈", "周师傅"].iter().enumerate() {
        directory::register_resident(
            conn,
            name,
            &format!("137000001{i:02}"),
            &hash,
            &communities[i % communities.len()].id,
        )?;
    }
    counts.residents = residents.len() + 2;
    // The first resident can pay for services with points from the pool.
    timebank_redemption::gifts::grant(
        conn,
        &residents[0].0,
        Amount::from_units(1000),
        "困难老人帮扶",
        admin,
        timebank_store::now(),
        &timebank_kernel::anyone,
    )?;

    let now = timebank_store::now();
    // Where each request's story stops (a declined one is open again).
    use RequestStatus as S;
    let states = [
        (S::Open, false),
        (S::Open, true),
        (S::Dispatched, false),
        (S::Accepted, false),
        (S::Completed, false),
        (S::Disputed, false),
        (S::Rated, false),
        (S::Rated, false),
        (S::Rated, false),
        (S::Cancelled, false),
    ];
    for (n, &(state, declined)) in states.iter().enumerate() {
        // The accepted one is paid by the resident who has points: they stay held.
        let requester_pays = state == S::Accepted;
        let (requester, community) = if requester_pays {
            &residents[0]
        } else {
            &residents[n % residents.len()]
        };
        let ci = communities
            .iter()
            .position(|c| c.id == community.id)
            .unwrap_or(0);
        let helpers = by_community.get(ci).map(Vec::as_slice).unwrap_or_default();
        let (Some(volunteer), Some(other)) = (helpers.get(1), helpers.get(2)) else {
            continue;
        };
        let r = services::create(
            conn,
            NewRequest {
                requester_id: requester.clone(),
                community_id: community.id.clone(),
                category: CATEGORIES[n % CATEGORIES.len()].to_owned(),
                description: format!(
                    "{}需要{}服务",
                    RESIDENTS[n % RESIDENTS.len()],
                    CATEGORIES[n % CATEGORIES.len()]
                ),
                wanted_at: now + Duration::days(n as i64 + 1),
                wanted_until: Some(now + Duration::days(n as i64 + 1) + Duration::hours(4)),
                requester_pays,
                max_hours: Amount::from_units(200),
            },
        )?;
        counts.requests += 1;
        if state == S::Open && !declined {
            continue;
        }
        if declined {
            services::dispatch(conn, &r.id, other, admin, &anyone)?;
            services::decline(conn, &r.id, other, "时间冲突，请改派他人")?;
            continue;
        }
        services::dispatch(conn, &r.id, volunteer, admin, &anyone)?;
        if state == S::Dispatched {
            continue;
        }
        if state == S::Cancelled {
            services::cancel(conn, &r.id, requester, Some("子女已回家处理"), &anyone)?;
            continue;
        }
        services::accept(conn, &r.id, volunteer)?;
        if state == S::Accepted {
            continue;
        }
        services::complete(
            conn,
            &r.id,
            volunteer,
            Amount::from_units(150 + 50 * (n as i64 % 3)),
        )?;
        match state {
            S::Disputed => {
                services::rate(conn, &r.id, requester, 3, Some("实际时间没有这么长"), true)?;
            }
            S::Rated => {
                services::rate(
                    conn,
                    &r.id,
                    requester,
                    4 + (n as i32 % 2),
                    Some("非常耐心，谢谢！"),
                    false,
                )?;
            }
            _ => {}
        }
    }

    // Micro-wishes: open, claimed, fulfilled, and confirmed with an award.
    let wishes_text = [
        "想要一套小学课外读物",
        "希望有人陪我去医院复查",
        "想学用智能手机视频通话",
        "家里的旧收音机坏了想修好",
    ];
    for (n, text) in wishes_text.iter().enumerate() {
        let (requester, community) = &residents[n % residents.len()];
        let ci = communities
            .iter()
            .position(|c| c.id == community.id)
            .unwrap_or(0);
        let wish = wishes::create(
            conn,
            requester,
            "微心愿",
            text,
            Some(Amount::from_units(5000)),
        )?;
        counts.wishes += 1;
        let Some(volunteer) = by_community.get(ci).and_then(|v| v.get(3)) else {
            continue;
        };
        if n == 0 {
            continue;
        }
        wishes::claim(conn, &wish.id, Claimer::Volunteer(volunteer.clone()))?;
        if n == 1 {
            continue;
        }
        wishes::fulfil(
            conn,
            &wish.id,
            "已完成，老人很满意",
            &timebank_kernel::anyone,
        )?;
        if n == 2 {
            continue;
        }
        wishes::confirm(conn, &wish.id, requester)?;
    }
    Ok(counts)
}

impl Counts {
    pub fn describe(&self) -> String {
        format!(
            "\n  services:   {} residents, {} service requests in every state, {} micro-wishes",
            self.residents, self.requests, self.wishes
        )
    }
}
