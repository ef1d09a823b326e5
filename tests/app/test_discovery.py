"""Finding runs under the logs root."""
from __future__ import annotations

import os

import pytest

from app.discovery import discover


def _touch(path, text="x\n", mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_runs_newest_first_with_kinds(tmp_path):
    _touch(tmp_path / "old" / "events.jsonl", mtime=1000)
    _touch(tmp_path / "new" / "events.jsonl", mtime=3000)
    _touch(tmp_path / "nanogpt.log", mtime=2000)
    _touch(tmp_path / "slurm" / "job-1.out", mtime=500)
    found = discover(tmp_path)
    assert [(r.name, r.kind) for r in found.runs] == [
        ("new/events.jsonl", "events"), ("nanogpt.log", "log"), ("old/events.jsonl", "events"),
        ("slurm/job-1.out", "log")]
    assert found.runs[0].mtime == 3000 and found.runs[0].size == 2


def test_a_run_folder_is_listed_once(tmp_path):
    _touch(tmp_path / "r1" / "events.jsonl")
    _touch(tmp_path / "r1" / "stdout.log")   # the same run's stdout
    _touch(tmp_path / "r1" / "config.json")
    assert [r.name for r in discover(tmp_path).runs] == ["r1/events.jsonl"]


def test_skips_hidden_checkpoints_deep_and_other_files(tmp_path):
    _touch(tmp_path / ".dashboard.log")
    _touch(tmp_path / ".hidden" / "events.jsonl")
    _touch(tmp_path / "checkpoints" / "x.log")
    _touch(tmp_path / "a" / "b" / "c" / "d" / "events.jsonl")   # below max_depth
    _touch(tmp_path / "ckpt.pt")
    _touch(tmp_path / "a" / "b" / "events.jsonl")
    assert [r.name for r in discover(tmp_path).runs] == ["a/b/events.jsonl"]


def test_symlinks_out_are_refused_not_listed(tmp_path):
    root, outside = tmp_path / "logs", tmp_path / "outside"
    _touch(outside / "events.jsonl")
    _touch(outside / "secret.log")
    _touch(root / "ok.log")
    os.symlink(outside / "secret.log", root / "link.log")
    os.symlink(outside, root / "linkdir")       # a symlinked folder is not walked at all
    os.symlink(root / "ok.log", root / "alias.log")  # inside: fine
    found = discover(root)
    assert sorted(r.name for r in found.runs) == ["alias.log", "ok.log"]
    assert found.refused == ["link.log"]


def test_missing_root_is_empty(tmp_path):
    found = discover(tmp_path / "nope")
    assert found.runs == [] and found.refused == []
