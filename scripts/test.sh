#!/usr/bin/env bash
# Set up and run every check: creates .venv if needed, installs requirements-dev.txt
# (skipped when unchanged), installs Debian chromium for the real-browser e2e tests when
# missing (root only), then runs ruff lint + format check, the whole pytest suite
# (including e2e) and the quick benchmark.
#
#   bash scripts/test.sh
#   bash scripts/test.sh -k deploy      # extra arguments go to pytest
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh

ensure_venv
ensure_requirements dev requirements-dev.txt requirements.txt
# requirements-dev.txt includes requirements.txt, so the runtime set is installed too.
mark_installed runtime requirements.txt

# --- browser for the e2e tests (Playwright drives the system chromium) -----------------
CHROMIUM="${SORTLIST_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing chromium, chromium-driver and an emoji font with apt-get (needed by the e2e tests)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-color-emoji >/dev/null
    else
        log "WARNING: $CHROMIUM not found and cannot install it (needs root + apt-get)."
        log "         Install it yourself:  sudo apt-get install -y chromium chromium-driver"
        log "         or point SORTLIST_CHROMIUM at a Chromium/Chrome binary."
        log "         The e2e tests will fail without a browser."
    fi
fi
export SORTLIST_CHROMIUM="$CHROMIUM"

log "ruff check"
"$VENV_DIR/bin/ruff" check .
log "ruff format --check"
"$VENV_DIR/bin/ruff" format --check .

log "pytest (all tests, including e2e)"
"$VENV_PY" -m pytest -q "$@"

if [[ -f bench/__main__.py ]]; then
    log "quick benchmark"
    "$VENV_PY" -m bench --quick
else
    log "bench/__main__.py not present; skipping the benchmark"
fi

log "all checks passed"
