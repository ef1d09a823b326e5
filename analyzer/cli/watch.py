"""`python -m analyzer watch`: follow a growing log and print each finding as it appears.

    python train.py config/train_shakespeare_char.py | tee train.log &
    python -m analyzer watch train.log

Works on any format analyzer.follow.Follower reads (ours, or an unmodified nanoGPT's stdout),
with no change to the trainer.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from analyzer.cli.common import EXIT_OK, CliError, add_command, add_common, diagnostics_config
from analyzer.cli.diagnose import format_finding


def progress_line(run) -> str | None:
    """'step 1200 | loss 1.2345 | 21.3 ms/step | mfu 35.1%' from the last logged iteration."""
    it = run.iters
    if not len(it):
        return None
    last = it.iloc[-1]
    parts = [f"step {last['step']}"]
    loss = last["loss"]
    parts.append(f"loss {loss:.4f}" if loss == loss else "loss nan")
    t = last["dt_ms"] if last["dt_ms"] == last["dt_ms"] else last["step_ms"]
    if t == t:
        parts.append(f"{t:,.1f} ms/step")
    mfu = last["mfu"] if last["mfu"] == last["mfu"] else last["mfu_smoothed"]
    if isinstance(mfu, float) and math.isfinite(mfu) and mfu > 0:
        parts.append(f"mfu {mfu:.1%}" if mfu >= 0.01 else f"mfu {mfu:.2%}")
    ev = run.evals.dropna(subset=["val_loss"])
    if len(ev):
        parts.append(f"val {ev['val_loss'].iloc[-1]:.4f} @ {ev['step'].iloc[-1]}")
    return " | ".join(parts)


class _Watch:
    """State of `watch`: findings already printed, the last progress line, and when the
    diagnostics may run next (they are throttled to a fraction of the time on huge runs)."""

    PROGRESS_EVERY = 5.0  # seconds between progress lines when stdout is not a terminal

    def __init__(self, args: argparse.Namespace):
        self.args, self.cfg = args, diagnostics_config(args)
        self.seen: set = set()
        self.progress: str | None = None
        self.shown: str | None = None
        self.shown_at = -1e9
        self.dirty = False
        self.next_diag = 0.0
        # on a terminal the progress line is redrawn in place; in a pipe it is throttled
        self.tty = sys.stdout.isatty() and not args.json

    def diagnose(self, run, force: bool = False) -> None:
        from analyzer.diagnostics import run_all
        now = time.monotonic()
        if not self.dirty or (not force and now < self.next_diag):
            return
        findings = run_all(run, self.cfg)
        took = time.monotonic() - now
        self.next_diag = time.monotonic() + 3 * took  # diagnostics use <= 1/4 of the time
        self.dirty = False
        for f in findings:
            if f.key not in self.seen:
                self.seen.add(f.key)
                if self.tty and self.shown:
                    print("\r\033[K", end="")  # the finding takes the progress line's place
                    self.shown = None
                _emit(self.args, {"type": "finding", **f.to_dict()}, format_finding(f))

    def show_progress(self, run, final: bool = False) -> None:
        line = progress_line(run) or self.progress
        self.progress = line
        if not line or line == self.shown:
            return
        now = time.monotonic()
        if self.tty:
            print(f"\r\033[K{line}", end="\n" if final else "", flush=True)
        elif final or now - self.shown_at >= self.PROGRESS_EVERY:
            _emit(self.args, {"type": "progress", "text": line}, line)
        else:
            return
        self.shown, self.shown_at = line, now


def cmd_watch(args: argparse.Namespace) -> int:
    from analyzer.follow import Follower
    w = _Watch(args)
    follower = Follower(args.path, format=args.format)
    start = last_growth = time.monotonic()
    waiting_said = False
    while True:
        now = time.monotonic()
        last_read = (args.once or (args.timeout is not None and now - start >= args.timeout)
                     or (args.idle is not None and now - last_growth >= args.idle))
        # the last read takes a final line without its newline and flushes the parser
        up = follower.finish() if last_read else follower.poll()
        if up.reset:
            w.seen.clear()
            _emit(args, {"type": "reset"}, "-- the log was truncated or replaced: starting over")
        if up.error and not up.missing:
            raise CliError(up.error)
        if up.missing and not waiting_said:
            print(f"waiting for {args.path} to appear ...", file=sys.stderr, flush=True)
            waiting_said = True
        if up.changed:
            last_growth = now
            w.dirty = True
        run = follower.run
        stop = last_read or (args.exit_on_end and run is not None and run.end is not None)
        if run is not None:
            w.diagnose(run, force=stop)
            if up.changed or stop:
                w.show_progress(run, final=stop)
        if stop:
            return EXIT_OK
        time.sleep(args.interval)


def _emit(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    print(json.dumps(obj, default=str) if args.json else text, flush=True)


def add_parser(sub: Any) -> None:
    """Add the `watch` subcommand."""
    p = add_command(sub, "watch", "follow a growing log, print findings as they appear",
                    "Follow a log while it is written (ours, or the stdout of an unmodified "
                    "nanoGPT saved with tee) and print each new finding the moment it appears, with a "
                    "compact progress line. Stops with Ctrl-C, --once, --timeout, --idle or "
                    "--exit-on-end.")
    p.add_argument("path", help="the log file or run directory to follow")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls (1)")
    p.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--once", action="store_true", help="read what is there, report, stop")
    p.add_argument("--exit-on-end", action="store_true",
                   help="stop when the run writes its run_end event")
    p.add_argument("--idle", type=float, default=None, metavar="SECONDS",
                   help="stop when the log has not grown for this long (a nanoGPT stdout "
                        "has no end marker)")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    add_common(p)
    p.set_defaults(func=cmd_watch)
