"""Real app servers and the lightest real client that runs the app: Streamlit's agent API.

- `AppReplica`: `PORT=<free> bash scripts/run.sh`, the README's replica command, with the agent
  API switched on through its environment variable (the command line stays the README's).
- `AgentLearner`: one learner, as a browser would be one: its own cookie jar (nginx's routing
  cookie), a Streamlit session driven over HTTP (`/_stcore/agent/interact`: every call runs the
  app's script in that session), the resume link's `?learner=<key>` to (re)open a session, and
  answers typed into the Problem page's first exercise and checked with its button.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path

from sortlist_app.lessons.problem import SEP_PREDICTION

from .ports import free_port, wait_for_port
from .server import PORT_ATTEMPTS, PORT_TAKEN_MARK

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = SEP_PREDICTION  # the quiz every learner of these tests answers
PROGRESS = re.compile(r"Problem: (\d+) of \d+")
REPLICA_COMMAND = ["bash", "scripts/run.sh"]  # with PORT=...: the README's replica command


def _discard_log(log) -> None:
    log.close()
    Path(log.name).unlink(missing_ok=True)


class AppReplica:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {
            **env,
            "PORT": str(self.port),
            "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
            "STREAMLIT_SERVER_ENABLE_AGENT_API": "true",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
        self.log = tempfile.NamedTemporaryFile(prefix="sortlist-replica-", suffix=".log", delete=False)
        # kept after kill() (a test reads it then); removed once the replica object is gone
        weakref.finalize(self, _discard_log, self.log)
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> AppReplica:
        for attempt in range(1, PORT_ATTEMPTS + 1):  # a free port can be taken before it is bound
            self.proc = subprocess.Popen(
                REPLICA_COMMAND,
                cwd=ROOT,
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_for_port(self.port, timeout=timeout, proc=self.proc)
                return self
            except RuntimeError:
                if attempt == PORT_ATTEMPTS or PORT_TAKEN_MARK not in self.log_tail():
                    raise
                self.port = free_port()
                self.env["PORT"] = str(self.port)
        raise AssertionError("unreachable")

    def kill(self) -> None:
        """SIGKILL, like a crashed host: nothing gets to clean up or flush."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log_tail(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-3000:]


class AgentLearner:
    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key
        self.session_id: str | None = None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.acknowledged: list[tuple[str, bool]] = []  # (answer, passed) the page said were saved
        self.reconnects = 0

    def _post(self, body: dict, timeout: float = 120) -> dict:
        """One interaction; a run still going after the server's wait (30 s, e.g. a cold replica
        under a whole class) is waited for with the session id alone, as the API asks."""
        response = self._post_once(body, timeout)
        deadline = time.monotonic() + timeout
        while response.get("error", {}).get("code") == "wait_timed_out" and time.monotonic() < deadline:
            response = self._post_once({"session_id": response["session_id"]}, timeout)
        return response

    def _post_once(self, body: dict, timeout: float) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/_stcore/agent/interact",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                return json.loads(exc.read())
            except (ValueError, http.client.HTTPException):
                return {"error": {"code": f"http_{exc.code}"}}
        except http.client.HTTPException as exc:  # the server died mid-response
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc

    def open(self) -> dict:
        """A new session on the Problem page through the resume link."""
        response = self._post({"page": "problem", "query_params": {"learner": [self.key]}})
        if "error" in response:
            raise ConnectionError(f"open failed: {response['error']}")
        self.session_id = response["session_id"]
        return response

    def progress(self, response: dict) -> int:
        """Solved exercises of the Problem page, as the sidebar shows them."""
        match = PROGRESS.search(json.dumps(response.get("tree", {}), ensure_ascii=False))
        assert match, "the sidebar shows no progress"
        return int(match.group(1))

    def answer(self, option: int) -> tuple[bool, bool]:
        """Type `option` and press Check: (passed, saved as the page says)."""
        for body in (
            {"widget_state": {f"exercise.{EXERCISE}.answer": str(option)}},  # a text field
            {"trigger": {"key": f"exercise.{EXERCISE}.check"}},
        ):
            response = self._post({"session_id": self.session_id, **body})
            if "error" in response:
                raise ConnectionError(f"answer failed: {response['error']}")
        text = json.dumps(response.get("tree", {}), ensure_ascii=False)
        passed = '"success"' in text
        saved = "Saved: your progress is kept" in text
        if saved:
            self.acknowledged.append((str(option), passed))
        return passed, saved

    def answer_reconnecting(self, option: int, attempts: int = 10) -> tuple[bool, bool]:
        """`answer`, reopening the session through the link when its server went away (as the
        browser's reconnect does; nginx moves it to another replica once this one fails)."""
        for _ in range(attempts):
            try:
                return self.answer(option)
            except (ConnectionError, OSError):
                self.reconnects += 1
                time.sleep(0.5)
                try:
                    self.open()
                except (ConnectionError, OSError):
                    continue
        raise ConnectionError(f"learner could not answer after {attempts} reconnects")


def sep_answers(model) -> tuple[int, int]:
    """The Problem page's first exercise (token predicted at SEP for its default list, #0 of the
    evaluation set): (the right answer, a wrong one)."""
    from sortlist_core import SortedListDataset
    from sortlist_core.metrics import sequence_predictions

    cfg = model.config
    toks = SortedListDataset(500, cfg.list_len, cfg.max_value).toks[:1]
    predicted = int(sequence_predictions(model, toks)[0].predicted[0])
    return predicted, (predicted + 1) % (cfg.max_value + 1)
