"""Deployment checks that need no Docker engine, network or browser.

They read the Dockerfile, .dockerignore, requirements files, scripts, README and the
Streamlit config as text and check that a `docker build` / hosted deployment would ship
everything the app needs at start-up, with the pinned CPU torch build.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Everything the app imports or reads at start-up, relative to the repository root.
STARTUP_PATHS = [
    "app.py",
    "pages",
    "sortlist_core",
    "sortlist_app",
    "assets",
    ".streamlit/config.toml",
]
# Directories whose Python files are scanned for imports of other top-level local modules.
APP_SOURCE_DIRS = ["pages", "sortlist_core", "sortlist_app"]

REQ_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!-]+)$")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


# --------------------------------------------------------------------------- helpers


def _read(rel: str) -> str:
    return (ROOT / rel).read_text(encoding="utf-8")


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            instr, _, args = buf.strip().partition(" ")
            out.append((instr.upper(), args.strip()))
        buf = ""
    if buf.strip():
        instr, _, args = buf.strip().partition(" ")
        out.append((instr.upper(), args.strip()))
    return out


def _exec_form(args: str) -> list[str]:
    """argv of a CMD/ENTRYPOINT/RUN in exec (JSON) form, else shell-split."""
    args = args.strip()
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return shlex.split(args)


def _copy_sources(instructions: list[tuple[str, str]]) -> list[str]:
    """Normalised source paths of every COPY/ADD from the build context."""
    sources: list[str] = []
    for instr, args in instructions:
        if instr not in {"COPY", "ADD"}:
            continue
        parts = _exec_form(args)
        parts = [p for p in parts if not p.startswith("--")]
        if any(p.startswith("--from") for p in _exec_form(args)):
            continue  # multi-stage copy, not from the context
        for src in parts[:-1]:
            src = src.strip()
            src = src[2:] if src.startswith("./") else src
            sources.append(src.rstrip("/") or ".")
    return sources


def _is_copied(rel: str, sources: list[str]) -> bool:
    rel = rel.rstrip("/")
    for src in sources:
        if src in {".", "*"} or rel == src or rel.startswith(src + "/"):
            return True
    return False


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """Translate one .dockerignore pattern (Go filepath.Match plus `**`) to a regex."""
    pattern = pattern.strip().strip("/")
    pattern = re.sub(r"/+", "/", pattern)
    if pattern.startswith("./"):
        pattern = pattern[2:]
    i, out = 0, []
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class DockerIgnore:
    """Small .dockerignore matcher: last matching pattern wins, `!` re-includes, and a
    pattern that matches a parent directory excludes everything below it."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            self.rules.append((negate, _dockerignore_regex(line)))

    def excluded(self, rel: str) -> bool:
        parts = rel.strip("/").split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for negate, rx in self.rules:
            if any(rx.match(c) for c in candidates):
                result = not negate
        return result


def _local_top_level_imports(py_file: Path) -> set[str]:
    tree = ast.parse(py_file.read_text(encoding="utf-8"), filename=str(py_file))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if (ROOT / f"{n}.py").is_file() or (ROOT / n / "__init__.py").is_file()}


def _requirements(rel: str) -> tuple[list[str], dict[str, str]]:
    """(non-pin lines such as `-r x`, {normalised name: version}) of a requirements file."""
    other: list[str] = []
    pins: dict[str, str] = {}
    for raw in _read(rel).splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        m = REQ_LINE.match(line)
        if m is None:
            other.append(line)
            continue
        name = re.sub(r"[-_.]+", "-", m["name"]).lower()
        assert name not in pins, f"{rel}: {name} pinned twice"
        pins[name] = m["version"]
    return other, pins


def _readme_top_section() -> str:
    """README text before its first `## ` heading."""
    lines = _read("README.md").splitlines()
    top: list[str] = []
    for line in lines:
        if line.startswith("## "):
            break
        top.append(line)
    return "\n".join(top)


def _fenced_blocks(markdown: str) -> list[str]:
    return [b.strip() for b in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)]


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions(_read("Dockerfile"))


@pytest.fixture(scope="module")
def dockerignore() -> DockerIgnore:
    return DockerIgnore(_read(".dockerignore"))


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_image_matches_python_requirement(instructions):
    froms = [args for instr, args in instructions if instr == "FROM"]
    assert froms and froms[-1].split()[0] == "python:3.11-slim"
    requires = tomllib.loads(_read("pyproject.toml"))["project"]["requires-python"]
    assert requires == ">=3.11"


def test_dockerfile_installs_the_code_exercise_sandbox(instructions):
    runs = [arg for op, arg in instructions if op == "RUN" and "apt-get install" in arg]
    assert any(re.search(r"\bbubblewrap\b", arg) for arg in runs), "bwrap (sandbox mode) must be in the image"


def test_dockerfile_installs_cpu_torch_then_requirements(instructions):
    runs = [(i, args) for i, (instr, args) in enumerate(instructions) if instr == "RUN"]
    torch_runs = [i for i, args in runs if "torch==" in args]
    assert torch_runs, "Dockerfile must install torch explicitly"
    torch_args = instructions[torch_runs[0]][1]
    assert f"--index-url {CPU_INDEX}" in torch_args, "torch must come from the CPU index"
    assert "--no-cache-dir" in torch_args
    _, runtime = _requirements("requirements.txt")
    torch_pin = re.search(r"torch==(\S+)", torch_args)[1]
    assert torch_pin == runtime["torch"] == "2.13.0"

    req_runs = [i for i, args in runs if re.search(r"pip install .*-r requirements\.txt", args)]
    assert req_runs, "Dockerfile must `pip install -r requirements.txt`"
    assert torch_runs[0] < req_runs[0], "CPU torch must be installed before requirements.txt"
    assert "--no-cache-dir" in instructions[req_runs[0]][1]
    assert _is_copied("requirements.txt", _copy_sources(instructions[: req_runs[0]]))


@pytest.mark.parametrize("rel", STARTUP_PATHS)
def test_startup_path_is_copied_and_not_dockerignored(rel, instructions, dockerignore):
    path = ROOT / rel
    assert path.exists(), f"{rel} is missing from the repository"
    assert _is_copied(rel, _copy_sources(instructions)), f"{rel} is not COPY'd into the image"
    assert not dockerignore.excluded(rel), f"{rel} is excluded by .dockerignore"
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if not f.is_file() or "__pycache__" in f.parts or f.suffix in {".pyc", ".pyo"}:
                continue
            sub = f.relative_to(ROOT).as_posix()
            assert not dockerignore.excluded(sub), f"{sub} is excluded by .dockerignore"


def test_local_modules_imported_by_the_app_are_shipped(instructions, dockerignore):
    files = [ROOT / "app.py"]
    for d in APP_SOURCE_DIRS:
        files.extend(sorted((ROOT / d).rglob("*.py")))
    imported: set[str] = set()
    for f in files:
        if f.is_file():
            imported |= _local_top_level_imports(f)
    assert "sortlist_app" in imported or "sortlist_core" in imported, imported
    sources = _copy_sources(instructions)
    for name in sorted(imported):
        rel = name if (ROOT / name).is_dir() else f"{name}.py"
        assert _is_copied(rel, sources), f"the app imports {name} but {rel} is not COPY'd"
        assert not dockerignore.excluded(rel), f"the app imports {name} but .dockerignore drops it"


def test_dockerignore_keeps_dev_files_out(dockerignore):
    for rel in [
        "tests/test_deploy.py",
        "bench/__main__.py",
        "harness/server.py",
        ".venv/bin/python",
        ".git/HEAD",
        "sortlist_core/__pycache__/x.cpython-311.pyc",
        "__pycache__/app.cpython-311.pyc",
        ".pytest_cache/v",
        ".ruff_cache/x",
        "docs/screenshots/problem.png",
        "scripts/run.sh",
        ".ci/run",
        "sortlist_app/x.pyc",
    ]:
        assert dockerignore.excluded(rel), f"{rel} should not be in the build context"
    for rel in ["assets/x.png", ".streamlit/config.toml", "app.py", "requirements.txt"]:
        assert not dockerignore.excluded(rel), rel


def test_dockerignore_matcher_semantics():
    ig = DockerIgnore("docs/\n**/*.pyc\n*.md\n!README.md\nbuild\n!build/keep\n")
    assert ig.excluded("docs") and ig.excluded("docs/a/b.png")
    assert ig.excluded("a.pyc") and ig.excluded("x/y/a.pyc")
    assert ig.excluded("NOTES.md") and not ig.excluded("README.md")
    assert not ig.excluded("sub/NOTES.md")  # `*` does not cross directories
    assert ig.excluded("build/x") and not ig.excluded("build/keep")
    assert not ig.excluded("docsx/a")


def test_dockerfile_cmd_runs_streamlit_app(instructions):
    entry = [args for instr, args in instructions if instr == "ENTRYPOINT"]
    cmd = [args for instr, args in instructions if instr == "CMD"]
    argv = (_exec_form(entry[-1]) if entry else []) + (_exec_form(cmd[-1]) if cmd else [])
    # `streamlit run app.py` with the first page's work started at launch (sortlist_app/server/serve.py)
    assert argv[:3] == ["python", "-m", "sortlist_app.server.serve"], argv
    assert "--server.port=8501" in argv
    assert "--server.address=0.0.0.0" in argv


def test_dockerfile_runs_as_non_root_user(instructions):
    users = [args for instr, args in instructions if instr == "USER"]
    assert users, "Dockerfile must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_exposes_8501(instructions):
    ports = {p.split("/")[0] for instr, args in instructions if instr == "EXPOSE" for p in args.split()}
    assert "8501" in ports


def test_dockerfile_healthcheck_uses_python_not_curl(instructions):
    checks = [args for instr, args in instructions if instr == "HEALTHCHECK"]
    assert checks, "Dockerfile must have a HEALTHCHECK"
    check = checks[-1]
    assert "http://localhost:8501/_stcore/health" in check
    assert "urllib" in check and "python" in check
    assert "curl" not in check and "wget" not in check  # neither is in python:3.11-slim


# --------------------------------------------------------------------------- requirements


def test_requirements_are_exact_pins():
    other, pins = _requirements("requirements.txt")
    assert other == [], f"requirements.txt lines must all be name==version: {other}"
    for name in ["torch", "transformer-lens", "streamlit", "circuitsvis", "plotly", "numpy"]:
        assert name in pins, f"{name} missing from requirements.txt"
    assert pins["torch"] == "2.13.0"


def test_dev_requirements_include_runtime_without_duplicating_pins():
    other, dev = _requirements("requirements-dev.txt")
    assert other == ["-r requirements.txt"], other
    _, runtime = _requirements("requirements.txt")
    assert not set(dev) & set(runtime), f"duplicated pins: {set(dev) & set(runtime)}"
    for name in ["pytest", "ruff", "playwright", "hypothesis"]:
        assert name in dev, f"{name} missing from requirements-dev.txt"


# --------------------------------------------------------------------------- scripts, CI, README


def test_ci_entry_point_runs_test_script_and_is_documented():
    lines = [ln.strip() for ln in _read(".ci/run").splitlines()]
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    commands = [ln for ln in lines if ln and not ln.startswith("#")]
    assert commands[-1] == "bash scripts/test.sh"
    assert commands[-1] in _read("README.md")


def test_readme_top_section_has_exactly_the_two_commands():
    top = _readme_top_section()
    assert _fenced_blocks(top) == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert "docs/screenshots/problem.png" in top


@pytest.mark.parametrize("script", ["scripts/run.sh", "scripts/test.sh", "scripts/_venv.sh", ".ci/run"])
def test_shell_scripts_parse(script):
    subprocess.run(["bash", "-n", str(ROOT / script)], check=True)


def test_run_script_starts_streamlit_app():
    text = _read("scripts/run.sh")
    assert "set -euo pipefail" in text
    assert re.search(r"exec \S*python\"? -m sortlist_app\.serve", text)  # streamlit run app.py, warm-started
    assert "${PORT:-8501}" in text
    assert "requirements.txt" in text


def test_test_script_runs_every_check():
    text = _read("scripts/test.sh")
    assert "set -euo pipefail" in text
    assert "requirements-dev.txt" in text
    order = ['ruff" check .', 'ruff" format --check .', "-m pytest", "-m bench --quick"]
    positions = [text.find(s) for s in order]
    assert all(p >= 0 for p in positions), dict(zip(order, positions))
    assert positions == sorted(positions)


# --------------------------------------------------------------------------- Streamlit config


def test_streamlit_config_is_production_ready():
    config = tomllib.loads(_read(".streamlit/config.toml"))
    assert config["server"]["headless"] is True
    assert config["server"]["enableStaticServing"] is True
    assert config["server"]["fileWatcherType"] == "none"
    # above the app's 5 MB checkpoint limit, so a 6 MB file is refused with a message
    assert config["server"]["maxUploadSize"] == 16
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"
    # a full collection after every run was most of a new session's CPU, and grew with every
    # open session (a class of 20 opening a page at once); see the comment in config.toml and
    # sortlist_app/server/heap.py
    assert config["runner"]["postScriptGC"] is False


def test_constraints_pin_every_requirement_at_its_own_version():
    """constraints.txt pins the whole installed set; a requirement pinned differently there
    would make pip refuse to install."""
    other, locked = _requirements("constraints.txt")
    assert other == [], f"constraints.txt lines must all be name==version: {other}"
    for rel in ("requirements.txt", "requirements-dev.txt"):
        _, pins = _requirements(rel)
        for name, version in pins.items():
            assert locked.get(name) == version, (
                f"{rel} pins {name}=={version}, constraints.txt {locked.get(name)}"
            )
    assert "+" not in locked["torch"], "a local label (+cpu) would refuse the default torch build"


def test_scripts_and_image_install_with_the_constraints():
    assert "-c constraints.txt" in _read("Dockerfile")
    venv = _read("scripts/_venv.sh")
    assert 'CONSTRAINTS="constraints.txt"' in venv and '-c "$CONSTRAINTS"' in venv
