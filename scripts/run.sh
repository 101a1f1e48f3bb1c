#!/usr/bin/env bash
# Set up and run the sortlist app: creates .venv if needed, installs the pinned runtime
# dependencies (skipped when requirements.txt is unchanged), then starts Streamlit at
# http://localhost:${PORT:-8501}. Extra arguments are passed on to `streamlit run` (through
# `python -m sortlist_app.server.serve`).
#
#   bash scripts/run.sh
#   PORT=8600 bash scripts/run.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh

ensure_venv
ensure_requirements runtime requirements.txt

PORT="${PORT:-8501}"
log "starting sortlist at http://localhost:$PORT (Ctrl+C to stop)"
# `streamlit run app.py`, with the first page's work started at launch (sortlist_app/server/serve.py)
exec "$VENV_DIR/bin/python" -m sortlist_app.server.serve \
    --server.port="$PORT" \
    --server.headless=true \
    "$@"
