"""The rows settling one attendance writes (an earn_hours transaction, four
postings, balances and heads once per batch, the attendance marked), per
PER_TX attendances in one transaction (the job settles an activity of 100
per transaction), straight into SQLite with no service: no reads, no rule.
Works on a copy of a bench database (it writes). Prints rows/s.
usage: settle.py COPY_OF_BENCH_DB PER_TX SECONDS"""
import sqlite3, sys, time, random, hashlib
db, per_tx, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None)
for p in ["PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY"]:
    c.execute(p)
att = c.execute("SELECT a.id, w.id FROM attendances a JOIN accounts w ON w.owner_id = a.volunteer_id AND w.kind='volunteer_wallet'").fetchall()
issuer = c.execute("SELECT id FROM accounts WHERE kind='org_issuance' LIMIT 1").fetchone()[0]
heads = {r[0]: [r[1], r[2]] for r in c.execute("SELECT id, last_seq, head_hash FROM accounts")}
bal = {(r[0], r[1]): r[2] for r in c.execute("SELECT account_id, asset, amount FROM balances")}
_seq = [0]
def v7():
    _seq[0] += 1
    return "%012x-7%03x-%016x" % (int(time.time() * 1000), _seq[0] % 4096, random.getrandbits(64))
ts = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
done, t0, i = 0, time.time(), 0
while time.time() - t0 < seconds and i + per_tx <= len(att):
    batch = att[i:i + per_tx]; i += per_tx
    txs, posts, marks, touched = [], [], [], set()
    c.execute("BEGIN IMMEDIATE")
    for aid, wid in batch:
        tid = v7()
        txs.append((tid, "earn_hours", None, "活动", "attendance:%s:%d" % (aid, random.getrandbits(32)), "v1", None, None, ts))
        for asset, amt in (("HOUR", 200), ("POINT", 200)):
            for acc, a in ((issuer, -amt), (wid, amt)):
                h = heads[acc]; h[0] += 1
                bal[(acc, asset)] = bal.get((acc, asset), 0) + a
                new = hashlib.sha256((h[1] + tid).encode()).hexdigest()
                posts.append((v7(), tid, acc, h[0], asset, a, bal[(acc, asset)], h[1], new, ts)); h[1] = new
                touched.add((acc, asset))
        marks.append((ts, tid, ts, ts, "2000-01-%02d" % random.randint(1, 28), 200, 200, aid))
    c.executemany("INSERT INTO transactions VALUES (?,?,?,?,?,?,?,?,?)", txs)
    c.executemany("INSERT INTO postings (id, transaction_id, account_id, seq, asset, amount, balance_after, prev_hash, hash, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", posts)
    c.executemany("UPDATE balances SET amount = ? WHERE account_id = ? AND asset = ?", [(bal[k], k[0], k[1]) for k in touched])
    accs = {k[0] for k in touched}
    c.executemany("UPDATE accounts SET last_seq = ?, head_hash = ? WHERE id = ?", [(heads[a][0], heads[a][1], a) for a in accs])
    c.executemany("UPDATE attendances SET settled_at = ?, outcome = 'earned', transaction_id = ?, credited_from = ?, credited_to = ?, credited_day = ?, hours = ?, points = ? WHERE id = ?", marks)
    c.execute("COMMIT"); done += len(batch)
print(f"settle rows per_tx={per_tx} rows/s={done / (time.time() - t0):.0f}")
