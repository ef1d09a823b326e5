"""gptscope live dashboard.

    streamlit run app/dashboard.py [-- --logs DIR]

Router only: it finds the logs root, keeps widget state across pages and hands each page the
shared context. The pages live in app/views, the logic in app/logic.py and friends.
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

from app.views import open_log, runs  # noqa: E402
from app.views.common import context, parse_args  # noqa: E402

# Widget values that must survive a visit to another page (Streamlit drops the state of
# widgets that a run does not draw, unless it is written back first).
PERSIST = (runs.SEL, "x_axis", "smoothing", "log_y", "live")


def main() -> None:
    st.set_page_config(page_title="gptscope", page_icon=":material/monitoring:", layout="wide")
    for key in PERSIST:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    ctx = context(parse_args(sys.argv[1:]).logs)
    ctx.pages["runs"] = st.Page(lambda: runs.page(ctx), title="Runs",
                                icon=":material/monitoring:", url_path="runs", default=True)
    ctx.pages["open"] = st.Page(lambda: open_log.page(ctx), title="Open a log",
                                icon=":material/folder_open:", url_path="open")
    st.navigation(list(ctx.pages.values())).run()


main()
