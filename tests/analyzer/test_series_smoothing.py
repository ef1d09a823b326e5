"""TensorBoard's debiased EMA, checked on worked examples and against TensorBoard's loop."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.series import debiased_ema


def tensorboard_loop(values, weight):
    """TensorBoard's scalar-chart smoothing, transcribed step by step (its published formula):
    last = last * w + (1 - w) * x over finite x, divided by 1 - w**count."""
    last, count, out = 0.0, 0, []
    constant = all(v == values[0] for v in values)
    for v in values:
        if constant or not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight ** count))
    return out


def test_worked_example_by_hand():
    # w = 0.5 over 1, 2, 3:
    #   last1 = 0.5*0 + 0.5*1 = 0.5     ; / (1 - 0.5)   = 1.0
    #   last2 = 0.5*0.5 + 0.5*2 = 1.25  ; / (1 - 0.25)  = 5/3
    #   last3 = 0.5*1.25 + 0.5*3 = 2.125; / (1 - 0.125) = 17/7
    got = debiased_ema(np.array([1.0, 2.0, 3.0]), 0.5)
    assert got == pytest.approx([1.0, 5 / 3, 17 / 7], rel=1e-12)


def test_worked_example_with_tensorboards_default_weight():
    # w = 0.6 over 4, 2:  last1 = 1.6 -> 1.6/0.4 = 4 ; last2 = 0.96 + 0.8 = 1.76 -> 1.76/0.64
    got = debiased_ema(np.array([4.0, 2.0]), 0.6)
    assert got == pytest.approx([4.0, 2.75], rel=1e-12)


def test_nonfinite_values_are_shown_as_is_and_skipped():
    # w = 0.5 over 1, NaN, 3: the NaN is not counted
    #   last1 = 0.5 -> 1.0 ; NaN ; last2 = 0.25 + 1.5 = 1.75 -> 1.75 / 0.75 = 7/3
    got = debiased_ema(np.array([1.0, np.nan, 3.0]), 0.5)
    assert got[0] == pytest.approx(1.0) and math.isnan(got[1])
    assert got[2] == pytest.approx(7 / 3, rel=1e-12)
    inf = debiased_ema(np.array([1.0, np.inf, 3.0]), 0.5)
    assert inf[1] == np.inf and inf[2] == pytest.approx(7 / 3)


@pytest.mark.parametrize("weight", [0.1, 0.6, 0.9, 0.99])
def test_matches_tensorboards_loop(weight):
    rng = np.random.default_rng(7)
    y = 3 + rng.standard_normal(2000)
    y[[10, 11, 500]] = np.nan
    y[700] = np.inf
    want = tensorboard_loop(y.tolist(), weight)
    got = debiased_ema(y, weight)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_constant_and_zero_weight_are_unchanged():
    assert debiased_ema(np.full(5, 2.5), 0.9).tolist() == [2.5] * 5
    y = np.array([3.0, 1.0, 2.0])
    assert debiased_ema(y, 0.0).tolist() == y.tolist()
    assert debiased_ema(np.array([]), 0.6).tolist() == []


@pytest.mark.parametrize("weight", [-0.1, 1.0, 1.5])
def test_weight_out_of_range(weight):
    with pytest.raises(ValueError, match="smoothing weight"):
        debiased_ema(np.array([1.0, 2.0]), weight)
