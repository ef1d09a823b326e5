"""Our trainer's stdout (``python -m trainer run | tee train.log``) and its events.jsonl
describe the same run: every figure and finding both can carry agrees (issue #12 item 12,
issue #17 item 11). One tiny training run each, on the CPU (a few seconds)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import loader as load_mod
from analyzer.diagnostics import run_all
from analyzer.stats import summarize

TINY = ["--preset", "tiny", "--n_layer=1", "--n_embd=16", "--n_head=2", "--block_size=16",
        "--batch_size=4", "--eval_iters=2", "--eval_interval=10", "--log_interval=1"]


def train(tmp_path: Path, *args: str) -> tuple[Path, Path]:
    """(stdout log, events.jsonl) of one trainer run."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "trainer", "run", *TINY, *args,
                           f"--out_dir={out}"], capture_output=True, text=True, timeout=300)
    log = tmp_path / "train.log"
    log.write_text(proc.stdout, encoding="utf-8")
    (events,) = out.glob("*/events.jsonl")
    return log, events


def close(a: float | None, b: float | None, rel: float) -> bool:
    return a is not None and b is not None and abs(a - b) <= rel * max(abs(a), abs(b))


def test_stdout_and_events_agree(tmp_path):
    log, events = train(tmp_path, "--max_iters=40")
    a, b = load_mod.load(log), load_mod.load(events)
    sa, sb = summarize(a), summarize(b)
    for key in ("first_step", "last_step", "iters_logged", "evals", "checkpoints", "status",
                "best_val_step"):
        assert sa[key] == sb[key], key
    for key in ("final_train_loss", "final_val_loss", "best_val_loss"):
        assert sa[key] == pytest.approx(sb[key], abs=6e-5), key  # stdout prints 4 decimals
    # what both carry is equal: the running MFU stdout prints (2 decimals of a percent)
    ra = a.iters["mfu_smoothed"].to_numpy()
    rb = b.iters["mfu_smoothed"].to_numpy()
    assert ((ra != ra) == (rb != rb)).all()  # the same lines have one
    assert abs(ra - rb)[ra == ra] == pytest.approx(0, abs=5.1e-5)
    # the summaries' medians: stdout has only that running MFU, the events the per-step
    # one; on a busy CPU a tiny model's steps vary 2x, so these are close, not equal (the
    # reported bug was a factor 10). Tokens/s: stdout's time runs from one iteration to the
    # next (batch fetch and logging too), the events' from the step alone.
    ta, tb = sa["throughput"], sb["throughput"]
    assert close(ta["median_mfu"], tb["median_mfu"], 0.6), (ta["median_mfu"], tb["median_mfu"])
    assert close(ta["median_tokens_per_s"], tb["median_tokens_per_s"], 0.75)
    fa = {f.code: f for f in run_all(a)}
    fb = {f.code: f for f in run_all(b)}
    assert "mfu_implausible" not in fa and "mfu_implausible" not in fb
    errors = {c for c, f in fa.items() if f.severity == "error"}
    assert errors == {c for c, f in fb.items() if f.severity == "error"}


def test_nan_stop_agrees(tmp_path):
    log, events = train(tmp_path, "--max_iters=20", "--learning_rate=1e12",
                        "--nan_policy=stop")
    a, b = load_mod.load(log), load_mod.load(events)
    assert a.end["status"] == b.end["status"] == "failed"
    assert a.end["step"] == b.end["step"]
    key = ["step", "kind", "action"]
    assert (a.anomalies[key].astype(str).values.tolist()
            == b.anomalies[key].astype(str).values.tolist())
    fa = {f.code: f for f in run_all(a)}
    fb = {f.code: f for f in run_all(b)}
    assert fa["run_failed"].steps == fb["run_failed"].steps
    assert fa["run_failed"].evidence["cause"] == fb["run_failed"].evidence["cause"] \
        == "nonfinite"
    assert fa["nonfinite_loss"].steps == fb["nonfinite_loss"].steps
