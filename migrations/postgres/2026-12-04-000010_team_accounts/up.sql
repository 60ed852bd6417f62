-- Teams hold what they earn as a group in their own ledger account.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('volunteer_wallet', 'org_issuance', 'district_pool', 'site_sink', 'expiry_sink', 'escrow', 'team_account'));
