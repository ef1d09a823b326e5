"""Reports of a golden check (analyzer.golden.CheckResult): plain text, JSON, Markdown.

Pure functions from a result to text; the CLI prints them.
"""
from __future__ import annotations

import json

from analyzer.golden import CheckResult, MetricSummary, Row


def _num(x: float | None, spec: str = ".6g") -> str:
    return "-" if x is None else format(x, spec)


def _pct(x: float | None, sign: str = "") -> str:
    return "-" if x is None else f"{100 * x:{sign}.3g}%"


def _failure_cells(r: Row) -> list[str]:
    return [r.metric, _num(r.step, "d") if r.step is not None else "-", _num(r.baseline),
            _num(r.candidate), _num(r.diff, "+.3g"), _pct(r.rel_diff, "+"), r.status]


def _summary_cells(s: MetricSummary) -> list[str]:
    return [s.metric, str(s.compared), str(s.failed), _num(s.max_abs_diff, ".3g"),
            _pct(s.max_rel_diff), "-" if s.worst_step is None else str(s.worst_step),
            s.tolerance]


SUMMARY_HEAD = ["metric", "points", "failed", "max abs diff", "max rel", "worst step",
                "tolerance"]
FAILURE_HEAD = ["metric", "step", "baseline", "run", "diff", "rel", "status"]


def _headline(result: CheckResult) -> str:
    how = "exact" if result.mode == "exact" else f"tolerance, direction {result.direction}"
    smooth = f", smoothing {result.smoothing}" if result.smoothing > 1 else ""
    return f"{result.status.upper()} ({how}{smooth})"


def render_table(result: CheckResult, max_failures: int = 20) -> str:
    """A plain-text report for a terminal or a CI log."""
    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                for r in [head, *rows]]
    out = [f"golden check: {_headline(result)}",
           f"  baseline: {result.baseline_name or '-'}", f"  run:      {result.run_name or '-'}",
           ""]
    out += table(SUMMARY_HEAD, [_summary_cells(s) for s in result.summary()])
    if result.problems:
        out += ["", "problems:"]
        out += [f"  {'FAIL' if p.fatal else 'note'} {p.kind}: {p.message}"
                for p in result.problems]
    fails = result.failures
    if fails:
        shown = fails[:max_failures]
        out += ["", f"failing points ({len(shown)} of {len(fails)}):"]
        out += ["  " + line for line in table(FAILURE_HEAD, [_failure_cells(r) for r in shown])]
    return "\n".join(out) + "\n"


def render_json(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"


def render_markdown(result: CheckResult, max_failures: int = 50) -> str:
    """A report for a pull-request comment (GitHub-flavoured Markdown)."""
    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                + ["| " + " | ".join(r) + " |" for r in rows])
    icon = ":white_check_mark:" if result.passed else ":x:"
    out = [f"### {icon} gptscope golden check: {_headline(result)}", ""]
    out += table(SUMMARY_HEAD, [_summary_cells(s) for s in result.summary()])
    if result.problems:
        out += [""] + [f"- **{'FAIL' if p.fatal else 'note'}** `{p.kind}`: {p.message}"
                       for p in result.problems]
    fails = result.failures
    if fails:
        shown = fails[:max_failures]
        out += ["", f"<details><summary>failing points ({len(shown)} of {len(fails)})"
                    "</summary>", ""]
        out += table(FAILURE_HEAD, [_failure_cells(r) for r in shown]) + ["", "</details>"]
    return "\n".join(out) + "\n"
