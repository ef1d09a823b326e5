"""The Runs page: the run list, and the selected runs followed live.

Render only: the numbers come from app.logic, the data from the process-wide registry. Two
fragments tick on their own: the run list every couple of seconds (to notice new runs and
status changes) and the run view every second while a selected run is being written.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app import logic
from app.charts import line_chart
from app.views.common import Context, label, md_escape, now, run_file

SEL, AUTO, ZOOM = "runs_sel", "runs_auto", "zoom"
LIST_EVERY_S = 2.0
VIEW_EVERY_S = 1.0
MAX_SUMMARIES = 50
MAX_FINDINGS = 20
# Material icons ship with Streamlit; emoji need a font a headless server may not have
ICONS = {"error": ":material/error:", "warning": ":material/warning:",
         "info": ":material/info:"}


@dataclass(frozen=True)
class Controls:
    axis: str
    smoothing: float
    log_y: bool
    live: bool


def page(ctx: Context) -> None:
    st.title("gptscope")
    names = [r.name for r in ctx.discover().runs]
    _init_selection(names)
    c = _sidebar(ctx, names)
    live = c.live and any(_status(ctx, n) == "running" for n in st.session_state[SEL])
    st.session_state["_view_live"] = live
    st.fragment(run_every=LIST_EVERY_S)(_run_list)(ctx)
    st.fragment(run_every=VIEW_EVERY_S if live else None)(_run_view)(ctx, c)


def _init_selection(names: list[str]) -> None:
    """First visit: the runs named in the URL, else follow the newest run as it changes."""
    if SEL not in st.session_state:
        wanted = st.query_params.get_all("run")
        st.session_state[AUTO] = not wanted
        st.session_state[SEL] = wanted or names[:1]
    elif st.session_state.get(AUTO) and names and st.session_state[SEL] != names[:1]:
        st.session_state[SEL] = names[:1]


def _manual() -> None:
    st.session_state[AUTO] = False
    st.session_state.pop(ZOOM, None)


DEFAULTS = {"x_axis": "step", "smoothing": 0.6, "log_y": False, "live": True}


def _sidebar(ctx: Context, names: list[str]) -> Controls:
    for key, value in DEFAULTS.items():  # defaults via state: the values survive page visits
        st.session_state.setdefault(key, value)
    sb = st.sidebar
    sb.caption("Logs root")
    sb.code(str(ctx.root), language=None)
    options = names + [n for n in st.session_state[SEL] if n not in names]
    sb.multiselect("Runs (several overlay)", options, key=SEL, on_change=_manual,
                   format_func=label)
    if st.session_state[AUTO]:
        sb.caption("Following the newest run; pick runs to stop following.")
    st.query_params["run"] = list(st.session_state[SEL]) if not st.session_state[AUTO] else []
    axis = sb.radio("x axis", list(logic.X_AXES), format_func=logic.X_AXES.get,
                    horizontal=True, key="x_axis")
    smoothing = sb.slider("Smoothing (TensorBoard EMA)", 0.0, 0.99, step=0.01,
                          key="smoothing")
    log_y = sb.toggle("Log scale", key="log_y")
    live = sb.toggle("Follow live", key="live")
    if not ctx.registry.watching:
        sb.caption(ctx.registry.watch_error or "file watching is off; polling files")
    return Controls(axis, float(smoothing), bool(log_y), bool(live))


def _status(ctx: Context, name: str, disc=None) -> str:
    rf = run_file(ctx, name, disc)
    t, err = ctx.open(name)
    if rf is None or t is None or t.run is None:
        return "unreadable"
    with t.lock:
        return logic.summarize(t.run, rf, now()).status


# ---------------------------------------------------------------------------- run list

def _run_list(ctx: Context) -> None:
    disc = ctx.discover()
    t_now = now()
    rows = []
    for i, rf in enumerate(disc.runs):
        t, err = ctx.open(rf.name) if i < MAX_SUMMARIES else (None, "not loaded")
        if t is not None and t.run is not None:
            with t.lock:
                rows.append(logic.summarize(t.run, rf, t_now))
        else:
            status = ("–" if err == "not loaded" else "unreadable" if err or t.error
                      else "waiting")  # no line in a known format yet
            rows.append(logic.Summary(rf.name, status, None, None, None, None, rf.mtime,
                                      rf.kind, 0))
    st.subheader("Runs")
    if not rows:
        st.info("No runs yet under the logs root. Start one with `python -m app.launch`, "
                "or open an existing log on the “Open a log” page.")
    else:
        st.dataframe(logic.summary_table(rows, t_now), hide_index=True, width="stretch",
                     height=min(38 + 35 * len(rows), 300),
                     column_config={"loss": st.column_config.NumberColumn(format="%.4f"),
                                    "val loss": st.column_config.NumberColumn(format="%.4f")})
    if disc.refused:
        st.caption(f"Not shown (they point outside the logs root): "
                   f"{md_escape(', '.join(disc.refused[:5]))}")
    _rerun_if_stale(ctx, rows, disc)


def _rerun_if_stale(ctx: Context, rows: list[logic.Summary], disc) -> None:
    """A full rerun when the view must change shape: a newer run to follow, or a selected
    run that started or stopped being written (the view's timer is set per full run)."""
    if st.session_state.get(AUTO) and rows and st.session_state.get(SEL) != [rows[0].name]:
        st.rerun()
    # the same test as page() makes, so the two can never disagree and loop
    live = st.session_state.get("live", True) and any(
        _status(ctx, n, disc) == "running" for n in st.session_state.get(SEL) or [])
    if live != bool(st.session_state.get("_view_live")):
        st.rerun()


# ---------------------------------------------------------------------------- run view

def _run_view(ctx: Context, c: Controls) -> None:
    selected = list(st.session_state.get(SEL) or [])
    if not selected:
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
    name, t = opened[0]
    rf = run_file(ctx, name)
    with t.lock:
        summary = logic.summarize(t.run, rf, now()) if rf else None
    _guarded("header", _header, name, t, summary)
    # the findings sit above the charts but are filled last: a diagnostics pass over a
    # million iterations takes seconds, the charts should not wait for it
    findings_box = st.container()
    _guarded("charts", _charts, opened, c)
    _guarded("details", _details, name, t)
    with findings_box:
        _guarded("findings", _findings, t,
                 live=c.live and summary is not None and summary.status == "running")


def _guarded(panel: str, draw, *args, **kwargs) -> None:
    """Draw one panel; if the data surprises it, say so in the panel and draw the rest."""
    try:
        draw(*args, **kwargs)
    except Exception as e:
        st.warning(md_escape(f"The {panel} panel cannot be drawn: {type(e).__name__}: {e}"))


def _header(name: str, t, s: logic.Summary | None) -> None:
    st.subheader(md_escape(label(name)))
    run = t.run
    mfu = run.iters["mfu"].dropna() if len(run.iters) else pd.Series(dtype=float)
    tps = run.iters["tokens_per_s"].dropna() if len(run.iters) else pd.Series(dtype=float)
    cols = st.columns(7)
    cols[0].metric("status", s.status if s else "–")
    cols[1].metric("step", "–" if not s or s.step is None else f"{s.step:,}")
    cols[2].metric("loss", _num(s.loss if s else None))
    cols[3].metric("val loss", _num(s.val_loss if s else None))
    cols[4].metric("MFU", f"{100 * mfu.iloc[-1]:.1f}%" if len(mfu) else "–")
    cols[5].metric("tokens/s", logic.fmt_count(tps.iloc[-1]) if len(tps) else "–")
    cols[6].metric("elapsed", logic.fmt_duration(s.elapsed_s if s else None))


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.4f}"


def _findings(t, live: bool) -> None:
    try:
        from analyzer.diagnostics import run_all
        from analyzer.findings import sort_findings
    except ImportError as e:  # a broken install must not take the charts down
        st.warning(md_escape(f"Diagnostics unavailable: {e}"))
        return
    t.update_findings(run_all, live)
    findings = sort_findings(list(t.findings or []))
    st.markdown(f"#### Findings ({len(findings)})")
    if t.findings_error:
        st.warning(md_escape(t.findings_error))
    if t.findings is None:
        st.caption("Analysing…")
    elif not findings:
        st.caption("Nothing to report so far.")
    for i, f in enumerate(findings[:MAX_FINDINGS]):
        _finding(i, f)
    if len(findings) > MAX_FINDINGS:
        st.caption(f"… and {len(findings) - MAX_FINDINGS} more (less severe).")


def _finding(i: int, f) -> None:
    with st.container(border=True):
        where = ""
        if f.steps:
            a, b = f.steps
            where = f" (step {a:,})" if a == b else f" (steps {a:,}–{b:,})"
        st.markdown(f"{ICONS.get(f.severity, '')} **{md_escape(f.severity)}** · "
                    f"{md_escape(f.code)}{md_escape(where)}: {md_escape(f.message)}")
        if f.suggestion:
            st.markdown(f"*What to do:* {md_escape(f.suggestion)}")
        if f.evidence:
            st.caption("Evidence: " + md_escape(logic.fmt_evidence(f.to_dict()["evidence"])))
        if f.steps:
            st.button("Show these steps on the charts", key=f"zoom-{i}-{f.code}-{f.steps[0]}",
                      on_click=_set_zoom, args=(f.steps, f.code))


def _set_zoom(steps: tuple[int, int], code: str) -> None:
    st.session_state[ZOOM] = {"steps": (int(steps[0]), int(steps[1])), "code": code}


def _clear_zoom() -> None:
    st.session_state.pop(ZOOM, None)


def _charts(opened: list, c: Controls) -> None:
    zoom = st.session_state.get(ZOOM)
    step_range = None
    if zoom:
        a, b = zoom["steps"]
        margin = max(5.0, 0.25 * (b - a))
        step_range = (a - margin, b + margin)
        cols = st.columns([4, 1])
        cols[0].info(f"Showing steps {a:,}–{b:,} ({md_escape(zoom['code'])}), at full "
                     "resolution.")
        cols[1].button("Show the whole run", on_click=_clear_zoom)
    multi = len(opened) > 1
    if c.axis == "tokens":
        unknown = [label(n) for n, t in opened if not (t.run.meta or {}).get("tokens_per_iter")]
        if unknown:
            st.caption(md_escape("Not on the tokens axis (tokens per iteration not recorded): "
                                 + ", ".join(unknown)))
    missing = []
    grid = st.columns(2)
    n_drawn = 0
    metrics = sorted({m for _, t in opened for m in logic.metric_names(t.run)})
    jobs = [(spec.title, lambda spec=spec: _chart(opened, spec, c, step_range, zoom, multi))
            for spec in logic.CHARTS]
    jobs += [(m, lambda m=m: _metric_chart(opened, m, c, step_range, multi)) for m in metrics]
    for title, build in jobs:
        try:
            chart = build()
        except Exception as e:  # one odd series must not take the other panels down
            grid[n_drawn % 2].warning(md_escape(f"{title}: cannot draw ({type(e).__name__}: "
                                                f"{e})"))
            n_drawn += 1
            continue
        if chart is None:
            missing.append(title)
            continue
        grid[n_drawn % 2].vega_lite_chart(spec=chart, width="stretch")
        n_drawn += 1
    if missing:
        st.caption("No data (yet) for: " + ", ".join(missing))


def _chart(opened, spec: logic.ChartSpec, c: Controls, step_range, zoom, multi):
    lines, marks, bands = [], [], []
    for name, t in opened:
        with t.lock:
            key = ("chart", spec.key, c.axis, c.smoothing, step_range)
            pts, mk = t.cached(key, lambda: logic.chart_points(
                t.run, label(name), spec, c.axis, c.smoothing, step_range))
            if spec.nonfinite_bands:
                bands += _bands(t.run, c.axis, t.cached("nan", lambda: logic.nonfinite_ranges(
                    t.run)), "loss not finite")
            if zoom and name == opened[0][0]:
                bands += _bands(t.run, c.axis, [zoom["steps"]], f"finding: {zoom['code']}")
        lines.append(pts)
        marks.append(mk)
    lines = [p for p in lines if len(p)]
    if not lines:
        return None
    pts = pd.concat(lines, ignore_index=True)
    mk = pd.concat([m for m in marks if len(m)] or [marks[0]], ignore_index=True)
    x_title, div = _x_title(c.axis, pts)
    if div != 1.0:
        pts = pts.assign(x=pts["x"] / div)
        mk = mk.assign(x=mk["x"] / div) if len(mk) else mk
        bands = [(a / div, b / div, lab) for a, b, lab in bands]
    return line_chart(pts, title=spec.title, y_title=spec.y_title, x_title=x_title,
                      log=c.log_y and spec.log_ok, multi_run=multi, bands=bands or None,
                      markers=mk if spec.marker else None, y_format=spec.y_format,
                      x_format=_x_format(c.axis),
                      marker_label=spec.marker[3] if spec.marker else "")


def _metric_chart(opened, metric: str, c: Controls, step_range, multi):
    parts = []
    for name, t in opened:
        with t.lock:
            parts.append(t.cached(("metric", metric, c.axis, step_range), lambda: logic.
                                  metric_points(t.run, label(name), metric, c.axis,
                                                step_range)))
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    pts = pd.concat(parts, ignore_index=True)
    x_title, div = _x_title(c.axis, pts)
    return line_chart(pts.assign(x=pts["x"] / div), title=metric, y_title=metric,
                      x_title=x_title, multi_run=multi, x_format=_x_format(c.axis))


def _bands(run, axis: str, ranges, text: str) -> list[tuple[float, float, str]]:
    if not ranges:
        return []
    starts = logic.steps_to_x(run, axis, [a - 0.5 for a, _ in ranges])
    ends = logic.steps_to_x(run, axis, [b + 0.5 for _, b in ranges])
    if starts is None or ends is None:
        return []
    return [(float(a), float(b), text) for a, b in zip(starts, ends)]


def _x_title(axis: str, pts: pd.DataFrame) -> tuple[str, float]:
    if axis == "time":
        unit, div = logic.time_unit(float(pts["x"].max()) if len(pts) else 0.0)
        return f"wall time ({unit})", div
    return logic.X_AXES[axis], 1.0


def _x_format(axis: str) -> str:
    # SI prefixes for counts (1.5k steps, 2.1M tokens); plain digits for minutes and hours
    return ",.3~r" if axis == "time" else "~s"


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
