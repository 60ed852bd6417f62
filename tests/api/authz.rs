//! The authorization matrix: for each route, what each kind of caller gets.
//! One row per route, one column per caller:
//!
//! | col | caller                                                        |
//! |-----|---------------------------------------------------------------|
//! | an  | anonymous (no token)                                          |
//! | vo  | the volunteer the request is about (community A)              |
//! | ov  | another volunteer of the same community                       |
//! | cA  | admin of community A        | cB | admin of community B         |
//! | st  | admin of street 1 (above A) |                                   |
//! | dA  | admin of the district (above A and B) | dB | of another district |
//! | oA  | operator of site A (in A)   | oB | operator of site B (in B)    |
//! | au  | auditor over the district   | sy | a system token (batch jobs)  |
//! | tl  | leader of team T (an active volunteer of A)                   |
//! | ua  | admin of partner unit U (a user not yet an approved volunteer) |
//! | um  | a member of unit U and of team T (an active volunteer of A)   |
//!
//! The organisation tree is public (registration picks a community from
//! it); a system token is no person, so it has no wallet of its own; an
//! activity under review is seen only by admins over it and auditors; the
//! district pool is granted from by district admins.
//!
//! Cells: `+` allowed (2xx, or a business answer such as 409/422 once the
//! request is past authorization), `-` refused 403, `a` 401, `.` not
//! asserted (the answer depends on the caller's own state, e.g. staff who
//! are not active volunteers placing an order). Refusals are sent before
//! the allowed calls of the same row, so an allowed call's effect can never
//! turn a refusal into a state answer.

use serde_json::{Value, json};
use timebank_api::auth::TokenKeys;

use crate::helpers::*;

const CALLERS: [&str; 15] = [
    "an", "vo", "ov", "cA", "cB", "st", "dA", "dB", "oA", "oB", "au", "sy", "tl", "ua", "um",
];

/// (method, path, body, cells). Paths and bodies use `{name}` placeholders
/// filled from the world below.
const MATRIX: &[(&str, &str, &str, &str)] = &[
    //                                                               an vo ov cA cB st dA dB oA oB au sy tl ua um
    ("GET", "/me", "", "a++++++++++++.+"),
    ("GET", "/me/balance", "", "a++++++++++-+.+"),
    ("GET", "/orgs/{A}", "", "+++++++++++++.+"),
    ("GET", "/orgs/{A}/children", "", "+++++++++++++.+"),
    (
        "POST",
        "/orgs",
        r#"{"name":"新社区","kind":"community","parent_id":"{S1}"}"#,
        "a----++----+---",
    ),
    (
        "POST",
        "/orgs/{A}/admins",
        r#"{"user_id":"{spare}"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/volunteers/{pending}/approve",
        "",
        "a--+-++----+---",
    ),
    ("GET", "/volunteers/{vo}", "", "a+-+-++---++---"),
    ("GET", "/volunteers/{vo}/balance", "", "a+-+-++---++---"),
    ("GET", "/volunteers/{vo}/entries", "", "a+-+-++---++---"),
    ("GET", "/volunteers/{vo}/stars", "", "a+-+-++---++---"),
    ("GET", "/volunteers/{vo}/violations", "", "a+-+-++---++---"),
    ("GET", "/volunteers/{vo}/redemptions", "", "a+-+-++---++---"),
    ("GET", "/transactions/{tx}", "", "a+-+-++---++---"),
    (
        "POST",
        "/transactions/{tx2}/reverse",
        r#"{"reason":"录入错误"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/violations",
        r#"{"volunteer_id":"{vo}","transaction_ids":[],"reason":"虚报"}"#,
        "a--+-++----+---",
    ),
    ("GET", "/ledger/verify", "", "a--+++++--++---"),
    ("GET", "/policies/{kind}?org_id={D}", "", "a++++++++++++.+"),
    (
        "PUT",
        "/policies/{kind}?org_id={D}",
        r#"{"points_per_hour":"1.00"}"#,
        "a-----+----+---",
    ),
    (
        "POST",
        "/activities",
        r#"{"org_id":"{A}","title":"义剪","category":"助老","starts_at":"2027-03-01T01:00:00Z","ends_at":"2027-03-01T03:00:00Z","capacity":5}"#,
        "a--+-++----+---",
    ),
    ("GET", "/activities/{act}", "", "a--+-++---++---"),
    (
        "POST",
        "/activities/{act}/review",
        r#"{"decision":"approve"}"#,
        "a--+-++----+---",
    ),
    ("GET", "/activities/{act}/code", "", "a--+-++----+---"),
    (
        "POST",
        "/activities/{act}/attendance",
        r#"{"volunteer_id":"{vo}","check_in_at":"2027-03-01T01:00:00Z","check_out_at":"2027-03-01T03:00:00Z"}"#,
        "a--+-++----+---",
    ),
    ("GET", "/activities/{act}/attendance", "", "a--+-++---++---"),
    ("POST", "/activities/{act}/settle", "", "a--+-++----+---"),
    (
        "POST",
        "/sites",
        r#"{"org_id":"{A}","name":"新站","address":"x"}"#,
        "a--+-++----+---",
    ),
    ("GET", "/sites/{siteA}", "", "a++++++++++++.+"),
    (
        "POST",
        "/sites/{siteA}/operators",
        r#"{"user_id":"{spare}"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/sites/{siteA}/stock",
        r#"{"item_id":"{item}","delta":1,"reason":"入库"}"#,
        "a--+-++-+--+---",
    ),
    (
        "POST",
        "/catalog/items",
        r#"{"org_id":"{D}","name":"米","points_price":"3.00"}"#,
        "a-----+----+---",
    ),
    ("GET", "/catalog?site_id={siteA}", "", "a++++++++++++.+"),
    (
        "POST",
        "/redemptions",
        r#"{"item_id":"{item}","site_id":"{siteA}","quantity":1}"#,
        "a++.........+.+",
    ),
    ("GET", "/redemptions/{order1}", "", "a+-+-++-+-++---"),
    (
        "POST",
        "/redemptions/{order2}/fulfil",
        r#"{"pickup_code":"{code2}"}"#,
        "a--+-++-+--+---",
    ),
    (
        "POST",
        "/redemptions/{order1}/cancel",
        "",
        "a+-+-++----+---",
    ),
    (
        "POST",
        "/pool/grants",
        r#"{"volunteer_or_resident_id":"{vo}","points":"1.00","reason":"帮扶"}"#,
        "a-----+----+---",
    ),
    ("GET", "/reports/summary?org_id={A}", "", "a--+-++---++---"),
    ("GET", "/reports/export?org_id={A}", "", "a--+-++---++---"),
    ("POST", "/jobs/{job}", "{}", "a----------+---"),
    (
        "GET",
        "/activities?status=published&community_id={A}",
        "",
        "a++++++++++++.+",
    ),
    ("POST", "/activities/{pub}/signups", "", "a++........-+.+"),
    ("DELETE", "/activities/{pub}/signups", "", "a++........-+.+"),
    ("GET", "/sites?org_id={A}", "", "a++++++++++++.+"),
    (
        "POST",
        "/catalog/items/{item2}/retire",
        "",
        "a-----+----+---",
    ),
    ("GET", "/case-rules?org_id={A}", "", "a++++++++++++.+"),
    (
        "POST",
        "/case-rules",
        r#"{"org_id":"{A}","code":"tree_planting","name":"植树","points":"2.00"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/case-awards",
        r#"{"volunteer_id":"{vo}","rule_code":"blood_donation","occurred_at":"2026-11-01T02:00:00Z"}"#,
        "a+-+-++----+---",
    ),
    ("GET", "/case-awards/{award1}", "", "a+-+-++---++---"),
    (
        "POST",
        "/case-awards/{award1}/reject",
        r#"{"reason":"证据不足"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/case-awards/{award2}/approve",
        "",
        "a--+-++----+---",
    ),
    (
        "POST",
        "/residents/{resident}/approve",
        "",
        "a--+-++----+---",
    ),
    ("GET", "/pool?district_id={D}", "", "a-----+---++---"),
    (
        "POST",
        "/gifts",
        r#"{"to":"pool","points":"1.00"}"#,
        "a++........-+.+",
    ),
    ("GET", "/family-links", "", "a++++++++++-+.+"),
    (
        "POST",
        "/family-links",
        r#"{"user_id":"{ov}","relation":"邻居"}"#,
        "a++++++++++-+.+",
    ),
    ("GET", "/me/requests", "", "a++++++++++-+.+"),
    ("GET", "/me/assignments", "", "a++++++++++-+.+"),
    (
        "POST",
        "/service-requests",
        r#"{"community_id":"{A}","category":"维修","description":"漏水","wanted_at":"2027-03-02T02:00:00Z","payment":"platform"}"#,
        "a++........-+.+",
    ),
    (
        "GET",
        "/service-requests?community_id={A}",
        "",
        "a--+-++---++---",
    ),
    ("GET", "/service-requests/{request}", "", "a+-+-++---++---"),
    (
        "POST",
        "/service-requests/{request}/dispatch",
        r#"{"volunteer_id":"{ov}"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/wishes",
        r#"{"description":"一个书包"}"#,
        "a++........-+.+",
    ),
    ("GET", "/wishes/{wish}", "", "a++++++++++++.+"),
    ("GET", "/orgs/{A}/needs", "", "a--+-++---++---"),
    ("GET", "/orgs/{A}/resources", "", "a--+-++---++---"),
    ("GET", "/reports/services?org_id={A}", "", "a--+-++---++---"),
    // Lifecycle steps: who may take them depends on the object (the
    // dispatched volunteer, the requester, the claimer, the invited
    // person); callers with no part in it anywhere are refused.
    (
        "POST",
        "/activities/{pub}/check-in",
        r#"{"code":"000000"}"#,
        "a...-..-.--....",
    ),
    (
        "POST",
        "/activities/{pub}/check-out",
        r#"{"code":"000000"}"#,
        "a...-..-.--....",
    ),
    (
        "POST",
        "/family-links/{link}/confirm",
        "",
        "a...-..-.--....",
    ),
    (
        "POST",
        "/service-requests/{request}/accept",
        "",
        "a...-..-.--....",
    ),
    (
        "POST",
        "/service-requests/{request}/decline",
        r#"{"reason":"没空"}"#,
        "a...-..-.--....",
    ),
    (
        "POST",
        "/service-requests/{request}/complete",
        r#"{"hours":"1.00"}"#,
        "a...-..-.--....",
    ),
    (
        "POST",
        "/service-requests/{request}/rate",
        r#"{"stars":5}"#,
        "a...-..-.--....",
    ),
    (
        "POST",
        "/service-requests/{request}/resolve",
        r#"{"hours":"1.00"}"#,
        "a...-..-.--....",
    ),
    (
        "POST",
        "/service-requests/{request}/cancel",
        r#"{"reason":"不需要了"}"#,
        "a...-..-.--....",
    ),
    ("POST", "/wishes/{wish}/claim", "{}", "a...-..-.--...."),
    (
        "POST",
        "/wishes/{wish}/fulfil",
        r#"{"note":"送到了"}"#,
        "a...-..-.--....",
    ),
    ("POST", "/wishes/{wish}/confirm", "", "a...-..-.--...."),
    // Staff work queues and search.
    ("GET", "/volunteers?org_id={A}", "", "a--+-++---++---"),
    (
        "GET",
        "/volunteers?org_id={A}&status=pending&q=131",
        "",
        "a--+-++---++---",
    ),
    ("GET", "/residents?org_id={A}", "", "a--+-++---++---"),
    (
        "GET",
        "/case-awards?org_id={A}&status=pending",
        "",
        "a--+-++---++---",
    ),
    ("GET", "/wishes?org_id={A}", "", "a+++-++---+++.+"),
    (
        "GET",
        "/sites/{siteA}/redemptions?status=reserved",
        "",
        "a--+-++-+-++---",
    ),
    ("GET", "/violations?org_id={A}", "", "a--+-++---++---"),
    ("GET", "/transactions?org_id={A}", "", "a--+-++---++---"),
    ("GET", "/jobs", "", "a----------+---"),
    ("GET", "/orgs/{A}/admins", "", "a--+-++---++---"),
    ("GET", "/orgs/{A}/queues", "", "a--+-++---++---"),
    ("POST", "/volunteers/{vo}/reset-code", "", "a--+-++----+---"),
    (
        "POST",
        "/residents/{resident}/reset-code",
        "",
        "a--+-++----+---",
    ),
    (
        "POST",
        "/me/password",
        r#"{"current_password":"not-my-password","new_password":"a-new-pass-2027"}"#,
        "a++++++++++-+.+",
    ),
    // Teams, units, the three lists and projects: tl leads team {T}, ua
    // administers unit {U}, um is a member of both and applied for {TP}.
    (
        "POST",
        "/teams",
        r#"{"org_id":"{A}","name":"新队","category":"助老","leader_id":"{tl}"}"#,
        "a--+-++----++--",
    ),
    ("GET", "/teams?org_id={A}", "", "a++++++++++++++"),
    ("GET", "/teams/{T}", "", "a++++++++++++++"),
    ("POST", "/teams/{TP}/approve", "", "a--+-++----+---"),
    (
        "POST",
        "/teams/{TP}/reject",
        r#"{"reason":"重复"}"#,
        "a--+-++----+---",
    ),
    ("POST", "/teams/{TP}/dissolve", "", "a--+-++----+---"),
    (
        "POST",
        "/teams/{T}/members",
        r#"{"volunteer_id":"{ov}"}"#,
        "a--+-++----++--",
    ),
    (
        "POST",
        "/teams/{T}/leader",
        r#"{"volunteer_id":"{tl}"}"#,
        "a--+-++----++--",
    ),
    (
        "POST",
        "/teams/{T}/honours",
        r#"{"rule_code":"team_star","occurred_at":"2026-11-01T02:00:00Z"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/teams/{T}/donate",
        r#"{"points":"1.00"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/teams/{T}/grant",
        r#"{"volunteer_id":"{um}","points":"1.00","reason":"表彰"}"#,
        "a--+-++----+---",
    ),
    // The first allowed call removes the member; the others would be 404.
    ("DELETE", "/teams/{T}/members/{ov}", "", "a-.+-..----..--"),
    (
        "POST",
        "/activities",
        r#"{"team_id":"{T}","title":"义诊","category":"医疗","starts_at":"2027-03-01T01:00:00Z","ends_at":"2027-03-01T03:00:00Z","capacity":5}"#,
        "a--+-++----++--",
    ),
    (
        "POST",
        "/units",
        r#"{"name":"新单位","kind":"enterprise","org_id":"{A}"}"#,
        "a++++++++++++++",
    ),
    ("GET", "/units?org_id={A}", "", "a++++++++++++++"),
    ("GET", "/units/{U}", "", "a++++++++++++++"),
    ("POST", "/units/{UP}/approve", "", "a--+-++----+---"),
    (
        "POST",
        "/units/{UP}/reject",
        r#"{"reason":"资料不全"}"#,
        "a--+-++----+---",
    ),
    ("POST", "/units/{UP}/withdraw", "", "a+-+-++----+---"),
    (
        "POST",
        "/units/{U}/members",
        r#"{"volunteer_id":"{um}"}"#,
        "a--+-++----+-++",
    ),
    ("DELETE", "/units/{U}/members/{ov}", "", "a-.+-..----.-.-"),
    (
        "POST",
        "/units/{U}/admins",
        r#"{"user_id":"{spare}"}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/volunteers/{vo}/party-member",
        r#"{"party_member":true}"#,
        "a--+-++----+---",
    ),
    (
        "POST",
        "/list-items",
        r#"{"list":"resource","unit_id":"{U}","category":"场地","title":"会议室","description":"可借用"}"#,
        "a--+-++----+-+-",
    ),
    (
        "GET",
        "/list-items?list=need&org_id={A}",
        "",
        "a++++++++++++++",
    ),
    ("GET", "/list-items/{N}", "", "a++++++++++++++"),
    (
        "POST",
        "/list-items/{N}/claim",
        r#"{"by_team_id":"{T}"}"#,
        "a--+-++----++--",
    ),
    ("POST", "/list-items/{N}/unclaim", "", "a--+-++----++--"),
    ("POST", "/list-items/{N}/decline", "", "a--+-++----+---"),
    ("POST", "/list-items/{N}/confirm", "", "a--+-++----+---"),
    ("POST", "/list-items/{R}/withdraw", "", "a--+-++----+-+-"),
    ("GET", "/projects?org_id={A}", "", "a++++++++++++++"),
    ("GET", "/projects/{P}", "", "a++++++++++++++"),
    ("POST", "/projects/{P}/start", "", "a--+-++----+-+-"),
    ("POST", "/projects/{P}/assess", "", "a--+-++----+-+-"),
    (
        "POST",
        "/projects/{P}/close",
        r#"{"result":"完成","rating":5}"#,
        "a--+-++----+---",
    ),
    ("POST", "/projects/{P}/cancel", "", "a--+-++----+---"),
    // Revocations last: every caller above keeps its grants.
    (
        "DELETE",
        "/sites/{siteA}/operators/{spare}",
        "",
        "a--+-++----+---",
    ),
    ("DELETE", "/orgs/{A}/admins/{spare}", "", "a--+-++----+---"),
];

/// Routes outside the matrix, and why: no caller is refused.
const NOT_IN_MATRIX: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "public"),
    ("GET", "/readyz", "public"),
    ("GET", "/metrics", "public"),
    ("GET", "/openapi.yaml", "public"),
    ("POST", "/api/v1/auth/login", "public"),
    ("POST", "/api/v1/auth/refresh", "public"),
    ("POST", "/api/v1/volunteers/register", "public"),
    ("POST", "/api/v1/residents/register", "public"),
    (
        "POST",
        "/api/v1/auth/logout",
        "public: the refresh token is the credential",
    ),
    (
        "POST",
        "/api/v1/auth/reset",
        "public: the reset code is the credential",
    ),
    ("GET", "/", "public: redirects to the console"),
    ("GET", "/console", "public: static files"),
    ("GET", "/console/{path}", "public: static files"),
];

/// `/x/{anything}/y?q` → `/x/{}/y`, so matrix rows and spec paths compare.
fn shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_matrix_covers_every_route_in_the_spec() {
    let spec = spec();
    let covered: std::collections::BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, ..)| (m.to_string(), shape(&format!("/api/v1{p}"))))
        .chain(
            NOT_IN_MATRIX
                .iter()
                .map(|(m, p, _)| (m.to_string(), shape(p))),
        )
        .collect();
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let key = (method.to_ascii_uppercase(), shape(path));
            if !covered.contains(&key) {
                missing.push(format!("{} {}", key.0, key.1));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes with no row in the authorization matrix:\n{}",
        missing.join("\n")
    );
}

struct World {
    names: Vec<(String, String)>,
    tokens: Vec<Option<String>>,
}

impl World {
    fn fill(&self, text: &str) -> String {
        self.names.iter().fold(text.to_owned(), |t, (k, v)| {
            t.replace(&format!("{{{k}}}"), v)
        })
    }
}

fn world(app: &App) -> World {
    let t = tree(app);
    let d2 = app.org("渌口区", "district", &app.root_id);
    let s2 = app.org("南洲镇", "street", &d2);
    let c2 = app.org("南洲社区", "community", &s2);
    let (vo, vo_token) = app.active_volunteer("本人", "13100000001", &t.community_a);
    let (ov, ov_token) = app.active_volunteer("邻居", "13100000002", &t.community_a);
    let pending = app.register("待审", "13100000003", &t.community_a);
    // Receives the admin and operator grants the matrix hands out.
    let spare = app.register("备用", "13100000004", &t.community_a);
    let tx = earn(app, &vo, &t.community_a, "50.00");
    let tx2 = earn(app, &vo, &t.community_a, "5.00");
    let c_a = app.admin_of(&t.community_a, "13100000011", &t.community_a);
    let c_b = app.admin_of(&t.community_b, "13100000012", &t.community_b);
    let st = app.admin_of(&t.street_a, "13100000013", &t.community_a);
    let d_a = app.admin_of(&t.district, "13100000014", &t.community_a);
    let d_b = app.admin_of(&d2, "13100000015", &c2);
    let (site_a, item) = oil_shop(app, &t, 50);
    let site_b = app.post(
        "/api/v1/sites",
        Some(&app.admin),
        json!({ "org_id": t.community_b, "name": "B站", "address": "y" }),
    );
    let site_b = site_b.body["id"].as_str().unwrap().to_owned();
    let operator = |site: &str, phone: &str, community: &str| {
        let id = app.register("店员", phone, community);
        let r = app.post(
            &format!("/api/v1/sites/{site}/operators"),
            Some(&app.admin),
            json!({ "user_id": id }),
        );
        assert!(r.status < 300, "{}", r.body);
        app.login(phone, "volunteer-pass")
    };
    let o_a = operator(&site_a, "13100000021", &t.community_a);
    let o_b = operator(&site_b, "13100000022", &t.community_b);
    let auditor_id = app.register("审计", "13100000031", &t.community_a);
    let r = app.post(
        &format!("/api/v1/orgs/{}/admins", t.district),
        Some(&app.admin),
        json!({ "user_id": auditor_id, "role": "auditor" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let au = app.login("13100000031", "volunteer-pass");
    let sy = TokenKeys::from_secret(SECRET.as_bytes())
        .issue("system", Some("system"), 600)
        .unwrap();
    let place = || {
        let r = app.post(
            "/api/v1/redemptions",
            Some(&vo_token),
            json!({ "item_id": item, "site_id": site_a, "quantity": 1 }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    };
    let order1 = place();
    let order2 = place();
    let activity = app.post(
        "/api/v1/activities",
        Some(&app.admin),
        json!({ "org_id": t.community_a, "title": "清扫", "category": "环保", "starts_at": "2027-03-01T01:00:00Z", "ends_at": "2027-03-01T03:00:00Z", "capacity": 5 }),
    );
    assert_eq!(activity.status, 201, "{}", activity.body);
    let published = app.post(
        "/api/v1/activities",
        Some(&app.admin),
        json!({ "org_id": t.community_a, "title": "巡逻", "category": "平安", "starts_at": "2027-03-05T01:00:00Z", "ends_at": "2027-03-05T03:00:00Z", "capacity": 50 }),
    );
    let published = published.body["id"].as_str().unwrap().to_owned();
    let r = app.post(
        &format!("/api/v1/activities/{published}/review"),
        Some(&app.admin),
        json!({ "decision": "approve" }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let item2 = app.post(
        "/api/v1/catalog/items",
        Some(&app.admin),
        json!({ "org_id": t.district, "name": "面", "points_price": "1.00" }),
    );
    let item2 = item2.body["id"].as_str().unwrap().to_owned();
    let r = app.post(
        "/api/v1/case-rules",
        Some(&app.admin),
        json!({ "org_id": t.district, "code": "blood_donation", "name": "无偿献血", "points": "10.00", "max_per_person_per_year": 5, "effective_from": "2026-01-01T00:00:00Z" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let award = || {
        let r = app.post(
            "/api/v1/case-awards",
            Some(&app.admin),
            json!({ "volunteer_id": vo, "rule_code": "blood_donation", "occurred_at": "2026-11-01T02:00:00Z" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    };
    let (award1, award2) = (award(), award());
    let resident = app.post(
        "/api/v1/residents/register",
        None,
        json!({ "name": "居民", "phone": "13100000041", "password": "resident-pass", "community_id": t.community_a }),
    );
    assert_eq!(resident.status, 201, "{}", resident.body);
    let request = app.post(
        "/api/v1/service-requests",
        Some(&vo_token),
        json!({ "community_id": t.community_a, "category": "维修", "description": "灯坏了", "wanted_at": "2027-03-02T02:00:00Z", "payment": "platform" }),
    );
    assert_eq!(request.status, 201, "{}", request.body);
    let wish = app.post(
        "/api/v1/wishes",
        Some(&vo_token),
        json!({ "description": "一本字典" }),
    );
    assert_eq!(wish.status, 201, "{}", wish.body);
    let link = app.post(
        "/api/v1/family-links",
        Some(&vo_token),
        json!({ "user_id": ov, "relation": "邻居" }),
    );
    assert_eq!(link.status, 201, "{}", link.body);
    let organising = organising_world(app, &t, &vo_token, &ov);
    let names = [
        ("A", t.community_a.clone()),
        ("S1", t.street_a.clone()),
        ("D", t.district.clone()),
        ("vo", vo),
        ("ov", ov),
        ("pending", pending),
        ("spare", spare),
        ("tx", tx),
        ("tx2", tx2),
        ("siteA", site_a),
        ("item", item),
        ("order1", order1["id"].as_str().unwrap().to_owned()),
        ("order2", order2["id"].as_str().unwrap().to_owned()),
        ("code2", order2["pickup_code"].as_str().unwrap().to_owned()),
        ("act", activity.body["id"].as_str().unwrap().to_owned()),
        ("pub", published),
        ("kind", "earning".to_owned()),
        ("job", "stars".to_owned()),
        ("item2", item2),
        ("award1", award1),
        ("award2", award2),
        ("resident", resident.body["id"].as_str().unwrap().to_owned()),
        ("request", request.body["id"].as_str().unwrap().to_owned()),
        ("link", link.body["id"].as_str().unwrap().to_owned()),
        ("wish", wish.body["id"].as_str().unwrap().to_owned()),
    ];
    World {
        names: names
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(organising.names)
            .collect(),
        tokens: vec![
            None,
            Some(vo_token),
            Some(ov_token),
            Some(c_a),
            Some(c_b),
            Some(st),
            Some(d_a),
            Some(d_b),
            Some(o_a),
            Some(o_b),
            Some(au),
            Some(sy),
            Some(organising.tl),
            Some(organising.ua),
            Some(organising.um),
        ],
    }
}

struct Organising {
    names: Vec<(String, String)>,
    tl: String,
    ua: String,
    um: String,
}

/// Team T (leader tl, member um), team TP applied for by um, unit U (admin
/// ua, members um and ov), unit UP registered by vo, need N, resource R of
/// U, and project P: a need of A claimed by U and confirmed.
fn organising_world(app: &App, t: &Tree, vo_token: &str, ov: &str) -> Organising {
    let (tl_id, tl) = app.active_volunteer("队长", "13100000051", &t.community_a);
    let (um_id, um) = app.active_volunteer("成员", "13100000052", &t.community_a);
    let ua_id = app.register("单位管理员", "13100000053", &t.community_a);
    let ua = app.login("13100000053", "volunteer-pass");
    let ok = |r: Resp| -> String {
        assert!(r.status < 300, "{}", r.body);
        r.body["id"].as_str().unwrap_or_default().to_owned()
    };
    let team = ok(app.post(
        "/api/v1/teams",
        Some(&app.admin),
        json!({ "org_id": t.community_a, "name": "义诊队", "category": "医疗", "leader_id": tl_id }),
    ));
    ok(app.post(
        &format!("/api/v1/teams/{team}/members"),
        Some(&tl),
        json!({ "volunteer_id": um_id }),
    ));
    ok(app.post(
        &format!("/api/v1/teams/{team}/members"),
        Some(&tl),
        json!({ "volunteer_id": ov }),
    ));
    let rule = app.post(
        "/api/v1/case-rules",
        Some(&app.admin),
        json!({ "org_id": t.community_a, "code": "team_star", "name": "优秀志愿服务队", "points": "20.00", "for_teams": true, "effective_from": "2026-01-01T00:00:00Z" }),
    );
    assert_eq!(rule.status, 201, "{}", rule.body);
    let pending_team = ok(app.post(
        "/api/v1/teams",
        Some(&um),
        json!({ "org_id": t.community_a, "name": "巡逻队", "category": "平安", "leader_id": um_id }),
    ));
    let unit = ok(app.post(
        "/api/v1/units",
        Some(&app.admin),
        json!({ "name": "电力公司", "kind": "enterprise", "org_id": t.community_a }),
    ));
    ok(app.post(
        &format!("/api/v1/units/{unit}/admins"),
        Some(&app.admin),
        json!({ "user_id": ua_id }),
    ));
    for member in [um_id.as_str(), ov] {
        ok(app.post(
            &format!("/api/v1/units/{unit}/members"),
            Some(&ua),
            json!({ "volunteer_id": member }),
        ));
    }
    let pending_unit = ok(app.post(
        "/api/v1/units",
        Some(vo_token),
        json!({ "name": "第一中学", "kind": "school", "org_id": t.community_a }),
    ));
    let need = |title: &str| {
        ok(app.post(
            "/api/v1/list-items",
            Some(&app.admin),
            json!({ "list": "need", "org_id": t.community_a, "category": "助老", "title": title, "description": "每周一次" }),
        ))
    };
    let (n, n2) = (need("助餐"), need("理发"));
    let resource = ok(app.post(
        "/api/v1/list-items",
        Some(&ua),
        json!({ "list": "resource", "unit_id": unit, "category": "技能", "title": "电工", "description": "上门检修" }),
    ));
    ok(app.post(
        &format!("/api/v1/list-items/{n2}/claim"),
        Some(&ua),
        json!({ "by_unit_id": unit }),
    ));
    let matched = app.send(
        "POST",
        &format!("/api/v1/list-items/{n2}/confirm"),
        Some(&app.admin),
        None,
        &[],
    );
    assert_eq!(matched.status, 200, "{}", matched.body);
    let project = matched.body["project"]["id"].as_str().unwrap().to_owned();
    let names = [
        ("tl", tl_id),
        ("um", um_id),
        ("T", team),
        ("TP", pending_team),
        ("U", unit),
        ("UP", pending_unit),
        ("N", n),
        ("R", resource),
        ("P", project),
    ];
    Organising {
        names: names.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        tl,
        ua,
        um,
    }
}

fn matches(cell: char, status: u16) -> bool {
    match cell {
        '+' => status < 500 && ![401, 403, 404].contains(&status),
        '-' => status == 403,
        'a' => status == 401,
        _ => true,
    }
}

#[test]
fn every_caller_gets_exactly_what_the_matrix_says() {
    each_backend(|app| {
        let w = world(app);
        let mut wrong = Vec::new();
        let mut checked = 0;
        for (method, path, body, cells) in MATRIX {
            assert_eq!(
                cells.len(),
                CALLERS.len(),
                "{method} {path}: one cell per caller"
            );
            let url = format!("/api/v1{}", w.fill(path));
            let body: Option<Value> =
                (!body.is_empty()).then(|| serde_json::from_str(&w.fill(body)).unwrap());
            // Refusals first, then the calls that may change something.
            let mut order: Vec<(usize, char)> = cells.chars().enumerate().collect();
            order.sort_by_key(|(_, c)| *c == '+');
            for (i, cell) in order {
                if cell == '.' {
                    continue;
                }
                let r = app.send(method, &url, w.tokens[i].as_deref(), body.clone(), &[]);
                checked += 1;
                if !matches(cell, r.status) {
                    let mut text = r.body.to_string();
                    text.truncate(160);
                    wrong.push(format!(
                        "{method} {path} as {}: expected {cell}, got {} {text}",
                        CALLERS[i], r.status
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {checked} cells differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
        eprintln!(
            "authorization matrix: {} routes × {} callers, {checked} cells checked, 0 wrong",
            MATRIX.len(),
            CALLERS.len()
        );
    });
}
