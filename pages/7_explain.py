"""Explain it: the learner states how the model sorts as code; the app splices it into the model
and measures how much of the model's behaviour survives, on every evaluation list."""

import pandas as pd
import streamlit as st

from sortlist_app.lessons import explain as lesson
from sortlist_app.widgets import code_exercise, hypothesis_editor, page
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.model_links import model_query
from sortlist_core.exercises import explain as exercises
from sortlist_core.explain import pair_checks, reference_hypotheses
from sortlist_core.explain.pair_checks import owners
from sortlist_core.figures import explain as explain_figures

model = page.start("🧪 Explain it", lesson)
cfg = model.config
code_exercise.warm_up_runner()
with st.spinner("Measuring the model and the baselines on the evaluation set…"):
    prep = hypothesis_editor.prepared(model)
    references = reference_hypotheses(model)
st.markdown(lesson.INTRO.format(n_lists=prep.ctx.toks.shape[0]))


st.header("How much do the ready-made explanations recover?")
with st.spinner("Splicing the three reference explanations into the model…"):
    measured = hypothesis_editor.references_measured(model)
st.markdown("\n".join(lesson.honest_summary(measured)))


@st.fragment
def hypothesis_section() -> None:
    """Editing and testing rerun this section only, not the page's measurements."""
    st.header("Your explanation")
    code = hypothesis_editor.editor(references)
    last = hypothesis_editor.test_button(model, code)
    if last is not None:
        run, result = last["run"], last["result"]
        if last["code"] != code:
            st.caption("These results are for the code you tested last; you have edited it since.")
        if result is None:
            st.warning(run.message, icon="🤔")
            if run.traceback:
                st.code(run.traceback.strip(), language="text")
        else:
            card = result.card
            cols = st.columns(4)
            cols[0].metric("Loss recovered", lesson.pct(card.recovered))
            cols[1].metric(
                "Loss", f"{card.hypothesis.loss:.4f}", f"model {card.model.loss:.4f}", delta_color="off"
            )
            cols[2].metric(
                "Accuracy",
                f"{card.hypothesis.accuracy:.1%}",
                f"model {card.model.accuracy:.1%}",
                delta_color="off",
            )
            cols[3].metric("Uniform attention recovers", lesson.pct(card.uniform_recovered))
            st.caption(f"Spliced: {', '.join(result.pieces)}.")
            st.markdown(lesson.recovered_sentence(result))
            show_figure(explain_figures.loss_bars(card), "explain loss", data=card.to_dict())
            st.subheader("Where it breaks")
            st.markdown("\n".join(f"- {s}" for s in lesson.breaks_sentences(result, cfg)))
            left, right = st.columns(2)
            labels = ["SEP"] + [str(cfg.list_len + i) for i in range(1, cfg.list_len)]
            with left:
                show_figure(
                    explain_figures.position_accuracy_bars(labels, *result.position_accuracy),
                    "explain positions",
                    data=result.to_dict()["per_position"],
                )
            with right:
                show_figure(
                    explain_figures.value_accuracy_lines(*result.value_accuracy),
                    "explain values",
                    data=result.to_dict()["per_value"],
                )
            st.markdown("**The five lists where your hypothesis differs most from the model** (open each in the "
                        "Attention page at the query that differs most, or in the Mystery page):")  # fmt: skip
            rows = lesson.worst_list_rows(result, cfg, owners(model, None), model_query(model))
            links = ("Attention page", "Mystery page")
            table = pd.DataFrame([{k: v for k, v in r.items() if k not in links} for r in rows])
            st.dataframe(table, hide_index=True)
            st.markdown("\n".join(lesson.worst_list_links(rows)))
    else:
        st.info("Load a reference or write your own, then press **Test my hypothesis**.", icon="🧪")

    st.header("Claims about weights, on every token pair")
    tested = last["run"].hypothesis if last is not None and last["result"] is not None else None
    checks = pair_checks(model, tested.handles if tested is not None else None)
    st.markdown(
        "Some claims need no data: they are about the weights alone, so they can be checked on every "
        "(query, key) token pair. Each value is examined in the head that handles it ("
        + ("your `handles`" if tested is not None and tested.handles is not None else "the copying analysis")
        + ")."
    )
    st.markdown("\n".join(lesson.pair_check_sentence(c) for c in checks))
    show_figure(
        explain_figures.pair_check_heatmaps(checks), "explain pair checks", data=[c.to_dict() for c in checks]
    )


hypothesis_section()

st.header("Exercises")
code_exercise.render(exercises.ATTENTION_ALONE, model)
code_exercise.render(exercises.DISAGREEMENT, model)
