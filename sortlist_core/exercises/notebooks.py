"""One Jupyter notebook per page (nbformat): statements, starter or solution code, and
`check_<name>(fn)` cells that print the checker's verdict in the notebook's own process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..paths import PROJECT_ROOT
from . import exercises_on_page, notebook_title, pages

if TYPE_CHECKING:
    import nbformat


def _setup_cell(checkpoint: str | None) -> str:
    return f"""\
import sys

try:
    import sortlist_core  # noqa: F401
except ImportError:  # run from anywhere: use the checkout this notebook was written from
    sys.path.insert(0, {str(PROJECT_ROOT)!r})
from sortlist_core.exercises import notebook_support as nb

CHECKPOINT = {checkpoint!r}  # a checkpoint path; None = the lesson model (assets/lesson_model.pt)
loaded, model = nb.load(CHECKPOINT)  # model: the TransformerLens model with processed weights
print(f"{{loaded.name}}: {{model.cfg.n_heads}} heads, d_vocab {{model.cfg.d_vocab}}")"""


def _submitted(ex) -> str:
    """The function a check cell passes: the entry, or (harnessed exercises) the starter's last."""
    if not ex.harness:
        return ex.entry
    return re.findall(r"^def (\w+)", ex.starter, re.MULTILINE)[-1]


def page_notebook(page: str, *, solutions: bool, checkpoint: str | None = None) -> nbformat.NotebookNode:
    # nbformat (with jsonschema) loads only to write notebooks: the exercise registry imports
    # every module of this package, in the server too (`find_pages`)
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [
        new_markdown_cell(
            f"# sortlist - {notebook_title(page)}\n\n"
            "Write each function, run its cell, then run the `check_...` cell below it: the check "
            "calls your function on the loaded model and compares its result with the reference "
            "computed from the same model. Inputs follow TransformerLens's names and shapes "
            '(`model.W_E`, `model.W_Q` [n_layers, n_heads, d_model, d_head], `cache["pattern", 0]`).'
        ),
        new_code_cell(_setup_cell(checkpoint)),
    ]
    for ex in exercises_on_page(page):
        hints = "\n".join(f"- {h}" for h in ex.hints)
        cells.append(
            new_markdown_cell(
                f"## {ex.title}\n\n`{ex.id}` - the statement for the loaded model is printed below.\n\n"
                f"<details><summary>Hints</summary>\n\n{hints}\n\n</details>"
            )
        )
        cells.append(new_code_cell(f"nb.show({ex.id!r}, loaded)"))
        cells.append(new_code_cell((ex.solution if solutions else ex.starter).rstrip()))
        cells.append(
            new_code_cell(
                f"check_{ex.name} = nb.checker({ex.id!r}, loaded)\ncheck_{ex.name}({_submitted(ex)});"
            )
        )
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_notebooks(out_dir: Path, *, solutions: bool = False, checkpoint: str | None = None) -> list[Path]:
    """Write `<page>.ipynb` for every page into out_dir; returns the paths."""
    import nbformat  # only here: see page_notebook

    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = str(Path(checkpoint).resolve()) if checkpoint else None
    paths = []
    for page in pages():
        path = out_dir / f"{page}.ipynb"
        nbformat.write(page_notebook(page, solutions=solutions, checkpoint=checkpoint), path)
        paths.append(path)
    return paths
