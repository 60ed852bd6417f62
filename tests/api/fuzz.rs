//! Bad input, walked from `openapi.yaml`: for every operation, bodies that
//! are malformed, of the wrong type, missing required fields, with huge,
//! negative, zero or three-decimal amounts, very long strings, invalid
//! UTF-8, unknown enum values and ids of the wrong kind; for every path id,
//! an id of another kind; for every GET, each query parameter made bad
//! (not a number, out of range, not a date, unknown enum, forged cursor,
//! unknown id). Every answer must be a 4xx with the error shape,
//! and the ledger must not change.
//!
//! `FUZZ_SEED` replays the choice of which extra field mutations are sent.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::seeded::{Rng, seed};

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let path = r.trim_start_matches("#/").split('/');
            let target = path.fold(spec, |v, part| &v[part]);
            resolve(spec, target)
        }
        None => schema,
    }
}

fn is_amount(spec: &Value, schema: &Value) -> bool {
    schema["$ref"].as_str() == Some("#/components/schemas/Amount")
        || resolve(spec, schema)["oneOf"]
            .as_array()
            .is_some_and(|alts| alts.iter().any(|a| a["pattern"].is_string()))
}

/// Real ids for the fields and path segments that name things.
struct World {
    ids: BTreeMap<&'static str, String>,
}

impl World {
    fn id_for_field(&self, field: &str) -> String {
        let kind = match field {
            "org_id" | "parent_id" | "community_id" | "district_id" => "org",
            "volunteer_id" | "user_id" | "recipient_id" | "to_volunteer_id" => "volunteer",
            "site_id" => "site",
            "item_id" => "item",
            "transaction_id" => "transaction",
            _ => "org",
        };
        self.ids[kind].clone()
    }

    /// The id the path segment before `{id}` names, and one of another kind.
    fn path_ids(&self, path: &str) -> (String, String) {
        let segment = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .next()
            .unwrap_or("");
        let kind = match segment {
            "orgs" => "org",
            "volunteers" | "residents" => "volunteer",
            "activities" => "activity",
            "sites" => "site",
            "catalog" => "item",
            "redemptions" => "order",
            "transactions" => "transaction",
            _ => "",
        };
        let real = self
            .ids
            .get(kind)
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let foreign = if kind == "item" {
            self.ids["site"].clone()
        } else {
            self.ids["item"].clone()
        };
        (real, foreign)
    }
}

fn example(spec: &Value, world: &World, name: &str, schema: &Value) -> Value {
    if is_amount(spec, schema) {
        return json!("1.00");
    }
    let s = resolve(spec, schema);
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(e) = s["enum"].as_array() {
        return e[0].clone();
    }
    if let Some(first) = s["oneOf"]
        .as_array()
        .or(s["allOf"].as_array())
        .and_then(|a| a.first())
    {
        return example(spec, world, name, first);
    }
    let ty = match &s["type"] {
        Value::Array(types) => types[0].as_str().unwrap_or("string").to_owned(),
        t => t.as_str().unwrap_or("object").to_owned(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = serde_json::Map::new();
            for field in s["required"].as_array().into_iter().flatten() {
                let field = field.as_str().unwrap();
                out.insert(
                    field.to_owned(),
                    example(spec, world, field, &s["properties"][field]),
                );
            }
            Value::Object(out)
        }
        "array" => json!([example(spec, world, name, &s["items"])]),
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        _ if name.ends_with("_id") => json!(world.id_for_field(name)),
        _ if s["format"] == "date-time" => json!("2027-01-10T02:00:00Z"),
        _ if s["format"] == "date" => json!("2027-01-10"),
        _ if name == "phone" => json!("13912345678"),
        _ => json!("正常文本"),
    }
}

/// Bad values for one field, each named.
fn bad_values(spec: &Value, name: &str, schema: &Value) -> Vec<(String, Value)> {
    let s = resolve(spec, schema);
    let mut out: Vec<(String, Value)> = vec![("null".into(), Value::Null)];
    if is_amount(spec, schema) {
        for v in [
            json!("-1.00"),
            json!("0"),
            json!("0.00"),
            json!("1.005"),
            json!(1.5),
            json!("1e3"),
            json!("NaN"),
            json!("99999999999999999999999.00"),
            json!(1e300),
            json!(-5),
            json!(""),
        ] {
            out.push((format!("amount {v}"), v));
        }
        return out;
    }
    let ty = match &s["type"] {
        Value::Array(types) => types[0].as_str().unwrap_or("").to_owned(),
        t => t.as_str().unwrap_or("").to_owned(),
    };
    match ty.as_str() {
        "string" | "" if s["enum"].is_array() => {
            out.push(("unknown enum".into(), json!("no_such_value")));
            out.push(("wrong type".into(), json!(7)));
        }
        "string" => {
            out.push(("wrong type".into(), json!(12345)));
            out.push(("very long".into(), json!("长".repeat(20_000))));
            if name.ends_with("_id") {
                out.push(("unknown id".into(), json!(uuid::Uuid::new_v4().to_string())));
            }
            if s["format"] == "date-time" || s["format"] == "date" {
                out.push(("not a time".into(), json!("yesterday-ish")));
            }
        }
        "integer" | "number" => {
            // Negative counts are bad only where the spec sets a minimum
            // (a stock delta may be negative: a correction).
            if s["minimum"].as_i64().is_some_and(|m| m >= 0) {
                out.push(("below minimum".into(), json!(-1)));
            }
            for v in [
                json!("3"),
                json!(1e30),
                json!(18446744073709551616u128 as f64),
                json!(2.5),
            ] {
                out.push((format!("number {v}"), v));
            }
        }
        "boolean" => out.push(("wrong type".into(), json!("yes"))),
        "array" => {
            out.push(("wrong type".into(), json!("x")));
            out.push(("huge array".into(), Value::Array(vec![json!("x"); 5000])));
        }
        _ => out.push(("wrong type".into(), json!(7))),
    }
    out
}

/// Query strings with one bad parameter each (the required ones filled).
fn bad_queries(spec: &Value, world: &World, op: &Value) -> Vec<(String, String)> {
    let params: Vec<&Value> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(spec, p))
        .filter(|p| p["in"] == "query")
        .collect();
    let good = |p: &Value| -> String {
        let name = p["name"].as_str().unwrap_or("");
        match example(spec, world, name, &p["schema"]) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    };
    let mut out = Vec::new();
    for bad in &params {
        let name = bad["name"].as_str().unwrap_or("");
        let schema = resolve(spec, &bad["schema"]);
        let mut values: Vec<&str> = Vec::new();
        match schema["type"].as_str() {
            Some("integer") => values.extend(["abc", "-1", "99999999999999999999", "1.5"]),
            Some("boolean") => values.push("maybe"),
            _ if schema["enum"].is_array() => values.push("no_such_value"),
            _ if schema["format"] == "date" || schema["format"] == "date-time" => {
                values.extend(["not-a-date", "2026-13-45"])
            }
            _ if name == "cursor" => values.extend(["garbage!!", "eyJub3QiOiJhIGN1cnNvciJ9"]),
            _ if name.ends_with("_id") => values.push("no-such-thing"),
            _ => {}
        }
        for value in values {
            let query: Vec<String> = params
                .iter()
                .filter(|p| p["required"] == true || std::ptr::eq(**p, *bad))
                .map(|p| {
                    let v = if std::ptr::eq(*p, *bad) {
                        value.to_owned()
                    } else {
                        good(p)
                    };
                    format!("{}={}", p["name"].as_str().unwrap_or(""), encode(&v))
                })
                .collect();
            out.push((format!("?{name}={value}"), query.join("&")));
        }
    }
    out
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Probe {
    what: String,
    status: u16,
    body: Value,
}

fn ledger_counts(app: &App) -> (i64, i64, String) {
    use diesel::prelude::*;
    use timebank_store::schema::{balances, postings, transactions};
    let pool = app.db.pool(1).unwrap();
    let conn = &mut pool.get().unwrap();
    let p: i64 = postings::table.count().get_result(conn).unwrap();
    let t: i64 = transactions::table.count().get_result(conn).unwrap();
    let mut b: Vec<(String, String, i64)> = balances::table
        .select((balances::account_id, balances::asset, balances::amount))
        .load(conn)
        .unwrap();
    b.sort();
    (p, t, format!("{b:?}"))
}

#[test]
fn bad_input_is_always_a_4xx_and_changes_nothing() {
    let seed = seed("FUZZ_SEED");
    each_backend(|app| {
        let t = tree(app);
        let (v, _) = app.active_volunteer("模糊", "13200000001", &t.community_a);
        let tx = earn(app, &v, &t.community_a, "50.00");
        let (site, item) = oil_shop(app, &t, 10);
        let activity = app.post(
            "/api/v1/activities",
            Some(&app.admin),
            json!({ "org_id": t.community_a, "title": "清扫", "category": "环保", "starts_at": "2027-01-10T01:00:00Z", "ends_at": "2027-01-10T03:00:00Z", "capacity": 5 }),
        );
        assert_eq!(activity.status, 201, "{}", activity.body);
        let mut ids = BTreeMap::new();
        ids.insert("org", t.community_a.clone());
        ids.insert("volunteer", v.clone());
        ids.insert("site", site);
        ids.insert("item", item);
        ids.insert("transaction", tx);
        ids.insert("activity", activity.body["id"].as_str().unwrap().to_owned());
        let world = World { ids };
        let spec = spec();
        let before = ledger_counts(app);
        let mut rng = Rng::new(seed);
        let mut probes: Vec<Probe> = Vec::new();

        for (path, item) in spec["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                let method = method.to_ascii_uppercase();
                if method == "GET" {
                    let (real, _) = world.path_ids(path);
                    let at = path
                        .replace("{id}", &real)
                        .replace("{kind}", "earning")
                        .replace("{name}", "settle");
                    for (what, query) in bad_queries(&spec, &world, op) {
                        let r = app.get(&format!("{at}?{query}"), Some(&app.admin));
                        probes.push(Probe {
                            what: format!("GET {path} {what}"),
                            status: r.status,
                            body: r.body,
                        });
                    }
                    continue;
                }
                if !["POST", "PUT"].contains(&method.as_str()) {
                    continue;
                }
                let (real, foreign) = world.path_ids(path);
                let fill = |id: &str| {
                    path.replace("{id}", id)
                        .replace("{kind}", "earning")
                        .replace("{name}", "settle")
                };
                let query = if path.contains("/policies/") {
                    format!("?org_id={}", t.district)
                } else {
                    String::new()
                };
                let url = format!("{}{query}", fill(&real));
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                let mut send = |what: String, body: Option<Value>, raw: Option<&[u8]>, at: &str| {
                    let r = match raw {
                        Some(bytes) => app.post_raw_auth(at, &app.admin, "application/json", bytes),
                        None => app.send(&method, at, Some(&app.admin), body, &[]),
                    };
                    probes.push(Probe {
                        what: format!("{method} {path} {what}"),
                        status: r.status,
                        body: r.body,
                    });
                };
                if path.contains("{id}") {
                    let base = (!schema.is_null()).then(|| example(&spec, &world, "", schema));
                    send("foreign id".into(), base.clone(), None, &fill(&foreign));
                    send("unknown id".into(), base, None, &fill("no-such-thing"));
                }
                if schema.is_null() {
                    continue;
                }
                let base = example(&spec, &world, "", schema);
                for (what, raw) in [
                    ("malformed JSON", &b"{\"name\": "[..]),
                    ("invalid UTF-8", &b"{\"name\": \"\xff\xfe\xfd\"}"[..]),
                    ("trailing garbage", &b"{} {}"[..]),
                ] {
                    send(what.into(), None, Some(raw), &url);
                }
                if method == "POST" {
                    for (what, body) in [
                        ("array body", json!([])),
                        ("string body", json!("x")),
                        ("number body", json!(42)),
                        ("null body", Value::Null),
                    ] {
                        send(what.into(), Some(body), None, &url);
                    }
                }
                let s = resolve(&spec, schema);
                for field in s["required"].as_array().into_iter().flatten() {
                    let field = field.as_str().unwrap();
                    let mut body = base.clone();
                    body.as_object_mut().unwrap().remove(field);
                    send(format!("missing {field}"), Some(body), None, &url);
                }
                for (field, fs) in s["properties"].as_object().into_iter().flatten() {
                    let bad = bad_values(&spec, field, fs);
                    // Every bad value on required fields; a seeded few on
                    // optional ones (they are many and alike).
                    let required = s["required"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|f| f == field.as_str()));
                    for (what, value) in bad {
                        if !required && what != "null" && rng.below(3) != 0 {
                            continue;
                        }
                        if !required && what == "null" {
                            continue; // null means "absent" for optional fields
                        }
                        let mut body = base.clone();
                        body[field.as_str()] = value;
                        send(format!("{field}: {what}"), Some(body), None, &url);
                    }
                }
            }
        }

        let wrong: Vec<String> = probes
            .iter()
            .filter(|p| {
                let shaped = |field: &str| {
                    p.body["error"][field]
                        .as_str()
                        .is_some_and(|t| !t.is_empty())
                };
                !((400..500).contains(&p.status) && shaped("code") && shaped("message"))
            })
            .map(|p| {
                let mut body = p.body.to_string();
                body.truncate(300);
                format!("{} → {} {body}", p.what, p.status)
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "FUZZ_SEED={seed}: {} of {} bad requests were not a 4xx with the error shape:\n{}",
            wrong.len(),
            probes.len(),
            wrong.join("\n")
        );
        assert_eq!(
            ledger_counts(app),
            before,
            "FUZZ_SEED={seed}: the ledger changed"
        );
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for p in &probes {
            *by_status.entry(p.status).or_default() += 1;
        }
        eprintln!(
            "fuzz: {} bad requests ({by_status:?}), all 4xx with the error shape, ledger unchanged",
            probes.len()
        );
    });
}
