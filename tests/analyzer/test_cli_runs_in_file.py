"""`summary` of a file that holds several independent runs (issue #12, class 2): the runs are
listed apart, and the final and best values are the last run's, never mixed across runs."""
from __future__ import annotations

import json

from analyzer.cli import main


def _run(seed: int, losses: list[tuple[float, float]]) -> list[str]:
    """A nanoGPT-style run: banner, then an eval and an iteration line per step."""
    lines = [f"Overriding: seed = {seed}", "tokens per iteration will be: 8,192",
             "number of parameters: 10.65M"]
    for k, (train, val) in enumerate(losses):
        step = 100 * k
        lines.append(f"step {step}: train loss {train:.4f}, val loss {val:.4f}")
        lines.append(f"iter {step}: loss {train:.4f}, time 20.00ms, mfu 5.00%")
    return lines


LOG = "\n".join(_run(1, [(4.2, 4.2), (2.0, 1.5), (1.6, 1.9)])
                + _run(2, [(4.1, 4.1), (2.5, 2.4), (2.2, 2.1)])) + "\n"


def test_summary_lists_each_run_and_reports_the_last(tmp_path, capsys):
    log = tmp_path / "two.log"
    log.write_text(LOG)
    assert main(["summary", str(log)]) == 0
    out = capsys.readouterr().out
    assert "2 independent runs in this file" in out
    run1 = next(line for line in out.splitlines() if line.strip().startswith("run 1:"))
    run2 = next(line for line in out.splitlines() if line.strip().startswith("run 2:"))
    assert "best val 1.5000 at step 100" in run1 and "final val 1.9000" in run1
    assert "best val 2.1000 at step 200" in run2
    # the headline figures are run 2's: run 1's better val (1.5) is not mixed in
    loss = next(line for line in out.splitlines() if line.startswith("loss"))
    assert "final val 2.1000, best val 2.1000 at step 200" in loss


def test_summary_json_carries_the_runs(tmp_path, capsys):
    log = tmp_path / "two.log"
    log.write_text(LOG)
    assert main(["summary", str(log), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs"] == 2
    assert [r["best_val_loss"] for r in s["per_run"]] == [1.5, 2.1]
    assert [r["last_step"] for r in s["per_run"]] == [200, 200]


def test_one_run_prints_no_runs_block(tmp_path, capsys):
    log = tmp_path / "one.log"
    log.write_text("\n".join(_run(1, [(4.2, 4.2), (2.0, 1.5)])) + "\n")
    assert main(["summary", str(log)]) == 0
    assert "independent runs" not in capsys.readouterr().out


def _timed_run(seed: int, n: int, ms: float) -> list[str]:
    """A run with one eval (step 0) and ``n`` iterations of ``ms`` each."""
    return ([f"Overriding: seed = {seed}", "number of parameters: 10.65M",
             "step 0: train loss 4.2000, val loss 4.2000"]
            + [f"iter {i}: loss {4 - i / 100:.4f}, time {ms:.2f}ms, mfu 5.00%"
               for i in range(n)])


def test_speed_figures_are_the_last_runs_alone(tmp_path, capsys):
    """A slow first run (200 ms/step) and a fast second one (20 ms/step): the summary's
    speed line is the second run's, as its header says, not a pool of both."""
    log = tmp_path / "two.log"
    log.write_text("\n".join(_timed_run(1, 60, 200.0) + _timed_run(2, 30, 20.0)) + "\n")
    assert main(["summary", str(log), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs"] == 2
    assert s["throughput"]["median_step_ms"] == 20.0
    assert s["throughput"]["iters"] == 30
