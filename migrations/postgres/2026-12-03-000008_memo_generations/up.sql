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


-- Run at commit (deferred constraint triggers): the counters are the last
-- locks a transaction takes, held only while it commits, so no writer waits
-- on them mid-transaction. Both are locked in one order, whichever moves,
-- so two commits never wait on each other crosswise; and each moves once a
-- transaction, however many rows it changed.
CREATE FUNCTION memo_generations_move() RETURNS trigger AS $$
DECLARE
    moved text := coalesce(current_setting('timebank.memo_moved', true), '');
    due text[] := ARRAY(SELECT g FROM unnest(TG_ARGV) AS g
                        WHERE position('|' || g || '|' IN moved) = 0);
BEGIN
    IF cardinality(due) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM memo_generations ORDER BY name FOR UPDATE;
    UPDATE memo_generations SET value = value + 1 WHERE name = ANY (due);
    PERFORM set_config('timebank.memo_moved',
                       moved || '|' || array_to_string(due, '||') || '|', true);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER users_update_moves_memos AFTER UPDATE OF name ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER users_delete_moves_memos AFTER DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER role_grants_insert_moves_memos AFTER INSERT ON role_grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER role_grants_update_moves_memos AFTER UPDATE ON role_grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER role_grants_delete_moves_memos AFTER DELETE ON role_grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER volunteers_insert_moves_memos AFTER INSERT ON volunteers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER volunteers_update_moves_memos AFTER UPDATE OF community_id, status ON volunteers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER volunteers_delete_moves_memos AFTER DELETE ON volunteers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER residents_insert_moves_memos AFTER INSERT ON residents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER residents_update_moves_memos AFTER UPDATE OF community_id, status ON residents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER residents_delete_moves_memos AFTER DELETE ON residents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities');
CREATE CONSTRAINT TRIGGER orgs_update_moves_memos AFTER UPDATE ON orgs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities', 'reference');
CREATE CONSTRAINT TRIGGER orgs_delete_moves_memos AFTER DELETE ON orgs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities', 'reference');
CREATE CONSTRAINT TRIGGER sites_update_moves_memos AFTER UPDATE ON sites
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities', 'reference');
CREATE CONSTRAINT TRIGGER sites_delete_moves_memos AFTER DELETE ON sites
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('identities', 'reference');
CREATE CONSTRAINT TRIGGER catalog_items_update_moves_memos AFTER UPDATE ON catalog_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('reference');
CREATE CONSTRAINT TRIGGER catalog_items_delete_moves_memos AFTER DELETE ON catalog_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('reference');
CREATE CONSTRAINT TRIGGER policies_insert_moves_memos AFTER INSERT ON policies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('reference');
CREATE CONSTRAINT TRIGGER policies_update_moves_memos AFTER UPDATE ON policies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('reference');
CREATE CONSTRAINT TRIGGER policies_delete_moves_memos AFTER DELETE ON policies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION memo_generations_move('reference');
