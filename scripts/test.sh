#!/usr/bin/env bash
# Set up and run every check: creates .venv if needed, installs requirements-dev.txt
# (skipped when unchanged), installs the Debian packages the tests start for real when
# missing (chromium, nginx, postgresql, bubblewrap; root only), then runs ruff lint + format
# check, the whole pytest suite (including e2e) and the quick benchmark.
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

# --- system programs the tests start for real ---------------------------------------------
# chromium (e2e tests, driven by Playwright), nginx (deploy/nginx tests), PostgreSQL (progress
# store tests: initdb/pg_ctl), bubblewrap (learner-code sandbox), util-linux. Installed with apt-get when
# missing and we are root; otherwise a warning says what to install.
CHROMIUM="${SORTLIST_CHROMIUM:-/usr/bin/chromium}"
missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium chromium-driver fonts-noto-color-emoji)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# setpriv + unshare: the runner's attacks run again as an unprivileged uid (tests/test_runner.py)
command -v setpriv >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if (( ${#missing[@]} )); then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing ${missing[*]} with apt-get (needed by the tests)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        log "WARNING: missing ${missing[*]} and cannot install (needs root + apt-get)."
        log "         Install them yourself:  sudo apt-get install -y ${missing[*]}"
        log "         (or point SORTLIST_CHROMIUM at a Chromium/Chrome binary)."
        log "         The tests that need them are skipped outside CI and fail under CI."
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
