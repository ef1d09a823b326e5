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

from app import state  # noqa: E402

PAGES = {"runs": "views/page_runs.py", "open": "views/page_open.py"}


def main() -> None:
    # an emoji icon is drawn by the browser; a :material/...: one made the page fetch a
    # font from a third-party CDN, and the dashboard must work offline
    st.set_page_config(page_title="gptscope", page_icon="📈", layout="wide")
    state.keep()
    st.navigation([
        # page icons come from the font Streamlit ships (an emoji needs a font a headless
        # server may lack); only the favicon form of a Material icon is fetched from a CDN
        st.Page(PAGES["runs"], title="Runs", icon=":material/monitoring:", url_path="runs",
                default=True),
        st.Page(PAGES["open"], title="Open a log", icon=":material/folder_open:",
                url_path="open"),
    ]).run()


main()
