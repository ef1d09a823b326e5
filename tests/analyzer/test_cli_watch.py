"""`watch`: follow a log while it is written and print each finding as soon as it appears."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time

import pytest

from analyzer.cli import main
from gptscope.schema import dumps, make_event
from tests.analyzer._cli_runs import start


def nanogpt_lines(nan_from: int, last: int) -> list[str]:
    """stdout of an unmodified nanoGPT train.py (log_interval=5, eval every 100)."""
    out = ["tokens per iteration will be: 512", "number of parameters: 10.65M"]
    for s in range(0, last + 1, 5):
        if s % 100 == 0:
            out.append(f"step {s}: train loss {4.2 - s / 500:.4f}, val loss "
                       f"{4.25 - s / 500:.4f}")
        loss = "nan" if s >= nan_from else f"{4.2 - s / 500:.4f}"
        dt = 10500.0 if s % 100 == 0 else 1440.0
        out.append(f"iter {s}: loss {loss}, time {dt:.2f}ms, mfu "
                   + ("-100.00%" if s == 0 else "0.01%"))
    return out


def test_watch_prints_the_nan_while_the_log_is_still_growing(tmp_path, repo_root):
    log = tmp_path / "train.log"
    log.write_text("")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "watch", str(log), "--json", "--interval", "0.05",
         "--idle", "3", "--timeout", "60"],
        cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: list[dict] = []
    seen_nan = threading.Event()

    def reader() -> None:
        for line in proc.stdout:
            obj = json.loads(line)
            got.append(obj)
            if obj.get("code") == "nonfinite_loss":
                seen_nan.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        lines = nanogpt_lines(nan_from=425, last=450)
        with open(log, "a") as f:
            for line in lines:
                f.write(line + "\n")
                f.flush()
                time.sleep(0.002)
            # the run goes on (no end marker in nanoGPT stdout): the finding must come now
            assert seen_nan.wait(30), f"no NaN finding while the log grew: {got}"
            f.write("iter 455: loss nan, time 1440.00ms, mfu 0.01%\n")
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    t.join(5)
    nan = next(o for o in got if o.get("code") == "nonfinite_loss")
    assert nan["evidence"]["first_nonfinite_step"] == 425
    assert nan["evidence"]["last_finite_step"] == 420
    printed = [o["code"] for o in got if o["type"] == "finding"]
    assert len(printed) == len(set(printed)), printed  # each finding once, however it grows
    assert got[-1]["type"] == "progress" and got[-1]["text"].startswith("step 455")


def test_watch_our_jsonl_until_run_end(tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text(dumps(start("w")) + "\n")

    def writer() -> None:
        with open(path, "a") as f:
            for s in range(200):
                loss = None if s >= 150 else 3.0 - s / 100
                f.write(dumps(make_event("iter", "w", s, float(s), loss=loss, dt_ms=20.0))
                        + "\n")
                if s == 150:
                    f.write(dumps(make_event("anomaly", "w", s, float(s),
                                             kind="nonfinite_loss", value="nan",
                                             action="stop")) + "\n")
                    f.write('{"type": "iter", "v": 1, "run_id": "w", "st')  # half a line
                    f.flush()
                    time.sleep(0.3)
                    f.write('ep": 151, "time": 151.0, "loss": null}\n')
                f.flush()
                time.sleep(0.001)
            f.write(dumps(make_event("run_end", "w", 199, 200.0, status="failed",
                                     error="loss is nan", steps=200, wall_s=4.0)) + "\n")

    t = threading.Thread(target=writer)
    t.start()
    try:
        code = main(["watch", str(path), "--interval", "0.05", "--exit-on-end",
                     "--timeout", "60"])
    finally:
        t.join()
    out = capsys.readouterr().out
    assert code == 0
    # printed once, with the onset; how far the log had grown by then depends on timing
    assert re.search(r"ERROR   nonfinite_loss \[steps? 150(-\d+)?\]", out)
    assert "ERROR   run_failed" in out and "loss is nan" in out
    assert out.count("ERROR   nonfinite_loss") == 1   # the run_failed advice may name it
    assert out.rstrip().splitlines()[-1].startswith("step 199 | loss nan")


def test_watch_once_and_errors(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("".join(f"just some notes, line {i}\n" for i in range(400)))
    assert main(["watch", str(bad), "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "notes.txt" in err
    missing = tmp_path / "later.log"
    assert main(["watch", str(missing), "--timeout", "0.2", "--interval", "0.05"]) == 0
    assert "waiting for" in capsys.readouterr().err


@pytest.mark.parametrize("as_json", [False, True])
def test_watch_once_on_a_finished_log(tmp_path, capsys, as_json):
    log = tmp_path / "train.log"
    log.write_text("\n".join(nanogpt_lines(nan_from=10**9, last=300)) + "\n")
    assert main(["watch", str(log), "--once"] + (["--json"] if as_json else [])) == 0
    out = capsys.readouterr().out.strip().splitlines()
    if as_json:
        objs = [json.loads(line) for line in out]
        assert objs[-1]["type"] == "progress"
        text = objs[-1]["text"]
        assert {o["code"] for o in objs[:-1]} == {"eval_spikes", "low_mfu"}
    else:
        text = out[-1]
        assert any(line.startswith("INFO    eval_spikes [steps 100-300]") for line in out)
    assert text.startswith("step 300 | loss 3.6000 | 10,500.0 ms/step")
    assert text.endswith("val 3.6500 @ 300")
