"""The dashboard reads only files inside its logs root."""
from __future__ import annotations

import os

import pytest

from app.paths import PathRefused, logs_root, resolve_inside, safe_filename, save_upload


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "logs"
    (r / "run1").mkdir(parents=True)
    (r / "run1" / "events.jsonl").write_text("{}\n")
    (tmp_path / "secret.txt").write_text("password\n")
    return r


def test_relative_and_absolute_paths_inside_are_allowed(root):
    want = (root / "run1" / "events.jsonl").resolve()
    assert resolve_inside(root, "run1/events.jsonl") == want
    assert resolve_inside(root, str(want)) == want
    assert resolve_inside(root, "run1/missing.log") == (root / "run1" / "missing.log").resolve()


@pytest.mark.parametrize("path, why", [
    ("../secret.txt", "'..' is not allowed"),
    ("run1/../../secret.txt", "'..' is not allowed"),
    ("run1/..", "'..' is not allowed"),
    ("", "empty path"),
    ("a\x00b", "NUL"),
])
def test_dot_dot_and_junk_are_refused(root, path, why):
    with pytest.raises(PathRefused, match=why):
        resolve_inside(root, path)


def test_absolute_path_outside_is_refused(root, tmp_path):
    with pytest.raises(PathRefused, match="outside the logs root"):
        resolve_inside(root, str(tmp_path / "secret.txt"))
    with pytest.raises(PathRefused, match="outside the logs root"):
        resolve_inside(root, "/etc/passwd")


def test_symlink_pointing_out_is_refused(root, tmp_path):
    os.symlink(tmp_path / "secret.txt", root / "run1" / "train.log")
    with pytest.raises(PathRefused, match="symlink pointing outside"):
        resolve_inside(root, "run1/train.log")


def test_symlinked_directory_pointing_out_is_refused(root, tmp_path):
    os.symlink(tmp_path, root / "escape")
    with pytest.raises(PathRefused, match="symlink pointing outside"):
        resolve_inside(root, "escape/secret.txt")


def test_symlink_inside_the_root_is_allowed(root):
    os.symlink(root / "run1" / "events.jsonl", root / "latest.jsonl")
    assert resolve_inside(root, "latest.jsonl") == (root / "run1" / "events.jsonl").resolve()


def test_logs_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("GPTSCOPE_LOGS", str(tmp_path / "env"))
    assert logs_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert logs_root(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv("GPTSCOPE_LOGS")
    monkeypatch.chdir(tmp_path)
    assert logs_root(None) == (tmp_path / "logs").resolve()


@pytest.mark.parametrize("name, want", [
    ("train.log", "train.log"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\run 1.log", "run_1.log"),
    (".bashrc", "bashrc"),
    ("<script>.log", "script_.log"),
    ("..", "upload.log"),
])
def test_safe_filename(name, want):
    assert safe_filename(name) == want


def test_save_upload_dedupes_and_files_jsonl_as_a_run(root):
    a = save_upload(root, "train.log", b"iter 0: loss 4.0\n")
    assert a == (root / "uploads" / "train.log").resolve()
    assert save_upload(root, "train.log", b"iter 0: loss 4.0\n") == a   # same bytes: reused
    b = save_upload(root, "../train.log", b"other\n")
    assert b.name == "train-1.log" and b.read_bytes() == b"other\n"
    c = save_upload(root, "myrun.jsonl", b"{}\n")
    assert c == (root / "uploads" / "myrun" / "events.jsonl").resolve()


def test_save_upload_refuses_an_uploads_symlink_out(root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / "uploads")
    with pytest.raises(PathRefused, match="outside the logs root"):
        save_upload(root, "train.log", b"x\n")
    assert list(outside.iterdir()) == []
