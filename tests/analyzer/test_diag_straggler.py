"""Straggler rank, from the per-rank step-time statistics of iter events."""
from __future__ import annotations

import numpy as np
import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.straggler import straggler
from tests.analyzer._synth import iters, run

CFG = DiagnosticsConfig()


def per_rank(n, world, slow_rank=None, slow_factor=1.0, share=1.0, seed=0):
    """Per-iteration min/max/argmax over `world` ranks of noisy step times."""
    rng = np.random.default_rng(seed)
    mins, maxs, slowest = [], [], []
    for _ in range(n):
        t = 100.0 + rng.normal(0, 1.0, world)
        if slow_rank is not None and rng.random() < share:
            t[slow_rank] *= slow_factor
        mins.append(float(t.min()))
        maxs.append(float(t.max()))
        slowest.append(int(t.argmax()))
    return run(iters(range(n), 2.0, 110.0, step_ms_min=mins, step_ms_max=maxs,
                     slowest_rank=slowest))


def test_persistent_straggler_is_named():
    (f,) = straggler(per_rank(200, 8, slow_rank=3, slow_factor=1.4, share=0.9), CFG)
    assert f.code == "straggler_rank" and f.severity == "warning"
    assert f.evidence["rank"] == 3 and "Rank 3" in f.message
    assert f.evidence["share_slowest"] >= 0.85
    assert f.evidence["median_ratio"] == pytest.approx(1.4, rel=0.05)


@pytest.mark.parametrize("kw, why", [
    (dict(), "balanced ranks: noise only"),
    (dict(slow_rank=2, slow_factor=1.05, share=1.0), "one rank 5% slower: under the ratio"),
    (dict(slow_rank=2, slow_factor=1.5, share=0.3), "slow only now and then"),
])
def test_no_straggler(kw, why):
    assert straggler(per_rank(200, 4, **kw), CFG) == [], why


def test_too_few_points_or_no_columns():
    assert straggler(per_rank(5, 4, slow_rank=1, slow_factor=2.0), CFG) == []
    assert straggler(run(iters(range(100))), CFG) == []
