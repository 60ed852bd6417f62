//! Every stable error code the service answers with: its HTTP status class
//! and its message in English and in zh-CN. Clients switch on the code; the
//! API's error mapping, its localisation and the spec's `Error.code` enum
//! all read this one table.

/// The HTTP status a code is always answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    RateLimited,
    Internal,
    Unavailable,
}

impl Class {
    pub const fn http_status(self) -> u16 {
        match self {
            Class::BadRequest => 400,
            Class::Unauthenticated => 401,
            Class::Forbidden => 403,
            Class::NotFound => 404,
            Class::MethodNotAllowed => 405,
            Class::Conflict => 409,
            Class::PayloadTooLarge => 413,
            Class::UnsupportedMediaType => 415,
            Class::Unprocessable => 422,
            Class::RateLimited => 429,
            Class::Internal => 500,
            Class::Unavailable => 503,
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $class:ident, $en:literal, $zh:literal;)*) => {
        /// A stable snake_case error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            pub const fn class(self) -> Class {
                match self {
                    $(Code::$variant => Class::$class,)*
                }
            }

            /// The message when the caller has nothing more specific to say.
            pub const fn en(self) -> &'static str {
                match self {
                    $(Code::$variant => $en,)*
                }
            }

            pub const fn zh(self) -> &'static str {
                match self {
                    $(Code::$variant => $zh,)*
                }
            }
        }
    };
}

codes! {
    // The request itself
    BadRequest = "bad_request", BadRequest, "the request could not be read", "请求格式不正确";
    InvalidBody = "invalid_body", BadRequest, "the request body does not have the expected shape", "请求格式不正确";
    InvalidJson = "invalid_json", BadRequest, "the request body is not valid JSON", "请求体不是有效的 JSON";
    InvalidPath = "invalid_path", BadRequest, "a path parameter is not valid", "请求参数不正确";
    InvalidQuery = "invalid_query", BadRequest, "a query parameter is not valid", "请求参数不正确";
    InvalidCursor = "invalid_cursor", BadRequest, "the cursor is not one this list gave out", "分页游标无效";
    InvalidIdempotencyKey = "invalid_idempotency_key", BadRequest, "the Idempotency-Key must be 1 to 255 visible ASCII characters", "幂等键格式不正确";
    PayloadTooLarge = "payload_too_large", PayloadTooLarge, "the request body is larger than 64 KiB", "请求体过大";
    UnsupportedMediaType = "unsupported_media_type", UnsupportedMediaType, "send the body as application/json", "请使用 application/json";
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed, "this method is not allowed here", "不支持该请求方法";
    ValidationFailed = "validation_failed", Unprocessable, "the request has invalid fields", "请求中有无效字段";
    IdempotencyKeyReused = "idempotency_key_reused", Unprocessable, "this Idempotency-Key was used for a different request", "幂等键已用于不同的请求";
    // Who is asking
    Unauthenticated = "unauthenticated", Unauthenticated, "sign in first", "请先登录";
    InvalidToken = "invalid_token", Unauthenticated, "the access token is not valid", "登录凭证无效";
    TokenExpired = "token_expired", Unauthenticated, "the access token has expired; refresh it", "登录凭证已过期，请刷新";
    InvalidCredentials = "invalid_credentials", Unauthenticated, "wrong phone number or password", "手机号或密码错误";
    InvalidRefreshToken = "invalid_refresh_token", Unauthenticated, "the refresh token is invalid or expired", "刷新令牌无效或已过期";
    RefreshTokenReused = "refresh_token_reused", Unauthenticated, "this refresh token was already used; sign in again", "刷新令牌已被使用，请重新登录";
    Forbidden = "forbidden", Forbidden, "you may not do this here", "无权执行此操作";
    NotAVolunteer = "not_a_volunteer", Forbidden, "only a registered volunteer can do this", "只有已注册的志愿者可以执行此操作";
    VolunteerNotActive = "volunteer_not_active", Forbidden, "the volunteer is not approved yet", "志愿者尚未通过审核";
    VolunteerSuspended = "volunteer_suspended", Forbidden, "the volunteer is suspended", "志愿者处于暂停状态";
    MemberNotActive = "member_not_active", Forbidden, "the account is not approved yet", "账户尚未通过审核";
    NotAssigned = "not_assigned", Forbidden, "this service is not assigned to you", "该服务未派给您";
    NotRequester = "not_requester", Forbidden, "only the resident who asked can do this", "只有提出需求的居民可以执行此操作";
    NotClaimer = "not_claimer", Forbidden, "only the volunteer who claimed the wish can do this", "只有认领者可以完成该心愿";
    PhoneSearchNotAllowed = "phone_search_not_allowed", Forbidden, "only admins over the community search by phone number; search by name", "只有本社区的管理员可以按手机号查询，请按姓名查询";
    RateLimited = "rate_limited", RateLimited, "too many attempts; wait before trying again", "尝试次数过多，请稍后再试";
    // Things
    NotFound = "not_found", NotFound, "not found", "未找到";
    Conflict = "conflict", Conflict, "a record with these values already exists", "记录已存在";
    PhoneTaken = "phone_taken", Conflict, "this phone number is already registered", "该手机号已注册";
    InvalidState = "invalid_state", Conflict, "the current state does not allow this", "当前状态不允许此操作";
    InvalidOrgKind = "invalid_org_kind", Unprocessable, "the organisation is not of the right level", "组织层级不正确";
    InvalidCommunity = "invalid_community", Unprocessable, "no such community", "所选社区不存在";
    InvalidOrg = "invalid_org", Unprocessable, "no such organisation", "组织不存在";
    InvalidParent = "invalid_parent", Unprocessable, "no such parent organisation", "组织不存在";
    UnknownUser = "unknown_user", Unprocessable, "no such user", "用户不存在";
    UnknownVolunteer = "unknown_volunteer", Unprocessable, "no such volunteer", "志愿者不存在";
    OwnGrant = "own_grant", Unprocessable, "you cannot revoke your own grant; another admin of the organisation can", "不能撤销自己的授权，请由本组织的其他管理员操作";
    // Passwords and recovery
    WeakPassword = "weak_password", Unprocessable, "the password must have at least 8 characters, not be a common one and not contain the phone number", "密码不符合要求：至少 8 位，不能是常见密码，也不能包含手机号";
    InvalidResetCode = "invalid_reset_code", Unprocessable, "the reset code is wrong, used, replaced or expired; ask the community office for a new one", "重置码错误、已使用、已被新码取代或已过期，请到社区服务站重新领取";
    WrongPassword = "wrong_password", Unprocessable, "the current password is wrong", "当前密码不正确";
    SamePassword = "same_password", Unprocessable, "the new password must differ from the current one", "新密码不能与当前密码相同";
    // The ledger
    AlreadyReversed = "already_reversed", Conflict, "this transaction was already reversed", "该交易已被冲正";
    CannotReverseReversal = "cannot_reverse_reversal", Unprocessable, "a reversal cannot itself be reversed", "冲正交易不能再次冲正";
    InsufficientPoints = "insufficient_points", Unprocessable, "not enough points", "积分不足";
    InsufficientPool = "insufficient_pool", Unprocessable, "not enough points in the district pool", "公益池积分不足";
    InsufficientBalance = "insufficient_balance", Unprocessable, "not enough balance", "余额不足";
    InvalidTransaction = "invalid_transaction", Unprocessable, "the transaction is unbalanced or invalid", "交易不平衡或无效";
    AmountTooLarge = "amount_too_large", Unprocessable, "amount too large", "金额过大";
    UnknownTransaction = "unknown_transaction", Unprocessable, "no such transaction", "交易不存在";
    TransactionNotOfVolunteer = "transaction_not_of_volunteer", Unprocessable, "the transaction is not the volunteer's", "该交易不属于此志愿者";
    ReasonRequired = "reason_required", Unprocessable, "give a reason", "请填写原因";
    // Earning
    InvalidWindow = "invalid_window", Unprocessable, "the time window is not valid", "时间范围不正确";
    PointsPerHourOutOfRange = "points_per_hour_out_of_range", Unprocessable, "points per hour are outside the policy's range", "每小时积分超出政策允许范围";
    ActivityStarted = "activity_started", Conflict, "the activity has already started", "活动已经开始";
    ActivityFull = "activity_full", Conflict, "the activity is full", "活动名额已满";
    AlreadySignedUp = "already_signed_up", Conflict, "already signed up", "已经报名";
    NotSignedUp = "not_signed_up", Conflict, "not signed up for this activity", "尚未报名该活动";
    OutsideCheckInWindow = "outside_check_in_window", Conflict, "outside the check-in and check-out window", "不在签到/签退时间内";
    WrongCode = "wrong_code", Unprocessable, "the check-in code is wrong or expired", "签到码错误或已过期";
    AlreadyCheckedIn = "already_checked_in", Conflict, "already checked in", "已经签到";
    AlreadyCheckedOut = "already_checked_out", Conflict, "already checked out", "已经签退";
    NotCheckedIn = "not_checked_in", Conflict, "check in first", "请先签到";
    AttendanceSettled = "attendance_settled", Conflict, "this attendance is already settled", "该考勤已结算";
    ActivityNotFinished = "activity_not_finished", Conflict, "the activity can be settled once it has ended", "活动结束后才能结算";
    AlreadySettled = "already_settled", Conflict, "already settled", "已经结算";
    NotSettled = "not_settled", Unprocessable, "the record earns nothing", "该记录不产生积分";
    InvalidPolicy = "invalid_policy", Unprocessable, "the policy is not valid", "政策内容不正确";
    PolicyUnreadable = "policy_unreadable", Unprocessable, "the policy cannot be read", "政策无法读取";
    UnknownCaseRule = "unknown_case_rule", Unprocessable, "no case rule applies", "没有适用的案例规则";
    CaseLimitReached = "case_limit_reached", Unprocessable, "the yearly limit of this case rule is reached", "已达到该案例每年的申报上限";
    EvidenceRequired = "evidence_required", Unprocessable, "this case rule needs evidence", "该案例需要提供证明材料";
    OccurredInFuture = "occurred_in_future", Unprocessable, "it cannot have happened in the future", "发生时间不能晚于现在";
    // Spending
    OutOfStock = "out_of_stock", Unprocessable, "out of stock", "库存不足";
    StarLevelTooLow = "star_level_too_low", Unprocessable, "the star level is too low for this item", "星级不够，无法兑换该物品";
    LimitReached = "limit_reached", Unprocessable, "the quarter's limit for this item is reached", "已达到本季度兑换上限";
    ItemNotAvailableHere = "item_not_available_here", Unprocessable, "this site does not offer the item", "该兑换点不提供此物品";
    WrongPickupCode = "wrong_pickup_code", Unprocessable, "wrong pickup code", "取货码错误";
    OrderLocked = "order_locked", Conflict, "too many wrong pickup codes; the order is locked for a while", "取货码错误次数过多，订单已暂时锁定";
    LinkExists = "link_exists", Conflict, "a family link or request already exists", "已存在亲属关系或申请";
    InvalidFamilyLink = "invalid_family_link", Unprocessable, "the family link is not valid", "亲属关系不正确";
    NotFamily = "not_family", Unprocessable, "points can be given to confirmed family or the district pool only", "只能转赠给已确认的亲属或公益池";
    GiftLimitReached = "gift_limit_reached", Unprocessable, "over the gift limit", "超过转赠上限";
    RecipientHasNoWallet = "recipient_has_no_wallet", Unprocessable, "the recipient cannot receive points yet", "对方暂时无法接收积分";
    // Services and wishes
    VolunteerUnavailable = "volunteer_unavailable", Unprocessable, "the volunteer cannot take requests now", "该志愿者目前不能接单";
    OwnWish = "own_wish", Unprocessable, "you cannot claim your own wish", "不能认领自己的心愿";
    // Teams, units, the three lists
    InvalidTeam = "invalid_team", Unprocessable, "no such team", "志愿服务队伍不存在";
    InvalidUnit = "invalid_unit", Unprocessable, "no such partner unit", "共建单位不存在";
    InvalidProject = "invalid_project", Unprocessable, "no such project", "项目不存在";
    TeamNotActive = "team_not_active", Unprocessable, "the team is not active", "该队伍未处于正常状态";
    UnitNotActive = "unit_not_active", Unprocessable, "the partner unit is not active", "该共建单位未处于正常状态";
    VolunteerOutsideOrg = "volunteer_outside_org", Unprocessable, "the volunteer's community is not within this organisation", "该志愿者所在社区不属于此组织";
    LeaderCannotLeave = "leader_cannot_leave", Unprocessable, "the leader stays in the team; name another leader first", "队长不能退出队伍，请先更换队长";
    NotATeamMember = "not_a_team_member", Unprocessable, "points of a team go to its own members only", "团队积分只能发放给本队队员";
    ItemExpired = "item_expired", Conflict, "the item's deadline has passed", "该清单项已过截止时间";
    OwnItem = "own_item", Unprocessable, "an item cannot be claimed by who published it", "不能认领自己发布的清单项";
    // The service
    Unavailable = "unavailable", Unavailable, "the service is busy or its database is unavailable; try again", "服务繁忙或数据库不可用，请稍后重试";
    Internal = "internal", Internal, "internal error", "服务器内部错误";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_with_both_messages() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s} is not snake_case"
            );
            assert!(!code.en().is_empty() && !code.zh().is_empty(), "{s}");
            assert!(
                code.zh().chars().any(|c| c as u32 > 0x2E80),
                "{s}: the zh-CN message is not Chinese"
            );
        }
    }
}
