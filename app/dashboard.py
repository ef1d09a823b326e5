"""gptscope live dashboard.

    streamlit run app/dashboard.py [-- --logs DIR]

Router only: it keeps widget state across pages and runs the page scripts in app/views
(each finds the logs root and the shared registry itself, see app.views.common). The logic
lives in app/logic.py and friends.
"""
from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/dashboard.py` puts app/ on sys.path, not the project: make `app.*`,
# `analyzer.*` and `gptscope.*` importable without an install.
_PROJECT = str(Path(__file__).resolve().parents[1])
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

import streamlit as st  # noqa: E402

from app.views import runs  # noqa: E402

# Widget values that must survive a visit to another page (Streamlit drops the state of
# widgets that a run does not draw, unless it is written back first).
PERSIST = (runs.SEL, "x_axis", "smoothing", "log_y", "live")
PAGES = {"runs": "views/page_runs.py", "open": "views/page_open.py"}


def main() -> None:
    st.set_page_config(page_title="gptscope", page_icon=":material/monitoring:", layout="wide")
    for key in PERSIST:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.navigation([
        st.Page(PAGES["runs"], title="Runs", icon=":material/monitoring:", url_path="runs",
                default=True),
        st.Page(PAGES["open"], title="Open a log", icon=":material/folder_open:",
                url_path="open"),
    ]).run()


main()
