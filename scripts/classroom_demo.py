"""A scripted class for the instructor view: 20 learners' attempts recorded through the progress
store, then the instructor page photographed in Chromium (docs/screenshots/instructor.png).

    .venv/bin/python scripts/classroom_demo.py                      # temp SQLite store + screenshot
    .venv/bin/python scripts/classroom_demo.py --no-screenshot --data-dir /tmp/class

The class is simulated, and says so: each learner has a skill level (seeded), works through the
exercises in page order for about an hour, gives a wrong answer a few times (from a small set
of plausible wrong answers per exercise, so that the common ones stand out) and then solves it
or gives up; a few learners stop early (they show up as stalled). Display names are given to
half of them. Answers are recorded with `ProgressStore.record_attempt` (the app's own store),
under the default model's fingerprint, with times spread over the last hour.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sortlist_app.navigation import PAGES  # noqa: E402
from sortlist_core.paths import default_bundled_key, load_bundled  # noqa: E402
from sortlist_progress import new_learner_key, open_store  # noqa: E402

NAMES = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken"]


def record_class(data_dir: Path, model_fp: str, n_learners: int = 20, seed: int = 0) -> int:
    """Record a simulated class's attempts; returns how many attempts were stored."""
    rng = random.Random(seed)
    exercises = [ex for p in PAGES for ex in p.exercises]
    # per exercise: how hard it is, and a few wrong answers the class tends to give
    difficulty = {ex: rng.uniform(0.1, 0.6) for ex in exercises}
    wrong = {ex: [str(rng.randint(0, 50)) for _ in range(4)] for ex in exercises}
    now = time.time()
    count = 0
    with open_store({"SORTLIST_DATA_DIR": str(data_dir)}) as store:
        for i in range(n_learners):
            key = new_learner_key()
            store.touch(key)
            if i % 2 == 0:
                store.set_display_name(key, NAMES[(i // 2) % len(NAMES)])
            skill = rng.uniform(0.3, 0.95)
            t = now - 3600 + rng.uniform(0, 300)
            stops_at = rng.randint(2, len(exercises)) if rng.random() < 0.3 else len(exercises)
            for ex in exercises[:stops_at]:
                tries = 0
                while True:
                    t += rng.uniform(20, 180)
                    if t > now - 60:
                        break
                    tries += 1
                    passed = rng.random() < skill * (1 - difficulty[ex])
                    answer = "right" if passed else rng.choice(wrong[ex][: 1 + tries % 4])
                    store.record_attempt(key, model_fp, ex, answer, passed, at=t)
                    count += 1
                    if passed or tries >= 6:
                        break
    return count


def screenshot(data_dir: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from harness.browser import full_page_screenshot, launch_chromium, wait_ready
    from harness.server import StreamlitServer

    token = secrets.token_urlsafe(24)
    env = {
        "SORTLIST_DATA_DIR": str(data_dir),
        "SORTLIST_INSTRUCTOR_TOKEN": token,
        "SORTLIST_DATABASE_URL": None,
    }
    with tempfile.TemporaryDirectory() as tmp, StreamlitServer(Path(tmp) / "server.log", env) as server:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            # the token once (as the README says), then the page that appears in the menu
            page.goto(f"{server.url}/?instructor={token}")
            wait_ready(page, n_links=len(PAGES) + 1)
            page.get_by_role("link", name="Instructor").click()
            wait_ready(page, n_links=len(PAGES) + 1, heading="Instructor: your class")
            assert "Instructor" in page.inner_text("h1"), page.inner_text("body")[:500]
            full_page_screenshot(page, out)
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, help="SQLite store directory (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "instructor.png")
    parser.add_argument("--no-screenshot", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="sortlist-class-"))
    model = load_bundled(default_bundled_key())  # the app's default model
    n = record_class(data_dir, model.weights_sha256, args.learners, args.seed)
    print(f"{args.learners} learners, {n} attempts recorded in {data_dir}")
    if not args.no_screenshot:
        screenshot(data_dir, args.out)
        print(f"instructor page: {args.out}")


if __name__ == "__main__":
    main()
