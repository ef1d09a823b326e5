"""analyzer/diagnostics/causes.py: which cause the evidence before an onset favours; timing
patterns and step-time creep."""
from __future__ import annotations

import numpy as np
import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.causes import (shared_spikes, spike_causes, spike_period,
                                         step_time_creep, timing_pattern)
from analyzer.loader import load
from gptscope.schema import make_event
from tests.analyzer import _synth as S
from tests.conftest import REALDATA

CFG = DiagnosticsConfig()
N = 300


def losses(spike_at: int | None = 150, seed: int = 0, nan_from: int | None = None):
    rng = np.random.default_rng(seed)
    y = 2.0 + rng.normal(0, 0.01, N)
    if spike_at is not None:
        y[spike_at:spike_at + 3] = 5.0          # lasts 3 steps, then recovers: a spike
    if nan_from is not None:
        y[nan_from:] = np.nan
    return [float(v) for v in y]


def only(findings, code="spike_cause"):
    got = [f for f in findings if f.code == code]
    assert len(got) == 1, [f.format() for f in findings]
    return got[0]


def test_a_rising_grad_norm_is_favoured_and_quoted():
    g = 1.0 + np.random.default_rng(1).normal(0, 0.05, N)
    g[145:150] = [1.5, 2.0, 3.0, 4.0, 6.0]       # rises over the five steps before
    run = S.run(S.iters(range(N), losses(), grad_norm=list(g), lr=1e-3))
    f = only(spike_causes(run, CFG))
    assert f.evidence["favoured"] == "grad_norm" and f.steps == (150, 150)
    # the rolling window takes in the rise as it comes, so the largest z is mid-rise
    assert 145 <= f.evidence["grad_norm_step"] <= 149 and f.evidence["grad_norm_z"] > 6
    assert "Loss spike at step 150: the evidence favours a gradient blow-up" in f.message
    assert "z = " in f.message and "previous 128 logged norms" in f.message


def test_an_eval_right_before_is_favoured():
    run = S.run(S.iters(range(N), losses(spike_at=151)), S.ev(150, 2.0, 2.1))
    f = only(spike_causes(run, CFG))
    assert f.evidence["favoured"] == "boundary" and f.evidence["boundary_step"] == 150
    assert "favours the eval: an eval ran at step 150, 1 steps before" in f.message


def test_evals_every_step_or_two_favour_nothing():
    # an eval every step: one is always right before any onset, which tells nothing
    run = S.run(S.iters(range(N), losses(spike_at=151)),
                [S.ev(s, 2.0, 2.1) for s in range(0, N, 1)])
    f = only(spike_causes(run, CFG))
    assert f.evidence["favoured"] != "boundary"


def test_the_end_of_warmup_at_peak_lr_is_favoured():
    lr = [min(1.0, (s + 1) / 100) * 1e-3 for s in range(N)]
    run = S.run(S.iters(range(N), losses(spike_at=102), lr=lr),
                meta={"config": {"warmup_iters": 100}})
    f = only(spike_causes(run, CFG))
    assert f.evidence["favoured"] == "lr"
    assert "+2 steps from the end of warm-up (warmup_iters 100)" in f.message
    assert "learning rate was at its peak" in f.message


def test_an_fp16_loss_scale_drop_before_a_nan_is_favoured():
    scale = [make_event("metric", "r", s, float(s), name="loss_scale", value=v)
             for s, v in ((100, 65536.0), (140, 65536.0), (148, 32768.0))]
    run = S.run(S.iters(range(N), losses(spike_at=None, nan_from=150)), scale,
                meta={"dtype": "float16"})
    f = only(spike_causes(run, CFG))
    assert f.evidence["onset_kind"] == "nonfinite_loss" and f.evidence["favoured"] == "fp16"
    assert "NaN/Inf loss at step 150: the evidence favours fp16 overflow" in f.message
    assert "from 65536 to 32768 at step 148" in f.message


def test_no_evidence_is_said_plainly():
    run = S.run(S.iters(range(N), losses()))
    f = only(spike_causes(run, CFG))
    assert f.evidence["favoured"] is None
    assert "none of the usual causes shows" in f.message and "no grad norms" in f.message
    assert spike_causes(S.run(S.iters(range(N), losses(spike_at=None))), CFG) == []


def test_the_same_step_spiking_in_several_runs_points_at_the_data():
    a = S.run(S.iters(range(N), losses(seed=1)))
    b = S.run(S.iters(range(N), losses(seed=2)))
    c = S.run(S.iters(range(N), losses(spike_at=200, seed=3)))
    a.source, b.source, c.source = "a.log", "b.log", "c.log"
    f = only(shared_spikes([a, b, c]), "shared_spike")
    assert f.evidence == {"step": 150, "runs": ["a.log", "b.log"]}
    assert shared_spikes([a, c]) == []
    assert len(shared_spikes([a, c], tolerance=50)) == 1


def timing_run(dts):
    return S.run(S.iters(range(len(dts)), 2.0, list(dts)))


def test_periodic_timing_spikes_name_their_period():
    dts = [20.0 + 0.5 * (s % 3) for s in range(400)]
    for s in range(30, 400, 25):
        dts[s] = 200.0
    f = only(timing_pattern(timing_run(dts), CFG), "timing_pattern")
    assert f.evidence["period"] == 25 and "every 25 steps" in f.message


def test_random_timing_spikes_are_called_irregular():
    dts = [20.0 + 0.5 * (s % 3) for s in range(400)]
    for s in (37, 41, 120, 133, 290, 371):
        dts[s] = 200.0
    f = only(timing_pattern(timing_run(dts), CFG), "timing_pattern")
    assert f.evidence["period"] is None and "irregular intervals" in f.message


def test_slow_steps_one_logged_line_after_another_are_a_stretch_not_a_period():
    """A log that prints every 100th step: five slow lines in a row are 100 steps apart
    because the log is, not the loop; the cost is a lower bound (the steps between were
    not timed)."""
    steps = list(range(0, 4000, 100))
    dts = [2900.0 + 10 * (i % 3) for i in range(len(steps))]
    dts[-5:] = [13000.0, 58000.0, 52000.0, 59000.0, 73000.0]
    slow = S.run(S.iters(steps, 2.0, dts))
    f = only(timing_pattern(slow, CFG), "timing_pattern")
    assert f.evidence["period"] is None and "every 100 steps" not in f.message
    assert "one logged line after another" in f.message and "prints every 100" in f.message
    from analyzer.diagnostics.timing import timing_spikes
    g = only(timing_spikes(slow, CFG), "timing_spikes")
    assert g.evidence["periodic_every"] is None and "at least" in g.message


def test_spike_period_tolerates_missed_spikes():
    assert spike_period(np.array([10, 20, 30, 50, 60, 80])) == (10, 1.0)
    assert spike_period(np.array([10, 13, 30, 47]))[0] is None


def test_a_creeping_step_time_is_found_and_a_flat_one_is_not():
    rng = np.random.default_rng(0)
    creep = 20 + np.linspace(0, 10, 400) + rng.normal(0, 0.5, 400)
    f = only(step_time_creep(timing_run(creep), CFG), "step_time_creep")
    assert f.evidence["ratio"] == pytest.approx(28.5 / 21.5, rel=0.05)
    assert step_time_creep(timing_run(20 + rng.normal(0, 0.5, 400)), CFG) == []
    # one slow stretch in the middle is no creep
    stretch = 20 + rng.normal(0, 0.5, 400)
    stretch[150:250] += 15
    assert step_time_creep(timing_run(stretch), CFG) == []


def test_real_logs():
    nan = load(REALDATA / "nanogpt" / "chenzihua-termux-cpu-nan-at-425.log")
    f = only(spike_causes(nan, CFG))
    assert f.evidence["onset_step"] == 425 and f.evidence["onset_kind"] == "nonfinite_loss"
    soap = load(REALDATA / "modded-nanogpt" / "2024-10-09-soap-train_gpt2.log")
    f = only(timing_pattern(soap, CFG), "timing_pattern")
    assert f.evidence["period"] == 10


@pytest.mark.parametrize("first", [0, 1])   # nanoGPT's iter 0; modded-nanogpt's step:1
def test_the_eval_of_the_initial_model_is_no_cause_of_an_early_spike(first):
    # every run evaluates its initial model at step 0; a spike at step 2 (warm-up) is not
    # explained by it (a real 8-GPU log: 6.94 -> 16.84 at step 2, back by step 4)
    y = losses(spike_at=None)
    y[2] = 16.8
    run = S.run(S.ev(0, None, 6.9357), S.iters(range(first, N), y[first:]))
    f = only(spike_causes(run, CFG))
    assert f.evidence["favoured"] is None and "eval" not in f.message
    # an eval later in the run still is one
    y[202:205] = [5.0] * 3
    run = S.run(S.ev(0, None, 6.9357), S.iters(range(first, 200), y[first:200]),
                S.ev(200, 2.0, 2.1), S.iters(range(200, N), y[200:]))
    causes = [f for f in spike_causes(run, CFG) if f.code == "spike_cause"]
    assert [(c.steps[0], c.evidence["favoured"]) for c in causes] == [(2, None), (202, "boundary")]


def test_an_eval_at_the_onsets_step_is_a_cause_only_when_it_ran_before_that_step():
    # nanoGPT evaluates at the top of iter N (the clock has not yet counted step N): a cause;
    # modded-nanogpt and llm.c print 'step N' and then evaluate (same clock): not a cause
    def spike_cause_with_eval_at(time: float):
        ev = make_event("eval", "r", 150, time, train_loss=2.0, val_loss=2.1)
        return only(spike_causes(S.run(S.iters(range(N), losses(spike_at=150)), ev), CFG))
    assert spike_cause_with_eval_at(149.5).evidence["favoured"] == "boundary"
    f = spike_cause_with_eval_at(150.0)
    assert f.evidence["favoured"] != "boundary" and "eval" not in f.message


def test_the_learning_rate_is_no_peak_when_the_log_ends_at_the_onset():
    """A log that ends at its spike, mid warm-up: its highest learning rate so far is no
    peak; with learning rates logged after the onset it is."""
    loss = [2.0] * 20 + [9.0]
    lr = [1e-5 * (i + 1) for i in range(21)]
    f = only(spike_causes(S.run(S.iters(range(21), loss, lr=lr)), CFG))
    assert "peak_lr" not in f.evidence
    loss, lr = losses(), [1e-3] * N
    f = only(spike_causes(S.run(S.iters(range(N), loss, lr=lr)), CFG))
    assert f.evidence["peak_lr"] == 1e-3
