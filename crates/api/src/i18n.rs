//! Error messages in zh-CN or en, chosen by `Accept-Language`. Codes never
//! change with the language; only `message` does.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

use crate::error::ApiError;

fn zh_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "bad_request" | "invalid_body" => "请求格式不正确",
        "invalid_json" => "请求体不是有效的 JSON",
        "invalid_path" | "invalid_query" => "请求参数不正确",
        "invalid_cursor" => "分页游标无效",
        "payload_too_large" => "请求体过大",
        "unsupported_media_type" => "请使用 application/json",
        "validation_failed" => "请求中有无效字段",
        "unauthenticated" => "请先登录",
        "invalid_token" => "登录凭证无效或已过期",
        "invalid_credentials" => "手机号或密码错误",
        "invalid_refresh_token" => "刷新令牌无效或已过期",
        "refresh_token_reused" => "刷新令牌已被使用，请重新登录",
        "forbidden" => "无权执行此操作",
        "not_found" => "未找到",
        "method_not_allowed" => "不支持该请求方法",
        "conflict" => "记录已存在",
        "phone_taken" => "该手机号已注册",
        "invalid_state" => "当前状态不允许此操作",
        "already_reversed" => "该交易已被冲正",
        "cannot_reverse_reversal" => "冲正交易不能再次冲正",
        "insufficient_points" => "积分不足",
        "insufficient_balance" => "余额不足",
        "invalid_transaction" => "交易不平衡或无效",
        "amount_too_large" => "金额过大",
        "invalid_org_kind" => "组织层级不正确",
        "invalid_community" => "所选社区不存在",
        "idempotency_key_reused" => "幂等键已用于不同的请求",
        "invalid_idempotency_key" => "幂等键格式不正确",
        "not_a_volunteer" => "只有已注册的志愿者可以执行此操作",
        "volunteer_not_active" => "志愿者尚未通过审核",
        "volunteer_suspended" => "志愿者处于暂停状态",
        "invalid_org" | "invalid_parent" => "组织不存在",
        "invalid_window" => "时间范围不正确",
        "points_per_hour_out_of_range" => "每小时积分超出政策允许范围",
        "reason_required" => "请填写原因",
        "activity_started" => "活动已经开始",
        "activity_full" => "活动名额已满",
        "already_signed_up" => "已经报名",
        "not_signed_up" => "尚未报名该活动",
        "outside_check_in_window" => "不在签到/签退时间内",
        "wrong_code" => "签到码错误或已过期",
        "already_checked_in" => "已经签到",
        "already_checked_out" => "已经签退",
        "not_checked_in" => "请先签到",
        "attendance_settled" => "该考勤已结算",
        "activity_not_finished" => "活动结束后才能结算",
        "already_settled" => "已经结算",
        "invalid_policy" => "政策内容不正确",
        "policy_unreadable" => "政策无法读取",
        "unknown_case_rule" => "没有适用的案例规则",
        "case_limit_reached" => "已达到该案例每年的申报上限",
        "evidence_required" => "该案例需要提供证明材料",
        "occurred_in_future" => "发生时间不能晚于现在",
        "unknown_transaction" => "交易不存在",
        "transaction_not_of_volunteer" => "该交易不属于此志愿者",
        "insufficient_pool" => "公益池积分不足",
        "out_of_stock" => "库存不足",
        "star_level_too_low" => "星级不够，无法兑换该物品",
        "limit_reached" => "已达到本季度兑换上限",
        "item_not_available_here" => "该兑换点不提供此物品",
        "wrong_pickup_code" => "取货码错误",
        "order_locked" => "取货码错误次数过多，订单已暂时锁定",
        "link_exists" => "已存在亲属关系或申请",
        "invalid_family_link" => "亲属关系不正确",
        "not_family" => "只能转赠给已确认的亲属或公益池",
        "gift_limit_reached" => "超过转赠上限",
        "recipient_has_no_wallet" => "对方暂时无法接收积分",
        "unknown_user" => "用户不存在",
        "member_not_active" => "账户尚未通过审核",
        "volunteer_unavailable" => "该志愿者目前不能接单",
        "not_assigned" => "该服务未派给您",
        "not_requester" => "只有提出需求的居民可以执行此操作",
        "own_wish" => "不能认领自己的心愿",
        "not_claimer" => "只有认领者可以完成该心愿",
        "weak_password" => "密码不符合要求：至少 8 位，不能是常见密码，也不能包含手机号",
        "invalid_reset_code" => "重置码错误、已使用、已被新码取代或已过期，请到社区服务站重新领取",
        "wrong_password" => "当前密码不正确",
        "same_password" => "新密码不能与当前密码相同",
        "phone_search_not_allowed" => "只有本社区的管理员可以按手机号查询，请按姓名查询",
        "own_grant" => "不能撤销自己的授权，请由本组织的其他管理员操作",
        "unavailable" => "服务繁忙或数据库不可用，请稍后重试",
        "rate_limited" => "尝试次数过多，请稍后再试",
        "internal" => "服务器内部错误",
        _ => return None,
    })
}

fn prefers_chinese(req: &ServiceRequest) -> bool {
    req.headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|first| first.trim().to_ascii_lowercase().starts_with("zh"))
        .unwrap_or(false)
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
    let Some(message) = zh_message(api_error.code) else {
        return Ok(res);
    };
    let (req, old) = res.into_parts();
    let mut builder = HttpResponse::build(old.status());
    for (name, value) in old.headers() {
        builder.insert_header((name.clone(), value.clone()));
    }
    let new = builder.json(api_error.body(message));
    Ok(ServiceResponse::new(req, new))
}
