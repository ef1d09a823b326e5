"""The generic reader: nanoGPT-like lines in no specific format (issue #12, class 5)."""
from __future__ import annotations

import math

import pytest

from analyzer import loader as load_mod
from analyzer.parsers import generic, scores
from analyzer.parsers.generic import read_fields
from tests.analyzer._parse_util import run


@pytest.mark.parametrize("line, step, fields", [
    ("490 | loss 5.7543 | lr 1.2e-04 | 8060.78ms | mfu 0.21%", 490,
     dict(loss=5.7543, lr=1.2e-4, dt_ms=8060.78, mfu=0.0021)),
    ("step1 | loss: 10.16 | dt: 122.74ms | tok/sec: 141k | norm: 6.50", 1,
     dict(loss=10.16, dt_ms=122.74, tokens_per_s=141e3, grad_norm=6.5)),
    ("    step    0| loss: 10.938572 | lr: 6.0000e-05 | norm: 27.0145  | dt: 3663.01ms | "
     "tok/sec: 143130.26", 0,
     dict(loss=10.938572, lr=6e-5, grad_norm=27.0145, dt_ms=3663.01, tokens_per_s=143130.26)),
    ("step 0, loss: 10.899394989013672", 0, dict(loss=10.899394989013672)),
    ("iter 5: loss 3.3399, time 1.5s, lr:0.0003 , mfu: 3.06%, foo 7", 5,
     dict(loss=3.3399, dt_ms=1500.0, lr=3e-4, mfu=0.0306)),
    ("Step 12/100 | train_loss=2.5 | grad_norm=0.9 | tokens/s 1.2M", 12,
     dict(loss=2.5, grad_norm=0.9, tokens_per_s=1.2e6)),
    # the '(50.00%)' before the fields, a unitless number, does not hide the labelled dt
    ("Step 10/20 (50.00%) | loss 8.43 6.92 | dt 4595.83ms 5930.69ms | tps 114,078", 10,
     dict(loss=8.43, dt_ms=4595.83, tokens_per_s=114078.0)),
])
def test_fields_are_read_by_label_with_units(line, step, fields):
    r = run(generic, line + "\n")
    it = r.iters.iloc[0]
    assert it["step"] == step
    for name, value in fields.items():
        assert it[name] == pytest.approx(value), name
    assert set(r.stats.fields) == set(fields)
    assert r.stats.skipped == 0


def test_an_eval_line_and_eval_inclusive_time():
    text = ("490 | loss 5.7543 | lr 4.9e-05 | 8060.78ms | mfu 0.21%\n"
            "step 500: train loss 5.7373, val loss 5.9544\n"
            "saving checkpoint to out\n"
            "500 | loss 6.0091 | lr 5.0e-05 | 870067.53ms | mfu 0.19%\n")
    r = run(generic, text)
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [[500, 5.7373, 5.9544]]
    assert r.iters["eval_inclusive"].tolist() == [False, True]
    assert r.checkpoints["step"].tolist() == [500]


def test_a_nan_and_a_cut_line():
    r = run(generic, "step 1 | loss: 2.5 | dt: 10ms\nstep 2 | loss: nan | dt: 1")
    assert math.isnan(r.iters["loss"].iloc[1]) and math.isnan(r.iters["dt_ms"].iloc[1])
    assert r.anomalies["kind"].tolist() == ["nonfinite_loss"]


def test_lines_without_a_step_or_a_loss_are_skipped():
    r = run(generic, "1 epoch = 20\nstep 3 | lr 1e-3\nloss 2.5\nstep 4 | loss 2.4\n")
    assert r.iters["step"].tolist() == [4] and r.stats.skipped == 3


def test_a_step_back_to_zero_starts_a_new_run():
    text = "".join(f"step {s} | loss {9 - s}\n" for s in range(3)) * 2
    r = run(generic, text)
    assert [s["kind"] for s in r.segments] == ["run_start", "run_start"]
    assert r.iters["segment"].tolist() == [0, 0, 0, 1, 1, 1]


def test_specific_formats_win_on_their_own_lines():
    nanogpt_head = ["step 0: train loss 4.2, val loss 4.2"] + [
        f"iter {i}: loss 4.1, time 10.00ms, mfu 1.00%" for i in range(5)]
    assert scores(nanogpt_head)[0][1] == "nanogpt"
    fork_head = ["step 0: train loss 4.2, val loss 4.2"] + [
        f"{i} | loss 4.1 | lr 1e-4 | 10.00ms" for i in range(5)]
    assert scores(fork_head)[0][1] == "generic"


def test_load_reports_format_generic(tmp_path):
    p = tmp_path / "fork.log"
    p.write_text("Created a dataset\n" + "".join(
        f"{i * 10} | loss {5 - i / 10:.4f} | lr 1e-4 | {8000 + i}.5ms | mfu 0.21%\n"
        for i in range(6)))
    r = load_mod.load(p)
    assert r.format == "generic" and len(r.iters) == 6
    assert r.stats.fields == ["loss", "lr", "dt_ms", "mfu"]
