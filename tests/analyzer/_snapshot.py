"""A fingerprint of every fixture log's Run, to check that a change to the reading engine
leaves every format's output identical (issue #11).

    python -m tests.analyzer._snapshot        # rewrite tests/data/snapshots/runs.json

Run it only when a change of output is intended (and say why in the commit): the file was
first written by the code before the redesign (commit 1f2aa93), and
tests/analyzer/test_engine_snapshot.py checks that load, Run.from_events of the streaming
parser and a Follower all still give it.
"""
from __future__ import annotations

import json
import math
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.run import Run

DATA = Path(__file__).resolve().parents[1] / "data"
SNAPSHOT = DATA / "snapshots" / "runs.json"
FRAMES = ("iters", "evals", "metrics", "checkpoints", "anomalies")
SKIP_SUFFIXES = {".md", ".toml", ".json"}  # notes beside the logs (a .json under
# formats/ is a trainer_state.json, which is a fixture: see fixtures())


def synthetic_nanogpt(n_iters: int = 24_000) -> bytes:
    """A big nanoGPT log (> 1 MB: the Follower catches up with it in bulk) with what the
    vectorised reader must hand to the streaming parser: headers, evals, checkpoints,
    'mfu -100.00%', a NaN loss, a stray out-of-order line, a resume, a new
    run from step 0, lines of varying width, CRLF line ends and an undecodable byte."""
    rng = random.Random(11)
    out = ["Overriding config with config/train_gpt2.py:", "batch_size = 12",
           f"max_iters = {n_iters}", "tokens per iteration will be: 491,520",
           "number of parameters: 123.59M", "Initializing a new model from scratch"]
    running = -1.0
    for it in range(n_iters):
        loss = 2.8 + 8.0 * 0.999 ** it + rng.gauss(0, 0.05)
        if it % 2000 == 0:
            out += [f"step {it}: train loss {loss:.4f}, val loss {loss + 0.05:.4f}",
                    "saving checkpoint to out"]
        dt = (12000.0 if it == 0 else 30000.0 if it % 2000 == 0 else 0.0) + rng.uniform(440, 460)
        if it % 6000 == 5:
            running = -1.0  # as after a restart of the EMA
        if it % 6000 >= 5:
            mfu = 0.31 * 450.0 / dt
            running = mfu if running == -1.0 else 0.9 * running + 0.1 * mfu
        line = f"iter {it}: loss {loss:.4f}, time {dt:.2f}ms, mfu {running * 100:.2f}%"
        if it == 3010:
            line = f"iter {it}: loss nan, time {dt:.2f}ms, mfu {running * 100:.2f}%"
        elif 5000 <= it < 5100:  # another width per line: the CSV reader's lines
            line = f"iter {it}: loss {loss:.{2 + it % 3}f}, time {dt:.2f}ms, mfu 3.06%"
        elif 7000 <= it < 7300:
            line += "\r"
        out.append(line)
        if it == 9000:
            out.append(f"iter 12: loss {loss:.4f}, time {dt:.2f}ms, mfu 1.00%")  # stray
        elif it == 12000:
            out += ["Resuming training from out"]
        elif it == 16000:
            out += ["Traceback (most recent call last):", '  File "train.py", line 1',
                    "RuntimeError: NCCL timeout", "tokens per iteration will be: 16,384"]
        elif it == 20000:
            out += ["<BROKEN> broken bytes", "tokens per iteration will be: 32,768"]
    text = "\n".join(out) + "\n"
    text = text.replace("iter 12001:", "iter 11990:")  # the resume steps back
    text = text.replace("iter 16001:", "iter 0:")       # a new run from 0
    return text.encode().replace(b"<BROKEN>", b"\xff\xfe")


def synthetic_events(n_iters: int = 5000) -> bytes:
    """Our events.jsonl (> 1 MB), with evals, a checkpoint, a resume and a run_end."""
    from gptscope.schema import dumps, make_event
    evs = [make_event("run_start", "syn", 0, 0.0, config={"lr": 6e-4}, model={"n_layer": 2},
                      device="cpu", dtype="float32", world_size=1, peak_flops=1e12,
                      peak_flops_source="table:test", max_iters=n_iters, source="gptscope")]
    rng = random.Random(5)
    for i in range(n_iters):
        t = i * 0.25
        evs.append(make_event("iter", "syn", i, t, loss=3 - i / n_iters + rng.random() / 10,
                              lr=6e-4, grad_norm=rng.random(), dt_ms=250.0 + rng.random(),
                              step_ms=240.0, tokens_per_s=1000.0 + i, mfu=0.3,
                              mfu_smoothed=0.29))
        if i % 1000 == 0:
            evs.append(make_event("eval", "syn", i, t, train_loss=3.0, val_loss=3.1 - i / 1e5,
                                  eval_ms=900.0, best_val_loss=3.1 - i / 1e5))
            evs.append(make_event("checkpoint", "syn", i, t, path="out/ckpt.pt",
                                  val_loss=3.1))
        if i == 3000:
            evs.append(make_event("resume", "syn", i, t, from_step=2990, checkpoint="out"))
    evs.append(make_event("run_end", "syn", n_iters - 1, n_iters * 0.25, status="completed",
                          steps=n_iters, wall_s=n_iters * 0.25))
    return ("\n".join(dumps(e) for e in evs) + "\n").encode()


SYNTHETIC = {"synthetic/nanogpt-big.log": synthetic_nanogpt,
             "synthetic/events.jsonl": synthetic_events}


def fixtures() -> list[Path]:
    """Every log under tests/data (notes and the snapshots themselves left out)."""
    out = []
    for p in sorted(DATA.rglob("*")):
        if not p.is_file() or "snapshots" in p.parts:
            continue
        if p.suffix in SKIP_SUFFIXES and not p.name.endswith("trainer_state.json"):
            continue
        out.append(p)
    return out


def _plain(x: Any) -> Any:
    """JSON-comparable form of meta/segments/end values (NaN as a string: NaN != NaN)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return repr(x) if not math.isfinite(x) else x
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return repr(x)


def _column(s: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {"dtype": str(s.dtype), "nulls": int(s.isna().sum())}
    if s.dtype.kind in "fiub" or str(s.dtype) == "Int64":
        v = s.dropna().to_numpy(dtype=np.float64)
        finite = v[np.isfinite(v)]
        out["sum"] = repr(float(finite.sum())) if len(finite) else None
        out["nonfinite"] = int(len(v) - len(finite))
    return out


def frame_print(df: pd.DataFrame) -> dict[str, Any]:
    return {"shape": list(df.shape),
            "hash": str(int(pd.util.hash_pandas_object(df, index=False).sum()) & (2**64 - 1)),
            "columns": {c: _column(df[c]) for c in df.columns},
            "index": [type(df.index).__name__, str(df.index.dtype)]}


def run_print(run: Run) -> dict[str, Any]:
    """What must not change: format, statistics, meta, segments, end, every table."""
    st = run.stats
    return {"format": run.format,
            "stats": {"lines": st.lines, "parsed": st.parsed, "skipped": st.skipped,
                      "samples": _plain(st.samples), "fields": list(st.fields),
                      "val_unit": st.val_unit},
            "meta": _plain(run.meta), "segments": _plain(run.segments),
            "end": _plain(run.end), "name": run.name,
            "frames": {name: frame_print(getattr(run, name)) for name in FRAMES}}


def key(path: Path) -> str:
    return str(path.relative_to(DATA))


def load_print(path: Path) -> dict[str, Any]:
    import analyzer
    try:
        return run_print(analyzer.load(path))
    except analyzer.LoadError as e:
        return {"error": str(e).replace(str(DATA), "<data>")}


def write_synthetic(folder: Path) -> dict[str, Path]:
    """The generated fixtures, written under ``folder``, by snapshot key."""
    out = {}
    for name, make in SYNTHETIC.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
        out[name] = path
    return out


def main() -> None:
    snap = {key(p): load_print(p) for p in fixtures()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in write_synthetic(Path(tmp)).items():
            snap[name] = load_print(path)
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{SNAPSHOT}: {len(snap)} fixtures")


if __name__ == "__main__":
    main()
