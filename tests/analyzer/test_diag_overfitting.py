"""Overfitting: val loss climbs from its best for `patience` evals while train loss falls."""
from __future__ import annotations

import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.overfitting import overfitting
from tests.analyzer._synth import ev, iters, run, start

CFG = DiagnosticsConfig()


def evals(pairs, every=250):
    return [ev(i * every, t, v) for i, (t, v) in enumerate(pairs)]


HEALTHY = [(4.2, 4.2), (2.2, 2.25), (1.97, 2.05), (1.80, 1.92), (1.71, 1.87), (1.66, 1.84)]
# shakespeare-char shape: best val at the 4th eval, then two evals above it
OVERFIT = [(4.2, 4.2), (1.5, 1.7), (1.2, 1.5), (1.05, 1.468), (1.01, 1.486), (0.96, 1.493)]


def test_overfitting_found_with_best_step_gap_and_growth():
    (f,) = overfitting(run(evals(OVERFIT)), CFG)
    assert f.code == "overfitting" and f.severity == "warning"
    assert f.steps == (750, 1250)
    assert f.evidence["best_step"] == 750 and f.evidence["evals_since_best"] == 2
    assert f.evidence["val_rise"] == pytest.approx(1.493 - 1.468)
    assert f.evidence["gap_last"] == pytest.approx(1.493 - 0.96)
    # gap 0.418 at step 750 -> 0.533 at step 1250: 0.115 per 500 steps
    assert f.evidence["gap_growth_per_1k_steps"] == pytest.approx(0.23)
    assert "step 750" in f.suggestion


@pytest.mark.parametrize("pairs, why", [
    (HEALTHY, "val keeps falling"),
    ([(2.0, 2.1), (1.8, 1.9), (1.7, 1.85), (1.65, 1.855), (1.6, 1.857)],
     "val flat within min_delta: eval noise"),
    ([(2.0, 2.1), (1.8, 1.9), (1.7, 1.85), (1.75, 1.9), (1.8, 1.95)],
     "train rises too: that is not overfitting"),
    ([(2.0, 2.1), (1.8, 1.9), (1.7, 1.85), (1.6, 1.95)], "only one eval after the best"),
    ([(1.0, 1.2)], "a single eval"),
])
def test_no_overfitting(pairs, why):
    assert overfitting(run(evals(pairs)), CFG) == [], why


def test_patience_is_a_parameter():
    pairs = [(2.0, 2.1), (1.8, 1.9), (1.7, 1.85), (1.6, 1.95)]
    assert overfitting(run(evals(pairs)), DiagnosticsConfig(patience=1))
    assert not overfitting(run(evals(OVERFIT)), DiagnosticsConfig(patience=3))
    assert not overfitting(run(evals(OVERFIT)), DiagnosticsConfig(min_delta=0.05))


def test_train_loss_from_iterations_when_evals_have_only_val():
    # modded-nanogpt / llm.c evals carry val loss only: train comes from the logged iterations
    vals = [4.0, 3.0, 2.5, 2.6, 2.7]
    steps = range(0, 501, 10)
    losses = [4.0 - 3.0 * s / 500 for s in steps]  # 4.0 -> 1.0
    r = run(iters(steps, losses), [ev(i * 125, None, v) for i, v in enumerate(vals)])
    (f,) = overfitting(r, CFG)
    assert f.evidence["best_step"] == 250 and f.evidence["train_fall"] > 0.5


def test_each_segment_on_its_own():
    resumed = [start(step=1250)] + [ev(1250 + i * 250, t, v) for i, (t, v) in
                                    enumerate(HEALTHY)]
    r = run(evals(OVERFIT), resumed)
    (f,) = overfitting(r, CFG)
    assert f.segment == 0
    r = run(evals(HEALTHY), resumed[:1] + [ev(1250 + i * 250, t, v)
                                          for i, (t, v) in enumerate(OVERFIT)])
    (f,) = overfitting(r, CFG)
    assert f.segment == 1 and f.evidence["best_step"] == 1250 + 750


def test_nonfinite_evals_are_ignored():
    pairs = OVERFIT + [(float("nan"), float("nan"))]
    (f,) = overfitting(run(evals(pairs)), CFG)
    assert f.evidence["last_step"] == 1250
