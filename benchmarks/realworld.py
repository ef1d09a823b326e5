"""Score the analyzer on the real-world corpus: logs nobody on this team wrote.

    python benchmarks/realworld.py [--json] [--only SUBSTRING] [--verbose] [--known-misses]

The corpus is tests/data/realworld/: real training logs (or excerpts cut at line boundaries)
from public repositories and issue threads, with SOURCES.md (where each came from, and a
person's reading of it) and labels.toml (that reading, machine-readable). Each label is what a
person sees in the log, never what the analyzer says.

For every log this loads it with ``analyzer.load``, runs every diagnostic, summarises it with
``analyzer.stats.summarize`` and compares with the labels:

- **recall**: a labelled problem counts as found when a finding listed for its code in
  PROBLEM_FINDINGS (below) is there, at least as severe as the table says, at the labelled
  step (as the log prints it) and, where the table asks, with the right words in its message;
- **false alarms**: warning- or error-level findings on a log labelled healthy (no problems);
  error-level findings on other logs that no label explains are listed too;
- **facts**: format family, number of runs, first/last step, final/best val (and the step of
  the best), steady step time (within 10%), final train loss (the last logged value), the
  parameter count. For a file with several runs the facts are those of its **last run**:
  the analyzer's segments from its last run start on (resumes belong to the run they resume).

The functions are pure and importable (tests/analyzer/test_realworld.py asserts every label
through them); only ``main`` prints.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "realworld"
LABELS = CORPUS / "labels.toml"

# Label problem code -> (finding codes that count, least severity, step rule, words).
# Step rule: "first" = the finding's first step must be the labelled step (a NaN onset, the
# best-val step an overfitting finding starts at); "within" = the labelled step lies in the
# finding's step range; None = no step to check. Words: one of them must appear
# (case-insensitive) in the finding's message or its evidence, e.g. an OOM must be called one.
PROBLEM_FINDINGS: dict[str, tuple[tuple[str, ...], str, str | None, tuple[str, ...]]] = {
    "nan_onset": (("nonfinite_loss",), "warning", "first", ()),
    "nan_grad": (("nonfinite_grad", "nonfinite_loss"), "warning", "first", ()),
    "interrupted": (("run_interrupted",), "warning", None, ()),
    "killed": (("run_interrupted", "run_failed"), "warning", None, ("killed", "signal")),
    "timelimit": (("run_interrupted", "run_failed"), "warning", None, ("time limit",)),
    "cancelled": (("run_interrupted", "run_failed"), "warning", None, ("cancel",)),
    "crashed": (("run_failed",), "error", None, ()),
    "oom": (("run_failed",), "error", None, ("out of memory", "outofmemory", "oom")),
    "overfitting": (("overfitting",), "warning", "first", ()),
    "costly_eval": (("eval_spikes",), "warning", None, ()),
    "loss_spike": (("loss_spike",), "info", "within", ()),
    "divergence": (("loss_divergence", "loss_spike"), "warning", "within", ()),
    "low_mfu": (("low_mfu",), "info", None, ()),
    # an MFU no device reaches (over 100%: nanoGPT divides by an A100's peak on any GPU)
    "implausible_mfu": (("mfu_implausible",), "warning", None, ()),
}
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
STEP_TIME_TOLERANCE = 0.10  # the bar: a steady step time within 10%
FACTS = ("first_step", "last_step", "final_val", "best_val", "best_val_step", "step_ms",
         "final_train_loss", "params")


@dataclass
class Check:
    """One label compared with the analyzer: what was expected, what came out, and if right."""
    log: str
    kind: str          # 'format', 'runs', 'fact', 'problem', 'false_alarm'
    name: str          # the fact or problem code ('' for format/runs)
    expected: Any
    got: Any
    ok: bool

    @property
    def key(self) -> str:
        """Stable id of the label, used by the test's KNOWN_MISSES."""
        return f"{self.kind}:{self.name}" if self.name else self.kind


@dataclass
class LogScore:
    """Every check of one log, plus the findings and any load error."""
    log: str
    checks: list[Check] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)
    load_error: str | None = None


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    """The corpus labels: one dict per log (``file``, ``format``, ``runs``, ``problems``,
    ``facts``)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    logs = data.get("log", [])
    for entry in logs:
        for p in entry.get("problems", []):
            if p["code"] not in PROBLEM_FINDINGS:
                raise ValueError(f"{path}: {entry['file']}: unknown problem code {p['code']!r}; "
                                 f"known: {', '.join(PROBLEM_FINDINGS)}")
    return logs


def count_runs(run: Any) -> int:
    """Independent runs in the analyzer's view: segments that start a run (not resumes). A
    file with no step counts the launches that ended (crashed at start-up: a person counts
    that run), else none (a header alone is no run)."""
    if not len(run.iters) and not len(run.evals):
        return sum(1 for s in run.segments[:-1] if s.get("end")) + (1 if run.end else 0)
    starts = [s for s in run.segments if s.get("kind") != "resume"]
    return max(1, len(starts))


def last_run(run: Any) -> Any:
    """The Run restricted to its last run: from the last run start on (resumes included)."""
    starts = [s["segment"] for s in run.segments if s.get("kind") != "resume"]
    if len(starts) <= 1:
        return run
    first = starts[-1]
    frames = {name: getattr(run, name) for name in
              ("iters", "evals", "metrics", "checkpoints", "anomalies")}
    kept = {name: df[df["segment"] >= first] for name, df in frames.items()}
    return dataclasses.replace(run, **kept,
                               segments=[s for s in run.segments if s["segment"] >= first])


def facts_of(summary: dict[str, Any]) -> dict[str, Any]:
    """The facts a label can state, read from ``analyzer.stats.summarize`` output."""
    thr = summary.get("throughput") or {}
    return {"first_step": summary.get("first_step"), "last_step": summary.get("last_step"),
            "final_val": summary.get("final_val_loss"), "best_val": summary.get("best_val_loss"),
            "best_val_step": summary.get("best_val_step"),
            "step_ms": thr.get("median_step_ms"),
            "final_train_loss": summary.get("final_train_loss"),
            "params": summary.get("n_params")}


def fact_ok(name: str, expected: Any, got: Any) -> bool:
    """Is the analyzer's value right? Step time within 10%, numbers as printed, ints exact."""
    if got is None or (isinstance(got, float) and math.isnan(got)):
        return False
    if name == "step_ms":
        return abs(float(got) - float(expected)) <= STEP_TIME_TOLERANCE * abs(float(expected))
    if isinstance(expected, float):
        return math.isclose(float(got), expected, rel_tol=1e-5, abs_tol=1e-6)
    return int(got) == int(expected)


def _text(finding: Any) -> str:
    return (finding.message + " " + json.dumps(finding.to_dict().get("evidence", {}),
                                               default=str)).lower()


def problem_found(problem: dict[str, Any], findings: list[Any]) -> Any | None:
    """The first finding that accounts for a labelled problem, or None."""
    codes, least, rule, words = PROBLEM_FINDINGS[problem["code"]]
    step = problem.get("step")
    for f in findings:
        if f.code not in codes or SEVERITY_RANK[f.severity] < SEVERITY_RANK[least]:
            continue
        if words and not any(w in _text(f) for w in words):
            continue
        if step is not None and rule is not None:
            if not f.steps:
                continue
            a, b = f.steps
            if rule == "first" and a != step:
                continue
            if rule == "within" and not a <= step <= b:
                continue
        return f
    return None


def problem_name(problem: dict[str, Any]) -> str:
    """A labelled problem's name in check keys: its code, and its step when labelled."""
    step = problem.get("step")
    return problem["code"] if step is None else f"{problem['code']}@{step}"


def explained(finding: Any, problems: list[dict[str, Any]]) -> bool:
    """Does some labelled problem account for this finding's code?"""
    return any(finding.code in PROBLEM_FINDINGS[p["code"]][0] for p in problems)


def score_log(label: dict[str, Any], corpus: Path = CORPUS) -> LogScore:
    """Load one corpus log, run the diagnostics and check every label of it."""
    import analyzer
    from analyzer.diagnostics import run_all
    from analyzer.stats import summarize

    name = label["file"]
    out = LogScore(log=name)
    try:
        run = analyzer.load(corpus / name)
    except analyzer.LoadError as e:
        run = None
        out.load_error = str(e)
    fmt = run.format if run is not None else None
    allowed = label["format"] if isinstance(label["format"], list) else [label["format"]]
    out.checks.append(Check(name, "format", "", label["format"], fmt, fmt in allowed))
    runs = count_runs(run) if run is not None else 0
    out.checks.append(Check(name, "runs", "", label["runs"], runs, runs == label["runs"]))
    out.findings = run_all(run) if run is not None else []
    got = facts_of(summarize(last_run(run))) if run is not None else {}
    for fact, expected in label.get("facts", {}).items():
        value = got.get(fact)
        out.checks.append(Check(name, "fact", fact, expected, value,
                                fact_ok(fact, expected, value)))
    problems = label.get("problems", [])
    for p in problems:
        hit = problem_found(p, out.findings)
        shown = f"{hit.severity} {hit.code} {hit.steps}" if hit else None
        out.checks.append(Check(name, "problem", problem_name(p), p.get("step"), shown,
                                hit is not None))
    loud = [f for f in out.findings if SEVERITY_RANK[f.severity] >= 1]
    if not problems:
        shown = [f"{f.severity} {f.code} {f.steps}" for f in loud]
        out.checks.append(Check(name, "false_alarm", "", [], shown, not loud))
    return out


def unexplained_errors(score: LogScore, label: dict[str, Any]) -> list[Any]:
    """Error-level findings on a log with problems that no label accounts for."""
    problems = label.get("problems", [])
    if not problems:
        return []  # counted as false alarms already
    return [f for f in score.findings if f.severity == "error" and not explained(f, problems)]


def totals(scores: list[LogScore], labels: list[dict[str, Any]]) -> dict[str, Any]:
    """Corpus totals: recall per problem code and overall, false alarms, facts right."""
    checks = [c for s in scores for c in s.checks]
    probs = [c for c in checks if c.kind == "problem"]
    by_code: dict[str, list[int]] = {}
    for c in probs:
        hit_total = by_code.setdefault(c.name.split("@")[0], [0, 0])
        hit_total[0] += c.ok
        hit_total[1] += 1
    facts = [c for c in checks if c.kind in ("fact", "format", "runs")]
    healthy = [c for c in checks if c.kind == "false_alarm"]
    label_of = {lab["file"]: lab for lab in labels}
    errors = sum(len(unexplained_errors(s, label_of[s.log])) for s in scores)
    return {
        "logs": len(scores),
        "problems": len(probs), "problems_found": sum(c.ok for c in probs),
        "recall": _ratio(sum(c.ok for c in probs), len(probs)),
        "recall_by_code": {k: {"found": v[0], "labelled": v[1]}
                           for k, v in sorted(by_code.items())},
        "healthy_logs": len(healthy),
        "false_alarm_logs": sum(not c.ok for c in healthy),
        "false_alarms": sum(len(c.got) for c in healthy),
        "false_alarm_errors": sum(sum(g.startswith("error") for g in c.got) for c in healthy),
        "unexplained_errors": errors,
        "facts": len(facts), "facts_right": sum(c.ok for c in facts),
        "facts_ratio": _ratio(sum(c.ok for c in facts), len(facts)),
        "load_errors": sum(s.load_error is not None for s in scores),
    }


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def score_corpus(only: str | None = None) -> tuple[list[LogScore], dict[str, Any]]:
    """Score every labelled log (or those whose file name contains ``only``)."""
    labels = [lab for lab in load_labels() if not only or only in lab["file"]]
    scores = [score_log(lab) for lab in labels]
    return scores, totals(scores, labels)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _row(score: LogScore) -> str:
    checks = score.checks
    probs = [c for c in checks if c.kind == "problem"]
    facts = [c for c in checks if c.kind in ("fact", "format", "runs")]
    alarm = [c for c in checks if c.kind == "false_alarm"]
    p = f"{sum(c.ok for c in probs)}/{len(probs)}" if probs else "-"
    fa = ("ok" if alarm[0].ok else f"{len(alarm[0].got)}") if alarm else "-"
    return f"{score.log[:62]:62s} {p:>7s} {fa:>6s} {sum(c.ok for c in facts):>3d}/{len(facts):<3d}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the totals and misses as JSON")
    ap.add_argument("--only", help="score only logs whose file name contains this")
    ap.add_argument("--verbose", action="store_true", help="print every miss under its log")
    ap.add_argument("--known-misses", action="store_true",
                    help="print today's misses as entries for KNOWN_MISSES in "
                         "tests/analyzer/test_realworld.py")
    args = ap.parse_args(argv)
    scores, tot = score_corpus(args.only)
    if args.known_misses:
        for s in scores:
            for c in s.checks:
                if not c.ok:
                    print(f"    ({s.log!r},\n     {c.key!r}): {'analyzer gives ' + _fmt(c.got)!r},")
        return 0
    misses = [dataclasses.asdict(c) for s in scores for c in s.checks if not c.ok]
    if args.json:
        print(json.dumps({"totals": tot, "misses": misses}, indent=1, default=str))
        return 0
    print(f"{'log':62s} {'found':>7s} {'alarms':>6s} facts")
    for s in scores:
        print(_row(s))
        if args.verbose:
            for c in s.checks:
                if not c.ok:
                    print(f"    MISS {c.key}: expected {_fmt(c.expected)}, got {_fmt(c.got)}")
            if s.load_error:
                print(f"    load error: {s.load_error}")
    print()
    print(f"logs {tot['logs']}; problems found {tot['problems_found']}/{tot['problems']} "
          f"(recall {_pct(tot['recall'])}); healthy logs with false alarms "
          f"{tot['false_alarm_logs']}/{tot['healthy_logs']} ({tot['false_alarms']} findings, "
          f"{tot['false_alarm_errors']} errors); unexplained errors elsewhere "
          f"{tot['unexplained_errors']}; facts right {tot['facts_right']}/{tot['facts']} "
          f"({_pct(tot['facts_ratio'])}); load errors {tot['load_errors']}")
    for code, v in tot["recall_by_code"].items():
        print(f"  {code:14s} {v['found']}/{v['labelled']}")
    return 0


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


if __name__ == "__main__":
    sys.exit(main())
