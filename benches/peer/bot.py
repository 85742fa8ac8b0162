#!/usr/bin/env python3
"""The peer feedwatch is compared with: the Python bot its users would
otherwise run. 8 threads, urllib + feedparser 6, conditional GET (ETag and
Last-Modified kept in SQLite), dedupe by entry id in SQLite, a keyword
filter, one transaction per feed.

Usage: bot.py FEEDS.txt DB BUMP_URL
Runs three cycles over the feeds - cold (empty database), warm, and after a
POST to BUMP_URL (the farm adds items to some feeds) - and prints one JSON
line per cycle: phase, wall and CPU seconds, peak RSS in MB, counts.
Started by `cargo bench --bench cycle`.
"""

import json
import resource
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import feedparser

THREADS = 8


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Bot:
    def __init__(self, db_path):
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT, modified TEXT)"
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, feed TEXT, title TEXT,"
            " link TEXT, summary TEXT, relevant INTEGER)"
        )
        self.lock = threading.Lock()

    def poll(self, url):
        with self.lock:
            row = self.db.execute(
                "SELECT etag, modified FROM feeds WHERE url = ?", (url,)
            ).fetchone()
        req = urllib.request.Request(url, headers={"User-Agent": "peer-bot/1"})
        if row and row[0]:
            req.add_header("If-None-Match", row[0])
        if row and row[1]:
            req.add_header("If-Modified-Since", row[1])
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read()
                etag = resp.headers.get("ETag")
                modified = resp.headers.get("Last-Modified")
        except urllib.error.HTTPError as e:
            if e.code == 304:
                return 0
            raise
        parsed = feedparser.parse(body)
        new = 0
        with self.lock:
            self.db.execute("BEGIN")
            try:
                for e in parsed.entries:
                    eid = e.get("id") or e.get("link")
                    title = e.get("title", "")
                    summary = e.get("summary", "")
                    text = (title + " " + summary).lower()
                    relevant = int("interpol" in text and "taiwan" in text)
                    cur = self.db.execute(
                        "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?)",
                        (eid, url, title, e.get("link"), summary, relevant),
                    )
                    new += cur.rowcount
                self.db.execute(
                    "INSERT INTO feeds VALUES (?, ?, ?) ON CONFLICT (url) DO UPDATE"
                    " SET etag = excluded.etag, modified = excluded.modified",
                    (url, etag, modified),
                )
                self.db.execute("COMMIT")
            except Exception:
                self.db.execute("ROLLBACK")
                raise
        return new

    def cycle(self, urls):
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            return sum(pool.map(self.poll, urls))


def main():
    feeds_file, db_path, bump_url = sys.argv[1:4]
    with open(feeds_file) as f:
        urls = [l.strip() for l in f if l.strip()]
    bot = Bot(db_path)
    for phase in ("cold", "warm", "bump"):
        if phase == "bump":
            urllib.request.urlopen(urllib.request.Request(bump_url, method="POST"), timeout=10)
        reset_peak_rss()
        t0, c0 = time.monotonic(), cpu_seconds()
        new = bot.cycle(urls)
        wall, cpu = time.monotonic() - t0, cpu_seconds() - c0
        print(json.dumps({"phase": phase, "wall": wall, "cpu": cpu,
                          "rss_mb": peak_rss_mb(), "new": new}), flush=True)


if __name__ == "__main__":
    main()
