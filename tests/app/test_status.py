"""The status rule: from the content first, then from the clock; files that are no log."""
from __future__ import annotations

import pytest

from analyzer.run import Run
from app import status
from app.status import NOT_A_LOG, run_status, stall_after_s
from tests.app import _runs as R


@pytest.mark.parametrize("end, age, ours, finished, want", [
    ("completed", 9999, True, False, "completed"),
    ("failed", 0, True, False, "failed"),
    ("interrupted", 0, True, False, "interrupted"),
    (None, 10, True, False, "running"),
    (None, 121, True, False, "stalled"),
    (None, 121, False, False, "ended"),      # other trainers write no end marker
    (None, 10, False, False, "running"),
    (None, 9999, False, True, "completed"),  # a foreign log that reached max_iters
])
def test_run_status(end, age, ours, finished, want):
    assert run_status(end, last_write=1000.0, now=1000.0 + age, silent_after_s=120.0,
                      ours=ours, finished=finished) == want


def test_stall_threshold_grows_with_slow_iterations():
    assert stall_after_s(None) == 120.0
    assert stall_after_s(500.0) == 120.0           # 0.5 s iterations: the minimum
    assert stall_after_s(90_000.0) == 270.0        # a 90 s eval: three times that
    assert stall_after_s(float("nan")) == 120.0


def test_a_foreign_log_ends_after_a_short_quiet_while_ours_stalls_later():
    ours = Run.from_events(R.events("r", 20), "gptscope", "x")
    foreign = Run.from_events(R.events("r", 20), "nanogpt", "x")
    for age, want_ours, want_foreign in ((5, "running", "running"),
                                         (status.QUIET_S + 1, "running", "ended"),
                                         (status.STALL_MIN_S + 1, "stalled", "ended")):
        assert status.status_of(ours, 1000.0, 1000.0 + age, 19, 400.0) == want_ours
        assert status.status_of(foreign, 1000.0, 1000.0 + age, 19, 400.0) == want_foreign


def test_the_content_decides_before_the_clock(realdata):
    from analyzer import loader as load
    run = load.load(realdata / "llmc/hector-11672072-cuda-oom-at-startup.log")
    assert run.end is not None
    # written a second ago, yet its content says how it ended
    assert status.status_of(run, 1000.0, 1001.0, None, None) == run.end["status"] != "running"


def test_files_that_are_no_training_log(tmp_path):
    def st(name, data, age):
        p = tmp_path / name
        p.write_bytes(data)
        return status.no_run_status(p, len(data), 1000.0, 1000.0 + age, gave_up=False)
    assert st("blob.bin", b"\x00\x01\x02" * 100, 1) == NOT_A_LOG       # binary: at once
    assert st("empty.log", b"", 1) == "waiting"                          # may be written
    assert st("empty2.log", b"", status.QUIET_S + 1) == NOT_A_LOG
    assert st("diary.txt", b"dear diary\n", status.QUIET_S + 1) == NOT_A_LOG
    header = b"tokens per iteration will be: 16,384\nnumber of parameters: 10.65M\n"
    assert st("header.log", header, 5) == "waiting"
    assert status.no_run_status(tmp_path / "diary.txt", 11, 1000.0, 1001.0,
                                gave_up=True) == NOT_A_LOG


def test_an_upload_that_is_no_training_log_is_refused_with_why(realdata):
    assert "empty" in status.upload_problem("a.log", b"  \n")
    assert "binary" in status.upload_problem("b.log", bytes(range(256)) * 8)
    assert NOT_A_LOG in status.upload_problem("c.txt", b"dear diary\n" * 50)
    good = (realdata / "nanogpt/minlora-readme-fp16-nan.log").read_bytes()
    assert status.upload_problem("d.log", good) is None
    assert status.looks_binary("é".encode()[:1]) is False     # a cut multi-byte char is text
