#!/usr/bin/env bash
# Installs the external tools the test suite uses. Idempotent; safe to re-run.
# Needs root (or sudo) for Debian packages on a fresh machine.
#   xmllint (libxml2-utils)  validates the RSS and Atom we publish
#   feedparser (Python)      reads our feeds back as feed readers do
#   node + @fedify/fedify     an independent ActivityPub peer (tests/peer)
#   chromium + playwright-core  browser checks of the web pages (tests/browser)
#   systemd-analyze (systemd)   verifies contrib/feedwatch.service
set -euo pipefail

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v xmllint >/dev/null 2>&1 || need_apt+=(libxml2-utils)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# systemd-analyze verifies contrib/feedwatch.service.
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# CJK glyphs, so screenshots of Chinese stories show text rather than boxes.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)

if [ ${#need_apt[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if ! python3 -c 'import feedparser' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'feedparser==6.0.*' \
    || python3 -m pip install --quiet --break-system-packages 'feedparser==6.0.*'
fi

sh "$(dirname "$0")/../tests/peer/install.sh"
(cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund)

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
echo "test tools ready"
