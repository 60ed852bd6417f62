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
        star_level -> Integer,
        star_barred_until -> Nullable<Timestamp>,
        party_member -> Bool,
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
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
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

diesel::table! {
    policies (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        version -> Integer,
        body -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activities (id) {
        id -> Text,
        org_id -> Text,
        title -> Text,
        category -> Text,
        description -> Text,
        location -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Integer,
        points_per_hour -> Nullable<BigInt>,
        status -> Text,
        review_reason -> Nullable<Text>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        signed_up -> Integer,
        code_secret -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        team_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
    }
}

diesel::table! {
    activity_signups (id) {
        id -> Text,
        activity_id -> Text,
        volunteer_id -> Text,
        status -> Text,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    attendances (id) {
        id -> Text,
        activity_id -> Text,
        volunteer_id -> Text,
        check_in_at -> Timestamp,
        check_out_at -> Nullable<Timestamp>,
        source -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
        settled_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
        credited_from -> Nullable<Timestamp>,
        credited_to -> Nullable<Timestamp>,
        credited_day -> Nullable<Text>,
        hours -> Nullable<BigInt>,
        points -> Nullable<BigInt>,
        rule_version -> Nullable<Text>,
    }
}

diesel::table! {
    case_rules (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        version -> Integer,
        name -> Text,
        points -> BigInt,
        hours -> BigInt,
        max_per_person_per_year -> Nullable<Integer>,
        evidence_required -> Bool,
        effective_from -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
        for_teams -> Bool,
    }
}

diesel::table! {
    case_awards (id) {
        id -> Text,
        volunteer_id -> Text,
        rule_id -> Text,
        rule_code -> Text,
        occurred_at -> Timestamp,
        claim_year -> Integer,
        evidence -> Nullable<Text>,
        status -> Text,
        filed_by -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
    }
}

diesel::table! {
    star_events (id) {
        id -> Text,
        volunteer_id -> Text,
        from_level -> Integer,
        to_level -> Integer,
        hours -> BigInt,
        transaction_id -> Nullable<Text>,
        rule_version -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    violations (id) {
        id -> Text,
        volunteer_id -> Text,
        kind -> Text,
        reason -> Text,
        reversals -> Text,
        penalty_requested -> BigInt,
        penalty_applied -> BigInt,
        penalty_transaction_id -> Nullable<Text>,
        suspended_until -> Nullable<Timestamp>,
        barred_until -> Nullable<Timestamp>,
        created_by -> Text,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sites (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        address -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    catalog_items (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        description -> Text,
        points_price -> BigInt,
        min_star_level -> Nullable<Integer>,
        limit_per_person_per_quarter -> Nullable<Integer>,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stock_levels (site_id, item_id) {
        site_id -> Text,
        item_id -> Text,
        available -> Integer,
        reserved -> Integer,
    }
}

diesel::table! {
    stock_movements (id) {
        id -> Text,
        site_id -> Text,
        item_id -> Text,
        kind -> Text,
        delta_available -> Integer,
        delta_reserved -> Integer,
        reason -> Text,
        order_id -> Nullable<Text>,
        actor_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        volunteer_id -> Text,
        site_id -> Text,
        item_id -> Text,
        quantity -> Integer,
        points -> BigInt,
        quarter -> Text,
        status -> Text,
        pickup_code -> Text,
        wrong_attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        expires_at -> Timestamp,
        transaction_id -> Text,
        refund_transaction_id -> Nullable<Text>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
    }
}

diesel::table! {
    family_links (id) {
        id -> Text,
        requester_id -> Text,
        other_id -> Text,
        relation -> Text,
        status -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    gifts (id) {
        id -> Text,
        from_id -> Text,
        to_id -> Nullable<Text>,
        to_pool -> Bool,
        points -> BigInt,
        year -> Integer,
        note -> Nullable<Text>,
        transaction_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    residents (user_id) {
        user_id -> Text,
        community_id -> Text,
        status -> Text,
        approved_at -> Nullable<Timestamp>,
        approved_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_requests (id) {
        id -> Text,
        requester_id -> Text,
        community_id -> Text,
        category -> Text,
        description -> Text,
        wanted_at -> Timestamp,
        wanted_until -> Nullable<Timestamp>,
        payment -> Text,
        max_hours -> BigInt,
        status -> Text,
        volunteer_id -> Nullable<Text>,
        dispatched_by -> Nullable<Text>,
        reported_hours -> Nullable<BigInt>,
        completed_at -> Nullable<Timestamp>,
        stars -> Nullable<Integer>,
        comment -> Nullable<Text>,
        rated_at -> Nullable<Timestamp>,
        settled_hours -> Nullable<BigInt>,
        settled_points -> Nullable<BigInt>,
        held_points -> BigInt,
        hold_transaction_id -> Nullable<Text>,
        settlement_transaction_id -> Nullable<Text>,
        release_transaction_id -> Nullable<Text>,
        declines -> Text,
        cancelled_by -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    wishes (id) {
        id -> Text,
        requester_id -> Text,
        community_id -> Text,
        category -> Text,
        description -> Text,
        budget -> Nullable<BigInt>,
        status -> Text,
        claimed_by_volunteer -> Nullable<Text>,
        claimed_by_org -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        fulfil_note -> Nullable<Text>,
        fulfilled_at -> Nullable<Timestamp>,
        confirmed_at -> Nullable<Timestamp>,
        award_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    job_runs (id) {
        id -> Text,
        job -> Text,
        actor_id -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        summary -> Nullable<Text>,
    }
}

diesel::table! {
    import_keys (import_key) {
        import_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    checkpoints (id) {
        id -> Text,
        created_at -> Timestamp,
        accounts -> BigInt,
        postings -> BigInt,
        digest -> Text,
    }
}

diesel::table! {
    checkpoint_heads (checkpoint_id, account_id) {
        checkpoint_id -> Text,
        account_id -> Text,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    reset_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        attempts -> Integer,
        used_at -> Nullable<Timestamp>,
        voided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        category -> Text,
        description -> Text,
        leader_id -> Text,
        status -> Text,
        applied_by -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, volunteer_id) {
        team_id -> Text,
        volunteer_id -> Text,
        joined_at -> Timestamp,
        added_by -> Text,
        left_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    units (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        kind -> Text,
        contact -> Nullable<Text>,
        status -> Text,
        registered_by -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    unit_admins (unit_id, user_id) {
        unit_id -> Text,
        user_id -> Text,
        granted_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    unit_members (unit_id, volunteer_id) {
        unit_id -> Text,
        volunteer_id -> Text,
        reported_at -> Timestamp,
        added_by -> Text,
        confirmed_at -> Nullable<Timestamp>,
        left_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    list_items (id) {
        id -> Text,
        list -> Text,
        org_id -> Text,
        unit_id -> Nullable<Text>,
        category -> Text,
        title -> Text,
        description -> Text,
        quantity -> Nullable<Integer>,
        until -> Nullable<Timestamp>,
        status -> Text,
        source -> Nullable<Text>,
        claim_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    list_claims (id) {
        id -> Text,
        item_id -> Text,
        by_unit_id -> Nullable<Text>,
        by_org_id -> Nullable<Text>,
        by_team_id -> Nullable<Text>,
        note -> Nullable<Text>,
        claimed_by -> Text,
        claimed_at -> Timestamp,
        outcome -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    team_honours (id) {
        id -> Text,
        team_id -> Text,
        rule_id -> Text,
        rule_code -> Text,
        occurred_at -> Timestamp,
        claim_year -> Integer,
        evidence -> Nullable<Text>,
        awarded_by -> Text,
        created_at -> Timestamp,
        transaction_id -> Text,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        title -> Text,
        category -> Text,
        org_id -> Text,
        item_id -> Text,
        need_id -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        owner_unit_id -> Nullable<Text>,
        lead_unit_id -> Nullable<Text>,
        lead_org_id -> Nullable<Text>,
        lead_team_id -> Nullable<Text>,
        status -> Text,
        started_at -> Nullable<Timestamp>,
        assessing_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        result -> Nullable<Text>,
        rating -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(postings -> transactions (transaction_id));
diesel::joinable!(postings -> accounts (account_id));
diesel::joinable!(balances -> accounts (account_id));
diesel::joinable!(volunteers -> users (user_id));
diesel::joinable!(volunteers -> orgs (community_id));
diesel::joinable!(residents -> users (user_id));
diesel::joinable!(residents -> orgs (community_id));
diesel::joinable!(role_grants -> users (user_id));
diesel::joinable!(activities -> orgs (org_id));
diesel::joinable!(attendances -> activities (activity_id));
diesel::joinable!(activity_signups -> activities (activity_id));
diesel::joinable!(case_awards -> case_rules (rule_id));
diesel::joinable!(sites -> orgs (org_id));
diesel::joinable!(catalog_items -> orgs (org_id));
diesel::joinable!(orders -> catalog_items (item_id));
diesel::joinable!(orders -> sites (site_id));
diesel::joinable!(teams -> orgs (org_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> volunteers (volunteer_id));
diesel::joinable!(units -> orgs (org_id));
diesel::joinable!(unit_members -> units (unit_id));
diesel::joinable!(unit_members -> volunteers (volunteer_id));
diesel::joinable!(unit_admins -> units (unit_id));
diesel::joinable!(list_items -> orgs (org_id));
diesel::joinable!(projects -> orgs (org_id));

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
    policies,
    activities,
    activity_signups,
    attendances,
    case_rules,
    case_awards,
    star_events,
    violations,
    sites,
    catalog_items,
    stock_levels,
    stock_movements,
    orders,
    family_links,
    gifts,
    residents,
    service_requests,
    wishes,
    job_runs,
    checkpoints,
    checkpoint_heads,
    import_keys,
    reset_codes,
    teams,
    team_members,
    units,
    unit_admins,
    unit_members,
    list_items,
    list_claims,
    projects,
    team_honours,
);
