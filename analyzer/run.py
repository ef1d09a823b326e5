"""The in-memory form of a run that every parser produces and every diagnostic consumes.

A parser turns a log (ours or a foreign one) into schema events; ``Run.from_events`` gathers
them into DataFrames. Fast parsers may build the DataFrames directly, but they must produce
exactly these columns (missing values as NaN / None), so that diagnostics, reports and the
dashboard never care where a run came from.

Segments: one file can hold several runs or a run and its resume. Each piece gets its own
``segment`` number (0, 1, ...), so two runs' steps are never merged into one curve.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

ITER_COLUMNS = ["segment", "step", "time", "loss", "lr", "grad_norm", "dt_ms", "step_ms",
                "eval_inclusive", "tokens_per_s", "mfu", "mfu_smoothed", "step_ms_min",
                "step_ms_max", "slowest_rank"]
EVAL_COLUMNS = ["segment", "step", "time", "train_loss", "val_loss", "eval_ms", "best_val_loss"]
METRIC_COLUMNS = ["segment", "step", "time", "name", "value"]
CHECKPOINT_COLUMNS = ["segment", "step", "time", "path", "val_loss"]
ANOMALY_COLUMNS = ["segment", "step", "time", "kind", "value", "action"]

_FLOAT_ITER = ["time", "loss", "lr", "grad_norm", "dt_ms", "step_ms", "tokens_per_s", "mfu",
               "mfu_smoothed", "step_ms_min", "step_ms_max"]
_FLOAT_EVAL = ["time", "train_loss", "val_loss", "eval_ms", "best_val_loss"]


@dataclass
class ParseStats:
    """What a parser read, and what it could not. Nothing unreadable is fatal."""
    lines: int = 0
    parsed: int = 0
    skipped: int = 0
    # a few (line number, reason, text) samples of skipped lines, for error messages
    samples: list[tuple[int, str, str]] = field(default_factory=list)
    max_samples: int = 20
    # the schema fields a reader of unknown layouts (the 'generic' format) found, in order
    fields: list[str] = field(default_factory=list)
    # what the evals' val_loss measures when it is not a loss in nats: 'bpb' (nanochat)
    val_unit: str | None = None

    def skip(self, lineno: int, reason: str, text: str = "") -> None:
        self.skipped += 1
        if len(self.samples) < self.max_samples:
            self.samples.append((lineno, reason, text[:200]))


@dataclass
class Run:
    """One training run (possibly in several segments) as DataFrames plus metadata."""
    iters: pd.DataFrame
    evals: pd.DataFrame
    metrics: pd.DataFrame
    checkpoints: pd.DataFrame
    anomalies: pd.DataFrame
    meta: dict[str, Any]            # run_start fields + anything a parser read from headers
    format: str                     # parser name: 'gptscope', 'nanogpt', 'llmc', ...
    source: str | None = None       # file path, when loaded from a file
    stats: ParseStats = field(default_factory=ParseStats)
    end: dict[str, Any] | None = None          # the run_end event, if the run ended
    segments: list[dict[str, Any]] = field(default_factory=list)  # per-segment meta

    @property
    def n_segments(self) -> int:
        return max(1, len(self.segments))

    @property
    def name(self) -> str:
        """A short name for titles and column headers: the run id (our events carry it;
        parsers give a foreign log its file stem), else the file's stem or directory."""
        if self.meta.get("run_id"):
            return str(self.meta["run_id"])
        if not self.source:
            return "run"
        p = Path(self.source)
        return p.parent.name or p.stem if p.name == "events.jsonl" else p.stem

    @classmethod
    def from_events(cls, events: Iterable[dict[str, Any]], format: str,
                    source: str | None = None, stats: ParseStats | None = None) -> "Run":
        """Gather schema events into a Run. A run_start after the first one, or a resume
        event, starts a new segment."""
        rows: dict[str, list[dict[str, Any]]] = {k: [] for k in
                                                ("iter", "eval", "metric", "checkpoint",
                                                 "anomaly")}
        meta: dict[str, Any] = {}
        segments: list[dict[str, Any]] = []
        end = None
        seg = 0
        for ev in events:
            etype = ev.get("type")
            if etype == "run_start" or etype == "resume":
                if segments or any(rows.values()):
                    seg += 1
                segments.append({"segment": seg, "kind": etype, "step": ev.get("step"),
                                 "time": ev.get("time")})
                if etype == "run_start" and not meta:
                    meta = {k: v for k, v in ev.items() if k not in ("type", "v")}
            elif etype in rows:
                rows[etype].append({**ev, "segment": seg})
            elif etype == "run_end":
                end = ev
        return cls(iters=_frame(rows["iter"], ITER_COLUMNS, _FLOAT_ITER),
                   evals=_frame(rows["eval"], EVAL_COLUMNS, _FLOAT_EVAL),
                   metrics=_frame(rows["metric"], METRIC_COLUMNS, ["time", "value"]),
                   checkpoints=_frame(rows["checkpoint"], CHECKPOINT_COLUMNS,
                                      ["time", "val_loss"]),
                   anomalies=_frame(rows["anomaly"], ANOMALY_COLUMNS, ["time"]),
                   meta=meta, format=format, source=source, stats=stats or ParseStats(),
                   end=end, segments=segments)


def as_step(value: Any) -> int | None:
    """A step as the frames hold it: an integer within int64, else None. A hostile log may
    say ``step 10**30``; that is no step, and must not stop the reading of the rest."""
    if isinstance(value, float):
        if not (value == value and value.is_integer()):
            return None
        value = int(value)
    if isinstance(value, int) and -2**63 <= value < 2**63:
        return int(value)
    return None


def as_float(value: Any) -> float:
    """A value as a float column holds it (NaN when it is no number); an integer too big
    for a float is +-inf, as ``1e999`` is."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
    except (TypeError, ValueError):  # None, text: what pd.to_numeric(errors="coerce") does
        return float("nan")


def _frame(rows: list[dict[str, Any]], columns: list[str], floats: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    for col in floats:
        if df[col].dtype == object:  # where integers too big for a float would be
            df[col] = df[col].map(as_float)
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    if "step" in df:  # from the rows: a column with nulls would go through float64
        df["step"] = pd.array([as_step(r.get("step")) for r in rows], dtype="Int64")
    df["segment"] = df["segment"].astype("int64")
    if "eval_inclusive" in df:
        df["eval_inclusive"] = df["eval_inclusive"].fillna(False).astype(bool)
    return df
