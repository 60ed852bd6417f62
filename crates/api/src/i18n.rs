//! Error messages in zh-CN or en, chosen by `Accept-Language`. Codes never
//! change with the language; only `message` does, and it carries the same
//! facts in both: the field and its rule, the amounts, the state, the thing
//! not found. A message written with its facts in both languages is used as
//! it is; otherwise the zh one is built from the code and the details, and
//! English facts with no translation here are kept, not dropped.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

use crate::error::ApiError;

/// Whether `Accept-Language` ranks Chinese above English (q-values
/// honoured; the first listed wins a tie).
fn prefers_chinese(req: &ServiceRequest) -> bool {
    let Some(header) = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut best: Option<(f32, bool)> = None;
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let zh = tag.starts_with("zh");
        if !(zh || tag.starts_with("en")) {
            continue;
        }
        if best.is_none_or(|(top, _)| q > top) {
            best = Some((q, zh));
        }
    }
    best.is_some_and(|(_, zh)| zh)
}

/// Middleware: rewrites an [`ApiError`] response's message for zh clients.
pub async fn localize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let chinese = prefers_chinese(&req);
    let res = next.call(req).await?.map_into_boxed_body();
    if !chinese {
        return Ok(res);
    }
    let Some(api_error) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .cloned()
    else {
        return Ok(res);
    };
    let message = zh_message(&api_error);
    let (req, old) = res.into_parts();
    let mut builder = HttpResponse::build(old.status());
    for (name, value) in old.headers() {
        builder.insert_header((name.clone(), value.clone()));
    }
    let new = builder.json(api_error.body(&message));
    Ok(ServiceResponse::new(req, new))
}

/// A `validator` rule broken, in words: (English, zh).
pub fn rule(e: &validator::ValidationError) -> (String, String) {
    let param = |name: &str| {
        e.params
            .get(name)
            .map(|v| v.to_string().trim_matches('"').to_owned())
    };
    match (e.code.as_ref(), param("min"), param("max")) {
        ("length", Some(min), Some(max)) => (
            format!("must be {min} to {max} characters long"),
            format!(" 的长度须为 {min}–{max} 个字符"),
        ),
        ("length", Some(min), None) => (
            format!("must be at least {min} characters long"),
            format!(" 至少 {min} 个字符"),
        ),
        ("length", None, Some(max)) => (
            format!("must be at most {max} characters long"),
            format!(" 最多 {max} 个字符"),
        ),
        ("range", Some(min), Some(max)) => (
            format!("must be from {min} to {max}"),
            format!(" 须在 {min} 到 {max} 之间"),
        ),
        ("range", Some(min), None) => (
            format!("must be at least {min}"),
            format!(" 不能小于 {min}"),
        ),
        ("range", None, Some(max)) => {
            (format!("must be at most {max}"), format!(" 不能大于 {max}"))
        }
        (code, _, _) => match &e.message {
            Some(m) => (m.to_string(), format!("：{m}")),
            None => (format!("is not valid ({code})"), format!(" 无效（{code}）")),
        },
    }
}

/// The zh message of an error: its own when written so, else built from
/// the code and the facts it carries.
fn zh_message(e: &ApiError) -> String {
    if let Some(zh) = &e.message_zh {
        return zh.to_string();
    }
    let base = e.code.zh();
    let details = e.details.as_ref();
    let field = |name: &str| details.and_then(|d| d.get(name));
    let mut facts: Vec<String> = Vec::new();
    if let Some(fields) = field("fields").and_then(|f| f.as_object()) {
        for (name, codes) in fields {
            let kinds: Vec<&str> = codes
                .as_array()
                .map(|a| a.iter().filter_map(|c| c.as_str()).map(kind_zh).collect())
                .unwrap_or_default();
            facts.push(format!("{name}（{}）", kinds.join("、")));
        }
        if let Some(expected) = field("expected").and_then(|v| v.as_str()) {
            facts.push(format!("应为{}", expected_zh(expected)));
        }
    }
    use timebank_kernel::Code;
    match e.code {
        Code::OutOfStock => {
            if let (Some(a), Some(r)) = (field("available"), field("requested")) {
                facts.push(format!("库存 {}，需要 {}", plain(a), plain(r)));
            }
        }
        Code::StarLevelTooLow => {
            if let (Some(r), Some(c)) = (field("required"), field("current")) {
                facts.push(format!("需要 {} 星，当前 {} 星", plain(r), plain(c)));
            }
        }
        Code::LimitReached => {
            if let (Some(l), Some(u), Some(q)) = (field("limit"), field("used"), field("quarter")) {
                facts.push(format!(
                    "每人每季度限 {}，{} 已兑 {}",
                    plain(l),
                    plain(q),
                    plain(u)
                ));
            }
        }
        Code::InvalidState => {
            if let Some(status) = field("status") {
                facts.push(format!("当前状态为 {}", plain(status)));
            }
        }
        _ => {}
    }
    if let (Some(available), Some(required)) = (field("available"), field("required")) {
        let asset = match field("asset").and_then(|a| a.as_str()) {
            Some("HOUR") => "时长",
            _ => "积分",
        };
        facts.push(format!(
            "{asset}可用 {}，需要 {}",
            plain(available),
            plain(required)
        ));
    }
    if let Some(secs) = field("retry_after_seconds") {
        facts.push(format!("请 {} 秒后再试", plain(secs)));
    }
    if let Some(allow) = field("allow").and_then(|a| a.as_array()) {
        let methods: Vec<String> = allow.iter().map(plain).collect();
        facts.push(format!("请使用 {}", methods.join("、")));
    }
    if e.code == timebank_kernel::Code::NotFound
        && let Some(what) = e.message.strip_suffix(" not found")
    {
        facts.push(noun_zh(what).to_owned());
    }
    if facts.is_empty() && e.message != e.code.en() {
        // Facts this table cannot word in Chinese are kept in English.
        facts.push(e.message.clone());
    }
    if facts.is_empty() {
        base.to_owned()
    } else {
        format!("{base}：{}", facts.join("；"))
    }
}

fn plain(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn kind_zh(kind: &str) -> &str {
    match kind {
        "required" => "必填",
        "unknown_field" => "不是此接口的字段",
        "invalid_type" => "类型不对",
        "invalid_value" | "invalid" => "取值无效",
        "unknown_variant" => "不是可选值之一",
        "length" => "长度不符",
        "range" => "超出范围",
        "enum" => "不是可选值之一",
        "one_of" => "须且只能填写其中一项",
        "mismatch" => "与所属队伍或项目的组织不一致",
        "need_by_unit" => "需求由社区等组织发布，单位发布资源",
        "need_from_source" => "居民的点单或心愿只能转为需求",
        "not_with_source" => "由点单或心愿转成的需求属于其所在社区",
        "past" => "须为将来的时间",
        "unknown" => "不存在",
        other => other,
    }
}

fn expected_zh(expected: &str) -> String {
    match expected {
        "a whole number" => "整数".into(),
        "a whole number, 0 or more" => "非负整数".into(),
        "a number" => "数字".into(),
        "a string" => "字符串".into(),
        "true or false" => "true 或 false".into(),
        "a list" => "列表".into(),
        "an object" => "对象".into(),
        e if e.starts_with("a date") || e.starts_with("a day") => {
            "日期（2026-12-01）或时间（2026-12-01T08:00:00Z）".into()
        }
        e => e.to_owned(),
    }
}

fn noun_zh(what: &str) -> &str {
    match what {
        "wallet" => "钱包",
        "volunteer" => "志愿者",
        "user" => "用户",
        "transaction" => "交易",
        "wish" => "微心愿",
        "volunteer or resident" => "志愿者或居民",
        "violation" => "违规记录",
        "site account" | "site" => "服务站点",
        "service request" => "服务需求",
        "resident" => "居民",
        "organisation" | "org" | "district" => "组织",
        "order" => "订单",
        "family link" => "家庭绑定",
        "catalog item" => "商品",
        "case award" => "个案奖励",
        "attendance" => "签到记录",
        "assigned volunteer" => "接单志愿者",
        "activity" => "活动",
        "account" => "账户",
        "route" => "接口",
        "job" => "批处理任务",
        "file" => "文件",
        "policy kind" => "政策类型",
        "resource" => "资源",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use timebank_kernel::Code;

    #[test]
    fn the_zh_message_keeps_the_facts() {
        let e = ApiError::new(
            Code::InsufficientPoints,
            "not enough POINT: 3.00 available, 10.00 needed",
        )
        .with_details(json!({ "asset": "POINT", "available": "3.00", "required": "10.00" }));
        assert_eq!(zh_message(&e), "积分不足：积分可用 3.00，需要 10.00");
        assert_eq!(
            zh_message(&ApiError::not_found("catalog item")),
            "未找到：商品"
        );
        let e = crate::input::body_from_value::<Probe>(json!({ "n": "1" })).unwrap_err();
        assert_eq!(zh_message(&e), "请求格式不正确：n（类型不对）；应为整数");
        let e = ApiError::new(Code::Conflict, "the activity was already reviewed");
        assert!(zh_message(&e).contains("the activity was already reviewed"));
        let e = ApiError::new(Code::OutOfStock, "not enough stock at this site")
            .with_details(json!({ "available": 2, "requested": 5 }));
        assert_eq!(zh_message(&e), "库存不足：库存 2，需要 5");
        let e: ApiError =
            timebank_kernel::DomainError::invalid_state("order", "fulfilled", "reserved").into();
        assert!(
            zh_message(&e).ends_with("当前状态为 fulfilled"),
            "{}",
            zh_message(&e)
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        n: i32,
    }

    #[test]
    fn broken_rules_are_worded_in_both_languages() {
        #[derive(validator::Validate)]
        struct Body {
            #[validate(length(min = 1, max = 30))]
            name: String,
            #[validate(range(min = 1, max = 99))]
            quantity: i32,
        }
        let errors = validator::Validate::validate(&Body {
            name: String::new(),
            quantity: 0,
        })
        .unwrap_err();
        let e = ApiError::validation(&errors);
        assert_eq!(
            e.message,
            "invalid fields: name must be 1 to 30 characters long; quantity must be from 1 to 99"
        );
        assert_eq!(
            zh_message(&e),
            "请求中有无效字段：name 的长度须为 1–30 个字符；quantity 须在 1 到 99 之间"
        );
    }
}
