ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('volunteer_wallet', 'org_issuance', 'district_pool', 'site_sink', 'expiry_sink', 'escrow'));
