"""Peer of `docgrid-bench index` and `docgrid-bench search`: the same documents
in plain SQLite (Python's sqlite3, WAL, one table of metadata rows with the
same indexes, FTS5 over names), with the same queries and no HTTP, no journal,
no erasure-coded store, no full-text engine beyond FTS5.

    sqlite_peer.py DB DOCS BATCH   -> JSON lines: index docs/s, query p50/p99
"""
import json
import os
import sqlite3
import sys
import time


def doc(i):
    return (f"doc{i} word{i % 1000}.txt", [f"t{i % 100}", "common"], str(1900 + i % 125))


def setup(path):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript("""
        CREATE TABLE docs (key INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE meta (doc INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL COLLATE NOCASE, num REAL);
        CREATE INDEX meta_kv ON meta(key, value, doc);
        CREATE INDEX meta_doc ON meta(doc);
        CREATE INDEX meta_knum ON meta(key, num) WHERE num IS NOT NULL;
        CREATE VIRTUAL TABLE fts USING fts5(name);
    """)
    return db


def index(db, docs, batch):
    start = time.perf_counter()
    i = 0
    while i < docs:
        db.execute("BEGIN")
        for j in range(i, min(docs, i + batch)):
            name, tags, year = doc(j)
            key = db.execute("INSERT INTO docs(name) VALUES (?)", (name,)).lastrowid
            db.executemany("INSERT INTO meta(doc, key, value, num) VALUES (?, 'tag', ?, NULL)", [(key, t) for t in tags])
            db.execute("INSERT INTO meta(doc, key, value, num) VALUES (?, 'year', ?, ?)", (key, year, float(year)))
            db.execute("INSERT INTO fts(rowid, name) VALUES (?, ?)", (key, name))
        db.execute("COMMIT")
        i += batch
    return docs / (time.perf_counter() - start)


def latency(runs, f):
    ms = []
    for k in range(runs):
        t = time.perf_counter()
        f(k)
        ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    return ms[runs // 2], ms[min(runs - 1, runs * 99 // 100)]


def page(db, sql, args):
    """The matching keys, newest 50 with their names and tags (what a hit page shows)."""
    keys = [r[0] for r in db.execute(sql, args)]
    top = sorted(keys, reverse=True)[:50]
    for k in top:
        db.execute("SELECT name FROM docs WHERE key = ?", (k,)).fetchone()
        db.execute("SELECT key, value FROM meta WHERE doc = ?", (k,)).fetchall()
    return len(keys)


def main():
    path, docs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = setup(path)
    rate = index(db, docs, batch)
    print(json.dumps({"bench": "sqlite_index", "docs": docs, "batch": batch, "docs_per_s": rate}))
    queries = {
        "tag": lambda k: page(db, "SELECT doc FROM meta WHERE key = 'tag' AND value = ?", (f"t{k % 100}",)),
        "range": lambda k: page(db, "SELECT doc FROM meta WHERE key = 'year' AND num >= ? AND num < ?", (1900 + k % 100, 1905 + k % 100)),
        "fulltext": lambda k: page(db, "SELECT rowid FROM fts WHERE fts MATCH ?", (f"word{k % 1000}",)),
    }
    for name, f in queries.items():
        p50, p99 = latency(200, f)
        print(json.dumps({"bench": f"sqlite_search_{name}", "docs": docs, "p50_ms": p50, "p99_ms": p99}))

    def tree(_):
        keys = [r[0] for r in db.execute("SELECT doc FROM meta WHERE key = 'tag' AND value = 'common'")]
        db.execute("SELECT value, COUNT(*) FROM meta WHERE key = 'tag' AND value != 'common' GROUP BY value").fetchall()
        return [db.execute("SELECT name FROM docs WHERE key = ?", (k,)).fetchone() for k in keys]

    p50, p99 = latency(5, tree)
    print(json.dumps({"bench": "sqlite_search_tree_tags_common", "docs": docs, "p50_ms": p50, "p99_ms": p99}))


if __name__ == "__main__":
    main()
