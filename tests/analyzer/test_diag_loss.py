"""Loss spikes, outliers, divergence and plateaus, with noise that must not trigger them."""
from __future__ import annotations

import numpy as np
import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.loss import loss_plateau, loss_spikes, loss_trend_divergence
from tests.analyzer._synth import codes, iters, run

CFG = DiagnosticsConfig()


def decaying(n, start=10.9, end=3.3, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.arange(n)
    return end + (start - end) * np.exp(-x / (n / 8)) + rng.normal(0, noise, n)


def test_recovered_spike_is_a_warning():
    loss = list(decaying(300, noise=0.01))
    for k in range(150, 154):
        loss[k] = 5.0
    (f,) = loss_spikes(run(iters(range(300), loss)), CFG)
    assert f.code == "loss_spike" and f.severity == "warning"
    assert f.steps[0] == 150 and f.evidence["recovered_at"] == 154
    assert f.evidence["peak_loss"] == 5.0


def test_explosion_not_recovered_is_divergence():
    # minlora fp32 shape: 4.82 at iter 100, 270.39 at iter 110, decaying to 31 by iter 180
    steps = list(range(0, 190, 10))
    loss = [10.93, 9.90, 9.04, 7.84, 6.60, 6.09, 5.86, 5.66, 5.30, 5.06, 4.82,
            270.39, 182.65, 121.92, 96.66, 68.63, 78.43, 40.02, 31.01]
    (f,) = loss_spikes(run(iters(steps, loss)), CFG)
    assert f.code == "loss_divergence" and f.severity == "error"
    assert f.steps == (110, 180) and f.evidence["peak_loss"] == 270.39
    assert f.evidence["recovered_at"] is None


def test_single_step_jumps_are_outliers():
    loss = list(decaying(2000, noise=0.02))
    for k in (500, 900, 1500):
        loss[k] += 1.2
    (f,) = loss_spikes(run(iters(range(2000), loss)), CFG)
    assert f.code == "loss_outliers" and f.severity == "info"
    assert f.evidence["steps"] == [500, 900, 1500]


@pytest.mark.parametrize("loss, why", [
    (decaying(3000, noise=0.05, seed=1), "per-batch noise on a falling curve"),
    (2.6 + np.random.default_rng(2).normal(0, 0.9, 300).clip(-1.4, 3.2),
     "noisy fine-tuning loss: 2x the mean but ~3 sigma"),
    (np.r_[decaying(1000, noise=0.02), [3.5]], "llm.c-style 5-sigma blip, 6% above"),
    (0.85 + np.random.default_rng(2).normal(0, 0.28, 100).clip(-0.69, 1.27),
     "an SFT's per-batch losses, 0.16 to 2.1: the lowest block median is far below the rest"),
])
def test_noise_is_not_a_spike(loss, why):
    r = run(iters(range(len(loss)), list(loss)))
    assert codes(loss_spikes(r, CFG)) == [], why
    assert codes(loss_trend_divergence(r, CFG)) == [], why


def test_slow_climb_is_divergence():
    loss = np.r_[decaying(500, end=2.0), np.linspace(2.0, 3.5, 500)]
    (f,) = loss_trend_divergence(run(iters(range(1000), list(loss))), CFG)
    assert f.code == "loss_divergence" and f.evidence["final_median"] > 3.0
    assert 400 <= f.evidence["low_step"] <= 560


def test_a_noisy_climb_is_still_divergence():
    noise = np.random.default_rng(3).normal(0, 0.3, 500)
    loss = np.r_[decaying(500, end=2.0), np.linspace(2.0, 3.5, 500) + noise]
    (f,) = loss_trend_divergence(run(iters(range(1000), list(loss))), CFG)
    assert f.code == "loss_divergence"


def test_plateau_with_high_lr():
    loss = np.r_[decaying(300, end=3.4), np.full(300, 3.4)]
    r = run(iters(range(600), list(loss), lr=6e-4))
    (f,) = loss_plateau(r, CFG)
    assert f.code == "loss_plateau" and f.severity == "info"


@pytest.mark.parametrize("lr, loss, why", [
    (list(np.linspace(6e-4, 1e-5, 600)), np.r_[decaying(300, end=3.4), np.full(300, 3.4)],
     "flat at the end of a decayed schedule: converged"),
    ([6e-4] * 600, decaying(600, end=1.0), "still improving"),
])
def test_no_plateau(lr, loss, why):
    assert loss_plateau(run(iters(range(600), list(loss), lr=lr)), CFG) == [], why


def test_nan_losses_are_left_to_the_nan_diagnostic():
    loss = list(decaying(100)) + [float("nan")] * 20
    r = run(iters(range(120), loss))
    assert loss_spikes(r, CFG) == [] and loss_trend_divergence(r, CFG) == []


@pytest.mark.parametrize("losses, code, severity, step", [
    ([10.9, 9.6, 8.07, 15.13, 7.97, 7.6, 7.4, 7.3, 7.2, 7.1], "loss_spike", "info", 3),
    ([6.94, 12.06, 10.07, 7.81, 6.50, 6.2], "loss_spike", "warning", 1),
    # a resume restarting the schedule's lr: the jump decays over four steps (build-nanogpt)
    ([3.021, 3.962, 3.561, 3.466, 3.284, 3.310, 3.338, 3.235, 3.286, 3.191], "loss_spike",
     "info", 1),
])
def test_a_spike_in_a_short_log(losses, code, severity, step):
    # issue #12 class 10: too few points for the rolling window; judged by its neighbours
    fs = [f for f in loss_spikes(run(iters(range(len(losses)), losses)), CFG) if f.code == code]
    assert len(fs) == 1 and fs[0].severity == severity and fs[0].steps[0] == step


def test_an_early_jump_far_above_the_start_that_decays_slowly_is_a_spike():
    """BigScience's 12.44 -> 44.24 at iteration 3, back near 12.4 only by iteration 31: far
    above the loss of a model at initialization, so a spike however slowly it decays; a jump
    of that size that never comes back is no spike (the divergence diagnostic's)."""
    back = [12.44, 12.45, 44.24, 48.14, 40.0, 35.0, 30.0, 26.0, 22.0, 19.0, 16.0, 14.0, 12.3, 11.9]
    fs = loss_spikes(run(iters(range(1, len(back) + 1), back)), CFG)
    assert [f.steps[0] for f in fs if f.code == "loss_spike"] == [3]
    never = back[:10] + [18.0, 17.5, 17.0, 16.8]
    assert not [f for f in loss_spikes(run(iters(range(1, 15), never)), CFG)
                if f.code == "loss_spike"]


def test_a_short_log_falling_fast_has_no_spike():
    losses = [10.9, 9.6, 8.8, 9.1, 7.9, 7.2, 7.4, 6.9]
    assert loss_spikes(run(iters(range(len(losses)), losses)), CFG) == []


def test_a_val_loss_that_ends_far_above_its_best_diverged():
    # a fine-tune that destroyed the model: val bpb 0.298 -> 1.725 -> 1.60
    from tests.analyzer._synth import ev
    r = run(iters(range(1, 10), [13.0, 16.0, 7.0, 6.9, 6.9, 6.88, 6.88, 6.87, 6.87]),
            [ev(0, float("nan"), 0.2982), ev(5, float("nan"), 1.7252),
             ev(9, float("nan"), 1.6045)])
    (f,) = [f for f in loss_trend_divergence(r, CFG)]
    assert f.code == "loss_divergence" and f.steps == (0, 9)


def test_overfitting_is_not_a_val_divergence():
    from tests.analyzer._synth import ev
    r = run(iters(range(10), 2.0), [ev(0, 2.0, 1.47), ev(5, 1.2, 1.49), ev(9, 1.0, 1.52)])
    assert loss_trend_divergence(r, CFG) == []


def test_overfitting_far_beyond_its_best_is_not_a_val_divergence():
    # a tiny dataset memorised: val better first, then 2.1x its best while train falls 10x
    from tests.analyzer._synth import ev
    evals = [ev(0, 4.20, 4.21), ev(200, 2.38, 2.60), ev(1000, 1.20, 3.10), ev(2000, 0.60, 4.20),
             ev(4900, 0.23, 5.55)]
    assert loss_trend_divergence(run(iters(range(0, 5000, 100), 2.0), evals), CFG) == []
    # the same val curve with a train loss that does not fall is a model that got worse
    flat = [ev(e["step"], 2.4, e["val_loss"]) for e in evals]
    (f,) = loss_trend_divergence(run(iters(range(0, 5000, 100), 2.0), flat), CFG)
    assert f.code == "loss_divergence" and f.steps == (200, 4900)


def test_eval_losses_that_both_climb_above_their_start_diverged():
    """Eval lines only (no iteration lines): val 10.86 -> 8.94 at step 50, then both losses
    climb for good to 13.09 and 12.76, above the untrained model's: diverged, though only
    1.5x the best val (below the 1.6x a rise from the best alone needs)."""
    from tests.analyzer._synth import ev
    climb = [ev(0, 10.87, 10.86), ev(50, 8.66, 8.94)] + [
        ev(s, 8.66 + 4.1 * (s - 50) / 1950, 8.94 + 4.15 * (s - 50) / 1950)
        for s in range(100, 2001, 50)]
    (f,) = loss_trend_divergence(run([], climb), CFG)
    assert f.code == "loss_divergence" and f.steps == (50, 2000)
    assert "above its first 10.8600" in f.message
    # the same val curve while the train loss falls is overfitting, not a divergence
    overfit = [ev(e["step"], 8.66 - 3 * (e["step"] - 50) / 1950 if e["step"] >= 50 else 10.87,
                  e["val_loss"]) for e in climb]
    assert loss_trend_divergence(run([], overfit), CFG) == []
    # and a val loss that rises less, staying below its start, is no divergence
    mild = [ev(e["step"], e["train_loss"], min(e["val_loss"], 10.5)) for e in climb]
    assert loss_trend_divergence(run([], mild), CFG) == []


@pytest.mark.parametrize("train, found", [(16.7401, True), (10.5, False)])
def test_a_lone_train_loss_far_above_the_untrained_models_is_a_spike(train, found):
    """One train line (a parameter-golf key-line log): 16.74 at step 2 against the step-0
    eval's 6.94 is a spike though no rolling statistic exists; 1.5x is a noisy batch."""
    from analyzer.diagnostics.loss import loss_spikes
    from tests.analyzer._synth import ev, iters, run
    r = run(ev(0, None, 6.9393), iters([2], train, 300.0), ev(1000, None, 2.2967))
    got = [f for f in loss_spikes(r, DiagnosticsConfig()) if f.code == "loss_spike"]
    assert bool(got) is found
    if found:
        assert got[0].steps == (2, 2) and got[0].severity == "warning"
        assert "2.4x the untrained model's val loss at step 0 (6.9393)" in got[0].message


def test_llmcs_first_update_overshooting_is_an_early_spike():
    # llm.c fine-tuning GPT-2 on TinyStories: 2.386 -> 3.283 at step 2, back to 2.365 at step
    # 3 (38% above both sides): a spike a person sees, among calm points
    from analyzer.diagnostics.loss import loss_spikes
    from tests.analyzer._synth import iters, run
    losses = [2.386, 3.283, 2.365, 2.213, 2.150, 2.100, 2.080, 2.050, 2.030, 2.000]
    (f,) = loss_spikes(run(iters(range(1, 11), losses)), DiagnosticsConfig())
    assert f.steps == (2, 3) and f.severity == "info"
    # 20% is early noise, not a spike
    losses[1] = 2.86
    assert loss_spikes(run(iters(range(1, 11), losses)), DiagnosticsConfig()) == []


def test_a_train_loss_that_rises_while_the_val_loss_falls_is_no_divergence():
    # a parameter-golf run changes objective by phase ([JEPA] -> [BRIDGE x%] -> [CE+SWA]):
    # its printed train loss climbs from 0.18 to 0.93 while every eval's val loss falls
    from tests.analyzer._synth import ev
    steps = list(range(0, 4000, 20))
    losses = [0.2 + 0.7 * s / 4000 for s in steps]
    evals = [ev(500, 2.0, 2.7684), ev(1500, 1.0, 1.0998), ev(2500, 0.9, 1.0000)]
    (f,) = loss_trend_divergence(run(iters(steps, losses), evals), DiagnosticsConfig())
    assert f.code == "train_loss_rise" and f.severity == "info"
    assert f.evidence["val_first"] == 2.7684 and f.evidence["val_last"] == 1.0
    # with the val loss rising too it is a divergence
    evals = [ev(500, 2.0, 1.0), ev(1500, 1.0, 1.1), ev(2500, 0.9, 1.2)]
    (f,) = loss_trend_divergence(run(iters(steps, losses), evals), DiagnosticsConfig())
    assert f.code == "loss_divergence" and f.severity == "error"


def test_a_jump_the_log_ends_on_is_a_spike():
    """GPT-NeoX's bf16 run: 2.28 at step 1, 11.05 at step 2, and the log ends."""
    (f,) = loss_spikes(run(iters([1, 2], [2.275809, 11.05449])), CFG)
    assert f.code == "loss_spike" and f.severity == "warning" and f.steps == (2, 2)
    assert "last one logged: 4.9x the highest before it (2.2758)" in f.message
    assert "Too soon to tell" in f.message


def test_a_jump_that_stays_up_for_the_logs_last_points_is_a_spike():
    """BigScience's 52B run ended by its time limit: 12.52, 12.52, 40.75, 39.00."""
    (f,) = loss_spikes(run(iters([1, 2, 3, 4], [12.522, 12.518, 40.752, 38.996])), CFG)
    assert f.code == "loss_spike" and f.steps == (3, 3)
    assert "and stayed there to step 4: 3.3x the highest before it (12.5220)" in f.message


@pytest.mark.parametrize("steps, loss", [
    ([1, 2, 3, 4, 5], [2.0, 9.0, 9.1, 9.2, 9.3]),  # up for longer than the log's last points
    ([1, 2], [2.28, 4.0]),                        # under twice the highest before it
    ([1, 2, 3], [2.28, 9.0, float("nan")]),       # not the last logged: a NaN follows it
    ([1, 2, 3], [11.0, 9.0, 12.0]),               # not above twice the highest before
])
def test_no_last_jump(steps, loss):
    assert "loss_spike" not in codes(loss_spikes(run(iters(steps, loss)), CFG))


def test_a_short_logs_jump_that_rises_one_step_more_is_one_spike():
    """3.13 -> 4.12 -> 4.76 -> 3.84: the jump goes on up a step, then recovers."""
    loss = [3.1103, 3.1276, 4.1207, 4.7583, 3.8427, 3.4503, 3.4179, 3.3471, 3.2343, 3.1085]
    (f,) = [f for f in loss_spikes(run(iters(range(10), loss)), CFG) if f.code == "loss_spike"]
    assert f.steps[0] == 2 and f.severity == "warning"


@pytest.mark.parametrize("seed, noise", [(0, 0.02), (1, 0.3), (2, 0.0), (3, 1.5)])
def test_spike_points_agree_with_pandas_rolling_statistics(seed, noise):
    """_spike_points computes the rolling mean and std only where a spike may be: the mask,
    and the statistics where it is set, are pandas' rolling ones over every point."""
    import pandas as pd

    from analyzer.diagnostics.loss import _short_spikes, _spike_points
    rng = np.random.default_rng(seed)
    loss = decaying(3000, noise=noise, seed=seed)
    loss[rng.integers(20, 3000, 15)] *= rng.uniform(1.1, 3.0, 15)  # jumps of every size
    loss[5] *= 2.5  # one among the first points
    spike, mean, std = _spike_points(loss, CFG)
    roll = pd.Series(loss).shift(1).rolling(CFG.loss_window, min_periods=CFG.loss_min_history)
    m, s = roll.mean().to_numpy(), roll.std().to_numpy()
    with np.errstate(invalid="ignore"):
        want = ((loss > m + CFG.loss_spike_sigma * s) & (loss > m * (1 + CFG.loss_spike_rel)))
    assert (spike == (want | _short_spikes(loss, CFG))).all()
    assert spike.any() or noise == 0.0
    assert np.allclose(mean[spike], m[spike], rtol=1e-12, equal_nan=True)  # (NaN: too early)
    assert np.allclose(std[spike], s[spike], rtol=1e-12, equal_nan=True)


def test_a_huge_jump_in_a_short_noisy_log_is_a_spike():
    """A short SFT log whose losses move by up to 16% between lines (too noisy to tell a
    jump of half from noise) still has a spike in 5.30 -> 153318.95 -> 5.75."""
    loss = [5.6332, 5.3049, 153318.95, 5.7517, 5.6231, 5.0968, 5.8938, 6.1305, 5.9105,
            5.4063, 5.2371, 5.4602, 5.5166, 5.0093]
    (f,) = [f for f in loss_spikes(run(iters(range(1, 15), loss)), CFG)
            if f.code == "loss_spike"]
    assert f.steps == (3, 4)
    # a jump of half in the same noise is not told apart from it
    small = loss[:2] + [8.0] + loss[3:]
    assert "loss_spike" not in codes(loss_spikes(run(iters(range(1, 15), small)), CFG))
    # nor is a rise from a logged 0 (llama.cpp's first iteration prints loss=0)
    zero = [0.0] + loss[:2] + loss[3:]
    assert loss_spikes(run(iters(range(1, 14), zero)), CFG) == []


def test_a_loss_stuck_at_zero_has_no_spikes():
    """A broken fine-tune logging loss 0.0 at every step (axolotl issue 2357): equal losses
    are no jump, though 0 >= (1 + rel) * 0 (five 'jumps 0.0000 -> 0.0000' were reported)."""
    assert loss_spikes(run(iters(range(1, 12), [0.0] * 11)), CFG) == []
    # a real jump from a low loss is still one
    low = [0.02, 0.021, 0.019, 0.2, 0.02, 0.021, 0.02, 0.019, 0.02, 0.02, 0.021]
    assert "loss_spike" in codes(loss_spikes(run(iters(range(1, 12), low)), CFG))


def test_a_warm_up_jump_is_a_spike_though_the_logs_last_point_rises_too():
    """torchtitan's 10-step smoke test: 12.55 -> 10.61 -> 15.82 at step 3, then down to 5.66
    and 6.92 at the last step. That last rise (+22%) has nothing after it to call the log
    noisy; the jump at 3 (+49%, above the first loss) is a spike."""
    loss = [12.55223, 10.60813, 15.82324, 12.13735, 10.1, 8.9, 7.8, 6.9, 5.66325, 6.92163]
    found = [f for f in loss_spikes(run(iters(range(1, 11), loss)), CFG) if f.code == "loss_spike"]
    assert [f.steps[0] for f in found] == [3]
    # the same rise before the end still marks a noisy log
    noisy = loss[:8] + [5.66325, 6.92163, 6.0]
    assert "loss_spike" not in codes(loss_spikes(run(iters(range(1, 12), noisy)), CFG))
