"""Explain page: wording, links and exercises. Every number comes from the loaded model's own
measurements (`sortlist_core.explain`); nothing here computes or hard-codes a result."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sortlist_core.config import ModelConfig
from sortlist_core.exercises import explain as code
from sortlist_core.explain import Explanation, PairCheck, ReferenceHypothesis
from sortlist_core.explain.breakdown import format_runs

from .spec import Lesson
from .url_params import Param, encode_lists

PAGE = "explain"
URL_PARAMS: tuple[Param, ...] = ()

INTRO = """
Interpretability research ends with an explanation of the whole mechanism, and an explanation is a
hypothesis that can be tested: **replace what the model computes with what your explanation says it
computes, and measure how much of the model's behaviour survives.**

Write your explanation as code (same editor and sandbox as the code exercises; all three pieces
are optional and combine):

- `attention(tokens, head)` → each head's pattern `[batch, query_pos, key_pos]` (rows sum to 1,
  nothing after the query); it replaces the head's own pattern, while the head keeps its values and OV;
- `handles(head)` → the set of values the head is responsible for **predicting**: at a position
  whose next value is outside the set, the head's output is replaced by its mean;
- `ov(head)` → `[d_vocab, d_vocab]`: what attending to each source token adds to each logit (it
  replaces the head's direct contribution to the logits).

Inside your functions `model` is the model in use (TransformerLens names). Your code runs in the
sandbox; only its arrays come back, and the spliced forward pass runs here on the
{n_lists} evaluation lists.
"""


def pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1%}"


def recovered_sentence(result: Explanation) -> str:
    c = result.card
    return (
        f"Your hypothesis recovers **{pct(c.recovered)}** of the loss: loss {c.hypothesis.loss:.4f} "
        f"(accuracy {c.hypothesis.accuracy:.1%}) against the model's {c.model.loss:.4f} "
        f"({c.model.accuracy:.1%}), with every head mean-ablated {c.ablated.loss:.4f} "
        f"({c.ablated.accuracy:.1%}) and with uniform attention {c.uniform.loss:.4f} "
        f"({pct(c.uniform_recovered)} recovered)."
    )


def breaks_sentences(result: Explanation, cfg: ModelConfig) -> list[str]:
    """Where it breaks, from the numbers: SEP, the worst position, the values, beyond-next."""
    out = []
    sep_h, sep_m = result.sep_accuracy
    out.append(f"At SEP (predicting the minimum) it is right {sep_h:.1%} of the time; the model {sep_m:.1%}.")
    pos = result.worst_position
    h_acc, m_acc = result.position_accuracy[0][pos], result.position_accuracy[1][pos]
    if m_acc - h_acc > 0:
        label = "SEP" if pos == 0 else f"position {cfg.list_len + pos}"
        out.append(f"It loses most accuracy against the model at {label}: {h_acc:.1%} vs {m_acc:.1%}.")
    else:
        out.append("It is at least as accurate as the model at every position.")
    if result.wrong_ranges:
        out.append(
            f"Values it gets wrong (accuracy more than 10 points below the model's): "
            f"**{format_runs(result.wrong_ranges)}**."
        )
    else:
        out.append("No value's accuracy falls more than 10 points below the model's.")
    b = result.beyond_next
    if b.count:
        out.append(
            f"The d → d+2 puzzle: at {b.count} queries ({b.fraction:.1%}) the model's head puts more "
            f"weight on a value above the next one than on the next one; the model's loss there is "
            f"{b.model_loss:.3f}, your hypothesis's {b.hypothesis_loss:.3f}."
        )
    return out


def honest_summary(results: Sequence[tuple[ReferenceHypothesis, Explanation]]) -> list[str]:
    """One sentence per reference, and what the simple story misses, from its measurements."""
    lines = [f"- **{ref.title}** recovers **{pct(res.card.recovered)}** of the loss "
             f"(accuracy {res.card.hypothesis.accuracy:.1%})." for ref, res in results]  # fmt: skip
    best_ref, best = max(
        results, key=lambda r: r[1].card.recovered if math.isfinite(r[1].card.recovered) else -1e9
    )
    b = best.beyond_next
    sep_h, sep_m = best.sep_accuracy
    if best.card.recovered >= 1:
        lines.append(
            f"\n*{best_ref.title}* loses **less** than the model itself ({best.card.hypothesis.loss:.4f} vs "
            f"{best.card.model.loss:.4f}): the idealised story is sharper than the model. The model's own "
            f"loss is concentrated where its heads attend past the next value (the d → d+2 puzzle, "
            f"{b.fraction:.1%} of queries, model loss {b.model_loss:.3f} there). At SEP, where the story says "
            f"'attend to the minimum', it is right {sep_h:.1%} of the time and the model {sep_m:.1%}."
        )
    else:
        lines.append(
            f"\n*{best_ref.title}* misses {pct(1 - best.card.recovered)} of the loss. At SEP it is right "
            f"{sep_h:.1%} of the time (model {sep_m:.1%}); values it gets wrong: {format_runs(best.wrong_ranges)}; "
            f"on the {b.fraction:.1%} of queries where the model attends past the next value its loss is "
            f"{b.hypothesis_loss:.3f} (model {b.model_loss:.3f})."
        )
    return lines


def pair_check_sentence(check: PairCheck) -> str:
    rows = check.failing_rows
    fails = f"; it fails for {check.query_label} {format_runs(_runs(rows))}" if rows else ""
    return (
        f"- *{check.claim}*: holds on **{pct(check.fraction)}** of pairs and for every key in "
        f"{pct(check.row_fraction)} of the rows{fails}."
    )


def _runs(values: Sequence[int]) -> tuple[tuple[int, int], ...]:
    from sortlist_core.explain.breakdown import value_runs

    return value_runs(list(values))


def attention_link(unsorted: Sequence[int], query_pos: int, head: int, model_query: Mapping[str, str]) -> str:
    """A relative link that opens the Attention page on this list, query position and head."""
    params = {"lists": encode_lists([unsorted]), "pos": str(query_pos), "head": str(head), **model_query}
    return "./attention?" + "&".join(f"{k}={v}" for k, v in params.items())


def mystery_link(unsorted: Sequence[int], model_query: Mapping[str, str]) -> str:
    params = {"lists": encode_lists([unsorted]), **model_query}
    return "./mystery?" + "&".join(f"{k}={v}" for k, v in params.items())


def worst_list_rows(
    result: Explanation, cfg: ModelConfig, owner: Sequence[int], model_query: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One row per list where the hypothesis differs most from the model, with both links."""
    rows = []
    for w in result.worst_lists:
        query = cfg.list_len + w.worst_position
        target = w.targets[w.worst_position]
        rows.append(
            {
                "list": ", ".join(map(str, w.unsorted)),
                "KL from the model": round(w.divergence, 3),
                "at position": "SEP" if w.worst_position == 0 else str(query),
                "model predicts": w.model_predicted[w.worst_position],
                "you predict": w.hypothesis_predicted[w.worst_position],
                "target": target,
                "Attention page": attention_link(w.unsorted, query, owner[target], model_query),
                "Mystery page": mystery_link(w.unsorted, model_query),
            }
        )
    return rows


def worst_list_links(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One numbered line per worst list, linking it into the Attention and Mystery pages."""
    return [
        f"{i}. `{r['list']}` at {r['at position']}: the model predicts {r['model predicts']}, you "
        f"{r['you predict']} — [open in Attention]({r['Attention page']}) · [open in Mystery]({r['Mystery page']})"
        for i, r in enumerate(rows, start=1)
    ]


# --------------------------------------------------------------------------- the page, declared once
LESSON = Lesson(
    key=PAGE,
    path="pages/7_explain.py",
    order=60,  # before the Model page (70), whose file is numbered 6: the menu ends with it
    title="Explain it",
    icon="🧪",
    code=(code.ATTENTION_ALONE, code.DISAGREEMENT),
)
