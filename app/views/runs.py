"""The Runs page: the run list, and the selected runs followed live.

Render only: the numbers come from app.logic and app.status, the chart points from
app.series, the session state from app.state, the data from the process-wide registry. Two
fragments tick on their own: the run list every couple of seconds (new runs, status changes)
and the run view every second while a selected run is being written.
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app import logic, state, status
from app.views import charts_view
from app.views.common import Context, label, md_escape, now, run_file

LIST_EVERY_S = 2.0
VIEW_EVERY_S = 1.0
MAX_SUMMARIES = 50     # runs summarised in the list (newest first); the rest: name, time
READ_BUDGET_S = 0.25   # first reads in a tick; the registry's loader thread reads the rest
SMALL_FILE_BYTES = 16 * 1024   # read in the tick even past the budget (a few ms each)
MAX_FINDINGS = 20
# Material icons ship with Streamlit; emoji need a font a headless server may not have
ICONS = {"error": ":material/error:", "warning": ":material/warning:",
         "info": ":material/info:"}


def page(ctx: Context) -> None:
    st.title("gptscope")
    hidden = set(state.hidden())
    names = [r.name for r in ctx.discover().runs if r.name not in hidden]
    state.init(names)
    state.apply_table()     # ticks in the run table, before the multiselect shows them
    c = _sidebar(ctx, names)
    # the run list is drawn below the run view but worked out and sent first: it waits for
    # no long read, where the view may read a million-iteration run for seconds
    view = st.container()
    state.set_page_run(True)
    st.fragment(run_every=LIST_EVERY_S)(_run_list)(ctx)
    live = c.live and any(_status(ctx, n) == "running" for n in state.selected())
    state.set_view_live(live)
    with view:
        st.fragment(run_every=VIEW_EVERY_S if live else None)(_run_view)(ctx, c, bool(names))
    state.set_page_run(False)


def _sidebar(ctx: Context, names: list[str]) -> state.Controls:
    sb = st.sidebar
    sb.caption("Logs root")
    # st.text, not st.code: st.code makes the page fetch and parse a 1.5 MB syntax
    # highlighter (~0.3 s of the browser's main thread before the first chart)
    sb.text(str(ctx.root))
    options = names + [n for n in state.selected() if n not in names]
    sb.multiselect("Runs (several overlay)", options, key=state.SEL, on_change=state.manual,
                   format_func=label)
    if state.following():
        sb.caption("Following the newest run; pick runs to stop following.")
    st.query_params["run"] = state.selected() if not state.following() else []
    from app.series import X_AXES
    sb.radio("x axis", list(X_AXES), format_func=X_AXES.get, horizontal=True, key="x_axis")
    sb.slider("Smoothing (TensorBoard EMA)", 0.0, 0.99, step=0.01, key="smoothing")
    sb.toggle("Log scale", key="log_y")
    sb.toggle("Ignore outliers in y scale", key="outliers",
              help="Scale the y axes to the 2nd-98th percentile, as TensorBoard's option does")
    sb.toggle("Follow live", key="live")
    with sb.expander("Axis ranges"):
        st.caption("Steps shown on every chart (empty: all)")
        a, b = st.columns(2)
        a.number_input("from step", value=None, step=1, key="x_from")
        b.number_input("to step", value=None, step=1, key="x_to")
        st.caption("Loss y range (empty: fit)")
        a, b = st.columns(2)
        a.number_input("loss min", value=None, key="y_min", format="%.4g")
        b.number_input("loss max", value=None, key="y_max", format="%.4g")
    if not ctx.registry.watching:
        sb.caption(ctx.registry.watch_error or "file watching is off; polling files")
    return state.controls()


def _status(ctx: Context, name: str, disc=None) -> str:
    rf = run_file(ctx, name, disc)
    t, err = ctx.open(name)
    if rf is None or t is None or t.run is None:
        return "unreadable"
    return _summary(t, rf, now()).status


def _summary(t, rf, t_now: float) -> logic.Summary:
    """A run-list line; the content part is computed once per file version."""
    with t.lock:
        known = t.cached("facts", lambda: logic.facts(t.run))
        return logic.summarize(t.run, rf, t_now, known)


# ---------------------------------------------------------------------------- run list

def _no_run_line(ctx: Context, rf, t, err: str | None, t_now: float) -> logic.Summary:
    if err in ("not loaded", "loading"):
        word = logic.NA if err == "not loaded" else "loading…"
    else:
        gave_up = t is not None and status.NOT_A_LOG in (t.error or "")
        word = status.no_run_status(rf.path, rf.size, rf.mtime, t_now, gave_up,
                                    err or (t.error if t else None))
    return logic.Summary(rf.name, word, None, None, None, None, rf.mtime, rf.kind, 0)


def _run_list(ctx: Context) -> None:
    if state.rerun_wanted() or state.table_changed():
        st.rerun()          # the selection changed here: the run view must follow
    disc = ctx.discover()
    t_now = now()
    hidden = set(state.hidden())
    rows, pending = list_rows(ctx, disc, hidden, t_now)
    st.subheader("Runs")
    if not rows and not hidden:
        st.info("No runs yet under the logs root. Start one with `python -m app.launch`, "
                "or open an existing log on the “Open a log” page.")
    else:
        _table(rows, t_now)
    ctx.registry.preload(pending)
    if disc.refused:
        st.caption(f"Not shown (they point outside the logs root): "
                   f"{md_escape(', '.join(disc.refused[:5]))}")
    _rerun_if_stale(ctx, rows, disc)


def list_rows(ctx: Context, disc, hidden: set[str], t_now: float
              ) -> tuple[list[logic.Summary], list]:
    """The run list's rows, and the files left for the registry's loader thread.

    Reading runs for the first time costs ~50 ms per 10,000 iterations: at most
    READ_BUDGET_S of it per tick, so a root of 1,000 runs lists at once; the loader thread
    reads the rest, and the next ticks show them. A small file is read here whatever the
    budget (its status is known at once, even on a busy machine); "loading…" is only ever
    shown for a long first read."""
    rows, pending = [], []
    deadline = time.monotonic() + READ_BUDGET_S
    for i, rf in enumerate(r for r in disc.runs if r.name not in hidden):
        if i >= MAX_SUMMARIES:
            t, err = None, "not loaded"
        elif (ctx.registry.loaded(rf.path) or rf.size <= SMALL_FILE_BYTES
              or time.monotonic() < deadline):
            t, err = ctx.registry.refresh(rf.path), None   # listed: inside the root
        else:
            t, err = None, "loading"
            pending.append(rf.path)
        if t is not None and t.run is not None:
            rows.append(_summary(t, rf, t_now))
        else:
            rows.append(_no_run_line(ctx, rf, t, err, t_now))
    return rows, pending


def _table(rows: list[logic.Summary], t_now: float) -> None:
    """The run table: tick rows to overlay runs (the same selection as the sidebar's),
    filter by name, sort by a column header, hide runs and bring them back."""
    wanted = st.text_input("Filter runs by name", key="run_filter",
                           placeholder="part of a run name")
    shown = [r for r in rows if wanted.lower() in r.name.lower()] if wanted else rows
    ids = [r.name for r in shown]
    state.table_rows(ids)
    st.dataframe(logic.summary_table(shown, t_now), hide_index=True, width="stretch",
                 height=min(38 + 35 * max(1, len(shown)), 300), key=state.TABLE,
                 on_select="rerun", selection_mode="multi-row")
    if wanted and not shown:
        st.caption(md_escape(f"No run name contains {wanted!r}."))
    ticked = [n for n in state.selected() if n in set(ids)]
    st.button(f"Hide selected ({len(ticked)})", key="hide_selected", disabled=not ticked,
              on_click=state.hide, args=(ticked,),
              help="Take the ticked runs off the list and the charts; they can be shown again")
    hidden = state.hidden()
    if hidden:
        with st.expander(f"Hidden runs ({len(hidden)})"):
            for n in hidden[:MAX_SUMMARIES]:
                a, b = st.columns([4, 1])
                a.text(label(n))
                b.button("Show", key=f"unhide-{n}", on_click=state.unhide, args=([n],))
            st.button("Show all", key="unhide_all", on_click=state.unhide, args=(hidden,))


def _rerun_if_stale(ctx: Context, rows: list[logic.Summary], disc) -> None:
    """A full rerun when the view must change shape: a newer run to follow, or a selected
    run that started or stopped being written (the view's timer is set per full run)."""
    if state.following() and rows and state.selected() != [rows[0].name]:
        st.rerun()
    if state.page_run():
        return   # page() sets the view's timer right after this list: nothing to redo
    # the same test as page() makes, so the two can never disagree and loop
    live = st.session_state.get("live", True) and any(
        _status(ctx, n, disc) == "running" for n in state.selected())
    if live != state.view_live():
        st.rerun()


# ---------------------------------------------------------------------------- run view

def _run_view(ctx: Context, c: state.Controls, any_runs: bool) -> None:
    selected = state.selected()
    if not selected:
        if any_runs:
            st.info("Select a run in the sidebar.")
        return
    opened = []
    for name in selected:
        t, err = ctx.open(name)
        if err:
            st.warning(md_escape(err))
        elif t.error:
            st.warning(md_escape(t.error))  # gone or unreadable: say so, keep what was read
        elif t.run is None:
            st.info(md_escape(f"{name}: no line in a known log format yet; waiting for more "
                              f"(read {t.stat_key[1] if t.stat_key else 0:,} bytes)."))
        if t is not None and t.run is not None:
            opened.append((name, t))
    if not opened:
        return
    summaries = []
    for name, t in opened:
        rf = run_file(ctx, name)
        summaries.append(_summary(t, rf, now()) if rf else None)
    if len(opened) == 1:
        _guarded("header", _header, opened[0][0], opened[0][1], summaries[0])
    else:
        _guarded("comparison", _comparison, opened, summaries)
    ss = st.session_state
    _guarded("charts", charts_view.draw, opened, c, (ss.get("x_from"), ss.get("x_to")),
             (ss.get("y_min"), ss.get("y_max")))
    running = [s is not None and s.status == "running" for s in summaries]
    _guarded("findings", _findings, opened, [c.live and r for r in running])
    _guarded("details", _details, opened[0][0], opened[0][1])


def _guarded(panel: str, draw, *args, **kwargs) -> None:
    """Draw one panel; if the data surprises it, say so in the panel and draw the rest."""
    try:
        draw(*args, **kwargs)
    except Exception as e:
        st.warning(md_escape(f"The {panel} panel cannot be drawn: {type(e).__name__}: {e}"))


def _steady(t) -> dict:
    with t.lock:
        return t.cached("steady", lambda: logic.steady_figures(t.run))


def _header(name: str, t, s: logic.Summary | None) -> None:
    st.subheader(md_escape(label(name)))
    fig = _steady(t)
    # two rows of four: eight figures in one row are cut to "0.5…" on a laptop screen
    top, bottom = st.columns(4), st.columns(4)
    top[0].metric("status", s.status if s else logic.NA)
    top[1].metric("step", logic.fmt_int(s.step if s else None))
    top[2].metric("loss", logic.fmt_num(s.loss if s else None))
    top[3].metric("val loss", logic.fmt_num(s.val_loss if s else None))
    help_ = "median over steady iterations: evals, checkpoints and warm-up left out"
    bottom[0].metric("ms/step (steady median)", logic.fmt_num(fig["step_ms"], ",.1f"),
                     help=help_)
    note = fig.get("mfu_note")
    bottom[1].metric("MFU (steady median)" + (" *" if note else ""), logic.fmt_pct(fig["mfu"]),
                     help=help_ + (f". * MFU {note}" if note else ""))
    bottom[2].metric("tokens/s (steady median)", logic.fmt_count(fig["tokens_per_s"]),
                     help=help_)
    bottom[3].metric("elapsed", logic.fmt_duration(s.elapsed_s if s else None))


def _comparison(opened: list, summaries: list) -> None:
    """Several runs overlaid: one row per run (its header figures), then the config values
    that differ between them."""
    st.subheader(f"{len(opened)} runs overlaid")
    rows = []
    for (name, t), s in zip(opened, summaries):
        with t.lock:
            best = t.cached("best_val", lambda: logic.best_val(t.run))
        fig = _steady(t)
        rows.append({"run": label(name), "status": s.status if s else logic.NA,
                     "steps": logic.fmt_int(s.step if s else None),
                     "best val": logic.fmt_num(best),
                     "final val": logic.fmt_num(s.val_loss if s else None),
                     "final loss": logic.fmt_num(s.loss if s else None),
                     "ms/step (steady)": logic.fmt_num(fig["step_ms"], ",.1f"),
                     "MFU (steady)": logic.fmt_pct(fig["mfu"])
                     + (" *" if fig.get("mfu_note") else ""),
                     "tokens/s (steady)": logic.fmt_count(fig["tokens_per_s"]),
                     "elapsed": logic.fmt_duration(s.elapsed_s if s else None)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    notes = sorted({_steady(t).get("mfu_note") for _, t in opened} - {None})
    if notes:
        st.caption(md_escape("* MFU " + "; ".join(notes)))
    diff = logic.config_diff([(label(n), t.run) for n, t in opened])
    if len(diff):
        with st.expander(f"Configuration values that differ ({len(diff)})"):
            st.dataframe(diff, hide_index=True, width="stretch")


def _findings(opened: list, live: list[bool]) -> None:
    try:
        from analyzer.diagnostics import run_all
        from analyzer.findings import sort_findings
    except ImportError as e:  # a broken install must not take the charts down
        st.warning(md_escape(f"Diagnostics unavailable: {e}"))
        return
    per_run = []
    for (name, t), is_live in zip(opened, live):
        t.update_findings(run_all, is_live)
        per_run.append((name, t, sort_findings(list(t.findings or []))))
    total = sum(len(f) for _, _, f in per_run)
    st.markdown(f"#### Findings ({total})")
    if len(per_run) == 1:
        _finding_rows(*per_run[0])
        return
    tabs = st.tabs([f"{label(n)} ({len(f)})" for n, _, f in per_run])
    for tab, (name, t, findings) in zip(tabs, per_run):
        with tab:
            _finding_rows(name, t, findings)


def _finding_rows(name: str, t, findings: list) -> None:
    if t.findings_error:
        st.warning(md_escape(t.findings_error))
    if t.findings is None:
        st.caption("Analysing…")
    elif not findings:
        st.caption("Nothing to report so far.")
    for i, f in enumerate(findings[:MAX_FINDINGS]):
        _finding(name, i, f)
    if len(findings) > MAX_FINDINGS:
        st.caption(f"… and {len(findings) - MAX_FINDINGS} more (less severe).")


def _finding(name: str, i: int, f) -> None:
    where = ""
    if f.steps:
        a, b = f.steps
        where = f" (step {a:,})" if a == b else f" (steps {a:,}–{b:,})"
    first = f.message.split(": ", 1)[0] if len(f.message) > 90 else f.message
    title = f"**{md_escape(f.severity)}** · {md_escape(f.code)}{md_escape(where)}: " \
            f"{md_escape(first[:120])}"
    with st.expander(title, icon=ICONS.get(f.severity)):
        st.markdown(md_escape(f.message))
        if f.suggestion:
            st.markdown(f"*What to do:* {md_escape(f.suggestion)}")
        if f.evidence:
            st.caption("Evidence: " + md_escape(logic.fmt_evidence(f.to_dict()["evidence"])))
        if f.steps:
            st.button("Show these steps on the charts",
                      key=f"zoom-{name}-{i}-{f.code}-{f.steps[0]}",
                      on_click=state.set_zoom, args=(f.steps, f.code))


def _details(name: str, t) -> None:
    run = t.run
    with st.expander("Run details: config, model, device, peak FLOPS source"):
        rows = logic.meta_rows(run, name)
        st.dataframe(pd.DataFrame(rows, columns=["field", "value"]), hide_index=True,
                     width="stretch")
        config = (run.meta or {}).get("config")
        if config:
            st.caption("Configuration")
            st.json(config, expanded=False)
        if run.stats.skipped:
            st.caption(f"{run.stats.skipped} line(s) could not be read; the first ones:")
            st.code("\n".join(f"line {n}: {why}: {text}" for n, why, text in
                              run.stats.samples[:10]), language=None)
