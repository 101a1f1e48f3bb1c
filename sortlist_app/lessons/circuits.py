"""The OV/QK circuits page's lesson: prose templates and their values, graders, exercises and
URL parameters (pure functions of analysis results, no streamlit). Over 400 lines because it is
one page's teaching text: its seven templates and the sentences worded from the numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jaxtyping import Float
from numpy import ndarray

from sortlist_core.circuit_findings import (
    PositionalPreferences,
    copying_roles,
    destination_scores,
    direct_path_preference,
    ov_diagonality,
    positional_preferences,
    qk_larger_preference,
    top_tokens,
)
from sortlist_core.circuits import HeadResponsibility
from sortlist_core.config import ModelConfig
from sortlist_core.exercises import circuits as code
from sortlist_core.well_posed import DEFAULT_MARGIN, Skip, nearest_first, pick_instance

from .exercise import CORRECT, Answer, Exercise, Grade, Skipped, as_int, grade_count, grade_head_choice
from .spec import Lesson
from .url_params import head_param, token_param
from .wording import (
    CLEAR_SIGN,
    MOSTLY,
    Values,
    count,
    head_name,
    join_words,
    pct,
    responsibility_facts,
    sig,
    sig_figs,
    signed,
)

# --------------------------------------------------------------------------- teaching text
# The page's prose, in the order it shows it: markdown templates filled by `wording.fill` with
# the measured values of the functions below (every `{name}` needs a value, else `KeyError`) and
# shown by `widgets.prose.render`.

INTRO_PROSE = """\
The attention patterns suggest a hypothesis: the **OV circuit copies** (attending to token *s*
makes the head predict *s*) and the **QK circuit attends to the next larger token** (`SEP`
attends to the smallest). In a 1-layer attention-only model both can be read straight off the
weights as token-by-token matrices: the full OV circuit `W_E W_OV W_U` (what attending to a
source token does to each prediction's logit) and the full QK circuit `W_E W_QK W_E^T` (the
attention score from each destination token to each source token). Weights are processed as in
the write-up (LayerNorm folded, writing weights and unembedding centred).
"""

OV_PROSE = """\
**{ov_heading}** Look for a bright diagonal in each heatmap. Summing
both heads, attending to value token *t* raises the logit of *t* itself more than any other
prediction for {ov_self_fraction} of the values, and each head's own row peaks on the diagonal
for {ov_own_fraction}. They split the work: {per_head_copying}. Where head {major_head} copies,
head {minor_head}'s mean diagonal is {minor_on_major_mean}, i.e. {minor_on_major_sign}.
"""

RESPONSIBILITY_PROSE = """\
**Who copies what.** The strip takes the diagonal of each head's full OV circuit (how strongly
attending to *t* promotes *t*) and colours each value token by the stronger copier.
{minor_sentence}
"""

QK_PROSE = """\
**QK: attend to something a bit larger.** Rows are destination tokens and columns source tokens.
Taking, for each destination token *d*, the head that copies *d+1*: for {qk_larger_fraction} of
the {qk_n_dest} destination tokens the average score for larger sources is higher than for smaller
ones, but the single highest-scoring larger source is exactly *d+1* for only
{qk_next_top_fraction} of them. {qk_verdict}. The bar chart zooms in on one destination token.
"""

QK_BAR_PROSE = """\
For destination token **{dest}**:

{qk_lines}

After {dest} the model must usually predict {dest_plus_one}, which head {responsible_head} copies.
That head's top source token is {responsible_best}, which {best_is_next} the next larger value
{dest_plus_one}; on average it scores larger sources {larger_minus_smaller} higher than smaller
ones. When the top source is two or three above *d*, a list containing *d*, *d+1* and *d+2* can
make the head attend to *d+2* at least as much as to *d+1*, yet the model still predicts *d+1*:
the Mystery page explains why.
{zero_sentence}
"""

POSITIONAL_PROSE = """\
**Why don't large tokens attend to 0?** This is the QK circuit with *positional* embeddings on
the query side and token embeddings on the key side: how much each query position biases
attention towards each key token. At the late query positions {late_first}..{late_last}, where
large tokens usually sit, tokens 0..{small_max} score on average {late_small_bias} relative to
the other tokens: {late_bias_sentence}. {sep_sentence} Where that pattern fades, a list made only
of large values is a candidate adversarial example (see the Adversarial page).
"""

DIRECT_PROSE = """\
**The direct path** `W_E W_U` is what a token contributes to its own position's prediction
without any attention. For {direct_next_fraction} of tokens *d* it favours *d+1* over *d+2* as the
prediction (mean difference {direct_next_gap} logits), nudging the model towards the right answer. The
write-up checked whether this is why lists with *d*, *d+1*, *d+2* are not adversarial, and found
that removing the direct path does not break them: the real reason is in the OV circuits (Mystery
page).
"""


# The QK verdict's words: "a clean rule" only when d+1 is the best larger source for at least 80%
# of destinations d; "a weak preference" when at least 60% of them score larger sources above
# smaller ones on average; below that, no preference is claimed.
CLEAN_RULE = 0.8
WEAK_PREFERENCE = 0.6


def ov_facts(
    full_ov: Float[ndarray, "head src pred"], resp: HeadResponsibility, head_names: Sequence[str]
) -> Values:
    """How diagonal the OV circuits are: does attending to token t make the model predict t?"""
    ov = ov_diagonality(full_ov, resp)
    return {
        "ov_heading": "OV: the heads copy." if ov.self_copy_fraction > MOSTLY else "OV: do the heads copy?",
        "ov_self_fraction": pct(ov.self_copy_fraction),
        "ov_own_fraction": join_words(
            f"{pct(ov.own_copy_fraction[h])} of the tokens {head_name(head_names, h)} owns"
            for h in range(len(head_names))
        ),
        "minor_on_major_mean": sig(ov.minor_on_major),
        "minor_on_major_sign": minor_on_major_sign(ov.minor_on_major, resp),
    }


def minor_on_major_sign(minor_on_major: float, resp: HeadResponsibility) -> str:
    """'anti-copying' only for a clearly negative mean diagonal: at least `CLEAR_SIGN` of the
    major head's own mean diagonal on those tokens (−0.00089 against 0.4 is "about zero")."""
    roles = copying_roles(resp)
    tokens = resp.copies[roles.major]
    scale = float(np.mean(np.abs(resp.copy_strength[roles.major, tokens]))) if tokens else 0.0
    if scale > 0 and minor_on_major <= -CLEAR_SIGN * scale:
        return "negative: it pushes *down* the tokens it sees there (anti-copying)"
    if scale > 0 and minor_on_major >= CLEAR_SIGN * scale:
        return "positive: it weakly copies them too"
    return (
        f"close to zero (within {pct(CLEAR_SIGN, 0)} of the copying head's own mean diagonal there, "
        f"{sig_figs(scale)}): it neither copies nor suppresses them noticeably"
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
    return late_bias_facts(prefs, head_names) | {
        "sep_sentence": sep_trend_sentence(prefs.sep_value_correlation, head_names)
    }


# A correlation counts as a trend ("falls as … rises") only from this size on, either sign.
TREND = 0.3


def trend_rule() -> str:
    return f"a trend counts from |r| ≥ {TREND:g}"


def sep_trend_sentence(corr: Sequence[float], head_names: Sequence[str]) -> str:
    """Whether the SEP row's score falls as the token's value rises, per head, by `TREND`:
    r = −0.114 is no trend; the rule is stated with the numbers."""
    corr_text = join_words(f"r = {signed(c)} for {head_name(head_names, h)}" for h, c in enumerate(corr))
    falling = [h for h, c in enumerate(corr) if c <= -TREND]
    flat = [h for h, c in enumerate(corr) if abs(c) < TREND]
    rising = [h for h, c in enumerate(corr) if c >= TREND]
    heads = lambda hs: join_words(head_name(head_names, h) for h in hs)  # noqa: E731
    parts = []
    if falling:
        parts.append(f"falls as the token's value rises in {heads(falling)}")
    if rising:
        parts.append(f"rises with the token's value in {heads(rising)}")
    if flat:
        parts.append(f"shows no clear trend with the value in {heads(flat)}")
    sentence = f"In the `SEP` row the score {'; it '.join(parts)} ({corr_text}; {trend_rule()})."
    if falling:
        return (
            sentence
            + " `SEP` is pushed towards the smallest values, which is how it finds the first sorted token."
        )
    return (
        sentence
        + " This model's `SEP` must find the smallest value through the token-token QK circuit instead."
    )


def late_bias_facts(prefs: PositionalPreferences, head_names: Sequence[str]) -> Values:
    """The late query positions' bias against very small tokens."""
    bias = prefs.late_small_bias
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
    if next_top >= CLEAN_RULE:
        verdict = "A clean rule: attend to the next larger token"
    elif larger >= WEAK_PREFERENCE:
        verdict = 'A weak, patchy preference for "slightly larger than me", as the write-up found'
    else:
        verdict = "No clear preference for larger tokens in this model's token-token scores"
    return {
        "qk_verdict": verdict,
        "qk_larger_fraction": pct(larger),
        "qk_next_top_fraction": pct(next_top),
        "qk_n_dest": pref.n_dest,
    }


def qk_scale_note(scores: Float[ndarray, "head src"]) -> str:
    """QK scores have no fixed unit (the original checkpoint's are ~0.002, the bundled model's
    ~0.4): say how large they are here, so a learner comparing models reads shapes, not sizes."""
    largest = float(abs(scores).max()) if scores.size else 0.0
    return (
        f"The scores on this chart reach {sig_figs(largest)} in magnitude. QK scores have no fixed scale: "
        "another checkpoint's can be 100 times larger or smaller, so compare bars within one chart "
        "(which source scores highest), not their heights across models."
    )


def tied_with_best(scores: Sequence[float]) -> list[int]:
    """Tokens whose score reads the same as the best one at the shown precision (`sig_figs`):
    on the chart they are a tie, so each is a right answer. (`top_source_exercise` already moves
    to a destination whose winner is clear by `well_posed`'s margin; this keeps the grader fair
    for any scores it is given.)"""
    best = max(range(len(scores)), key=lambda t: scores[t])
    shown = sig_figs(scores[best])
    return [t for t in range(len(scores)) if sig_figs(scores[t]) == shown]


def grade_top_source(answer: Any, scores: Sequence[float], dest: int) -> Grade:
    """The source token with the highest QK score for destination token `dest` (one head)."""
    value = as_int(answer)
    if value is None or not 0 <= value < len(scores):
        return Grade(False, f"Enter a source token between 0 and {len(scores) - 1}.")
    best = max(range(len(scores)), key=lambda t: scores[t])
    if value != best and value in tied_with_best(scores):
        return Grade(
            True,
            f"{CORRECT} Token {value} ties with token {best} at the shown precision ({sig_figs(scores[best])}).",
        )
    if value == best:
        return Grade(True, f"{CORRECT} Token {best} gets the highest score from destination {dest}.")
    if value == dest + 1 and best != dest + 1:
        return Grade(
            False,
            f"A natural guess (the next larger value), but for this head another source token scores higher than {value}. Look at the bar chart.",
        )
    return Grade(
        False,
        f"Token {value} scores {sig_figs(scores[value])}; some token scores higher. Look at the tallest bar in the chosen head.",
    )


QUICK_PICKS = (25, 40)  # the destination tokens the write-up looks at


def probe_token(resp: HeadResponsibility, head: int) -> int:
    """A token in the middle of `head`'s main range (the interesting case for the less used head)."""
    main_range = resp.main_range(head)
    return (main_range.start + main_range.end) // 2 if main_range else len(resp.owner) // 2


COPIER_RULE = (
    "the stronger copier of a token is the head with the larger diagonal entry (token, token) of the "
    "full OV circuit"
)


def copier_exercise(resp: HeadResponsibility, head_names: Sequence[str]) -> Exercise | Skipped:
    """Which head is the stronger copier of a token the less used head owns: the middle of its
    main range, or the nearest token whose copier wins by a clear margin (`well_posed`)."""
    copying = responsibility_facts(resp, head_names)
    middle = probe_token(resp, copying["minor_index"])
    n_tokens = len(resp.owner)
    candidates = [
        t for t in nearest_first(middle, 0, n_tokens - 1) if resp.owner[t] == copying["minor_index"]
    ]
    picked = pick_instance(candidates or [middle], lambda t: resp.copy_strength[:, t])
    if isinstance(picked, Skip):
        return Skipped(
            COPIER,
            "Who copies this token?",
            f"No token of head {head_names[copying['minor_index']]} is copied clearly more by one head than by "
            "the others on this model, so the question has no single answer.",
        )
    probe = picked.value
    return Exercise(
        id=COPIER,
        title=f"Who copies token {probe}?",
        question=f"When a head attends to token **{probe}**, which head pushes up the logit of "
        f"{probe} more, i.e. is the stronger copier of {probe}? (The rule: {COPIER_RULE}; for this token "
        f"the winner leads by at least {pct(DEFAULT_MARGIN, 0)} of the entries' scale.)",
        answer=Answer.select(range(len(head_names)), lambda h: f"head {head_names[h]}", "Head"),
        grade=lambda answer: grade_head_choice(
            answer,
            resp.owner[probe],
            head_names,
            f"Compare the diagonal entry ({probe}, {probe}) of the two OV heatmaps.",
        ),
        hints=(
            "Copying shows up on the diagonal of the full OV circuit: source token t, predicted token t.",
            "The head responsibility strip colours every token by the head with the larger diagonal entry.",
        ),
        solution=f"Head **{head_names[resp.owner[probe]]}**: its diagonal entry for {probe} is "
        + join_words(
            f"{sig_figs(resp.copy_strength[h, probe])} in head {head_names[h]}"
            for h in range(len(head_names))
        )
        + f" ({COPIER_RULE}). {copying['per_head_copying'][0].upper()}{copying['per_head_copying'][1:]}.",
        difficulty=1,
        importance=4,
    )


def copy_count_exercise(resp: HeadResponsibility, head_names: Sequence[str]) -> Exercise:
    """For how many value tokens the less used head is the stronger copier."""
    copying = responsibility_facts(resp, head_names)
    minor = copying["minor_index"]
    n_values = len(resp.owner)
    return Exercise(
        id=COPY_COUNT,
        title="How much does the smaller head do?",
        question=f"For how many of the {n_values} value tokens is head **{head_names[minor]}** the "
        "stronger copier?",
        answer=Answer.number(0, n_values, "Number of tokens"),
        grade=lambda answer: grade_count(
            answer,
            len(resp.copies[minor]),
            "Count the tokens of its colour in the head responsibility strip.",
        ),
        hints=(
            "Use the head responsibility strip (or its table): each value token is coloured by its stronger copier.",
            f"Head {head_names[minor]} owns {count(len(resp.ranges_of(minor)), 'run')} of consecutive tokens; add up their lengths.",
        ),
        solution=f"**{len(resp.copies[minor])}** tokens: {copying['minor_ranges']}.",
        difficulty=2,
        importance=3,
    )


def top_source_exercise(
    qk: Float[ndarray, "head dest src"], dest: int, head: int, head_names: Sequence[str], cfg: ModelConfig
) -> Exercise | Skipped:
    """The value token with the highest QK score from destination `dest` in `head`; when the top
    two scores at `dest` are too close to call, the nearest destination with a clear winner
    (`well_posed.pick_instance`), or skipped when there is none."""
    scores_at = lambda d: qk[head, d, : cfg.max_value + 1]  # noqa: E731
    picked = pick_instance(nearest_first(dest, 0, cfg.max_value), scores_at)
    if isinstance(picked, Skip):
        return Skipped(
            TOP_SOURCE,
            "Where does a destination token look?",
            f"In head {head_names[head]}, no destination token has a source whose QK score clearly beats the "
            "runner-up, so the question has no single answer on this model (try another head).",
            model_wide=False,
        )
    asked, dest = dest, picked.value
    value_scores = scores_at(dest)
    top = top_tokens(value_scores, 3)
    ties = tied_with_best(value_scores.tolist())
    tie_note = (
        f" On this model tokens {join_words(map(str, ties))} tie at {sig_figs(value_scores[top[0]])}: any of them is right."
        if len(ties) > 1
        else ""
    )
    moved = ""
    if dest != asked:
        close = top_tokens(scores_at(asked), 2)
        moved = (
            f" (At destination {asked} the two highest scores, for tokens {close[0]} and {close[1]}, are too "
            f"close to call, so the question uses {dest}, the nearest destination with a clear winner.)"
        )
    return Exercise(
        id=TOP_SOURCE,
        title="Where does a destination token look?",
        question=f"In head **{head_names[head]}**, which source token gets the highest QK score from "
        f"destination token **{dest}**?{moved} (Use the slider and head choice above to change the question.)",
        answer=Answer.number(0, cfg.max_value, "Source token"),
        grade=lambda answer: grade_top_source(answer, value_scores.tolist(), dest),
        hints=(
            f"Look at the bar chart for destination {dest}; only the bars of head {head_names[head]} count.",
            "The write-up expects a token a bit larger than the destination, but not necessarily the very next value.",
        ),
        solution=f"Token **{top[0]}** (score {sig_figs(value_scores[top[0]])}); next come "
        + join_words(f"{t} ({sig_figs(value_scores[t])})" for t in top[1:])
        + f".{tie_note} {qk_scale_note(qk[:, dest, : cfg.max_value + 1])}",
        difficulty=2,
        importance=3,
        context=f"{dest}:{head}",
    )


# --------------------------------------------------------------------------- URL parameters
PAGE = "circuits"
HEAD, DEST = "circuits.head", "circuits.dest"


def default_dest(cfg: ModelConfig) -> int:
    return QUICK_PICKS[0] if QUICK_PICKS[0] < cfg.max_value else cfg.max_value // 2


URL_PARAMS = (
    head_param(HEAD),
    token_param("dest", DEST, default_dest, "the destination token"),
)


# --------------------------------------------------------------------------- the page, declared once
COPIER = "circuits.copier_of_token"
COPY_COUNT = "circuits.copy_count"
TOP_SOURCE = "circuits.top_source"

LESSON = Lesson(
    key=PAGE,
    path="pages/3_circuits.py",
    order=30,
    title="OV/QK circuits",
    icon="🔌",
    quizzes=(COPIER, COPY_COUNT, TOP_SOURCE),
    code=(code.FULL_OV, code.COPYING_HEAD, code.FULL_QK, code.POSITIONAL_QK),
)
