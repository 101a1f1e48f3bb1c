"""Measured facts behind the prose: pure functions (no streamlit) from analysis results to the
placeholder values of `assets/prose/*.md`. Nothing here knows the write-up's numbers; every
sentence is derived from the loaded model's results, so it stays true for any checkpoint.

Only the wording lives here: the numbers come from `sortlist_core` (`circuit_findings`,
`attention`, `ablation`, `metrics`), and these functions phrase them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jaxtyping import Bool, Float, Int
from numpy import ndarray

from sortlist_core.ablation import AblationResult, importance_contrast
from sortlist_core.attention import AttentionClaims, next_larger_misses
from sortlist_core.circuit_findings import (
    copying_roles,
    destination_scores,
    direct_path_preference,
    ov_diagonality,
    positional_preferences,
    qk_larger_preference,
)
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
    return {
        "n_lists": metrics.n_lists,
        "seed": seed,
        "loss": num(metrics.loss),
        "mean_prob": num(metrics.mean_prob),
        "median_prob": num(metrics.median_prob),
        "min_prob": num(metrics.min_prob),
        "accuracy": pct(metrics.accuracy),
        "sequence_accuracy": pct(metrics.sequence_accuracy),
        "worst_position_accuracy": pct(metrics.worst_position_accuracy),
        "mean_vs_median": "lower than" if metrics.mean_prob < metrics.median_prob else "at least",
    }


def responsibility_facts(resp: HeadResponsibility, head_names: Sequence[str]) -> Values:
    """Which head copies which tokens: `minor_head` copies `minor_ranges`, and so on."""
    roles = copying_roles(resp)
    major, minor = roles.major, roles.minor
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


def ov_facts(
    full_ov: Float[ndarray, "head src pred"], resp: HeadResponsibility, head_names: Sequence[str]
) -> Values:
    """How diagonal the OV circuits are: does attending to token t make the model predict t?"""
    ov = ov_diagonality(full_ov, resp)
    return {
        "ov_self_fraction": pct(ov.self_copy_fraction),
        "ov_own_fraction": join_words(
            f"{pct(ov.own_copy_fraction[h])} of the tokens {head_name(head_names, h)} owns"
            for h in range(len(head_names))
        ),
        "minor_on_major_mean": sig(ov.minor_on_major),
        "minor_on_major_sign": "negative: it pushes *down* the tokens it sees there (anti-copying)"
        if ov.minor_on_major < 0
        else "positive: it weakly copies them too",
    }


def attention_facts(claims: AttentionClaims, head_names: Sequence[str]) -> Values:
    return {
        "claims_n_lists": claims.n_lists,
        "sep_min_any": pct(claims.sep_attends_min_any),
        "sep_min_per_head": join_words(
            f"{pct(v)} for {head_name(head_names, h)}" for h, v in enumerate(claims.sep_attends_min)
        ),
        "sep_best_head": head_names[claims.sep_best_head],
        "next_larger_any": pct(claims.attends_next_larger_any),
        "next_larger_per_head": join_words(
            f"{pct(v)} for {head_name(head_names, h)}" for h, v in enumerate(claims.attends_next_larger)
        ),
        "next_best_head": head_names[claims.next_larger_best_head],
        "next_larger_miss": pct(1 - claims.attends_next_larger_any),
    }


def ablation_facts(result: AblationResult, head_names: Sequence[str]) -> Values:
    contrast = importance_contrast(result)
    top, low, ratio = contrast.most_important, contrast.least_important, contrast.cost_ratio
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
    major = copying_roles(resp).major
    copied = f"{len(resp.copies[major])} of the {len(resp.owner)} values"
    if important == major:
        return f"That fits the OV circuits: head {head_names[major]} is also the stronger copier of most of the vocabulary ({copied})."
    return (
        f"Surprisingly, the stronger copier of most of the vocabulary is a different head, "
        f"head {head_names[major]} ({copied}): look at the OV/QK page to see why."
    )


def qk_bar_facts(
    scores: Float[ndarray, "head src"], dest: int, resp: HeadResponsibility, head_names: Sequence[str]
) -> Values:
    """For one destination token: which sources each head scores highest, and where d+1 ranks.

    `scores` is [head src] over the full vocab; only value tokens are ranked (SEP is never a
    source in the sorted half's attention that matters)."""
    scored = destination_scores(scores, dest, resp)
    lines = []
    for h in range(len(head_names)):
        best = scored.top_sources[h]
        line = f"{head_name(head_names, h)}: highest scores for tokens {join_words(str(t) for t in best)}"
        if scored.next_rank is not None:
            line += f" (the next larger token {dest + 1} ranks #{scored.next_rank[h]})"
        lines.append(line)
    best_resp = scored.responsible_best
    return {
        "dest": dest,
        "dest_plus_one": dest + 1,
        "qk_lines": "\n".join(f"- {line}" for line in lines),
        "responsible_head": head_names[scored.responsible_head],
        "responsible_best": best_resp,
        "best_is_next": "is exactly"
        if best_resp == dest + 1
        else ("is above" if best_resp > dest + 1 else "is below"),
        "larger_minus_smaller": sig(scored.larger_minus_smaller),
        "zero_sentence": _zero_sentence(scored.zero_rank, dest, head_names),
    }


def _zero_sentence(ranks: Sequence[int], dest: int, head_names: Sequence[str], top: int = 5) -> str:
    """Where source token 0 ranks (`ranks[h]`, 1 = best) for this destination, and what that means."""
    ranked = join_words(f"#{r} in {head_name(head_names, h)}" for h, r in enumerate(ranks))
    if min(ranks) <= top and dest > 0:
        return (
            f"Source token 0 ranks {ranked}: destination {dest} scores a very small source highly. "
            "Why doesn't it attend to 0 in real lists? The positional QK circuit below answers that."
        )
    return f"Source token 0 ranks {ranked}, so 0 is no distraction here (the write-up saw that effect at d = 40)."


def positional_facts(
    pos_qk: Float[ndarray, "head query_pos key_token"],
    list_len: int,
    head_names: Sequence[str],
    n_small: int = 10,
) -> Values:
    """SEP's positional preference and the late positions' bias against small tokens."""
    prefs = positional_preferences(pos_qk, list_len, n_small)
    corr, bias = prefs.sep_value_correlation, prefs.late_small_bias
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
        "late_first": prefs.late_first,
        "late_last": prefs.late_last,
        "small_max": prefs.n_small - 1,
        "late_small_bias": join_words(f"{sig(b)} for {head_name(head_names, h)}" for h, b in enumerate(bias)),
        "late_bias_sentence": (
            f"a bias against very small tokens in {join_words(head_name(head_names, h) for h in against)}, which counteracts the pull towards 0 seen in the bar chart"
            if against
            else "so no bias against very small tokens here"
        ),
        "sep_sentence": sep_sentence,
    }


def direct_path_facts(direct: Float[ndarray, "input_token pred"]) -> Values:
    """Does the direct path `W_E W_U` favour d+1 over d+2 as the prediction after token d?"""
    pref = direct_path_preference(direct)
    return {
        "direct_next_fraction": pct(pref.next_fraction),
        "direct_next_gap": sig(pref.mean_gap),
    }


def qk_facts(full_qk: Float[ndarray, "head dest src"], resp: HeadResponsibility) -> Values:
    """Does each destination token d prefer larger sources, in the head that copies d+1?"""
    pref = qk_larger_preference(full_qk, resp)
    larger, next_top = pref.larger_fraction, pref.next_top_fraction
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
        "qk_n_dest": pref.n_dest,
    }


def attention_miss_facts(
    patterns: Float[ndarray, "list head dest src"],
    toks: Int[ndarray, "list seq"],
    correct: Bool[ndarray, "list list_len"],
    list_len: int,
) -> Values:
    """Among sorted-half positions where *no* head attends most to the next larger value, how
    often is the prediction still right?

    patterns [list head dest src], toks [list seq], correct [list list_len] (prediction i is
    made at position list_len + i)."""
    misses = next_larger_misses(patterns, toks, correct, list_len)
    return {
        "miss_count": count(misses.n_misses, "position"),
        "miss_skip": pct(misses.skip_fraction),
        "miss_correct": pct(misses.still_correct_fraction),
    }
