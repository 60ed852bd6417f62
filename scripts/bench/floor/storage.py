"""The storage limit of `timebank-bench` (one double-entry transfer: two
conditional balance updates and two entry inserts) from the same Python as
the other floors, so that the ratios compare like with like.
usage: storage.py SCRATCH_DB BATCH SECONDS"""
import sqlite3, sys, time, random, os
path, batch, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
for s in ("", "-wal", "-shm"):
    if os.path.exists(path + s): os.remove(path + s)
c = sqlite3.connect(path, isolation_level=None)
for p in ["PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY"]:
    c.execute(p)
c.executescript("""CREATE TABLE bench_accounts (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL);
CREATE TABLE bench_entries (id INTEGER PRIMARY KEY, account_id BIGINT NOT NULL, amount BIGINT NOT NULL, balance_after BIGINT NOT NULL);
CREATE INDEX bench_entries_account ON bench_entries (account_id, id);""")
c.execute("BEGIN"); c.executemany("INSERT INTO bench_accounts VALUES (?, 1000000000)", [(i,) for i in range(10000)]); c.execute("COMMIT")
done, t0 = 0, time.time()
while time.time() - t0 < seconds:
    c.execute("BEGIN IMMEDIATE")
    for _ in range(batch):
        a, b = random.randrange(10000), random.randrange(10000)
        x = c.execute("UPDATE bench_accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1 RETURNING balance", (a,)).fetchone()[0]
        y = c.execute("UPDATE bench_accounts SET balance = balance + 1 WHERE id = ? RETURNING balance", (b,)).fetchone()[0]
        c.executemany("INSERT INTO bench_entries (account_id, amount, balance_after) VALUES (?,?,?)", [(a, -1, x), (b, 1, y)])
    c.execute("COMMIT"); done += batch
print(f"storage batch={batch} transfers/s={done/(time.time()-t0):.0f}")
