"""Bytes per attention view: what one circuitsvis `AttentionHeads` view sends to the browser.

Measured: the HTML of one view as the app builds it (`sortlist_app.widgets.attention_view.attention_html`,
the srcdoc of its `st.iframe`) for one list of the eval set; the 1.3 MB bundle itself is served
once from `/app/static/` and cached by the browser. Baseline: circuitsvis's own
`attention_heads(...)` (the same `AttentionHeads` component and props the app draws; the
deprecated `attention_patterns` inlines the same bundle) rendered with its inline bundle
(`RenderedHTML.local_src`, what circuitsvis produces offline), for the same pattern. Ratio = inline / app.
"""

from __future__ import annotations

from .common import Context, Row, Target, kb, median

FIGURE = "bytes per attention view"
TARGET = Target("value", "<=", 10.0)


def run(ctx: Context) -> list[Row]:
    import circuitsvis.attention
    import torch

    from sortlist_app.widgets.attention_view import attention_html, bundle_name, bundle_source, static_url
    from sortlist_core.attention import attention_patterns
    from sortlist_core.data import EVAL_SEED, SortedListDataset

    model = ctx.load_model()
    cfg = model.config
    n = ctx.reps(5)
    data = SortedListDataset(n, cfg.list_len, cfg.max_value, seed=EVAL_SEED)
    patterns = attention_patterns(model, data.toks)
    url = static_url(bundle_name())
    app_sizes, inline_sizes = [], []
    for pattern, tokens in zip(patterns, data.str_toks):
        app_sizes.append(len(attention_html(tokens, pattern, cfg.head_names, url).encode()))
        rendered = circuitsvis.attention.attention_heads(
            attention=torch.from_numpy(pattern),
            tokens=tokens,
            attention_head_names=[f"head {h}" for h in cfg.head_names],
            max_value=1,
            min_value=0,
        )
        inline_sizes.append(len(rendered.local_src.encode()))
    value, base = kb(median(app_sizes)), kb(median(inline_sizes))
    return [
        Row(
            FIGURE,
            "bytes per attention view",
            value=value,
            unit="kB",
            baseline=base,
            baseline_label="circuitsvis inline",
            ratio=base / value,
            ratio_label="× smaller",
            target="≤ 10 kB",
            targets=(TARGET,),
            note=f"median over {n} eval-set lists; the {kb(bundle_source().stat().st_size):,.0f} kB bundle is a separate static file ({url}) loaded by the browser, not repeated per view",
            details={"app_bytes": app_sizes, "inline_bytes": inline_sizes},
        )
    ]
