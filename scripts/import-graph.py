#!/usr/bin/env python3
"""The crate's import graph in figures (Python 3 standard library only).

Usage: python3 scripts/import-graph.py [SRC_DIR]   (default: src)

Prints:
  1. module pairs that import each other, at two levels:
     - file level: `src/web/admin.rs` <-> `src/settings.rs`;
     - top level:  `web` <-> `settings` (a file's top-level module is the
       first path component under src/, `lib.rs`/`main.rs` excluded);
  2. the largest files (lines);
  3. the longest functions (lines from `fn` to its closing brace).

What counts as an import: every `crate::a::b` path in the code (in `use`
lines and inline), `super::` paths resolved against the file's module, and
`use crate::{a, b::c}` groups. Comments, strings and `#[cfg(test)]`
modules (inline, or a whole file declared `#[cfg(test)] mod x;`) are left
out, so test-only imports and functions do not count. It is a text
scan, not a compiler: a path is attributed to the longest module prefix
that is a file of the tree.
"""

import os
import re
import sys
from collections import defaultdict

TOP_FILES = 12
TOP_FUNCS = 12


def module_of(path, src):
    """src/web/pages/mod.rs -> ('web', 'pages'); src/app.rs -> ('app',)."""
    rel = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return ()
    return tuple(rel)


def strip(text):
    """Drops comments, string and char literals (keeps line breaks)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_modules(code):
    """Removes `#[cfg(test)] mod x { ... }` blocks."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", code)
        if not m:
            return code
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        code = code[: m.start()] + "\n" * code.count("\n", m.start(), i) + code[i:]


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.replace(" ", "").replace("\n", "")
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p:
            out.extend(prefix + q for q in expand_use(p))
    return out


def paths_in(code, me):
    """Absolute module paths (tuples) that `code` (of module `me`) names."""
    found = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        for p in expand_use(m.group(1)):
            found.append(p)
    for m in re.finditer(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", code):
        found.append(m.group(1))
    out = []
    for p in found:
        parts = [x for x in re.split(r"::", p.split(" as ")[0]) if x]
        if not parts:
            continue
        if parts[0] == "crate":
            out.append(tuple(parts[1:]))
        elif parts[0] == "super":
            base = list(me)
            while parts and parts[0] == "super":
                parts.pop(0)
                base = base[:-1]
            out.append(tuple(base + parts))
    return out


def functions(code):
    """(name, start line, length) of every `fn` with a body."""
    out = []
    for m in re.finditer(r"\bfn\s+(\w+)", code):
        i = m.end()
        # the body's opening brace: the first `{` outside the signature's (),<>
        while i < len(code) and code[i] not in "{;":
            i += 1
        if i >= len(code) or code[i] == ";":
            continue
        depth = 0
        while i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
            if depth == 0:
                break
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, i) + 1
        out.append((m.group(1), first, last - first + 1))
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_of(path, src)] = path
    modules = set(files)

    def owner(path):
        """The longest prefix of `path` that is a module file."""
        for k in range(len(path), 0, -1):
            if path[:k] in modules:
                return path[:k]
        return None

    file_edges = defaultdict(set)
    sizes, funcs = [], []
    def shown(path):
        return os.path.join("src", os.path.relpath(path, src))

    # Files that are whole test modules (`#[cfg(test)] mod x;`) are left out
    # like the inline ones: their imports and functions are test code.
    test_only = set()
    for mod, path in files.items():
        with open(path, encoding="utf-8") as f:
            for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+(\w+)\s*;", f.read()):
                test_only.add(tuple(mod) + (m.group(1),))

    for mod, path in files.items():
        if tuple(mod) in test_only:
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        sizes.append((text.count("\n"), shown(path)))
        code = drop_test_modules(strip(text))
        for name, line, length in functions(code):
            funcs.append((length, f"{shown(path)}:{line}", name))
        for p in paths_in(code, mod):
            target = owner(p)
            if target and target != mod and not (mod[: len(target)] == target):
                file_edges[mod].add(target)

    def show(m):
        return "::".join(m) if m else "crate"

    print("== file-level modules that import each other ==")
    pairs = sorted(
        {tuple(sorted((a, b))) for a in file_edges for b in file_edges[a] if a in file_edges.get(b, ())}
    )
    for a, b in pairs:
        print(f"  {show(a)} <-> {show(b)}")
    print(f"  ({len(pairs)} pairs)")

    print("== top-level modules that import each other ==")
    top = defaultdict(set)
    for a, targets in file_edges.items():
        for b in targets:
            if a and b and a[0] != b[0]:
                top[a[0]].add(b[0])
    tpairs = sorted({tuple(sorted((a, b))) for a in top for b in top[a] if a in top.get(b, ())})
    for a, b in tpairs:
        print(f"  {a} <-> {b}")
    print(f"  ({len(tpairs)} pairs)")

    print(f"== largest files (lines), top {TOP_FILES} ==")
    for n, p in sorted(sizes, reverse=True)[:TOP_FILES]:
        print(f"  {n:6}  {p}")

    print(f"== longest functions (lines, tests left out), top {TOP_FUNCS} ==")
    for n, where, name in sorted(funcs, reverse=True)[:TOP_FUNCS]:
        print(f"  {n:6}  {name}  {where}")


if __name__ == "__main__":
    main()
