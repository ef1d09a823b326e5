"""Outputs never destroy data (issue #17 item 1): no verb writes over its input (also through
a symlink or a hard link) or over a run's events.jsonl, checkpoint or config.json, and every
output is written whole or not at all (analyzer/output.py)."""
from __future__ import annotations

import os
import shutil

import pytest

from analyzer import output
from analyzer.cli import main
from tests.analyzer._cli_runs import healthy_events, write

LOG = "nanogpt/wilcoooo-shakespeare-char-tiny-cuda.log"


@pytest.fixture
def log(realdata, tmp_path):
    return shutil.copy(realdata / LOG, tmp_path / "train.log")


@pytest.fixture
def run_dir(tmp_path):
    """A run directory as the trainer leaves it."""
    d = tmp_path / "logs" / "run1"
    d.mkdir(parents=True)
    write(d / "events.jsonl", healthy_events(run_id="run1"))
    (d / "config.json").write_text('{"n_layer": 2}\n')
    (d / "ckpt.pt").write_bytes(b"PK\x03\x04 not really a checkpoint")
    return d


def snapshot(*paths):
    return {str(p): (p.read_bytes(), os.stat(p).st_ino) for p in paths}


def refused(capsys, argv, needle="refusing to"):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, err
    return err


def test_parse_refuses_to_write_over_its_input(log, tmp_path, capsys):
    before = log.read_bytes()
    (tmp_path / "link.log").symlink_to(log)
    os.link(log, tmp_path / "hard.log")
    for out in (log, tmp_path / "link.log", tmp_path / "hard.log",
                tmp_path / "sub" / ".." / "train.log"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        refused(capsys, ["parse", log, "-o", out], "refusing to write over the input")
        assert log.read_bytes() == before                # not truncated, no Bus error
    # the input named through the link is refused too
    refused(capsys, ["parse", tmp_path / "link.log", "-o", log])
    assert log.read_bytes() == before


def test_no_verb_overwrites_a_runs_own_files(run_dir, log, tmp_path, capsys):
    files = [run_dir / n for n in ("events.jsonl", "config.json", "ckpt.pt")]
    before = snapshot(*files)
    refused(capsys, ["golden", run_dir, "-o", run_dir / "events.jsonl"])
    refused(capsys, ["golden", log, "-o", run_dir / "config.json"], "run's config.json")
    refused(capsys, ["parse", log, "-o", run_dir / "events.jsonl"], "run's events.jsonl")
    (tmp_path / "report.html").symlink_to(run_dir / "ckpt.pt")
    refused(capsys, ["report", log, "-o", tmp_path / "report.html"], "run's ckpt.pt")
    assert snapshot(*files) == before
    # a new events file is fine: the documented `parse train.log -o events.jsonl`
    assert main(["parse", str(log), "-o", str(tmp_path / "events.jsonl")]) == 0


def test_outputs_still_work_and_replace_an_old_file(run_dir, log, tmp_path, capsys):
    old = tmp_path / "b.json"
    old.write_text("an older baseline\n")
    old.chmod(0o640)
    assert main(["golden", str(run_dir), "-o", str(old)]) == 0
    assert old.read_text().startswith('{\n  "format": "gptscope-golden"')
    assert old.stat().st_mode & 0o777 == 0o640                   # kept its mode
    assert main(["report", str(log), "-o", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "events.out.jsonl"
    target.write_text("complete old content\n")
    with pytest.raises(KeyboardInterrupt):
        with output.open_output(target) as f:
            f.write("half of the new")
            raise KeyboardInterrupt
    assert target.read_text() == "complete old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["events.out.jsonl"]


def test_a_failing_report_leaves_no_file(log, tmp_path, capsys, monkeypatch):
    from analyzer import report

    def broken(run, findings, path, config=None):
        open(path, "w").write("<html>half a page")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(report, "render_html", broken)
    assert main(["report", str(log), "-o", str(tmp_path / "r.html")]) == 2
    assert "r.html: cannot write (No space left on device)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.log"]


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with output.open_output(tmp_path / "a.txt") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_check_output_on_a_directory_and_through_a_run_dir(run_dir, tmp_path):
    with pytest.raises(output.OutputError, match="is a directory"):
        output.check_output(tmp_path)
    # a run directory given as input stands for its events.jsonl
    link = tmp_path / "ev.jsonl"
    link.symlink_to(run_dir / "events.jsonl")
    with pytest.raises(output.OutputError, match="over the input"):
        output.check_output(link, [run_dir])
    assert output.check_output(tmp_path / "new.json", [run_dir]) == tmp_path / "new.json"


def test_export_refuses_the_directory_it_reads_and_parse_of_tensorboard_is_safe(
        log, tmp_path, capsys):
    import tensorboard  # noqa: F401  the [tensorboard] extra, in dev: missing fails, never skips
    tb = tmp_path / "tb"
    assert main(["export", str(log), "--tensorboard", str(tb)]) == 0
    files = sorted(tb.iterdir())
    capsys.readouterr()
    # a TensorBoard directory exported into itself would hold every point twice
    refused(capsys, ["export", tb, "--tensorboard", tb], "refusing to export into the "
            "directory the run is read from")
    assert sorted(tb.iterdir()) == files
    # parse of a TensorBoard file: the same output rules as any log
    refused(capsys, ["parse", files[0], "-o", files[0]], "refusing to write over the input")
    assert sorted(tb.iterdir()) == files and files[0].stat().st_size > 1000
