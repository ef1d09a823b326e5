"""The summary's facts are the log's own figures (issue #12 class 8)."""
from __future__ import annotations

import pytest

from analyzer.stats import summarize
from tests.analyzer._synth import iters, run


def test_final_train_loss_is_the_last_logged_value_with_a_smoothed_one_beside():
    losses = [3.0, 2.5, 2.2, 2.0, 1.9, 2.4]   # the last batch is a bad one: still the last
    s = summarize(run(iters(range(6), losses)))
    assert s["final_train_loss"] == 2.4
    assert s["final_train_loss_smoothed"] == pytest.approx(2.4)  # 5% of 6 points: 1 point
    long = [3.0 - i / 100 for i in range(200)] + [9.0]
    s = summarize(run(iters(range(201), long)))
    assert s["final_train_loss"] == 9.0 and s["final_train_loss_smoothed"] < 1.1


def test_the_smoothed_final_loss_is_of_the_last_steps_in_order_or_not():
    steps = list(range(400))
    losses = [1.0] * 380 + [5.0] * 20          # the last 20 steps (5%) are the high ones
    in_order = summarize(run(iters(steps, losses)))["final_train_loss_smoothed"]
    shuffled = steps[::-1][:200] + steps[:200]  # the same rows, logged out of step order
    out_of_order = summarize(run(iters(shuffled, [losses[s] for s in shuffled])))
    assert in_order == out_of_order["final_train_loss_smoothed"] == 5.0


def test_a_nan_last_loss_is_no_final_value():
    s = summarize(run(iters(range(3), [2.0, 1.9, float("nan")])))
    assert s["final_train_loss"] is None


def test_two_runs_in_one_file_are_never_mixed():
    # issue #12 class 2: a seed loop; the first run's better val is not the second's best
    from analyzer.parsers import nanogpt
    from tests.analyzer._parse_util import run as parse

    def one(val):
        return (f"step 0: train loss 4.2, val loss 4.2\n"
                + "".join(f"iter {i}: loss {4 - i / 10:.4f}, time 10.00ms, mfu 1.00%\n"
                          for i in range(10))
                + f"step 10: train loss 3.0, val loss {val}\n")
    r = parse(nanogpt, one(1.5) + one(2.5))
    s = summarize(r)
    assert s["runs"] == 2 and s["segments"] == 2
    assert (s["best_val_loss"], s["final_val_loss"], s["first_step"], s["last_step"]) == (
        2.5, 2.5, 0, 10)
    assert s["iters_logged"] == 10


def test_a_resume_belongs_to_the_run_it_resumes():
    from analyzer.parsers import nanogpt
    from tests.analyzer._parse_util import run as parse
    text = ("step 0: train loss 4.2, val loss 4.2\n"
            + "".join(f"iter {i}: loss 3.{i}, time 10.00ms, mfu 1.00%\n" for i in range(5))
            + "step 5: train loss 3.0, val loss 1.9\nResuming training from out\n"
            + "step 5: train loss 3.0, val loss 2.1\n"
            + "".join(f"iter {i}: loss 2.{i}, time 10.00ms, mfu 1.00%\n" for i in range(5, 9)))
    s = summarize(parse(nanogpt, text))
    assert s["runs"] == 1 and s["segments"] == 2 and s["best_val_loss"] == 1.9


def _nanogpt(steps: range, header: list[str] = ()) -> str:
    return "\n".join([*header] + [f"iter {i}: loss 2.5000, time {100 + i % 3}.00ms, mfu 5.00%"
                                  for i in steps]) + "\n"


def test_a_log_starting_mid_run_loses_only_its_first_line_to_warm_up(tmp_path):
    """An excerpt from iter 3000 on compiled long before its first line: its first ten
    steps are steady steps, not warm-up (only the first line, whose dt may hold anything,
    is set aside). A log from iter 0, and a resume, still leave out their first ten."""
    import analyzer
    cases = {"excerpt": (_nanogpt(range(3000, 3020)), 1),
             "fresh": (_nanogpt(range(0, 20)), 10),
             "resume": (_nanogpt(range(0, 20)) + "Resuming training from out\n"
                        + _nanogpt(range(20, 40)), 20)}
    for name, (text, warm) in cases.items():
        path = tmp_path / f"{name}.log"
        path.write_text(text)
        t = summarize(analyzer.load(path))["throughput"]
        assert (t["warmup_iters"], t["steady_iters"]) == (warm, t["iters"] - warm), name


def test_a_mid_run_first_line_timed_by_its_own_step_time_is_steady(tmp_path):
    """A one-bar excerpt (torchtune's bar at step 52 with tqdm's rate): its line's time is
    that step's own (no time since a line before it), so it is a steady step; a nanoGPT
    excerpt's first dt is still set aside (a time since the line before)."""
    import analyzer
    bar = "1|52|Loss: 2.3697006702423096:   0%|▏   | 52/25880 [00:24<3:55:01,  1.83it/s]\n"
    (tmp_path / "bar.log").write_text("INFO: Loss is initialized.\n" + bar)
    t = summarize(analyzer.load(tmp_path / "bar.log"))["throughput"]
    assert t["steady_iters"] == 1 and t["median_step_ms"] == pytest.approx(1000 / 1.83)
    (tmp_path / "ng.log").write_text(_nanogpt(range(3000, 3002)))
    t = summarize(analyzer.load(tmp_path / "ng.log"))["throughput"]
    assert (t["warmup_iters"], t["steady_iters"]) == (1, 1)


def test_a_trainers_stated_minimum_below_every_eval_is_the_best_val_without_a_step():
    # nanochat's 'Minimum validation bpb' (the metric min_val_bpb) covers evals an excerpt
    # may not hold (realworld t600 notes: only the last eval, 1.946162; minimum 1.944503)
    from analyzer.parsers import nanochat
    from tests.analyzer._parse_util import run as parse
    tail = "Step 10000 | Validation bpb: 1.946162\nMinimum validation bpb: {}\n"
    s = summarize(parse(nanochat, tail.format("1.944503")))
    assert (s["final_val_loss"], s["best_val_loss"], s["best_val_step"]) == (
        1.946162, 1.944503, None)
    # the same minimum rounded to 4 decimals says nothing more than the eval that reached it
    s = summarize(parse(nanochat, tail.format("1.9462")))
    assert (s["best_val_loss"], s["best_val_step"]) == (1.946162, 10000)


def test_wall_time_counts_the_steps_before_a_val_only_logs_first_timed_line():
    """modded-nanogpt's key lines only: 'step:0 val_loss', 'step:1000 … train_time:400637ms',
    'step:1199 … train_time:480205ms'. The 1,000 steps before the first timed line ran
    too: the training time is ~480 s, as the log's own clock says, not 199 steps' 80 s."""
    import analyzer
    text = ("step:0/20000 val_loss:6.9357 val_bpb:4.1077\n"
            "step:1000/20000 val_loss:2.2588 val_bpb:1.3378 train_time:400637ms "
            "step_avg:400.64ms\n"
            "step:1199/20000 val_loss:2.2260 val_bpb:1.3184 train_time:480205ms "
            "step_avg:400.50ms\n")
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "train.log"
        path.write_text(text)
        t = summarize(analyzer.load(path))["throughput"]
    assert t["wall_s"] == pytest.approx(480.2, rel=0.01)


def test_after_a_resume_that_went_back_the_last_step_is_where_the_run_is():
    # build-nanogpt's log.txt appended to by a second launch resumed from step 500 after
    # the first reached 670: the run is at 560, the steps 561-670 were given up; it started
    # at 600 (the steps from 500 were done again, they do not start it earlier)
    from analyzer.parsers import buildnanogpt
    from tests.analyzer._parse_util import run as parse
    text = ("".join(f"{s} train {5.3 - s / 10000:.6f}\n" for s in range(600, 671))
            + "500 val 5.7304\n500 hella 0.2384\n"
            + "".join(f"{s} train {5.7 - s / 10000:.6f}\n" for s in range(500, 561)))
    s = summarize(parse(buildnanogpt, text))
    assert (s["first_step"], s["last_step"], s["reached_step"]) == (600, 560, 670)
    # without a step going back there is nothing reached beyond the last step
    s = summarize(parse(buildnanogpt, "".join(f"{i} train 5.0\n" for i in range(10))))
    assert (s["last_step"], s["reached_step"]) == (9, None)


def test_an_llmc_logs_first_step_is_its_first_training_step():
    """llm.c prints 'val loss X' with no step before 'step 1/N': the val is at step 0 for the
    charts, but the log's first step is 1. A log of evals only still starts at its eval."""
    from analyzer.parsers import llmc
    from tests.analyzer._parse_util import run as parse
    text = ("val loss 11.008389\n"
            "step    1/150 | loss 11.008743 (+nanz)| norm 15.7121 (+nanz)| lr 4.4e-05 | "
            "6655.00 ms | 10.0% bf16 MFU | 78781 tok/s\n"
            "step    2/150 | loss 10.219490 (+nanz)| norm 6.5691 (+nanz)| lr 8.8e-05 | "
            "6679.08 ms | 10.0% bf16 MFU | 78497 tok/s\n")
    r = parse(llmc, text)
    assert list(r.evals["step"]) == [0] and summarize(r)["first_step"] == 1
    assert summarize(parse(llmc, "val loss 11.008389\n"))["first_step"] == 0


def test_an_llmc_logs_last_step_is_its_last_printed_step():
    """train_gpt2.c prints 'val loss X' after its last 'step 19:' line, an eval the reader
    numbers 20 (the updates done before it): the log's printed steps end at 19. The log
    file's 's:20 tel:' prints its step, and that step counts."""
    from analyzer.parsers import llmc
    from tests.analyzer._parse_util import run as parse
    stdout = ("val loss 5.325522\n"
              + "".join(f"step {s}: train loss {4.5 - s / 100:.6f} (took 2500.0 ms)\n"
                        for s in range(20))
              + "val loss 4.186637\ngenerating:\n---\n")
    r = parse(llmc, stdout)
    s = summarize(r)
    assert list(r.evals["step"]) == [0, 20]
    assert (s["first_step"], s["last_step"], s["reached_step"]) == (0, 19, None)
    logfile = "".join(f"s:{s} trl:{4.5 - s / 100:.4f} lr:0.000100 norm:0.25\n"
                      for s in range(20)) + "s:20 tel:4.1866\n"
    assert summarize(parse(llmc, logfile))["last_step"] == 20


def test_a_log_of_evals_only_has_the_train_loss_of_its_last_eval():
    """nanoGPT eval lines without iteration lines: the final train loss is the last eval's
    (what the log says of the training loss), per run too; a log with iterations keeps the
    last iteration's."""
    from analyzer.parsers import nanogpt
    from tests.analyzer._parse_util import run as parse
    text = ("step 0: train loss 10.8687, val loss 10.8612\n"
            "step 50: train loss 8.6614, val loss 8.9377\n"
            "step 0: train loss 10.8687, val loss 10.8612\n"
            "step 50: train loss 7.7211, val loss 7.3998\n")
    s = summarize(parse(nanogpt, text))
    assert s["final_train_loss"] == 7.7211
    assert [r["final_train_loss"] for r in s["per_run"]] == [8.6614, 7.7211]
    with_iters = text + "iter 50: loss 7.5000, time 10.00ms, mfu 1.00%\n"
    assert summarize(parse(nanogpt, with_iters))["final_train_loss"] == 7.5


def test_iterations_that_log_no_loss_take_the_evals_train_loss():
    """'iter 250 | train loss 2.4694 | val loss 2.4669 | 169s elapsed' (a script's eval
    line with a clock): iterations without a loss, the train loss on the eval."""
    from analyzer.parsers import generic
    from tests.analyzer._parse_util import run as parse
    text = "".join(f"iter {s:5d} | train loss {2.5 - s / 1000:.4f} | val loss "
                   f"{2.6 - s / 1000:.4f} | {s // 2}s elapsed\n" for s in range(250, 1001, 250))
    r = parse(generic, text)
    assert r.iters["loss"].isna().all() and summarize(r)["final_train_loss"] == 1.5
