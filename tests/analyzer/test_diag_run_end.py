"""How the run ended: failed or interrupted run_end events."""
from __future__ import annotations

import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.run_end import run_failed
from gptscope.schema import make_event
from tests.analyzer._synth import iters, run


def ended(status, error=None, step=42):
    return run(iters(range(43)), [make_event("run_end", "r", step, 1.0, status=status,
                                             error=error, steps=step, wall_s=12.0)])


def test_failed_run_quotes_the_error():
    tb = "Traceback (most recent call last):\n  ...\ntorch.OutOfMemoryError: CUDA out of memory"
    (f,) = run_failed(ended("failed", tb), DiagnosticsConfig())
    assert f.code == "run_failed" and f.severity == "error" and f.steps == (42, 42)
    assert "CUDA out of memory" in f.message


def test_interrupted_run():
    (f,) = run_failed(ended("interrupted"), DiagnosticsConfig())
    assert f.code == "run_interrupted" and f.severity == "warning"


@pytest.mark.parametrize("r", [ended("completed"), run(iters(range(10)))])
def test_completed_or_still_running(r):
    assert run_failed(r, DiagnosticsConfig()) == []


@pytest.mark.parametrize("status,error,cause,word", [
    ("failed", "NonFiniteError: non-finite loss for 3 consecutive steps (nan_policy=stop)",
     "nonfinite", "non-finite"),
    ("failed", "torch.OutOfMemoryError: CUDA out of memory", "out_of_memory", "micro-batch"),
    ("failed", "RuntimeError: Invalid buffer size: 12.28 GB", "out_of_memory", "micro-batch"),
    ("failed", "Assertion `n_head divides n_embd' failed.", "assertion", "condition"),
    ("failed", "AssertionError: block_size too large", "assertion", "condition"),
    ("failed", "Killed", "killed", "OOM killer"),
    ("failed", "zsh: killed     python train.py", "killed", "OOM killer"),
    ("failed", "[1]    15017 bus error  python3 train_gpt2.py", "crash", "native code"),
    ("failed", "[E515 18:36:47.341808597 ProcessGroupNCCL.cpp:632] [Rank 0] Watchdog caught "
     "collective operation timeout: WorkNCCL(SeqNum=241, OpType=ALLREDUCE)",
     "collective_timeout", "desync"),
    ("failed", "[E ProcessGroupNCCL.cpp:460] To avoid data inconsistency, we are taking the "
     "entire process down.", "nccl_abort", "NCCL_SOCKET_IFNAME"),
    ("interrupted", "slurmstepd: error: *** JOB 1 ON n CANCELLED AT 2024-01-01T00:00:00 DUE TO "
     "TIME LIMIT ***", "time_limit", "allocation"),
    ("interrupted", "KeyboardInterrupt (^C)", "keyboard_interrupt", "Ctrl-C"),
    ("failed", "ValueError: bad thing", None, "traceback"),
])
def test_advice_follows_the_cause(status, error, cause, word):
    (f,) = run_failed(ended(status, error), DiagnosticsConfig())
    assert f.evidence["cause"] == cause
    assert word in f.suggestion
    if cause != "out_of_memory":  # memory advice only for a memory error (issue #17 item 11)
        assert "micro-batch" not in f.suggestion


def test_an_out_of_memory_error_that_does_not_say_so_is_named():
    # MPS: 'Invalid buffer size: 12.28 GB' is an allocation it cannot make
    (f,) = run_failed(ended("failed", "RuntimeError: Invalid buffer size: 12.28 GB"),
                      DiagnosticsConfig())
    assert f.message.endswith("Invalid buffer size: 12.28 GB (out of memory).")
