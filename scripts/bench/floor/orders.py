"""The rows one redemption writes, straight into SQLite with no service: K
orders per transaction (as a pass writes them), each table by executemany,
balances, chain heads and the stock level once per transaction. Ids are
time-ordered as the service's are; idempotency keys random, as clients'
are. Works on a copy of a bench database (it writes). Prints orders/s.
usage: orders.py COPY_OF_BENCH_DB K SECONDS"""
import sqlite3, sys, time, uuid, hashlib, random

db, k, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None)
for p in ["PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL",
          "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
          "PRAGMA temp_store = MEMORY"]:
    c.execute(p)

wallets = c.execute("SELECT a.id, a.owner_id FROM accounts a JOIN balances b ON b.account_id=a.id "
                    "WHERE a.kind='volunteer_wallet' AND b.asset='POINT' AND b.amount > 100000 LIMIT 64").fetchall()
sink = c.execute("SELECT id FROM accounts WHERE kind='site_sink' LIMIT 1").fetchone()[0]
site, item = c.execute("SELECT site_id, item_id FROM stock_levels ORDER BY available DESC LIMIT 1").fetchone()
c.execute("UPDATE stock_levels SET available = 100000000 WHERE site_id=? AND item_id=?", (site, item))
actor = wallets[0][1]
heads = {r[0]: [r[1], r[2]] for r in c.execute("SELECT id, last_seq, head_hash FROM accounts")}
bal = {r[0]: r[1] for r in c.execute("SELECT account_id, amount FROM balances WHERE asset='POINT'")}

_seq=[0]
def v7():
    _seq[0]+=1
    return "%012x-7%03x-%016x" % (int(time.time()*1000), _seq[0] % 4096, random.getrandbits(64))
def now():
    return time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())

done, t0 = 0, time.time()
while time.time() - t0 < seconds:
    ts = now()
    c.execute("BEGIN IMMEDIATE")
    keys, movements, txs, posts, orders = [], [], [], [], []
    for i in range(k):
        wid, vol = random.choice(wallets)
        key = (vol, str(uuid.uuid4()))
        keys.append(key + ("h" * 64, 0, "", ts))
        oid, tid = v7(), v7()
        movements.append((v7(), site, item, "reservation", -1, 1, "order", oid, vol, ts))
        txs.append((tid, "redeem", vol, "兑换", None, "v1", None, None, ts))
        for acc, amt in ((wid, -100), (sink, 100)):
            h = heads[acc]
            h[0] += 1
            bal[acc] = bal.get(acc, 0) + amt
            new = hashlib.sha256((h[1] + tid).encode()).hexdigest()
            posts.append((v7(), tid, acc, h[0], "POINT", amt, bal[acc], h[1], new, ts))
            h[1] = new
        orders.append((oid, vol, site, item, 1, 100, "2026Q4", "reserved", "123456", 0, None, ts, tid, None, ts, None, None))
    c.executemany("INSERT INTO idempotency_keys VALUES (?,?,?,?,?,?)", keys)
    c.execute("UPDATE stock_levels SET available = available - ?, reserved = reserved + ? WHERE site_id=? AND item_id=?", (k, k, site, item))
    c.executemany("INSERT INTO stock_movements (id, site_id, item_id, kind, delta_available, delta_reserved, reason, order_id, actor_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", movements)
    c.executemany("INSERT INTO transactions (id, kind, actor_id, reason, external_id, rule_version, reverses_id, request_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)", txs)
    c.executemany("INSERT INTO postings (id, transaction_id, account_id, seq, asset, amount, balance_after, prev_hash, hash, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", posts)
    touched = {p[2] for p in posts}
    c.executemany("UPDATE balances SET amount = ? WHERE account_id = ? AND asset = 'POINT'", [(bal[a], a) for a in touched])
    c.executemany("UPDATE accounts SET last_seq = ?, head_hash = ? WHERE id = ?", [(heads[a][0], heads[a][1], a) for a in touched])
    c.executemany("INSERT INTO orders (id, volunteer_id, site_id, item_id, quantity, points, quarter, status, pickup_code, wrong_attempts, locked_until, expires_at, transaction_id, refund_transaction_id, created_at, closed_at, closed_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", orders)
    c.executemany("UPDATE idempotency_keys SET status_code = 201, response_body = ? WHERE caller_id = ? AND idem_key = ?", [("{\"id\":\"%s\"}" % o[0], key[0], key[1]) for o, key in zip(orders, keys)])
    c.execute("COMMIT")
    done += k
print(f"k={k} orders/s={done / (time.time() - t0):.0f}")
