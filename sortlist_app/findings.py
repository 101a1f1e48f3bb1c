"""Measured facts behind the prose: pure functions (no streamlit) from analysis results to the
placeholder values of `assets/prose/*.md`. Nothing here knows the write-up's numbers; every
sentence is derived from the loaded model's results, so it stays true for any checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sortlist_core.ablation import AblationResult
from sortlist_core.attention import AttentionClaims
from sortlist_core.circuits import HeadResponsibility
from sortlist_core.config import ModelConfig
from sortlist_core.metrics import Metrics

from .prose import count, head_name, join_words, num, pct, ranges_text, sig

Values = dict[str, Any]


def model_facts(cfg: ModelConfig) -> Values:
    """Architecture sentence pieces."""
    return {
        "list_len": cfg.list_len,
        "max_value": cfg.max_value,
        "n_heads": cfg.n_heads,
        "n_layers": cfg.n_layers,
        "d_model": cfg.d_model,
        "d_head": cfg.d_head,
        "d_vocab": cfg.d_vocab,
        "n_ctx": cfg.n_ctx,
        "sep_token": cfg.sep_token,
        "sep_position": cfg.list_len,
        "last_prediction_position": 2 * cfg.list_len - 1,
        "heads": join_words(head_name(cfg.head_names, h) for h in range(cfg.n_heads)),
        "normalization": "with LayerNorm" if cfg.normalization == "LN" else "without LayerNorm",
    }


def metrics_facts(metrics: Metrics, seed: int) -> Values:
    worst = int(np.argmin(metrics.per_position_accuracy))
    return {
        "n_lists": metrics.n_lists,
        "seed": seed,
        "loss": num(metrics.loss),
        "mean_prob": num(metrics.mean_prob),
        "median_prob": num(metrics.median_prob),
        "min_prob": num(metrics.min_prob),
        "accuracy": pct(metrics.accuracy),
        "sequence_accuracy": pct(metrics.sequence_accuracy),
        "worst_position_accuracy": pct(metrics.per_position_accuracy[worst]),
        "mean_vs_median": "lower than" if metrics.mean_prob < metrics.median_prob else "at least",
    }


def copying_roles(resp: HeadResponsibility) -> tuple[int, int]:
    """(major head, minor head): the heads that are the stronger copier of most / fewest tokens."""
    counts = [len(c) for c in resp.copies]
    major = int(np.argmax(counts))
    minor = int(np.argmin(counts)) if len(counts) > 1 else major
    return major, minor


def responsibility_facts(resp: HeadResponsibility, head_names: Sequence[str]) -> Values:
    """Which head copies which tokens: `minor_head` copies `minor_ranges`, and so on."""
    major, minor = copying_roles(resp)
    n_values = len(resp.owner)
    per_head = [
        f"{head_name(head_names, h)} is the stronger copier of {len(resp.copies[h])} tokens ({ranges_text(resp.ranges_of(h))})"
        for h in range(len(head_names))
    ]
    return {
        "major_head": head_names[major],
        "minor_head": head_names[minor],
        "major_index": major,
        "minor_index": minor,
        "major_ranges": ranges_text(resp.ranges_of(major)),
        "minor_ranges": ranges_text(resp.ranges_of(minor)),
        "minor_main_range": resp.main_range(minor).label if resp.main_range(minor) else "no tokens",
        "major_count": len(resp.copies[major]),
        "minor_count": len(resp.copies[minor]),
        "n_values": n_values,
        "per_head_copying": "; ".join(per_head),
    }


def ov_facts(full_ov: np.ndarray, resp: HeadResponsibility, head_names: Sequence[str]) -> Values:
    """How diagonal the OV circuits are: does attending to token t make the model predict t?"""
    n_values = len(resp.owner)
    summed = full_ov.sum(0)[:n_values, :n_values]  # both heads together
    copies_self = float(np.mean(summed.argmax(1) == np.arange(n_values)))
    own = [
        float(np.mean([full_ov[h, t, :n_values].argmax() == t for t in resp.copies[h]]))
        if resp.copies[h]
        else 0.0
        for h in range(len(head_names))
    ]
    major, minor = copying_roles(resp)
    # Does the minor head write *against* the tokens the major head copies (anti-copying)?
    major_tokens = resp.copies[major]
    minor_on_major = float(np.mean(resp.copy_strength[minor, major_tokens])) if major_tokens else 0.0
    return {
        "ov_self_fraction": pct(copies_self),
        "ov_own_fraction": join_words(
            f"{pct(own[h])} of the tokens {head_name(head_names, h)} owns" for h in range(len(head_names))
        ),
        "minor_on_major_mean": sig(minor_on_major),
        "minor_on_major_sign": "negative: it pushes *down* the tokens it sees there (anti-copying)"
        if minor_on_major < 0
        else "positive: it weakly copies them too",
    }


def attention_facts(claims: AttentionClaims, head_names: Sequence[str]) -> Values:
    sep_best = int(np.argmax(claims.sep_attends_min))
    next_best = int(np.argmax(claims.attends_next_larger))
    return {
        "claims_n_lists": claims.n_lists,
        "sep_min_any": pct(claims.sep_attends_min_any),
        "sep_min_per_head": join_words(
            f"{pct(v)} for {head_name(head_names, h)}" for h, v in enumerate(claims.sep_attends_min)
        ),
        "sep_best_head": head_names[sep_best],
        "next_larger_any": pct(claims.attends_next_larger_any),
        "next_larger_per_head": join_words(
            f"{pct(v)} for {head_name(head_names, h)}" for h, v in enumerate(claims.attends_next_larger)
        ),
        "next_best_head": head_names[next_best],
        "next_larger_miss": pct(1 - claims.attends_next_larger_any),
    }


def ablation_facts(result: AblationResult, head_names: Sequence[str]) -> Values:
    order = sorted(range(len(result.mean)), key=lambda h: result.mean[h], reverse=True)
    top, low = order[0], order[-1]
    ratio = result.mean[top] / result.mean[low] if result.mean[low] > 0 else float("inf")
    times = "many" if ratio == float("inf") else f"{ratio:.1f}"
    if ratio >= 1.5:
        verdict = f"yes: mean-ablating head {head_names[top]} hurts {times} times as much as ablating head {head_names[low]}"
    else:
        verdict = f"only slightly: the heads' mean-ablation costs are within a factor {times} of each other"
    return {
        "base_loss": num(result.base_loss),
        "mean_ablation_per_head": join_words(
            f"{num(result.mean[h])} for {head_name(head_names, h)}" for h in range(len(head_names))
        ),
        "zero_ablation_per_head": join_words(
            f"{num(result.zero[h])} for {head_name(head_names, h)}" for h in range(len(head_names))
        ),
        "important_head": head_names[top],
        "less_important_head": head_names[low],
        "important_increase": num(result.mean[top]),
        "less_important_increase": num(result.mean[low]),
        "ablation_verdict": verdict,
        "ablation_verdict_cap": verdict[0].upper() + verdict[1:],
    }


def ablation_copying_sentence(
    result: AblationResult, resp: HeadResponsibility, head_names: Sequence[str]
) -> str:
    """Relate the ablation ranking to which head copies most of the vocabulary."""
    important = result.most_important_head
    major, _ = copying_roles(resp)
    copied = f"{len(resp.copies[major])} of the {len(resp.owner)} values"
    if important == major:
        return f"That fits the OV circuits: head {head_names[major]} is also the stronger copier of most of the vocabulary ({copied})."
    return (
        f"Surprisingly, the stronger copier of most of the vocabulary is a different head, "
        f"head {head_names[major]} ({copied}): look at the OV/QK page to see why."
    )


def top_tokens(scores: np.ndarray, k: int = 3) -> list[int]:
    """The k token indices with the highest scores, best first."""
    return [int(t) for t in np.argsort(-scores, kind="stable")[:k]]


def qk_bar_facts(
    scores: np.ndarray, dest: int, resp: HeadResponsibility, head_names: Sequence[str]
) -> Values:
    """For one destination token: which sources each head scores highest, and where d+1 ranks.

    `scores` is [head src] over the full vocab; only value tokens are ranked (SEP is never a
    source in the sorted half's attention that matters)."""
    n_values = len(resp.owner)
    values = scores[:, :n_values]
    lines = []
    for h in range(len(head_names)):
        best = top_tokens(values[h])
        line = f"{head_name(head_names, h)}: highest scores for tokens {join_words(str(t) for t in best)}"
        if dest + 1 < n_values:
            rank = int((values[h] > values[h, dest + 1]).sum()) + 1
            line += f" (the next larger token {dest + 1} ranks #{rank})"
        lines.append(line)
    responsible = resp.owner[dest + 1] if dest + 1 < n_values else resp.owner[dest]
    best_resp = top_tokens(values[responsible], 1)[0]
    smaller = values[responsible, : dest + 1]
    larger = values[responsible, dest + 1 :]
    return {
        "dest": dest,
        "dest_plus_one": dest + 1,
        "qk_lines": "\n".join(f"- {line}" for line in lines),
        "responsible_head": head_names[responsible],
        "responsible_best": best_resp,
        "best_is_next": "is exactly"
        if best_resp == dest + 1
        else ("is above" if best_resp > dest + 1 else "is below"),
        "larger_minus_smaller": sig(
            float(larger.mean() - smaller.mean()) if larger.size and smaller.size else 0.0
        ),
        "zero_sentence": _zero_sentence(values, dest, head_names),
    }


def _zero_sentence(values: np.ndarray, dest: int, head_names: Sequence[str], top: int = 5) -> str:
    """Where source token 0 ranks for this destination, and what that means."""
    ranks = [int((values[h] > values[h, 0]).sum()) + 1 for h in range(len(head_names))]
    ranked = join_words(f"#{r} in {head_name(head_names, h)}" for h, r in enumerate(ranks))
    if min(ranks) <= top and dest > 0:
        return (
            f"Source token 0 ranks {ranked}: destination {dest} scores a very small source highly. "
            "Why doesn't it attend to 0 in real lists? The positional QK circuit below answers that."
        )
    return f"Source token 0 ranks {ranked}, so 0 is no distraction here (the write-up saw that effect at d = 40)."


def positional_facts(
    pos_qk: np.ndarray, list_len: int, head_names: Sequence[str], n_small: int = 10
) -> Values:
    """SEP's positional preference and the late positions' bias against small tokens."""
    n_values = pos_qk.shape[-1] - 1
    sep_rows = pos_qk[:, list_len, :n_values]  # [head token]
    tokens = np.arange(n_values)
    corr = [float(np.corrcoef(tokens, sep_rows[h])[0, 1]) for h in range(len(head_names))]
    late = pos_qk[
        :, list_len + list_len // 2 : 2 * list_len, :n_values
    ]  # second half of the sorted positions
    small = min(n_small, n_values)
    bias = [float(late[h, :, :small].mean() - late[h, :, small:].mean()) for h in range(len(head_names))]
    corr_text = join_words(f"{c:+.2f} for {head_name(head_names, h)}" for h, c in enumerate(corr))
    falling = [h for h, c in enumerate(corr) if c < 0]
    if falling:
        heads = join_words(head_name(head_names, h) for h in falling)
        sep_sentence = (
            f"In the `SEP` row the score falls as the token's value rises in {heads} (correlation {corr_text}): "
            "`SEP` is pushed towards the smallest values, which is how it finds the first sorted token."
        )
    else:
        sep_sentence = (
            f"In the `SEP` row the score does not fall with the token's value (correlation {corr_text}): "
            "this model's `SEP` must find the smallest value through the token-token QK circuit instead."
        )
    against = [h for h, b in enumerate(bias) if b < 0]
    return {
        "late_first": list_len + list_len // 2,
        "late_last": 2 * list_len - 1,
        "small_max": small - 1,
        "late_small_bias": join_words(f"{sig(b)} for {head_name(head_names, h)}" for h, b in enumerate(bias)),
        "late_bias_sentence": (
            f"a bias against very small tokens in {join_words(head_name(head_names, h) for h in against)}, which counteracts the pull towards 0 seen in the bar chart"
            if against
            else "so no bias against very small tokens here"
        ),
        "sep_sentence": sep_sentence,
    }


def direct_path_facts(direct: np.ndarray) -> Values:
    """Does the direct path `W_E W_U` favour d+1 over d+2 as the prediction after token d?"""
    n_values = direct.shape[-1] - 1
    ds = np.arange(n_values - 2)
    gap = direct[ds, ds + 1] - direct[ds, ds + 2]
    return {
        "direct_next_fraction": pct(float(np.mean(gap > 0))),
        "direct_next_gap": sig(float(gap.mean())),
    }


def qk_facts(full_qk: np.ndarray, resp: HeadResponsibility) -> Values:
    """Does each destination token d prefer larger sources, in the head that copies d+1?"""
    n_values = len(resp.owner)
    prefers_larger, next_is_top = [], []
    for d in range(1, n_values - 1):
        row = full_qk[resp.owner[d + 1], d, :n_values]
        prefers_larger.append(row[d + 1 :].mean() > row[:d].mean())
        next_is_top.append(int(np.argmax(row[d + 1 :])) == 0)
    larger, next_top = float(np.mean(prefers_larger)), float(np.mean(next_is_top))
    if next_top >= 0.8:
        verdict = "A clean rule: attend to the next larger token"
    elif larger >= 0.6:
        verdict = 'A weak, patchy preference for "slightly larger than me", as the write-up found'
    else:
        verdict = "No clear preference for larger tokens in this model's token-token scores"
    return {
        "qk_verdict": verdict,
        "qk_larger_fraction": pct(larger),
        "qk_next_top_fraction": pct(next_top),
        "qk_n_dest": len(prefers_larger),
    }


def attention_miss_facts(
    patterns: np.ndarray, toks: np.ndarray, correct: np.ndarray, list_len: int
) -> Values:
    """Among sorted-half positions where *no* head attends most to the next larger value, how
    often is the prediction still right?

    patterns [list head dest src], toks [list seq], correct [list list_len] (prediction i is
    made at position list_len + i)."""
    dests = np.arange(list_len + 1, 2 * list_len)
    top_src = patterns[:, :, dests, :].argmax(-1)  # [list head n_dest]
    tokens_per_head = np.broadcast_to(toks[:, None, :], (toks.shape[0], patterns.shape[1], toks.shape[1]))
    top_tok = np.take_along_axis(tokens_per_head, top_src, axis=2)  # token at the top source
    hit_any = (top_tok == toks[:, None, dests + 1]).any(1)  # [list n_dest]
    misses = ~hit_any
    # Skipping ahead: some head's top token is the 2nd or 3rd next value of the sorted list.
    seq = toks.shape[1]
    skip = np.zeros_like(misses)
    for ahead in (2, 3):
        valid = dests + ahead < seq
        target = toks[:, np.minimum(dests + ahead, seq - 1)]
        skip |= ((top_tok == target[:, None, :]).any(1)) & valid[None, :]
    still_right = correct[:, 1:][misses]  # prediction at dest is index dest - list_len
    return {
        "miss_count": count(int(misses.sum()), "position"),
        "miss_skip": pct(float(skip[misses].mean())) if misses.any() else pct(0.0),
        "miss_correct": pct(float(still_right.mean())) if still_right.size else pct(1.0),
    }
