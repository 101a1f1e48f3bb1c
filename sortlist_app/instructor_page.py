"""The instructor page's script. It lives outside `pages/` on purpose: Streamlit's file-based
routing runs any `pages/*.py` by its URL before `st.navigation` is known, whereas this file is
reachable only when `app.py` registers it (for a session holding the instructor token). The
view checks the token again itself."""

from sortlist_app.widgets import instructor_view

instructor_view.render()
