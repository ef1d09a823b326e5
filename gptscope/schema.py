"""The gptscope event schema: the one contract between trainer, analyzer and dashboard.

Standard library only, so that every part of the project (and anyone else) can import it
without torch or pandas.

A run is a stream of JSON objects, one per line (JSONL). Every event carries

    type  : one of EVENT_TYPES
    v     : SCHEMA_VERSION of the writer
    run_id: the run's id (its directory name under the logs root)
    time  : wall-clock seconds since the Unix epoch (float)
    step  : the training iteration the event belongs to (int, null where none applies)

plus the fields listed for its type in FIELDS. Units are in the field names (``dt_ms``,
``tokens_per_s``, ``wall_s``). A value that was not measured is ``null``: never a sentinel
such as nanoGPT's ``mfu -100.00%``. JSON has no NaN or infinity, so a non-finite float is
written as ``null`` too; in an ``iter`` event a null ``loss`` therefore means "the loss was
not finite" (an iteration always computes its loss), and an ``anomaly`` event with the exact
value ("nan", "inf", "-inf") follows it.

Writers emit keys in the order of FIELDS (common fields first) so that the file reads well
and fast readers can rely on a stable layout; readers must still accept any order and ignore
fields they do not know (a newer writer may add fields within the same major version).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

SCHEMA_VERSION = 1

# (name, accepted JSON types, meaning). "null" in the types means the field may be null.
Field = tuple[str, tuple[str, ...], str]

COMMON: tuple[Field, ...] = (
    ("type", ("str",), "event type, one of EVENT_TYPES"),
    ("v", ("int",), "schema version of the writer"),
    ("run_id", ("str",), "id of the run (its directory name under the logs root)"),
    ("time", ("float",), "wall-clock time of the event, seconds since the Unix epoch"),
    ("step", ("int", "null"), "training iteration the event belongs to"),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "run_start": (
        ("config", ("dict",), "the fully resolved training configuration"),
        ("model", ("dict",), "model shape: n_layer, n_head, n_embd, block_size, vocab_size, "
                             "bias, n_params (without position embeddings)"),
        ("tokens_per_iter", ("int", "null"), "tokens processed per optimizer step, all ranks"),
        ("max_iters", ("int", "null"), "iteration the run stops at"),
        ("device", ("str", "null"), "torch device type: cpu, cuda or mps; null: not known"),
        ("device_name", ("str", "null"), "human-readable device, e.g. 'NVIDIA H100 80GB HBM3'"),
        ("dtype", ("str", "null"), "compute dtype: float32, bfloat16 or float16; null: not known"),
        ("world_size", ("int", "null"), "number of processes (torchrun ranks); null: not known"),
        ("peak_flops", ("float", "null"), "peak FLOP/s per device used for MFU; null: unknown"),
        ("peak_flops_source", ("str",), "where peak_flops came from: 'table:<entry>', "
                                        "'measured:<how>', 'user' or 'unknown'"),
        ("torch_version", ("str", "null"), "torch.__version__ of the trainer"),
        ("source", ("str",), "'gptscope' for our trainer, or the parser that produced the "
                             "events from a foreign log (e.g. 'nanogpt')"),
    ),
    "iter": (
        ("loss", ("float", "null"), "training loss of this iteration (null: not finite)"),
        ("lr", ("float", "null"), "learning rate used for this iteration"),
        ("grad_norm", ("float", "null"), "total gradient norm before clipping (null: not "
                                         "measured or not finite)"),
        ("dt_ms", ("float", "null"), "wall time since the previous iteration ended, as "
                                     "nanoGPT's dt: includes eval/checkpoint at the top of "
                                     "it; our trainer excludes work still queued on a GPU "
                                     "from earlier iterations"),
        ("step_ms", ("float", "null"), "time of the training step alone (forward, backward, "
                                       "optimizer), excluding eval and checkpointing"),
        ("eval_inclusive", ("bool",), "true when dt_ms includes an eval (or checkpoint) done "
                                      "at the top of this iteration"),
        ("tokens_per_s", ("float", "null"), "training throughput of this step, all ranks"),
        ("mfu", ("float", "null"), "model FLOPs utilisation of this step as a fraction "
                                   "(0.45 = 45%), from step_ms; null: not measured"),
        ("mfu_smoothed", ("float", "null"), "nanoGPT's running MFU (0.9 old + 0.1 new) as a "
                                            "fraction; null until measured"),
        ("step_ms_min", ("float", "null"), "fastest rank's own work in the step: its compute "
                                           "before the last gradient all-reduce, where ranks "
                                           "wait for each other (multi-process runs only)"),
        ("step_ms_max", ("float", "null"), "slowest rank's own work in the step, as "
                                           "step_ms_min (multi-process runs only)"),
        ("slowest_rank", ("int", "null"), "rank with step_ms_max (multi-process runs only)"),
    ),
    "eval": (
        ("train_loss", ("float", "null"), "mean loss over eval_iters batches of train data"),
        ("val_loss", ("float", "null"), "mean loss over eval_iters batches of val data"),
        ("eval_ms", ("float", "null"), "time the evaluation took"),
        ("best_val_loss", ("float", "null"), "lowest val_loss so far in this run"),
    ),
    "metric": (
        ("name", ("str",), "metric name, e.g. 'hellaswag', 'val_bpb', 'core'"),
        ("value", ("float", "null"), "metric value"),
    ),
    "checkpoint": (
        ("path", ("str",), "checkpoint file, relative to the run directory where possible"),
        ("val_loss", ("float", "null"), "val loss of the saved model"),
    ),
    "anomaly": (
        ("kind", ("str",), "'nonfinite_loss' or 'nonfinite_grad'"),
        ("value", ("str",), "the offending value: 'nan', 'inf' or '-inf'"),
        ("action", ("str",), "what the trainer did: 'continue', 'skip' or 'stop'"),
    ),
    "resume": (
        ("from_step", ("int",), "iteration the run continues from"),
        ("checkpoint", ("str", "null"), "checkpoint the state was loaded from"),
    ),
    "run_end": (
        ("status", ("str",), "'completed', 'failed' or 'interrupted'"),
        ("error", ("str", "null"), "error message when status is 'failed'"),
        ("steps", ("int", "null"), "iterations completed"),
        ("wall_s", ("float", "null"), "wall-clock seconds from start to end"),
    ),
}

EVENT_TYPES: tuple[str, ...] = tuple(FIELDS)
RUN_END_STATUSES = ("completed", "failed", "interrupted")
OPTIONAL = frozenset({"step_ms_min", "step_ms_max", "slowest_rank"})

_PYTYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "dict": dict,
            "null": type(None)}


class SchemaError(ValueError):
    """An event does not follow the schema."""


def field_names(event_type: str) -> list[str]:
    """All field names of an event type, common fields first, in writing order."""
    return [f[0] for f in COMMON] + [f[0] for f in FIELDS[event_type]]


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON can hold it: the one JSON clean-up of the project.

    JSON has no NaN or infinity, so a non-finite float becomes null (see the module
    docstring); numpy and pandas scalars (anything with ``.item()``) become Python numbers;
    lists, tuples and dicts are cleaned all through.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:  # a numpy/pandas scalar; an array of one value too, which is rare and fine
            return json_safe(value.item())
        except (TypeError, ValueError):
            return value
    return value


def make_event(event_type: str, run_id: str, step: int | None, time: float,
               **fields: Any) -> dict[str, Any]:
    """Build a schema-valid event dict in the canonical key order.

    Fields of the type that are not given are set to null (or False for booleans), so every
    event of a type has the same keys. Unknown fields raise SchemaError.
    """
    if event_type not in FIELDS:
        raise SchemaError(f"unknown event type {event_type!r}")
    known = {f[0]: f for f in FIELDS[event_type]}
    unknown = set(fields) - set(known)
    if unknown:
        raise SchemaError(f"{event_type}: unknown field(s) {sorted(unknown)}")
    event: dict[str, Any] = {"type": event_type, "v": SCHEMA_VERSION, "run_id": run_id,
                             "time": float(time), "step": step}
    for name, types, _ in FIELDS[event_type]:
        if name in fields:
            event[name] = json_safe(fields[name])
        elif name in OPTIONAL:
            continue
        else:
            event[name] = False if types == ("bool",) else None
    errors = validate(event)
    if errors:
        raise SchemaError(f"{event_type}: " + "; ".join(errors))
    return event


def validate(event: Any) -> list[str]:
    """Problems with an event, as short sentences; an empty list means valid."""
    if not isinstance(event, dict):
        return ["event is not a JSON object"]
    etype = event.get("type")
    if not isinstance(etype, str) or etype not in FIELDS:
        return [f"unknown event type {etype!r}"]
    errors = []
    for name, types, _ in COMMON + FIELDS[etype]:
        if name not in event:
            if name not in OPTIONAL:
                errors.append(f"missing field {name!r}")
            continue
        value = event[name]
        ok = any(isinstance(value, _PYTYPES[t]) for t in types)
        if isinstance(value, bool) and "bool" not in types:
            ok = False  # bool is an int subclass in Python, but not in our schema
        if not ok:
            errors.append(f"field {name!r} should be {'|'.join(types)}, "
                          f"got {type(value).__name__}")
    if etype == "run_end" and event.get("status") not in RUN_END_STATUSES:
        errors.append(f"run_end status must be one of {RUN_END_STATUSES}")
    return errors


def dumps(event: dict[str, Any]) -> str:
    """One event as one compact JSON line (no trailing newline)."""
    return json.dumps(event, separators=(",", ":"), allow_nan=False, default=str)


@dataclass
class BadLine:
    """A line of a JSONL file that could not be read as an event."""
    lineno: int
    problem: str


def read_events(lines: Iterable[str | bytes]) -> Iterator[dict[str, Any] | BadLine]:
    """Decode JSONL lines into events; yields a BadLine for each line that is not one.

    The simple, streaming reader: the analyzer has a faster columnar one for big files.
    """
    for lineno, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError as e:
            yield BadLine(lineno, f"not JSON ({e.msg})")
            continue
        errors = validate(event)
        if errors:
            yield BadLine(lineno, errors[0])
        else:
            yield event


def schema_markdown() -> str:
    """The schema as Markdown tables; docs/events.md is generated from (and tested against) it."""
    out = [f"Schema version {SCHEMA_VERSION}. Fields every event has:", "",
           "| field | type | meaning |", "|---|---|---|"]
    out += [f"| `{n}` | {' or '.join(t)} | {d} |" for n, t, d in COMMON]
    for etype, fields in FIELDS.items():
        out += ["", f"### `{etype}`", "", "| field | type | meaning |", "|---|---|---|"]
        out += [f"| `{n}` | {' or '.join(t)} | {d} |" for n, t, d in fields]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # python -m gptscope.schema > docs/events.md
    print("# gptscope events (`events.jsonl`)\n\n"
          "Generated from `gptscope/schema.py` by `python -m gptscope.schema`; a test keeps the "
          "two in step.\n\n" + __doc__.split("\n\n", 2)[2] + "\n" + schema_markdown(), end="")
