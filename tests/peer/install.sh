#!/usr/bin/env sh
# Installs the Fedify test peer's npm modules (CI calls this before `cargo test`).
# Fedify 2.3.6 declares node >= 22 but runs on Node 20 with an engine warning.
set -eu
cd "$(dirname "$0")"
command -v node >/dev/null 2>&1 || { echo "node is required (Node 20+)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "npm is required" >&2; exit 1; }
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
