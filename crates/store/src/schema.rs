//! Diesel table definitions; kept equal to `migrations/*/` by hand and by the
//! storage tests that exercise every table on both backends.

diesel::table! {
    orgs (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<Text>,
        path -> Text,
        district_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        name -> Text,
        phone -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    volunteers (user_id) {
        user_id -> Text,
        community_id -> Text,
        status -> Text,
        skills -> Text,
        approved_at -> Nullable<Timestamp>,
        approved_by -> Nullable<Text>,
        suspended_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    role_grants (id) {
        id -> Text,
        user_id -> Text,
        role -> Text,
        org_id -> Nullable<Text>,
        site_id -> Nullable<Text>,
        granted_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        kind -> Text,
        owner_id -> Text,
        org_path -> Text,
        may_go_negative -> Bool,
        last_seq -> BigInt,
        head_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    balances (account_id, asset) {
        account_id -> Text,
        asset -> Text,
        amount -> BigInt,
        earned -> BigInt,
        may_go_negative -> Bool,
    }
}

diesel::table! {
    transactions (id) {
        id -> Text,
        kind -> Text,
        actor_id -> Nullable<Text>,
        reason -> Text,
        external_id -> Nullable<Text>,
        rule_version -> Nullable<Text>,
        reverses_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    postings (id) {
        id -> Text,
        transaction_id -> Text,
        account_id -> Text,
        seq -> BigInt,
        asset -> Text,
        amount -> BigInt,
        balance_after -> BigInt,
        prev_hash -> Text,
        hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (caller_id, idem_key) {
        caller_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status_code -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(postings -> transactions (transaction_id));
diesel::joinable!(postings -> accounts (account_id));
diesel::joinable!(balances -> accounts (account_id));
diesel::joinable!(volunteers -> users (user_id));
diesel::joinable!(volunteers -> orgs (community_id));
diesel::joinable!(role_grants -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    orgs,
    users,
    volunteers,
    role_grants,
    refresh_tokens,
    accounts,
    balances,
    transactions,
    postings,
    idempotency_keys,
);
