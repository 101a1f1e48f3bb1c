"""A class on real components: the app's replicas (`PORT=... bash scripts/run.sh`, the README's
command), nginx with the deploy config, PostgreSQL (harness/), and learners driving real
Streamlit sessions through Streamlit's agent API (one HTTP call per script run; see
harness/app_learners.py).

- 60 learners answer through nginx, one replica is killed mid-run: its learners reconnect (to
  the other replica, by their resume link) and find their progress there, and every answer the
  page acknowledged is in PostgreSQL.
- `kill -9` of the server while 20 learners answer: after the restart, every acknowledged
  answer is in the store, and the app shows each learner's progress again.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.app_learners import EXERCISE, REPLICA_COMMAND, AgentLearner, AppReplica, sep_answers
from harness.nginx import Nginx
from sortlist_core.paths import default_bundled_key, load_bundled
from sortlist_progress import new_learner_key, open_store

N_CLASS = 60
N_ANSWERING = 20
TOKEN = "the-instructors-token-" + secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def model():
    return load_bundled(default_bundled_key())  # the app's default model


def replica_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "SORTLIST_"))}
    env.update(OMP_NUM_THREADS="1", STREAMLIT_SERVER_COOKIE_SECRET=secrets.token_hex(32), **extra)
    return env


def stored_answers(env: dict[str, str], key: str, model_fp: str) -> list[tuple[str, bool]]:
    with open_store(env) as store:
        return [(a.answer, a.passed) for a in store.attempts(key, model_fp, EXERCISE)]


def is_subsequence(part: list, whole: list) -> bool:
    it = iter(whole)
    return all(item in it for item in part)


def without_repeats(answers: list) -> list:
    """The store keeps an answer identical to the learner's previous one (same text, same verdict)
    once, so two acknowledged `5`s in a row are one stored row."""
    return [a for i, a in enumerate(answers) if i == 0 or a != answers[i - 1]]


def test_the_replicas_run_the_readmes_command():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = re.findall(r"^\s*PORT=\d+ (bash scripts/run\.sh)\s", readme, flags=re.M)
    assert len(commands) >= 2 and all(c.split() == REPLICA_COMMAND for c in commands)


def check_instructor_view(base: str, learners: list[AgentLearner]) -> None:
    """`/instructor` and its data, without and with the token, on a server with a class."""
    with urllib.request.urlopen(f"{base}/instructor", timeout=30) as response:
        html = response.read().decode()  # the app's static shell: no class data in it
    assert "Solve rates" not in html and EXERCISE not in html
    client = AgentLearner(base, new_learner_key())
    for query in ({}, {"instructor": [TOKEN[:-1]]}, {"instructor": ["x" + TOKEN]}):
        body = json.dumps(client._post({"page": "instructor", "query_params": query}))
        assert "Solve rates" not in body and "Instructor" not in body and "attempts" not in body, query
    body = json.dumps(client._post({"page": "instructor", "query_params": {"instructor": [TOKEN]}}))
    assert "Solve rates" in body and EXERCISE in body and TOKEN not in body
    assert all(x.key not in body for x in learners)  # keys never reach the instructor


@pytest.mark.slow
def test_sixty_learners_behind_nginx_survive_a_replica_kill(postgres_url, nginx_binary, model):
    right, wrong = sep_answers(model)
    env = replica_env(SORTLIST_DATABASE_URL=postgres_url)
    replicas = [AppReplica(env), AppReplica(env)]
    nginx = Nginx(nginx_binary, [r.address for r in replicas])
    try:
        for r in replicas:
            r.start()
        for r in replicas:  # warm up, as a deployment's readiness check would: model and caches loaded
            AgentLearner(f"http://{r.address}", new_learner_key()).open()
        nginx.start()
        base = f"http://127.0.0.1:{nginx.port}"
        learners = [AgentLearner(base, new_learner_key()) for _ in range(N_CLASS)]

        def first_round(learner: AgentLearner) -> None:
            assert learner.progress(learner.open()) == 0
            assert learner.answer(wrong) == (False, True)
            assert learner.answer(right) == (True, True)

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=N_CLASS) as pool:
            list(pool.map(first_round, learners))
        replicas[0].kill()  # mid-run: every learner has a session on one of the two replicas

        seen_after_reconnect: dict[str, int] = {}
        lock = threading.Lock()

        def second_round(learner: AgentLearner) -> None:
            before = learner.reconnects
            learner.answer_reconnecting(wrong)
            if learner.reconnects > before:  # its replica was gone: a fresh session elsewhere
                with lock:
                    seen_after_reconnect[learner.key] = learner.progress(learner.open())

        with ThreadPoolExecutor(max_workers=N_CLASS) as pool:
            list(pool.map(second_round, learners))
        elapsed = time.monotonic() - t0

        assert 0 < len(seen_after_reconnect) < N_CLASS, "the killed replica served none or all learners"
        assert set(seen_after_reconnect.values()) == {1}, "a reconnected learner lost progress"
        fp = model.weights_sha256
        for learner in learners:
            stored = stored_answers(env, learner.key, fp)
            assert len(learner.acknowledged) == 3
            assert is_subsequence(without_repeats(learner.acknowledged), stored), (
                learner.acknowledged,
                stored,
            )
        print(f"{N_CLASS} learners, {len(seen_after_reconnect)} moved replicas, {elapsed:.1f} s")
    finally:
        nginx.stop()
        for r in replicas:
            r.kill()


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_answer(tmp_path, model):
    right, wrong = sep_answers(model)
    env = replica_env(SORTLIST_DATA_DIR=str(tmp_path), SORTLIST_INSTRUCTOR_TOKEN=TOKEN)
    server = AppReplica(env).start()
    learners = [AgentLearner(f"http://{server.address}", new_learner_key()) for _ in range(N_ANSWERING)]
    stop = threading.Event()

    def keep_answering(learner: AgentLearner) -> None:
        try:
            learner.open()
            n = 0
            while not stop.is_set():
                learner.answer(right if n % 3 == 2 else wrong)
                n += 1
        except (ConnectionError, OSError):
            pass  # the server died under this learner

    try:
        with ThreadPoolExecutor(max_workers=N_ANSWERING) as pool:
            futures = [pool.submit(keep_answering, learner) for learner in learners]
            deadline = time.monotonic() + 120
            while (
                sum(len(x.acknowledged) for x in learners) < 3 * N_ANSWERING and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            server.kill()  # SIGKILL while answers are in flight
            stop.set()
            for f in futures:
                f.result(timeout=150)
        acknowledged = sum(len(x.acknowledged) for x in learners)
        assert acknowledged >= 3 * N_ANSWERING, "too few answers before the kill"

        server = AppReplica(env).start()  # the same command, same data dir
        fp = model.weights_sha256
        for learner in learners:
            stored = stored_answers(env, learner.key, fp)
            assert is_subsequence(without_repeats(learner.acknowledged), stored), (
                learner.acknowledged,
                stored,
            )
            learner.base_url = f"http://{server.address}"
            shown = learner.progress(learner.open())  # through the app, after the restart
            assert shown == (1 if any(passed for _, passed in stored) else 0)
        print(f"{acknowledged} acknowledged answers of {N_ANSWERING} learners, all kept")
        check_instructor_view(f"http://{server.address}", learners)
    finally:
        stop.set()
        server.kill()
