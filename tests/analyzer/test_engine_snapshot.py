"""Every fixture log gives the very Run it gave before the reading engine was redesigned
(issue #11): through ``analyzer.load``, through ``Run.from_events`` of the format's streaming
Parser, and through a ``Follower`` reading the file. The expected fingerprints
(tests/data/snapshots/runs.json) were written by the code before the change; see
tests/analyzer/_snapshot.py to regenerate them when a change of output is intended."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import analyzer
from analyzer import parsers as registry
from analyzer.parsers._text import decode_lines
from analyzer.reread import follower
from analyzer.run import Run
from tests.analyzer import _snapshot as snap

EXPECTED = json.loads(snap.SNAPSHOT.read_text(encoding="utf-8"))
PATH_FORMATS = {"tensorboard", "hf_trainer_state", "lightning"}  # read whole from a path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, Path]:
    return snap.write_synthetic(tmp_path_factory.mktemp("synthetic"))


def _path(name: str, synthetic: dict[str, Path]) -> Path:
    return synthetic[name] if name in snap.SYNTHETIC else snap.DATA / name


def _streamed(path: Path, fmt: str) -> Run:
    mod = registry.get(fmt)
    parser = mod.Parser(run_id=path.stem)
    events = parser.feed(decode_lines(path.read_bytes()), 1) + parser.finish()
    return Run.from_events(events, fmt, source=str(path), stats=parser.stats)


def _followed(path: Path) -> Run:
    f = follower(path)
    f.poll()
    if hasattr(f, "finish"):
        f.finish()
    assert f.run is not None, f.error
    return f.run


def test_the_snapshot_covers_every_fixture():
    names = {snap.key(p) for p in snap.fixtures()} | set(snap.SYNTHETIC)
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_gives_the_snapshot(name, synthetic):
    assert snap.load_print(_path(name, synthetic)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(n for n, v in EXPECTED.items()
                                        if "error" not in v and v["format"] not in PATH_FORMATS))
def test_streaming_parser_gives_the_snapshot(name, synthetic):
    want = EXPECTED[name]
    assert snap.run_print(_streamed(_path(name, synthetic), want["format"])) == want


@pytest.mark.parametrize("name", sorted(n for n, v in EXPECTED.items() if "error" not in v))
def test_follower_gives_the_snapshot(name, synthetic):
    """(At 1f2aa93 the Follower did not look for a log pasted as '# ' comments, as load()
    does: realworld/nanochat/bash-comment-prints-nan-from-step0.log was unknown to it.)"""
    assert snap.run_print(_followed(_path(name, synthetic))) == EXPECTED[name]
