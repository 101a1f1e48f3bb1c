"""The page of `python -m bench.cold_floor`: the default model's accuracy on the evaluation set,
from the evaluation that started in the background at launch (`bench/cold_floor.py`)."""

import streamlit as st

from bench import cold_floor

st.title("cold-start floor")
done = cold_floor.result()
if "error" in done:
    st.error(str(done["error"]))
else:
    metrics = done["metrics"]
    st.write(f"accuracy {metrics.accuracy:.4f}, lists fully sorted {metrics.sequence_accuracy:.4f}")
