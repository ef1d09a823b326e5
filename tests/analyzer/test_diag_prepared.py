"""analyzer/diagnostics/prepared.py: one run's arrays shared by the diagnostics of one
run_all, and nowhere else; and the numpy building blocks under it (analyzer.stats), each
against the pandas or numpy expression it stands in for."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer import orderstats, stats
from analyzer.diagnostics import DiagnosticsConfig, run_all
from analyzer.diagnostics.loss import loss_spikes
from analyzer.diagnostics.prepared import prepared, sharing
from analyzer.run import Run
from tests.analyzer import _synth as S

CFG = DiagnosticsConfig()


def _spiky(n: int = 200, at: int = 120) -> Run:
    loss = [3.0 - i / 1000 + 0.01 * ((i * 7) % 5) for i in range(n)]
    loss[at:at + 3] = [9.0] * 3  # lasts a few steps: a spike, not an outlier
    return S.run(S.iters(range(n), losses=loss))


def test_shared_only_inside_sharing():
    run = _spiky()
    assert prepared(run, CFG) is not prepared(run, CFG)
    with sharing():
        p = prepared(run, CFG)
        assert prepared(run, CFG) is p
        assert prepared(_spiky(), CFG) is not p                       # another run
        assert prepared(run, DiagnosticsConfig(patience=5)) is not p  # another config
    assert prepared(run, CFG) is not p


def test_a_block_inside_another_shares_the_outer_one():
    run = _spiky()
    with sharing():
        p = prepared(run, CFG)
        with sharing():  # run_all opens one too: a caller's block around it is kept
            assert prepared(run, CFG) is p
        assert prepared(run, CFG) is p
    assert prepared(run, CFG) is not p


def test_direct_call_after_the_run_changed_is_not_stale():
    run = _spiky()
    assert [f.evidence["step"] for f in loss_spikes(run, CFG) if f.code == "loss_spike"] \
        == [120]
    run.iters.loc[120:122, "loss"] = run.iters.loc[119, "loss"]
    run.iters.loc[150:152, "loss"] = 9.0
    assert [f.evidence["step"] for f in loss_spikes(run, CFG) if f.code == "loss_spike"] \
        == [150]
    assert "loss_spike" in [f.code for f in run_all(run)]


def test_groups_match_groupby_and_stable_sort():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = 40
        seg = rng.integers(0, 3, n)
        step = rng.integers(0, 6, n).astype(object)
        step[rng.random(n) < 0.2] = None
        run = Run(iters=pd.DataFrame({"segment": seg, "step": pd.array(step, dtype="Int64")}),
                  evals=pd.DataFrame(), metrics=pd.DataFrame(), checkpoints=pd.DataFrame(),
                  anomalies=pd.DataFrame(), meta={}, format="t")
        mask = rng.random(n) < 0.7
        want = [(int(s), df.sort_values("step", kind="stable").index.to_numpy())
                for s, df in run.iters[mask].groupby("segment")]
        got = prepared(run, CFG).groups(mask)
        assert [(s, r.tolist()) for s, r in got] == [(s, r.tolist()) for s, r in want]


def test_groups_in_file_order_need_no_sort():
    run = S.run(S.iters(range(10)), S.start(), S.iters(range(5)))
    p = prepared(run, CFG)
    assert p.order is None
    assert [(s, r.tolist()) for s, r in p.groups()] == [(0, list(range(10))),
                                                       (1, list(range(10, 15)))]


@pytest.mark.parametrize("size", [1, 2, 5, 50, 51])
def test_block_medians_are_np_median_of_each_block(size):
    rng = np.random.default_rng(size)
    x = rng.normal(size=1003)
    x[[7, 500]] = np.nan
    want = [np.median(x[i:i + size]) for i in range(0, len(x), size)]
    np.testing.assert_array_equal(orderstats.block_medians(x, size), want)


def test_isin_both_ways():
    rng = np.random.default_rng(1)
    keys = np.unique(rng.integers(0, 50, 10))
    for values in (np.sort(rng.integers(0, 60, 500)), rng.integers(0, 60, 500),
                   np.array([], dtype=np.int64)):
        np.testing.assert_array_equal(stats._isin(values, keys), np.isin(values, keys))
    assert not stats._isin(np.arange(5), np.array([], dtype=np.int64)).any()


def test_row_masks_with_interleaved_segments():
    # segments out of file order take the slow paths (groupby, np.unique): same answers
    a = S.iters(range(0, 30), dts=20.0)
    b = S.iters(range(100, 130), dts=20.0)
    run = S.run(a[:15], S.start(), b, S.ev(20, 2.0, 2.1), S.ev(110, 2.0, 2.1))
    run.iters = pd.concat([run.iters, run.iters.iloc[:0]]).iloc[
        np.r_[0:5, 15:25, 5:15, 25:45]].reset_index(drop=True)
    m = stats.row_masks(run, 10)
    seg = run.iters["segment"]
    np.testing.assert_array_equal(m.first, ~seg.duplicated().to_numpy())
    first_step = run.iters["step"].astype(float).groupby(seg).transform("min")
    np.testing.assert_array_equal(
        m.warmup, (run.iters["step"].astype(float) < first_step + 10).to_numpy() | m.first)
    assert m.eval_inclusive.sum() == 1   # step 110 of segment 1 only: 20 is not logged
    assert run.iters.loc[m.eval_inclusive, "step"].tolist() == [110]


QS = [0.0, 0.05, 0.1, 1 / 3, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]


@pytest.mark.parametrize("seed", range(6))
def test_orderstats_equal_numpy_to_the_last_bit(seed):
    rng = np.random.default_rng(seed)
    makers = [lambda n: rng.normal(450, 5, n), lambda n: rng.integers(0, 4, n) * 1.0,
              lambda n: rng.lognormal(0, 3, n), lambda n: 1e6 + rng.normal(0, 1e-3, n)]
    for n in [1, 2, 3, 4, 5, 10, 11, 99, 100, 1001, 20000]:
        x = makers[seed % 4](n)
        assert orderstats.median(x) == np.median(x)
        assert orderstats.quantiles(x, QS) == np.quantile(x, QS).tolist()
        for width in (3, 4):
            rows = x[:n // width * width].reshape(-1, width)
            np.testing.assert_array_equal(orderstats.row_medians(rows),
                                          np.median(rows, axis=1))


def test_orderstats_nan_and_empty_as_numpy():
    x = np.array([1.0, np.nan, 2.0])
    assert np.isnan(orderstats.median(x)) and np.isnan(orderstats.quantiles(x, [0.5])[0])
    assert np.isnan(orderstats.median(np.array([])))
    rows = np.array([[1.0, 2.0], [np.nan, 1.0]])
    np.testing.assert_array_equal(orderstats.row_medians(rows), [1.5, np.nan])
