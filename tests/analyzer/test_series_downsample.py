"""Min/max bucket downsampling keeps every spike and never samples at random."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.series import minmax_indices, thin as downsample


def test_short_series_are_kept_whole():
    assert minmax_indices(np.arange(5.0), max_points=10).tolist() == [0, 1, 2, 3, 4]


def test_each_bucket_keeps_its_min_and_max():
    # 12 points into buckets of 3 (max_points 10 -> 4 buckets): the extremes of each bucket
    y = np.array([5, 1, 9,   2, 2, 2,   7, 8, 0,   3, 6, 4], dtype=float)
    idx = minmax_indices(y, max_points=10)
    # bucket 1: min 1 (1), max 9 (2); bucket 2 is constant: index 3 for both; bucket 3:
    # max 8 (7), min 0 (8); bucket 4: min 3 (9), max 6 (10); plus the first and last point
    assert idx.tolist() == [0, 1, 2, 3, 7, 8, 9, 10, 11]


def test_a_single_spike_in_a_million_points_survives():
    rng = np.random.default_rng(0)
    y = 3.0 + 0.01 * rng.standard_normal(1_000_000)
    y[654_321] = 50.0   # a loss spike
    y[123_456] = -5.0   # and a dip
    x = np.arange(len(y)) * 2.0
    xs, ys = downsample(x, y)
    assert len(xs) <= 2000
    assert 50.0 in ys and -5.0 in ys
    assert xs[np.argmax(ys)] == 654_321 * 2.0
    assert np.all(np.diff(xs) > 0)           # original order, no duplicates
    assert xs[0] == 0 and xs[-1] == x[-1]    # the ends are kept


def test_nans_never_win_a_bucket():
    y = np.array([np.nan, 1.0, np.nan, np.nan, np.nan, np.nan, 2.0, 3.0, np.nan], dtype=float)
    idx = minmax_indices(y, max_points=6)  # 2 buckets of 5 (padded)
    assert not np.isnan(y[idx]).any()
    assert set(idx.tolist()) == {1, 6, 7}


def test_deterministic():
    y = np.random.default_rng(1).standard_normal(10_000)
    assert np.array_equal(minmax_indices(y), minmax_indices(y.copy()))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 5000), max_points=st.integers(4, 300), seed=st.integers(0, 10**6))
def test_bounds_order_and_extremes(n, max_points, seed):
    y = np.random.default_rng(seed).standard_normal(n)
    idx = minmax_indices(y, max_points)
    assert len(idx) <= max_points if n > max_points else len(idx) == n
    assert np.all(np.diff(idx) > 0)
    assert int(np.argmax(y)) in idx and int(np.argmin(y)) in idx


@pytest.mark.parametrize("max_points", [2, 3])
def test_tiny_budgets_still_keep_the_extremes(max_points):
    y = np.array([0.0, 5.0, -1.0, 2.0, 1.0])
    idx = minmax_indices(y, max_points)
    assert 1 in idx and 2 in idx


def test_envelope_is_a_median_line_with_a_min_max_band():
    from analyzer.series import envelope
    y = np.full(1_000_000, 100.0)
    y[::2000] = 4000.0               # an eval in every bucket would fill a min/max line
    y[123_457] = 4400.0              # one real slow step
    env = envelope(y, 2000)
    assert len(env.mid) <= 2000 and env.bucketed
    assert set(env.mid) == {100.0}                       # the line: the typical step
    assert env.hi.max() == 4400.0 and env.lo.min() == 100.0
    assert (np.diff(env.index) > 0).all() and env.index[-1] < len(y)
    short = envelope(np.array([1.0, 3.0, 2.0]), 2000)
    assert short.mid.tolist() == [1.0, 3.0, 2.0] and not short.bucketed
    odd = envelope(np.arange(2002, dtype=float), 1000)    # buckets of 3, the last of 1
    assert odd.hi[-1] == 2001.0 and odd.index[-1] == 2001 and len(odd.mid) == 668
