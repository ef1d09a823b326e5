"""Every fixture log gives exactly the findings, summary and row masks that the code before
the vectorised diagnostics gave (tests/data/snapshots/findings.json, written at commit
1f2aa93 by tests/analyzer/_diag_snapshot.py)."""
from __future__ import annotations

import json

import pytest

from analyzer.diagnostics import DIAGNOSTICS, DiagnosticsConfig, run_all
from analyzer.findings import sort_findings
from tests.analyzer import _diag_snapshot as snap

EXPECTED = json.loads(snap.SNAPSHOT.read_text())
RUNS = snap.all_runs()


def test_snapshot_covers_every_fixture():
    assert sorted(RUNS) == sorted(EXPECTED)
    assert len(RUNS) >= 90


@pytest.mark.parametrize("name", sorted(RUNS))
def test_same_as_snapshot(name):
    run = RUNS[name]()
    got = snap.snapshot_of(run)
    want = EXPECTED[name]
    for part in ("findings", "summary", "masks"):
        assert snap.same(got[part], want[part]), (name, part, got[part], want[part])


@pytest.mark.parametrize("name", sorted(n for n in RUNS if n.startswith("synthetic/")
                                        or "realdata" in n))
def test_each_diagnostic_alone_agrees_with_run_all(name):
    # run_all shares prepared arrays between diagnostics; called one by one, each computes
    # its own, and must say the same
    run = RUNS[name]()
    config = DiagnosticsConfig()
    alone = sort_findings([f for fn in DIAGNOSTICS.values() for f in fn(run, config)])
    assert [f.to_dict() for f in alone] == [f.to_dict() for f in run_all(run, config)]


def test_same_tolerates_only_the_last_bits():
    assert snap.same({"a": [1.0, 2]}, {"a": [1.0 + 1e-15, 2.0]})
    assert not snap.same({"a": [1.0]}, {"a": [1.0 + 1e-9]})
    assert not snap.same({"a": 1}, {"b": 1})
    assert not snap.same([None], [0.0])
