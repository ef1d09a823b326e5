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


def test_train_loss_at_an_eval_is_the_loss_near_it_not_the_warm_ups():
    """parameter-golf's log: steps 1-10 logged one by one (~5.7), then every 200; the train
    loss bottoms at 400 and climbs with the val loss (3.94 -> 4.03 -> 4.11 at 1000-3000).
    Over the whole interval the warm-up's ten lines made the train loss at the first eval
    5.65, so the rising train loss read as 'kept falling (5.6526 -> 4.1279)'."""
    steps = list(range(1, 11)) + list(range(200, 3001, 200))
    losses = [6.5, 6.2, 6.0, 5.9, 5.8, 5.7, 5.65, 5.6, 5.6, 5.5,
              3.80, 3.46, 3.55, 3.69, 3.92, 4.19, 4.04, 4.05, 4.01, 3.99,
              3.97, 4.07, 4.18, 4.13, 4.19]
    evs = [ev(0, None, 7.97), ev(1000, None, 3.9442), ev(2000, None, 4.0346),
           ev(3000, None, 4.1099)]
    assert overfitting(run(iters(steps, losses), evs), CFG) == []
    # the same evals over a train loss that does fall near them are overfitting
    falling = losses[:10] + [3.8, 3.6, 3.5, 3.4, 3.3, 3.2, 3.1, 3.0, 2.9, 2.8,
                             2.7, 2.6, 2.5, 2.4, 2.3]
    (f,) = overfitting(run(iters(steps, falling), evs), CFG)
    assert f.evidence["best_step"] == 1000 and 3.2 < f.evidence["train_fall"] + 2.4 < 3.5


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


def test_mild_overfitting_after_a_late_best():
    # val best at the 3rd-last-but-one eval, then three evals a little above it (on average
    # 0.0065 = 0.75% above) while train keeps falling: a person calls it mild overfitting
    pairs = [(5.09, 5.09), (0.77, 0.878), (0.746, 0.8722), (0.7223, 0.871), (0.7022, 0.8665),
             (0.6815, 0.8757), (0.6593, 0.8716), (0.6385, 0.8718)]
    (f,) = overfitting(run(evals(pairs)), CFG)
    assert f.evidence["best_step"] == 1000 and f.steps[0] == 1000


def test_two_evals_with_a_memorising_gap():
    # only evals at the start and the end: no best step to see, but val 2.8x train at the end
    (f,) = overfitting(run(evals([(4.2874, 4.2823), (0.6166, 1.7099)])), CFG)
    assert f.steps == (250, 250) and f.evidence["val_train_ratio"] == pytest.approx(2.77, 0.01)


@pytest.mark.parametrize("pairs, why", [
    ([(4.2, 4.2), (1.2, 1.25)], "val close to train"),
    ([(4.0, 6.0), (1.0, 1.6)], "the gap was there from the start: another distribution"),
])
def test_no_gap_overfitting(pairs, why):
    assert overfitting(run(evals(pairs)), CFG) == [], why


def test_two_evals_the_second_well_above_the_first_while_train_falls():
    # a fine-tuning paste with only two evals (GPT-2 XL on shakespeare, nanoGPT issue #97):
    # too few for `patience`, and the gap was large from the first eval (another rule's
    # guard), but the val loss rose 3.9% in one eval while the train loss fell by a third
    pairs = [(0.9795, 3.7535), (0.6703, 3.8986)]
    (f,) = overfitting(run([ev(800, *pairs[0]), ev(1000, *pairs[1])]), CFG)
    assert f.steps == (800, 1000) and f.evidence["best_step"] == 800
    assert f.evidence["evals_since_best"] == 1 and "stayed above it for 1 eval," in f.message
    # a rise within a few times the eval noise is no finding with so few evals
    assert overfitting(run([ev(800, 0.9795, 3.7535), ev(1000, 0.6703, 3.79)]), CFG) == []
    # nor a rise while the train loss rises too
    assert overfitting(run([ev(800, 0.9795, 3.7535), ev(1000, 1.1, 3.8986)]), CFG) == []


# an ng-video-lecture variant's README (realworld kgpt-readme): six evals every 100 steps,
# val best at 400, then up 2.8% at the last eval while train fell 2.82 -> 2.32
KGPT = [(10.9858, 11.0051), (5.3582, 6.1447), (4.3341, 5.5531), (3.4520, 5.3926),
        (2.8158, 5.3509), (2.3219, 5.4989)]


def test_a_rise_at_the_last_eval_of_many_with_a_gap_training_opened():
    # enough evals for `patience`, but the log ends one eval after the best: one eval that
    # rose by overfit_single_rel, with val 2.4x train at the end against 1.0x at the first
    # eval, is what a person reads as overfitting from the best step
    (f,) = overfitting(run(evals(KGPT, every=100)), CFG)
    assert f.steps == (400, 500) and f.evidence["best_step"] == 400
    assert f.evidence["evals_since_best"] == 1
    assert f.evidence["gap_last"] == pytest.approx(5.4989 - 2.3219)
    # two evals after the best are the patience rule's to judge: a raised patience is obeyed
    two_after = KGPT + [(2.0, 5.52)]
    assert overfitting(run(evals(two_after, every=100)), CFG)
    assert overfitting(run(evals(two_after, every=100)), DiagnosticsConfig(patience=3)) == []


@pytest.mark.parametrize("last, why", [
    ((2.3219, 5.40), "a rise of 0.9%: within what a flattened curve's last eval may do"),
    ((2.9, 5.4989), "train barely fell since the best"),
])
def test_a_rise_at_the_last_eval_of_many_needs_a_large_rise_and_falling_train(last, why):
    assert overfitting(run(evals(KGPT[:-1] + [last], every=100)), CFG) == [], why


def test_a_rise_at_the_last_eval_of_many_needs_a_gap_training_opened():
    # the same rise, with val as close to train as healthy pretraining keeps them, or with a
    # val/train gap that was there from the first eval (another distribution)
    close = [(4.0, 4.05), (3.0, 3.1), (2.5, 2.6), (2.2, 2.35), (2.0, 2.2), (1.9, 2.27)]
    assert overfitting(run(evals(close, every=100)), CFG) == []  # +3.2%, val 1.19x train
    shifted = [(t / 2, v) for t, v in KGPT]
    assert overfitting(run(evals(shifted, every=100)), CFG) == []


@pytest.mark.parametrize("step, val, train, found", [
    (5000, 5.9062, 0.7227, True),    # a GPT-2 small tail: 8x
    (5000, 1.7099, 0.6166, False),   # 2.8x: below the one-eval bar
    (0, 10.9, 3.0, False),           # the untrained model's eval
])
def test_one_eval_only_needs_a_gap_far_beyond_noise(step, val, train, found):
    r = run(iters(range(max(1, step - 20), step + 1), train, 40.0), ev(step, train, val))
    got = overfitting(r, DiagnosticsConfig())
    assert bool(got) is found
    if found:
        assert got[0].severity == "warning" and "one eval only" in got[0].message
