"""`python -m sortlist_app.serve [streamlit options]`: `streamlit run app.py`, with the first
page's work already under way when the first learner arrives.

Exactly `streamlit run app.py [options]` (same configuration, same options), except that
`sortlist_app.warm_start` starts first, in a background thread: the app's imports, the default
model, its evaluation and the first page's figures are computed while Streamlit starts and the
browser loads, instead of in the first learner's run. A plain `streamlit run app.py` still works
(Community Cloud); its first learner then waits for that work.

    python -m sortlist_app.serve --server.port=8501 --server.address=0.0.0.0
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    from sortlist_app import warm_start

    warm_start.start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
