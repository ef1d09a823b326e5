"""The "Open a log" page: upload a log, or point to one inside the logs root."""
from __future__ import annotations

import streamlit as st

from app.paths import PathRefused, save_upload
from app.views.common import Context, md_escape
from app.views.runs import AUTO, SEL, ZOOM

SUFFIXES = ["log", "txt", "out", "jsonl"]


def page(ctx: Context) -> None:
    st.title("Open a log")
    st.markdown("Analyse an existing log the same way as a live run: the stdout of nanoGPT, "
                "build-nanogpt, llm.c, modded-nanogpt or nanochat (as saved with "
                "`python train.py ... | tee train.log`), or an `events.jsonl` of ours.")
    st.subheader("Upload a log")
    up = st.file_uploader("Log file", type=SUFFIXES)
    if up is not None and st.button("Analyse the uploaded log", type="primary"):
        try:
            dest = save_upload(ctx.root, up.name, up.getvalue())
        except (PathRefused, OSError) as e:
            st.error(md_escape(f"Cannot store the upload: {e}"))
        else:
            _show(ctx, ctx.name_of(dest))
    st.caption(f"Uploads are stored under `uploads/` in the logs root, so they stay in the "
               f"run list.")

    st.subheader("A log already in the logs root")
    st.caption("Only files inside the logs root can be opened:")
    st.code(str(ctx.root), language=None)
    path = st.text_input("Path, relative to the logs root (or absolute, inside it)",
                         key="open_path")
    if st.button("Open", key="open_button") and path:
        try:
            p = ctx.resolve(path)
        except PathRefused as e:
            st.error(md_escape(f"Refused: {e}"))
            return
        if not p.is_file():
            st.error(md_escape(f"{path}: no such file in the logs root"))
            return
        _show(ctx, ctx.name_of(p))


def _show(ctx: Context, name: str) -> None:
    """Select the run on the Runs page and go there."""
    st.session_state[SEL] = [name]
    st.session_state[AUTO] = False
    st.session_state.pop(ZOOM, None)
    st.switch_page("views/page_runs.py")
