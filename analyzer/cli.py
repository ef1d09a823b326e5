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
import json
import sys
from typing import Any

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _load(path: str, fmt: str | None = None):
    from analyzer.load import load
    return load(path, format=fmt)


def _config(args: argparse.Namespace):
    from analyzer.diagnostics import DiagnosticsConfig
    return DiagnosticsConfig.from_overrides(getattr(args, "set", None) or [])


def _findings(run, args: argparse.Namespace) -> list:
    from analyzer.diagnostics import run_all
    return run_all(run, _config(args), only=getattr(args, "only", None))


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


def cmd_parse(args: argparse.Namespace) -> int:
    import mmap

    from analyzer import parsers as registry
    from analyzer.load import LoadError, detect_format, resolve
    from gptscope.schema import dumps
    path = resolve(args.log)
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
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    n = 0
    try:
        for lineno, lines in _blocks(data):
            events = parser.feed(lines, lineno)
            out.writelines(dumps(ev) + "\n" for ev in events)
            n += len(events)
        events = parser.finish()
        out.writelines(dumps(ev) + "\n" for ev in events)
        n += len(events)
    finally:
        data.close()
        if out is not sys.stdout:
            out.close()
    st = parser.stats
    print(f"{path}: {fmt}, {n} events from {st.lines} lines ({st.skipped} skipped)"
          + ("" if args.output == "-" else f" -> {args.output}"), file=sys.stderr)
    return EXIT_OK


# -- summary -------------------------------------------------------------------------------

def _num(x: Any, fmt: str = "{:.4f}") -> str:
    return "-" if x is None else fmt.format(x)


def format_summary(s: dict[str, Any], counts: dict[str, int]) -> str:
    t = s["throughput"]
    lines = [
        f"run       {s['source']} ({s['format']}, {s['segments']} segment"
        f"{'s' if s['segments'] != 1 else ''})",
        "steps     " + (f"{s['first_step']} - {s['last_step']}: " if s["first_step"] is not None
                         else "none logged: ") +
        f"{s['iters_logged']} iterations logged, {s['evals']} evals, "
        f"{s['checkpoints']} checkpoints" + (f", ended {s['status']}" if s["status"] else ""),
        f"loss      final train {_num(s['final_train_loss'])}, final val "
        f"{_num(s['final_val_loss'])}, best val {_num(s['best_val_loss'])}"
        + (f" at step {s['best_val_step']}" if s["best_val_step"] is not None else ""),
        f"speed     {_num(t['median_step_ms'], '{:,.1f}')} ms/step median (p10 "
        f"{_num(t['p10_step_ms'], '{:,.1f}')}, p90 {_num(t['p90_step_ms'], '{:,.1f}')}) over "
        f"{t['steady_iters']} steady steps; {t['eval_iters']} eval and {t['warmup_iters']} "
        f"warm-up steps left out",
        f"          tokens/s {_num(t['median_tokens_per_s'], '{:,.0f}')}, MFU "
        f"{_num(t['median_mfu'], '{:.2%}')}",
    ]
    if t["wall_s"]:
        lines.append(f"time      ~{t['wall_s'] / 60:,.1f} min of training"
                     + (f", {t['eval_overhead_frac']:.1%} of it in evals"
                        if t["eval_overhead_frac"] is not None else ""))
    lines.append(f"parse     {s['lines']} lines, {s['lines_skipped']} skipped")
    total = sum(counts.values())
    lines.append("findings  " + (", ".join(f"{n} {k}" for k, n in counts.items() if n)
                                 if total else "none") + " (see `diagnose`)")
    return "\n".join(lines)


def _counts(findings: list) -> dict[str, int]:
    return {sev: sum(f.severity == sev for f in findings) for sev in ("error", "warning", "info")}


def cmd_summary(args: argparse.Namespace) -> int:
    from analyzer.stats import summarize
    run = _load(args.path, args.format)
    cfg = _config(args)
    s = summarize(run, cfg.warmup_steps)
    counts = _counts(_findings(run, args))
    if args.json:
        print(_dump({**s, "findings": counts}))
    else:
        print(format_summary(s, counts))
    return EXIT_OK


# -- diagnose ------------------------------------------------------------------------------

def format_finding(f, suggestion: bool = True) -> str:
    text = f.format()
    if suggestion and f.suggestion:
        text += f"\n        -> {f.suggestion}"
    return text


def cmd_diagnose(args: argparse.Namespace) -> int:
    from analyzer.findings import SEVERITIES
    run = _load(args.path, args.format)
    findings = _findings(run, args)
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
    out = args.output
    kind = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if kind not in ("png", "html", "htm"):
        raise CliError(f"{out}: the report must end in .png or .html")
    run = _load(args.path, args.format)
    cfg = _config(args)
    findings = _findings(run, args)
    try:
        if kind == "png":
            report.render_png(run, findings, out, cfg)
        else:
            report.render_html(run, findings, out, cfg)
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


def cmd_compare(args: argparse.Namespace) -> int:
    from analyzer.stats import compare
    a, b = _load(args.run_a, args.format), _load(args.run_b, args.format)
    c = compare(a, b, _config(args).warmup_steps)
    print(_dump(c) if args.json else format_compare(c, "A: " + args.run_a, "B: " + args.run_b))
    return EXIT_OK


# -- the parser ----------------------------------------------------------------------------

EXAMPLES = {
    "parse": "python -m analyzer parse train.log -o events.jsonl",
    "summary": "python -m analyzer summary logs/my-run",
    "diagnose": "python -m analyzer diagnose train.log --fail-on error --set patience=3",
    "report": "python -m analyzer report train.log -o report.html",
    "compare": "python -m analyzer compare logs/baseline logs/candidate",
    "watch": "python train.py config/train_shakespeare_char.py | tee train.log &\n"
             "  python -m analyzer watch train.log",
}


def _sub(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=description,
                          epilog=f"example:\n  {EXAMPLES[name]}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _common(p: argparse.ArgumentParser, diagnostics: bool = True) -> None:
    p.add_argument("--format", help="skip format detection (e.g. nanogpt, llmc, gptscope)")
    if diagnostics:
        p.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="override a diagnostics threshold, repeatable (see "
                            "docs/analyzer.md for the list), e.g. --set low_mfu=0.2")


OWN_COMMANDS = ("parse", "summary", "diagnose", "report", "compare", "watch")


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
    _common(p)
    p.set_defaults(func=cmd_summary)

    p = _sub(sub, "diagnose", "what went wrong: overfitting, NaNs, spikes, MFU, ...",
             "Run every diagnostic and print the findings, most severe first. Exit status 1 "
             "when --fail-on is given and a finding is at least that severe.")
    p.add_argument("path", help="a log file or a run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fail-on", choices=("info", "warning", "error"),
                   help="exit with status 1 if a finding is at least this severe")
    p.add_argument("--only", action="append", metavar="DIAGNOSTIC",
                   help="run only this diagnostic (repeatable), e.g. --only overfitting")
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
