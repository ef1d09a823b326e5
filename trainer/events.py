"""Where the trainer's events go: sinks. The training loop never prints; it emits events.

- JsonlSink: ``events.jsonl``, one schema event per line, flushed as written so that a reader
  tailing the file sees each event at once.
- StdoutSink: nanoGPT's stdout lines (``step N: train loss ...``, ``iter N: loss ...``), so
  people's habits and log-parsing scripts keep working.
- NullSink: for non-zero ranks and library use.

New outputs (TensorBoard, W&B...) are new sinks.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Protocol, TextIO

from gptscope import schema


class Sink(Protocol):
    def emit(self, event: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class NullSink:
    def emit(self, event: dict[str, Any]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class EventsWriteError(OSError):
    """events.jsonl cannot be written; the message names the file."""


class JsonlSink:
    """Appends events to a JSONL file (append: a resumed run continues the same file)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._f: TextIO | None = open(self.path, "a", encoding="utf-8")
        if _ends_mid_line(self.path):
            # a killed writer left half a line: end it, so that it stays one bad line that
            # readers skip instead of swallowing our next event
            self._f.write("\n")
            self._f.flush()

    def emit(self, event: dict[str, Any]) -> None:
        if self._f is None:
            return
        try:
            self._f.write(schema.dumps(event) + "\n")
            self._f.flush()
        except OSError as e:
            # a full disk or a vanished mount: say which file, and stop writing to it (the
            # run_end that follows would only fail the same way and hide this message)
            f, self._f = self._f, None
            try:
                f.close()
            except OSError:
                pass
            raise EventsWriteError(f"cannot write {self.path}: {e.strerror or e}") from e

    def message(self, text: str) -> None:
        pass  # free text has no place in the event stream

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.flush()
                os.fsync(self._f.fileno())  # the run is over: make its record durable
            except OSError:
                pass
            self._f.close()
            self._f = None


def _ends_mid_line(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"


class StdoutSink:
    """Formats events as nanoGPT's stdout lines. The iter line shows nanoGPT's running MFU;
    until that exists (its first 5 iterations) it shows this iteration's MFU, and ``mfu n/a``
    when the device's peak is unknown: never nanoGPT's ``-100.00%`` placeholder."""

    def __init__(self, stream: TextIO | None = None, run_dir: str | Path = ""):
        self.stream: TextIO | None = stream or sys.stdout
        self.run_dir = str(run_dir)

    def _print(self, text: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            # stdout went away (`| head`, closed terminal): events.jsonl still records the
            # run, so training goes on without the console rather than dying
            self.stream = None

    def message(self, text: str) -> None:
        self._print(text)

    def emit(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        # run_start: the trainer prints nanoGPT's header lines as messages (also on resume)
        if kind == "iter":
            self._print(format_iter(ev))
        elif kind == "eval":
            self._print(f"step {ev['step']}: train loss {_f4(ev['train_loss'])}, "
                        f"val loss {_f4(ev['val_loss'])}")
        elif kind == "checkpoint":
            self._print(f"saving checkpoint to {self.run_dir}")
        elif kind == "anomaly":
            self._print(f"warning: step {ev['step']}: non-finite "
                        f"{ev['kind'].removeprefix('nonfinite_')} ({ev['value']}), "
                        f"action: {ev['action']}")
        elif kind == "resume":
            self._print(f"Resuming training from {self.run_dir} at iter {ev['from_step']}")
        elif kind == "run_end":
            line = f"run {ev['status']} after {ev['steps']} iterations in {ev['wall_s']:.1f}s"
            self._print(line + (f": {ev['error']}" if ev.get("error") else ""))

    def close(self) -> None:
        try:
            if self.stream is not None:
                self.stream.flush()
        except (OSError, ValueError):
            pass


def format_iter(ev: dict[str, Any]) -> str:
    """nanoGPT's ``iter N: loss X.XXXX, time Y.YYms, mfu Z.ZZ%`` (time is dt_ms)."""
    mfu = ev["mfu_smoothed"] if ev["mfu_smoothed"] is not None else ev["mfu"]
    mfu_text = "mfu n/a" if mfu is None else f"mfu {mfu * 100:.2f}%"
    dt = ev["dt_ms"]
    return (f"iter {ev['step']}: loss {_f4(ev['loss'])}, "
            f"time {'n/a' if dt is None else f'{dt:.2f}'}ms, {mfu_text}")


def _f4(x: float | None) -> str:
    return "nan" if x is None else f"{x:.4f}"


# Digits worth writing: a float64 repr of every value would make events.jsonl a third larger
# (and slower to read) for digits that are noise. Losses keep 9 significant digits, which
# round-trips the float32 they come from exactly; times keep microseconds.
_SIGNIFICANT = {"loss": 9, "grad_norm": 9, "train_loss": 9, "val_loss": 9, "best_val_loss": 9,
                "lr": 9, "mfu": 8, "mfu_smoothed": 8, "tokens_per_s": 7, "value": 9}
_DECIMALS = {"dt_ms": 3, "step_ms": 3, "eval_ms": 3, "step_ms_min": 3, "step_ms_max": 3,
             "wall_s": 3}


def round_field(name: str, value: Any) -> Any:
    if type(value) is not float:  # noqa: E721 - ints, bools, None and text stay as they are
        return value
    if name in _DECIMALS:
        return round(value, _DECIMALS[name])
    if name in _SIGNIFICANT and value == value and abs(value) != float("inf"):
        return float(f"{value:.{_SIGNIFICANT[name]}g}")
    return value


class EventLog:
    """Builds schema events (schema.make_event) for one run and hands them to its sinks."""

    def __init__(self, run_id: str, sinks: list[Sink]):
        self.run_id = run_id
        self.sinks = sinks

    def emit(self, event_type: str, step: int | None, **fields: Any) -> dict[str, Any]:
        fields = {k: round_field(k, v) for k, v in fields.items()}
        event = schema.make_event(event_type, self.run_id, step, round(time.time(), 3),
                                  **fields)
        for sink in self.sinks:
            sink.emit(event)
        return event

    def message(self, text: str) -> None:
        for sink in self.sinks:
            sink.message(text)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
