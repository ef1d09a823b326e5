"""The "Open a log" page: upload a log, or point to one inside the logs root."""
from __future__ import annotations

import streamlit as st

from app import state
from app.paths import UPLOADS, PathRefused, display_name, is_inside, save_upload
from app.status import upload_problem
from app.views.common import Context, md_escape

SUFFIXES = ["log", "txt", "out", "jsonl"]


def page(ctx: Context) -> None:
    st.title("Open a log")
    st.markdown("Analyse an existing log the same way as a live run: the stdout of nanoGPT, "
                "build-nanogpt, llm.c, modded-nanogpt or nanochat (as saved with "
                "`python train.py ... | tee train.log`), or an `events.jsonl` of ours.")
    st.subheader("Upload a log")
    up = st.file_uploader("Log file", type=SUFFIXES)
    if up is not None and st.button("Analyse the uploaded log", type="primary"):
        data = up.getvalue()
        problem = upload_problem(up.name, data)
        if problem:  # refused before anything is written: it would only clutter the list
            st.error(md_escape(f"Refused: {problem}"))
        else:
            try:
                dest = save_upload(ctx.root, up.name, data)
            except (PathRefused, OSError) as e:
                st.error(md_escape(f"Cannot store the upload: {e}"))
            else:
                ctx.registry.relist()
                _show(ctx, ctx.name_of(dest))
    st.caption("Uploads are stored under `uploads/` in the logs root, so they stay in the "
               "run list.")
    _uploads(ctx)

    st.subheader("A log already in the logs root")
    st.caption("Only files inside the logs root can be opened:")
    st.text(str(ctx.root))   # as on the Runs page: st.code loads a syntax highlighter
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


def _uploads(ctx: Context) -> None:
    """The uploaded logs, each with a button that deletes it (uploads only: the dashboard
    never deletes a log it did not store)."""
    base = ctx.root / UPLOADS
    root = ctx.root.resolve()
    files = sorted(p for p in base.rglob("*")
                   if p.is_file() and is_inside(p.resolve(), root)) if base.is_dir() else []
    if not files:
        return
    with st.expander(f"Uploaded logs ({len(files)})"):
        for i, p in enumerate(files):
            name = display_name(p, ctx.root)
            cols = st.columns([5, 1])
            cols[0].text(name)
            if cols[1].button("Remove", key=f"rm-{i}-{name}"):
                _remove(ctx, p, name)


def _remove(ctx: Context, path, name: str) -> None:
    try:
        path.unlink()
        if path.name == "events.jsonl" and not any(path.parent.iterdir()):
            path.parent.rmdir()
    except OSError as e:
        st.error(md_escape(f"Cannot remove {name}: {e}"))
        return
    ctx.registry.relist()
    if name in state.selected():
        state.select([n for n in state.selected() if n != name])
    st.rerun()


def _show(ctx: Context, name: str) -> None:
    """Select the run on the Runs page and go there."""
    state.select([name])
    state.manual()
    st.switch_page("views/page_runs.py")
