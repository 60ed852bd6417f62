-- What a server keeps in memory (who a user is; orgs, sites, catalog items
-- and policies) it believes until one of these counters moves. Triggers move
-- them with every change to the rows such entries are made of, whichever
-- process makes it (another server, the CLI, an operator's SQL), and every
-- server polls this table: that is how a change made elsewhere reaches it.
CREATE TABLE memo_generations (
    name  TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO memo_generations (name, value) VALUES ('identities', 0), ('reference', 0);


CREATE TRIGGER users_update_moves_memos AFTER UPDATE OF name ON users
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER users_delete_moves_memos AFTER DELETE ON users
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER role_grants_insert_moves_memos AFTER INSERT ON role_grants
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER role_grants_update_moves_memos AFTER UPDATE ON role_grants
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER role_grants_delete_moves_memos AFTER DELETE ON role_grants
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER volunteers_insert_moves_memos AFTER INSERT ON volunteers
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER volunteers_update_moves_memos AFTER UPDATE OF community_id, status ON volunteers
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER volunteers_delete_moves_memos AFTER DELETE ON volunteers
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER residents_insert_moves_memos AFTER INSERT ON residents
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER residents_update_moves_memos AFTER UPDATE OF community_id, status ON residents
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER residents_delete_moves_memos AFTER DELETE ON residents
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities'); END;
CREATE TRIGGER orgs_update_moves_memos AFTER UPDATE ON orgs
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities', 'reference'); END;
CREATE TRIGGER orgs_delete_moves_memos AFTER DELETE ON orgs
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities', 'reference'); END;
CREATE TRIGGER sites_update_moves_memos AFTER UPDATE ON sites
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities', 'reference'); END;
CREATE TRIGGER sites_delete_moves_memos AFTER DELETE ON sites
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('identities', 'reference'); END;
CREATE TRIGGER catalog_items_update_moves_memos AFTER UPDATE ON catalog_items
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('reference'); END;
CREATE TRIGGER catalog_items_delete_moves_memos AFTER DELETE ON catalog_items
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('reference'); END;
CREATE TRIGGER policies_insert_moves_memos AFTER INSERT ON policies
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('reference'); END;
CREATE TRIGGER policies_update_moves_memos AFTER UPDATE ON policies
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('reference'); END;
CREATE TRIGGER policies_delete_moves_memos AFTER DELETE ON policies
BEGIN UPDATE memo_generations SET value = value + 1 WHERE name IN ('reference'); END;
