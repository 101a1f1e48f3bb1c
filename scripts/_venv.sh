# shellcheck shell=bash
# Shared helpers for scripts/run.sh and scripts/test.sh. Source it; do not run it.
#
#   ensure_venv                 create .venv (python3 -m venv) if it is missing or broken
#   ensure_requirements NAME FILE [EXTRA..]
#                               pip-install -r FILE into .venv unless a stamp says it is already
#                               installed (stamp = sha256 of the files, constraints.txt and the
#                               python version); versions are pinned by constraints.txt
#   mark_installed NAME FILE..  write that stamp (FILE is known to be installed already)
#
# Environment:
#   PYTHON                      interpreter used to create .venv (default: python3, must be >= 3.11)
#   SORTLIST_TORCH_INDEX_URL    index for the CPU torch wheel on Linux
#                               (default https://download.pytorch.org/whl/cpu; set to "" to
#                               skip it and let pip resolve torch==2.13.0 from its usual indexes)

VENV_DIR="${VENV_DIR:-.venv}"
VENV_PY="$VENV_DIR/bin/python"
TORCH_PIN="torch==2.13.0"

log() { printf '\033[1m[sortlist]\033[0m %s\n' "$*" >&2; }

ensure_venv() {
    local py="${PYTHON:-python3}"
    if [[ -x "$VENV_PY" ]] && "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v "$py" >/dev/null 2>&1; then
        log "error: '$py' not found; install Python >= 3.11 or set PYTHON=/path/to/python3.11"
        exit 1
    fi
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        log "error: $("$py" --version 2>&1) is too old; sortlist needs Python >= 3.11 (set PYTHON=...)"
        exit 1
    fi
    log "creating virtual environment in $VENV_DIR ($("$py" --version 2>&1))"
    rm -rf "$VENV_DIR"
    if ! "$py" -m venv "$VENV_DIR"; then
        log "error: '$py -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
        exit 1
    fi
    "$VENV_PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
}

CONSTRAINTS="constraints.txt"  # every package's tested version (pip -c)

_stamp_of() {
    # sha256 over the given files, the constraints and the interpreter version
    {
        "$VENV_PY" -c 'import sys; print(sys.version)'
        cat "$@"
        [[ -f "$CONSTRAINTS" ]] && cat "$CONSTRAINTS"
    } | "$VENV_PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

_torch_ok() {
    "$VENV_PY" - <<'PY' >/dev/null 2>&1
from importlib.metadata import version
import sys
sys.exit(version("torch").split("+")[0] != "2.13.0")
PY
}

_reachable() {
    # true if the URL's host accepts a TCP connection within a few seconds
    "$VENV_PY" - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
socket.create_connection((u.hostname, u.port or (443 if u.scheme == "https" else 80)), timeout=5).close()
PY
}

_ensure_cpu_torch() {
    # On Linux, PyPI's torch wheel drags in several GB of CUDA libraries; take the CPU build
    # from the PyTorch index first. Falls back to the normal indexes if that one is unreachable.
    _torch_ok && return 0
    local index="${SORTLIST_TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}"
    if [[ "$(uname -s)" == "Linux" && -n "$index" ]] && _reachable "$index"; then
        log "installing CPU-only $TORCH_PIN from $index"
        if "$VENV_PY" -m pip install --quiet --disable-pip-version-check \
            --retries 1 --timeout 30 --index-url "$index" "$TORCH_PIN"; then
            return 0
        fi
        log "warning: CPU torch install failed; falling back to the default indexes"
    elif [[ "$(uname -s)" == "Linux" && -n "$index" ]]; then
        log "CPU torch index $index unreachable; installing $TORCH_PIN from the default indexes"
    fi
}

# ensure_requirements NAME FILE [EXTRA_FILE...]
#   NAME: stamp name; FILE is installed with `pip install -r`; EXTRA_FILEs only feed the
#   stamp (e.g. requirements.txt, which requirements-dev.txt includes with -r).
ensure_requirements() {
    local name="$1" file="$2"
    shift
    local stamp_file="$VENV_DIR/.sortlist-$name.sha256"
    local want
    want="$(_stamp_of "$@")"
    if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$want" ]]; then
        return 0
    fi
    _ensure_cpu_torch
    log "installing $file into $VENV_DIR (first run takes a few minutes)"
    local constrain=()
    [[ -f "$CONSTRAINTS" ]] && constrain=(-c "$CONSTRAINTS")
    "$VENV_PY" -m pip install --quiet --disable-pip-version-check -r "$file" "${constrain[@]}"
    printf '%s\n' "$want" >"$stamp_file"
}

# mark_installed NAME FILE [EXTRA_FILE...]: record FILE as installed without running pip.
mark_installed() {
    local name="$1"
    shift
    _stamp_of "$@" >"$VENV_DIR/.sortlist-$name.sha256"
}
