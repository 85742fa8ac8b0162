"""Parse feed files with feedparser, as a feed reader would, and report.

Usage: python3 feed_readers.py FILE...

Prints one JSON object per file on stdout:
{"file", "bozo", "bozo_exception", "version", "feed_title", "entries": [{"id", "title", "link", "summary", "content", "tags"}]}

feedparser 6 does not read JSON Feed, so `.json` files are read with
Python's own json module into the same report shape (bozo = 1 when the
version or a required field is wrong); that still checks our JSON with a
second, independent parser.

Exits 3 when feedparser is missing, so that the Rust test can tell the
developer what to install instead of failing obscurely.
"""

import json
import sys

try:
    import feedparser
except ImportError:
    print("feedparser is not installed: pip install feedparser", file=sys.stderr)
    sys.exit(3)


def entry_report(entry):
    content = ""
    if entry.get("content"):
        content = entry["content"][0].get("value", "")
    return {
        "id": entry.get("id"),
        "title": entry.get("title"),
        "link": entry.get("link"),
        "summary": entry.get("summary"),
        "content": content,
        "tags": [t.get("term") for t in entry.get("tags", [])],
    }


def json_feed_report(path):
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    items = doc.get("items")
    ok = (
        doc.get("version") == "https://jsonfeed.org/version/1.1"
        and isinstance(doc.get("title"), str)
        and isinstance(items, list)
        and all(isinstance(i.get("id"), str) for i in items)
    )
    return {
        "file": path,
        "bozo": 0 if ok else 1,
        "bozo_exception": None if ok else "missing required JSON Feed 1.1 fields",
        "version": "json11" if ok else None,
        "feed_title": doc.get("title"),
        "entries": [
            {
                "id": i.get("id"),
                "title": i.get("title"),
                "link": i.get("url"),
                "summary": i.get("summary"),
                "content": i.get("content_html"),
                "tags": i.get("tags", []),
            }
            for i in items or []
        ],
    }


def main(paths):
    for path in paths:
        if path.endswith(".json"):
            print(json.dumps(json_feed_report(path), ensure_ascii=False))
            continue
        with open(path, "rb") as f:
            parsed = feedparser.parse(f.read())
        exc = parsed.get("bozo_exception")
        print(
            json.dumps(
                {
                    "file": path,
                    "bozo": int(bool(parsed.bozo)),
                    "bozo_exception": repr(exc) if exc else None,
                    "version": parsed.version,
                    "feed_title": parsed.feed.get("title"),
                    "entries": [entry_report(e) for e in parsed.entries],
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
