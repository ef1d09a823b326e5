"""The summary's facts are the log's own figures (issue #12 class 8)."""
from __future__ import annotations

import pytest

from analyzer.stats import summarize
from tests.analyzer._synth import iters, run


def test_final_train_loss_is_the_last_logged_value_with_a_smoothed_one_beside():
    losses = [3.0, 2.5, 2.2, 2.0, 1.9, 2.4]   # the last batch is a bad one: still the last
    s = summarize(run(iters(range(6), losses)))
    assert s["final_train_loss"] == 2.4
    assert s["final_train_loss_smoothed"] == pytest.approx(2.4)  # 5% of 6 points: 1 point
    long = [3.0 - i / 100 for i in range(200)] + [9.0]
    s = summarize(run(iters(range(201), long)))
    assert s["final_train_loss"] == 9.0 and s["final_train_loss_smoothed"] < 1.1


def test_a_nan_last_loss_is_no_final_value():
    s = summarize(run(iters(range(3), [2.0, 1.9, float("nan")])))
    assert s["final_train_loss"] is None
