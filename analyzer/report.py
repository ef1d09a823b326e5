"""Reports: a matplotlib figure set (PNG) or a self-contained HTML page of a run.

Panels: loss (raw, smoothed, eval markers, NaN onset, best-val step), step time (evals, warm-up
and unexplained spikes marked), MFU, learning rate; panels without data are left out. The
HTML embeds the panels as base64 PNGs beside the summary and the findings; every string that
comes from a log is HTML-escaped. matplotlib is imported here only, with the Agg backend, so
the rest of the analyzer starts fast and needs no display.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from analyzer import series, stats
from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.timing import spike_rows
from analyzer.findings import Finding
from analyzer.mfu_basis import mfu_basis
from analyzer.run import Run

MAX_POINTS = 4000  # per series: min/max thinning keeps spikes visible, plotting stays fast
Panel = tuple[str, Callable[[Any], None]]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
         ) -> tuple[np.ndarray, np.ndarray]:
    """At most ~max_points points, keeping each bucket's min and max (spikes survive): the
    dashboard's downsampler (analyzer.series), so both draw the same points."""
    return series.thin(x, y, max_points)


def _smooth(y: pd.Series) -> np.ndarray:
    """TensorBoard's debiased EMA at its default weight: the dashboard's smoothing (same
    function, same default), so "smoothed loss" means one thing in both."""
    return series.debiased_ema(y.to_numpy(dtype=float), series.DEFAULT_WEIGHT)


def _by_segment(df: pd.DataFrame):
    for seg, part in df.groupby("segment"):
        yield int(seg), part.sort_values("step", kind="stable")


def _label(run: Run, seg: int, text: str) -> str:
    return f"{text} (segment {seg})" if run.n_segments > 1 else text


def _loss_panel(run: Run, findings: list[Finding]) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        for seg, df in _by_segment(run.iters):
            x, y = df["step"].to_numpy(dtype=float), df["loss"].to_numpy(dtype=float)
            if not np.isfinite(y).any():
                continue
            if len(y) < 200:  # few points: the raw curve is readable as it is
                ax.plot(*thin(x, y), lw=1.2, label=_label(run, seg, "train"))
            else:
                ax.plot(*thin(x, y), lw=0.6, alpha=0.35, label=_label(run, seg, "train"))
                ax.plot(*thin(x, _smooth(df["loss"])), lw=1.6,
                        label=_label(run, seg, f"train (smoothed, EMA {series.DEFAULT_WEIGHT})"))
        for seg, df in _by_segment(run.evals):
            if df["val_loss"].notna().any():
                ax.plot(df["step"], df["val_loss"], "o-", ms=3.5, lw=1,
                        label=_label(run, seg, "val"))
            if df["train_loss"].notna().any():
                ax.plot(df["step"], df["train_loss"], "s", ms=3,
                        label=_label(run, seg, "train (eval)"))
        for f in findings:
            if f.code == "nonfinite_loss":
                ax.axvline(f.evidence["first_nonfinite_step"], color="red", ls="--", lw=1,
                           label=f"NaN/Inf from step {f.evidence['first_nonfinite_step']}")
            elif f.code == "overfitting":
                ax.axvline(f.evidence["best_step"], color="green", ls=":", lw=1.2,
                           label=f"best val: step {f.evidence['best_step']}")
            elif f.code in ("loss_spike", "loss_divergence") and f.steps:
                ax.axvspan(f.steps[0], f.steps[1], color="orange", alpha=0.15)
        _forecast_and_references(ax, run)
        y = pd.concat([run.iters["loss"], run.evals["val_loss"]]).to_numpy(dtype=float)
        y = y[np.isfinite(y) & (y > 0)]
        if len(y) and y.max() / y.min() > 20:
            ax.set_yscale("log")
        ax.set_ylabel("loss")
    return draw


def _forecast_and_references(ax: Any, run: Run) -> None:
    """The forecast as a dashed continuation, and each matching published reference's val
    loss in this run's steps (only up to where the run's x axis ends)."""
    from analyzer.forecast import forecast_run
    from analyzer.references import builtin_references, matching, overlay
    fc = forecast_run(run)
    if fc.ok:
        xs, ys = zip(*fc.curve())
        ax.plot(xs, ys, "--", color="0.4", lw=1.2,
                label=f"forecast: {fc.value:.3f} at step {fc.target_step}")
    last = run.iters["step"].max()
    for ref in matching(run, builtin_references()):
        pts = [(x, v) for x, v in overlay(run, ref) if x <= (fc.target_step or last)]
        if pts:
            ax.plot(*zip(*pts), ":", marker=".", lw=1, label=f"reference: {ref.label}")


def _dt_panel(run: Run, config: DiagnosticsConfig) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        it = run.iters
        evi = stats.eval_inclusive(run)
        wu = stats.warmup(run, config.warmup_steps) & ~evi
        spike, _ = spike_rows(run, config)
        steady = stats.steady(run, config.warmup_steps)
        t = stats.step_time(it)
        wall = it["dt_ms"].where(it["dt_ms"] > 0)
        wall = wall.where(wall.notna(), t)  # eval-inclusive rows: the time they really took
        df = it[steady].sort_values("step")
        # dots, not a line: a line between periodic spikes paints the panel solid
        ax.plot(*thin(df["step"].to_numpy(dtype=float), t[df.index].to_numpy(dtype=float)),
                ".", ms=2, alpha=0.6, label="steady steps")
        for mask, style, label in ((evi & it["dt_ms"].gt(0), "^", "includes eval/checkpoint"),
                                   (wu, "s", "warm-up"), (spike, "x", "unexplained spike")):
            pts = it[mask & wall.notna()]
            if len(pts):
                ax.plot(pts["step"], wall[pts.index], style, ms=4, label=label)
        median = stats.throughput_stats(run, config.warmup_steps).median_step_ms
        if median:
            ax.axhline(median, color="grey", ls=":", lw=1, label=f"median {median:,.1f} ms")
        shown = wall.dropna()
        if len(shown) and shown.max() / shown.min() > 20:
            ax.set_yscale("log")
        ax.set_ylabel("step time (ms)")
    return draw


def _mfu_panel(run: Run, config: DiagnosticsConfig) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        mfu = stats.mfu_series(run.iters) * 100
        fair = stats.clean(run, config.warmup_steps)
        for mask, style, label in ((fair, "-", "MFU"), (~fair, ".", "excluded (eval/warm-up)")):
            df = run.iters[mask & mfu.notna()].sort_values("step")
            if len(df):
                ax.plot(*thin(df["step"].to_numpy(dtype=float),
                              mfu[df.index].to_numpy(dtype=float)), style, lw=0.8, ms=3,
                        label=label)
        ax.set_ylabel("MFU (%)")
    return draw


def _lr_panel(run: Run) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        for seg, df in _by_segment(run.iters[run.iters["lr"].notna()]):
            ax.plot(*thin(df["step"].to_numpy(dtype=float), df["lr"].to_numpy(dtype=float)),
                    lw=1, label=_label(run, seg, "lr"))
        ax.set_ylabel("learning rate")
    return draw


def panels(run: Run, findings: list[Finding], config: DiagnosticsConfig | None = None
           ) -> list[Panel]:
    """(title, draw(ax)) for each panel that has data."""
    config = config or DiagnosticsConfig()
    it = run.iters
    out: list[Panel] = [("Loss", _loss_panel(run, findings))]
    if stats.step_time(it).notna().any():
        out.append(("Step time", _dt_panel(run, config)))
    if stats.mfu_series(it).notna().any():
        out.append(("MFU", _mfu_panel(run, config)))
    if it["lr"].notna().any():
        out.append(("Learning rate", _lr_panel(run)))
    return out


def _finish(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")


def render_png(run: Run, findings: list[Finding], path: str | Path,
               config: DiagnosticsConfig | None = None) -> None:
    """All panels in one PNG, two per row."""
    plt = _plt()
    ps = panels(run, findings, config)
    rows = (len(ps) + 1) // 2
    fig, axes = plt.subplots(rows, 2 if len(ps) > 1 else 1, figsize=(13, 4 * rows),
                             squeeze=False)
    for ax, (title, draw) in zip(axes.ravel(), ps):
        draw(ax)
        _finish(ax, title)
    for ax in axes.ravel()[len(ps):]:
        ax.set_visible(False)
    fig.suptitle(_title(run), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _png_b64(title: str, draw: Callable[[Any], None]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    draw(ax)
    _finish(ax, title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _title(run: Run) -> str:
    return f"{run.name} ({run.format})"  # the run id, not "events.jsonl"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top;font-size:14px}.error{background:#fdd}
.warning{background:#ffe9c6}.info{background:#e8f1fd}code,pre{font-size:12px}img{max-width:100%}"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render_html(run: Run, findings: list[Finding], path: str | Path,
                config: DiagnosticsConfig | None = None,
                summary: dict[str, Any] | None = None) -> None:
    """A single self-contained HTML file: summary, findings, figures."""
    e = html.escape
    summary = summary or stats.summarize(run)
    flat = {k: v for k, v in summary.items() if k != "throughput"}
    flat.update({f"throughput.{k}": v for k, v in summary.get("throughput", {}).items()})
    basis = mfu_basis(run.meta)
    if basis.label and flat.get("throughput.median_mfu") is not None:
        flat["throughput.median_mfu"] = basis.apply(flat["throughput.median_mfu"])
        flat["throughput.median_mfu is"] = basis.label  # nanoGPT's A100 constant, MPS...
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(_fmt(v))}</td></tr>" for k, v in flat.items()
                   if v is not None)
    if findings:
        frows = "".join(
            f'<tr class="{e(f.severity)}"><td>{e(f.severity)}</td><td><code>{e(f.code)}</code>'
            f"</td><td>{e(_steps(f))}</td><td>{e(f.message)}<br><i>{e(f.suggestion)}</i>"
            f"<details><summary>evidence</summary><pre>"
            f"{e(json.dumps(f.to_dict()['evidence'], indent=1))}</pre></details></td></tr>"
            for f in findings)
        ftable = (f"<table><tr><th>severity</th><th>code</th><th>steps</th><th>finding</th>"
                  f"</tr>{frows}</table>")
    else:
        ftable = "<p>No findings: nothing looks wrong.</p>"
    imgs = "".join(f'<h3>{e(title)}</h3><img alt="{e(title)}" '
                   f'src="data:image/png;base64,{_png_b64(title, draw)}">'
                   for title, draw in panels(run, findings, config))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>gptscope report: "
            f"{e(_title(run))}</title><style>{_CSS}</style></head><body>"
            f"<h1>{e(_title(run))}</h1><h2>Findings</h2>{ftable}{_forecast_html(run)}<h2>Figures</h2>{imgs}"
            f"<h2>Summary</h2><table>{rows}</table></body></html>\n")
    Path(path).write_text(page, encoding="utf-8")


def _forecast_html(run: Run) -> str:
    from analyzer.forecast import forecast_run
    return f"<p><b>Forecast</b>: {html.escape(forecast_run(run).text())}</p>"


def _steps(f: Finding) -> str:
    if not f.steps:
        return ""
    a, b = f.steps
    seg = f" (seg {f.segment})" if f.segment else ""
    return (f"{a}" if a == b else f"{a}-{b}") + seg
