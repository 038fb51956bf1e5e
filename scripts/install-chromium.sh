#!/usr/bin/env bash
# Make Debian's Chromium available at /usr/bin/chromium for the browser tests (tests/test_browser.py).
# Playwright drives it through executable_path; `playwright install` is not used because it downloads
# browsers from a CDN, which CI and offline machines cannot reach. Only the apt package registry is used.
#   As root (CI, containers): installs the `chromium` package with apt-get when it is missing.
#   Otherwise: changes nothing and prints how to install it.
# Idempotent: exits 0 at once when Chromium is already there.
set -euo pipefail

chromium=${CHROMIUM:-/usr/bin/chromium}

if [ -x "$chromium" ]; then
  echo "chromium: $("$chromium" --version 2>/dev/null || echo present) at $chromium"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<EOF
chromium: $chromium is missing, and installing it needs root. On Debian or Ubuntu run:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium
or, as root, rerun this script: sudo scripts/install-chromium.sh
Until then the browser tests (pytest -m browser) are skipped.
EOF
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: $chromium is missing and this system has no apt-get; install Chromium with its package manager" >&2
  exit 1
fi

echo "chromium: installing Debian's chromium package with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $("$chromium" --version 2>/dev/null) at $chromium"
