"""`python -m analyzer`: a thin command line over the analyzer library.

    python -m analyzer summary train.log
    python -m analyzer diagnose train.log --fail-on error
    python -m analyzer report logs/run1 -o run1.html
    python -m analyzer watch train.log          # while `python train.py | tee train.log` runs

Exit status: 0 ok; 1 `diagnose --fail-on` found something that severe; 2 unusable input or
usage (one line on stderr). Heavy modules (pandas, matplotlib) are imported inside the
commands, so `--help` is instant.
"""
from __future__ import annotations

import argparse
import dataclasses
import contextlib
import json
import sys
from pathlib import Path
from typing import IO, Any, Iterator

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def nothing_recognised(run: Any, forced: str | None = None,
                       need_iterations: bool = False) -> str | None:
    """Why a run cannot be judged (None when it can): no iteration and no eval was read from
    it and, unless ``need_iterations``, not even a start or an end (a crash at start-up is
    worth diagnosing). A gate (diagnose, check) must never pass on nothing, e.g. on a log
    read with the wrong ``--format`` (every line skipped)."""
    if len(run.iters) or len(run.evals):
        return None
    if not need_iterations and (run.end or run.segments):
        return None
    st = run.stats
    hint = (f"; --format {forced} was given: leave it out to detect the format"
            if forced else "")
    return (f"{run.source or 'run'}: no training iterations recognised ({run.format}: "
            f"{st.skipped} of {st.lines} lines skipped{hint})")


def _load(path: str, fmt: str | None = None, maps: list[str] | None = None):
    from analyzer.load import load
    from analyzer.parsers._scalars import parse_map
    run = load(path, format=fmt, tag_map=parse_map(maps or []) or None)
    problem = nothing_recognised(run, fmt)
    if problem:
        raise CliError(problem)
    return run


def _config(args: argparse.Namespace):
    from analyzer.diagnostics import DiagnosticsConfig
    return DiagnosticsConfig.from_overrides(getattr(args, "set", None) or [])


def _findings(run, args: argparse.Namespace) -> list:
    from analyzer.diagnostics import DEPRECATED_NAMES, run_all
    only = getattr(args, "only", None)
    for name in only or []:
        if name in DEPRECATED_NAMES:
            print(f"note: --only {name} is an old name; use --only "
                  f"{' --only '.join(DEPRECATED_NAMES[name])}", file=sys.stderr)
    return run_all(run, _config(args), only=only)


def _dump(obj: Any) -> str:
    from analyzer.findings import _jsonable
    return json.dumps(_jsonable(obj), indent=1, default=str)


# -- parse ---------------------------------------------------------------------------------

def _blocks(data: bytes, size: int = 8 << 20):
    """(first line number, lines) of whole lines, a few MB at a time: memory stays
    proportional to the events, not to the file."""
    from analyzer.load import split_lines
    lineno, pos = 1, 0
    while pos < len(data):
        end = min(pos + size, len(data))
        if end < len(data):
            cut = data.rfind(b"\n", pos, end)
            end = cut + 1 if cut >= 0 else end
        lines = split_lines(data[pos:end])
        if lines and lines[-1] == "" and data[end - 1:end] == b"\n":
            lines.pop()  # the text after the last newline is empty, not a line
        yield lineno, lines
        lineno += len(lines)
        pos = end


@contextlib.contextmanager
def _output(name: str, inputs: list) -> Iterator[IO[str]]:
    """stdout for '-', else the file through analyzer.output (never over an input or a
    run's own files; written whole or not at all)."""
    from analyzer.output import open_output
    if name == "-":
        yield sys.stdout
        return
    with open_output(name, inputs) as f:
        yield f


def _parse_whole(args: argparse.Namespace) -> int | None:
    """A TensorBoard file or run directory (binary records, read whole): its events."""
    from analyzer.parsers import tensorboard
    from gptscope.schema import dumps
    p = Path(args.log)
    if not tensorboard.claims_path(p) or args.format not in (None, tensorboard.NAME):
        return None
    if args.output != "-":
        from analyzer.output import check_output
        check_output(args.output, [p])
    try:
        events = tensorboard.events(p, run_id=args.run_id or p.stem)
    except ImportError as e:  # the optional extra is missing: say which
        raise CliError(f"{p}: {e}") from None
    with _output(args.output, [p]) as out:
        out.writelines(dumps(ev) + "\n" for ev in events)
    print(f"{p}: tensorboard, {len(events)} events", file=sys.stderr)
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    import mmap

    from analyzer import parsers as registry
    from analyzer.load import LoadError, detect_format, resolve
    from analyzer.output import check_output
    from gptscope.schema import dumps
    whole = _parse_whole(args)
    if whole is not None:
        return whole
    path = resolve(args.log)
    if args.output != "-":
        check_output(args.output, [path])  # before the input is mapped into memory
    with open(path, "rb") as f:
        if not path.stat().st_size:
            raise LoadError(path, "empty file")
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    fmt = args.format or detect_format(path, data)
    try:
        mod = registry.get(fmt)
    except KeyError as e:
        raise CliError(f"{path}: {e.args[0]}") from None
    parser = mod.Parser(run_id=args.run_id or path.stem)
    try:
        with _output(args.output, [path]) as out:
            n = 0
            for lineno, lines in _blocks(data):
                events = parser.feed(lines, lineno)
                out.writelines(dumps(ev) + "\n" for ev in events)
                n += len(events)
            events = parser.finish()
            out.writelines(dumps(ev) + "\n" for ev in events)
            n += len(events)
            st = parser.stats
            if args.format and not n:  # the forced format read nothing: write nothing
                raise CliError(f"{path}: no lines read as {fmt} ({st.skipped} of {st.lines}"
                               f" skipped); leave --format out to detect the format")
    finally:
        data.close()
    print(f"{path}: {fmt}, {n} events from {st.lines} lines ({st.skipped} skipped)"
          + ("" if args.output == "-" else f" -> {args.output}"), file=sys.stderr)
    return EXIT_OK


# -- summary -------------------------------------------------------------------------------

def _num(x: Any, fmt: str = "{:.4f}") -> str:
    return "-" if x is None else fmt.format(x)


def format_duration(seconds: float) -> str:
    """A duration in the unit that reads well: '0.6 s', '42 s', '12.5 min', '23.1 h',
    '3.2 days' (never '0.0 min' or '1,383.0 min')."""
    for limit, unit, size in ((10, "s", 1), (90, "s", 1), (90 * 60, "min", 60),
                              (48 * 3600, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.{1 if limit != 90 else 0}f} {unit}"
    return f"{seconds / 86400:,.1f} days"


def format_summary(s: dict[str, Any], counts: dict[str, int]) -> str:
    t = s["throughput"]
    lines = [
        f"run       {s['name']}: {s['source']} ({s['format']}, {s['segments']} segment"
        f"{'s' if s['segments'] != 1 else ''})",
        "steps     " + (f"{s['first_step']} - {s['last_step']}: " if s["first_step"] is not None
                         else "none logged: ") +
        f"{s['iters_logged']} iterations logged, {s['evals']} evals, "
        f"{s['checkpoints']} checkpoints" + (f", ended {s['status']}" if s["status"] else ""),
        f"loss      final train {_num(s['final_train_loss'])}, final val "
        f"{_num(s['final_val_loss'])}, best val {_num(s['best_val_loss'])}"
        + (f" at step {s['best_val_step']}" if s["best_val_step"] is not None else "")
        + (f" (val in {s['val_unit']})" if s.get("val_unit", "loss") != "loss" else ""),
        f"speed     {_num(t['median_step_ms'], '{:,.1f}')} ms/step median (p10 "
        f"{_num(t['p10_step_ms'], '{:,.1f}')}, p90 {_num(t['p90_step_ms'], '{:,.1f}')}) over "
        f"{t['steady_iters']} steady steps; {t['eval_iters']} eval and {t['warmup_iters']} "
        f"warm-up steps left out",
        f"          tokens/s {_num(t['median_tokens_per_s'], '{:,.0f}')}, MFU "
        f"{_num(t['median_mfu'], '{:.2%}')}",
    ]
    if s.get("per_run"):
        lines[1:1] = format_runs(s["per_run"])
    if t["wall_s"]:
        lines.append(f"time      ~{format_duration(t['wall_s'])} of training"
                     + (f", {t['eval_overhead_frac']:.1%} of it in evals"
                        if t["eval_overhead_frac"] is not None else ""))
    lines.append(f"parse     {s['lines']} lines, {s['lines_skipped']} skipped")
    total = sum(counts.values())
    lines.append("findings  " + (", ".join(f"{n} {k}" for k, n in counts.items() if n)
                                 if total else "none") + " (see `diagnose`)")
    return "\n".join(lines)


def format_runs(per_run: list[dict[str, Any]]) -> list[str]:
    """Lines for a file that holds several independent runs: one each, then a note that the
    figures below are the last run's."""
    lines = [f"runs      {len(per_run)} independent runs in this file; the figures below are "
             f"the last run's"]
    for r in per_run:
        steps = (f"steps {r['first_step']} - {r['last_step']}" if r["first_step"] is not None
                 else "no steps")
        best = (f", best val {_num(r['best_val_loss'])} at step {r['best_val_step']}"
                if r["best_val_loss"] is not None else "")
        lines.append(f"  run {r['run']}: {steps}, {r['iters_logged']} iterations, final train "
                     f"{_num(r['final_train_loss'])}, final val {_num(r['final_val_loss'])}"
                     + best)
    return lines


def _counts(findings: list) -> dict[str, int]:
    return {sev: sum(f.severity == sev for f in findings) for sev in ("error", "warning", "info")}


def cmd_summary(args: argparse.Namespace) -> int:
    from analyzer.stats import summarize
    run = _load(args.path, args.format, args.map)
    cfg = _config(args)
    s = {"name": run.name, **summarize(run, cfg.warmup_steps)}
    counts = _counts(_findings(run, args))
    from analyzer.forecast import forecast_run
    from analyzer.references import load_reference, run_standing
    forecast = forecast_run(run, args.forecast_step)
    mine = [r for path in args.reference or [] for r in load_reference(path)]
    standing = run_standing(run) + (run_standing(run, mine, match=False) if mine else [])
    if args.json:
        print(_dump({**s, "findings": counts, "forecast": forecast.to_dict(),
                     "standing": [dataclasses.asdict(x) for x in standing]}))
    else:
        print(format_summary(s, counts) + f"\nforecast  {forecast.text()}"
              + "".join(f"\nstanding  {x.message}" for x in standing))
    return EXIT_OK


# -- diagnose ------------------------------------------------------------------------------

def format_finding(f, suggestion: bool = True) -> str:
    text = f.format()
    if suggestion and f.suggestion:
        text += f"\n        -> {f.suggestion}"
    return text


def cmd_diagnose(args: argparse.Namespace) -> int:
    from analyzer.findings import SEVERITIES
    run = _load(args.path, args.format, args.map)
    findings = _findings(run, args)
    if not findings:  # "nothing looks wrong" only about something that was read
        problem = nothing_recognised(run, args.format, need_iterations=True)
        if problem:
            raise CliError(problem)
    if args.json:
        print(_dump({"source": run.source, "format": run.format,
                     "findings": [f.to_dict() for f in findings]}))
    else:
        for f in findings:
            print(format_finding(f))
        c = _counts(findings)
        print(f"{len(findings)} findings: {c['error']} error(s), {c['warning']} warning(s), "
              f"{c['info']} info" if findings else "No findings: nothing looks wrong.")
    if args.fail_on:
        limit = SEVERITIES.index(args.fail_on)
        if any(f.rank >= limit for f in findings):
            return EXIT_FINDINGS
    return EXIT_OK


# -- report --------------------------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    from analyzer import report
    from analyzer.output import check_output, output_path
    out = args.output
    kind = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if kind not in ("png", "html", "htm"):
        raise CliError(f"{out}: the report must end in .png or .html")
    check_output(out, [args.path])  # before the work of reading and drawing
    run = _load(args.path, args.format, args.map)
    cfg = _config(args)
    findings = _findings(run, args)
    try:
        with output_path(out, [args.path]) as tmp:
            render = report.render_png if kind == "png" else report.render_html
            render(run, findings, tmp, cfg)
    except OSError as e:
        raise CliError(f"{out}: cannot write ({e.strerror or e})") from None
    print(f"wrote {out} ({len(findings)} findings)", file=sys.stderr)
    return EXIT_OK


# -- compare -------------------------------------------------------------------------------

def format_compare(c: dict[str, Any], name_a: str, name_b: str) -> str:
    a, b = c["a"], c["b"]
    rows = [("format", a["format"], b["format"], None),
            ("last step", a["last_step"], b["last_step"], None),
            ("final train loss", a["final_train_loss"], b["final_train_loss"], "{:.4f}"),
            ("best val loss", a["best_val_loss"], b["best_val_loss"], "{:.4f}"),
            ("best val step", a["best_val_step"], b["best_val_step"], None),
            ("median ms/step", a["throughput"]["median_step_ms"],
             b["throughput"]["median_step_ms"], "{:,.1f}"),
            ("tokens/s", a["throughput"]["median_tokens_per_s"],
             b["throughput"]["median_tokens_per_s"], "{:,.0f}"),
            ("MFU", a["throughput"]["median_mfu"], b["throughput"]["median_mfu"], "{:.2%}")]
    w = max(len(name_a), len(name_b), 12)
    out = [f"{'':18s} {name_a[:w]:>{w}s} {name_b[:w]:>{w}s}"]
    for label, x, y, fmt in rows:
        fx = "-" if x is None else (fmt.format(x) if fmt else str(x))
        fy = "-" if y is None else (fmt.format(y) if fmt else str(y))
        out.append(f"{label:18s} {fx:>{w}s} {fy:>{w}s}")
    if "train_loss" in c:
        t = c["train_loss"]
        out.append(f"train loss over {t['common_steps']} common steps ({t['first']}-"
                   f"{t['last']}): B is {t['mean_rel_diff']:+.2%} vs A on average")
    if "val_loss" in c:
        v = c["val_loss"]
        out.append(f"val loss over {v['common_evals']} common evals: B - A = "
                   f"{v['mean_diff']:+.4f} on average, {v['at_last'][1] - v['at_last'][0]:+.4f}"
                   f" at step {v['last']}")
    if "speedup" in c:
        out.append(f"speed: B runs {c['speedup']:.2f}x as fast as A per step")
    if "train_loss" not in c and "val_loss" not in c:
        out.append("no common steps: the losses cannot be compared step by step")
    return "\n".join(out)


def short_names(a: Any, b: Any, width: int = 24) -> tuple[str, str]:
    """Column headers for two runs: their names (run id or file stem), cut to ``width``;
    when the names are the same, the parent directories tell them apart."""
    na, nb = a.name, b.name
    if na == nb and a.source and b.source:
        pa, pb = Path(a.source).resolve().parent.name, Path(b.source).resolve().parent.name
        if pa != pb:
            na, nb = f"{pa}/{na}", f"{pb}/{nb}"

    def cut(x: str) -> str:  # keep the end: run ids differ at their end (dates, seeds)
        return x if len(x) <= width else "..." + x[-(width - 3):]
    return cut(na), cut(nb)


def cmd_compare(args: argparse.Namespace) -> int:
    from analyzer.stats import compare
    a, b = _load(args.run_a, args.format, args.map), _load(args.run_b, args.format, args.map)
    c = compare(a, b, _config(args).warmup_steps)
    name_a, name_b = short_names(a, b)
    print(_dump(c) if args.json else format_compare(c, "A: " + name_a, "B: " + name_b))
    return EXIT_OK


# -- export --------------------------------------------------------------------------------

def _refuse_export_into_input(source: Path, logdir: Path, fmt: str) -> None:
    """An event file written among the TensorBoard files it was read from (or into the run
    directory read) would be read back next time with them: every point twice."""
    read_dir = source if source.is_dir() else source.parent if fmt == "tensorboard" else None
    if read_dir is not None and logdir.resolve() == read_dir.resolve():
        raise CliError(f"{logdir}: refusing to export into the directory the run is read "
                       "from (it would be read back twice); choose another directory")


def cmd_export(args: argparse.Namespace) -> int:
    from analyzer.export import export_tensorboard
    run = _load(args.path, args.format, args.map)
    _refuse_export_into_input(Path(args.path), Path(args.tensorboard), run.format)
    try:
        res = export_tensorboard(run, args.tensorboard)
    except ImportError as e:  # the optional extra is missing: say which
        raise CliError(str(e)) from None
    print(f"wrote {res.points} scalars at {res.steps} steps -> {res.path}", file=sys.stderr)
    return EXIT_OK


def _add_export(sub: Any) -> None:
    p = _sub(sub, "export", "write a run as TensorBoard scalars",
             "Write any run the analyzer reads (events.jsonl, a stdout log, ...) as one "
             "TensorBoard event file in DIR: tags train/loss, train/lr, eval/loss, ... (see "
             "docs/parsers.md). Needs: pip install 'gptscope[tensorboard]'.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--tensorboard", required=True, metavar="DIR",
                   help="directory to write the event file into (created if missing)")
    _common(p, diagnostics=False)
    p.set_defaults(func=cmd_export)


# -- the parser ----------------------------------------------------------------------------

EXAMPLES = {
    "parse": "python -m analyzer parse train.log -o events.jsonl",
    "summary": "python -m analyzer summary logs/my-run",
    "diagnose": "python -m analyzer diagnose train.log --fail-on error --set patience=3",
    "report": "python -m analyzer report train.log -o report.html",
    "compare": "python -m analyzer compare logs/baseline logs/candidate",
    "watch": "python train.py config/train_shakespeare_char.py | tee train.log &\n"
             "  python -m analyzer watch train.log",
    "export": "python -m analyzer export train.log --tensorboard runs/train",
}


def _sub(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=description,
                          epilog=f"example:\n  {EXAMPLES[name]}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _common(p: argparse.ArgumentParser, diagnostics: bool = True) -> None:
    p.add_argument("--format", help="skip format detection (e.g. nanogpt, llmc, gptscope)")
    p.add_argument("--map", action="append", metavar="TAG=METRIC",
                   help="TensorBoard, Hugging Face and Lightning runs: read this tag (column, "
                        "key) as METRIC (loss, val_loss, lr, grad_norm, tokens_per_s, mfu, "
                        "dt_ms, step_ms, eval_train_loss, or 'metric' to keep it a named "
                        "metric), repeatable; see docs/parsers.md")
    if diagnostics:
        p.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="override a diagnostics threshold, repeatable (see "
                            "docs/analyzer.md for the list), e.g. --set low_mfu=0.2")


OWN_COMMANDS = ("parse", "summary", "diagnose", "report", "compare", "watch", "export")


def _add_parse(sub: Any) -> None:
    p = _sub(sub, "parse", "convert any supported log into gptscope events (JSONL)",
             "Convert a log (nanoGPT, build-nanogpt, llm.c, modded-nanogpt, nanochat stdout, "
             "or our own events.jsonl) into gptscope events, one JSON object per line.")
    p.add_argument("log", help="the log file")
    p.add_argument("-o", "--output", required=True, help="events file to write ('-': stdout)")
    p.add_argument("--run-id", help="run_id of the events (default: the file's stem)")
    _common(p, diagnostics=False)
    p.set_defaults(func=cmd_parse)


def _add_summary_and_diagnose(sub: Any) -> None:
    p = _sub(sub, "summary", "what a run did: steps, losses, speed, eval overhead",
             "Summarise a run: steps, final and best losses, steady-state step time, tokens/s "
             "and MFU (evals and warm-up left out), time spent in evals, parse statistics.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--forecast-step", type=int, default=None, metavar="STEP",
                   help="forecast the train loss at this step (default: the run's max_iters; "
                        "see docs/analyzer.md, 'Forecast')")
    p.add_argument("--reference", action="append", metavar="FILE",
                   help="also say where the run stands against this reference: a references "
                        "JSON file or a run log (repeatable; docs/analyzer.md, 'Reference "
                        "curves')")
    _common(p)
    p.set_defaults(func=cmd_summary)

    p = _sub(sub, "diagnose", "what went wrong: overfitting, NaNs, spikes, MFU, ...",
             "Run every diagnostic and print the findings, most severe first. Exit status 1 "
             "when --fail-on is given and a finding is at least that severe.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fail-on", choices=("info", "warning", "error"),
                   help="exit with status 1 if a finding is at least this severe")
    p.add_argument("--only", action="append", metavar="CODE",
                   help="only the findings with this code, as printed (repeatable), e.g. "
                        "--only overfitting --only loss_spike")
    _common(p)
    p.set_defaults(func=cmd_diagnose)


def _add_report_and_compare(sub: Any) -> None:
    p = _sub(sub, "report", "figures (PNG) or a self-contained HTML report",
             "Draw loss (raw, smoothed, evals), step time (eval and unexplained spikes "
             "marked), MFU and learning rate. A .html output also holds the summary and the "
             "findings, with the figures embedded.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("-o", "--output", required=True, help="FILE.png or FILE.html")
    _common(p)
    p.set_defaults(func=cmd_report)

    p = _sub(sub, "compare", "two runs side by side",
             "Compare two runs: summary figures side by side, and the losses at the steps both "
             "logged (B minus A).")
    p.add_argument("run_a", help="baseline run (log file or run directory)")
    p.add_argument("run_b", help="the run to compare with it")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_compare)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. ``argv`` only decides whether the `golden` and `check` verbs
    (analyzer/cli_golden.py, which imports pandas) need registering: not for our own
    commands, so that `python -m analyzer diagnose --help` stays quick."""
    from analyzer import cli_watch
    parser = argparse.ArgumentParser(
        prog="python -m analyzer", description=__doc__.split("\n\n")[0],
        epilog="examples:\n  " + "\n  ".join(EXAMPLES[k] for k in ("summary", "diagnose",
                                                                   "report")),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_parse(sub)
    _add_summary_and_diagnose(sub)
    _add_report_and_compare(sub)
    _add_export(sub)
    cli_watch.add_parser(sub)
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    if first not in OWN_COMMANDS:
        try:
            from analyzer import cli_golden
        except ImportError:
            cli_golden = None  # the CI check verbs are optional
        if cli_golden is not None:
            cli_golden.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    from analyzer.load import LoadError
    try:
        return args.func(args)
    except (CliError, LoadError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `... | head`: the reader left, nothing to report
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
