"""build-nanogpt train_gpt2.py: stdout, log.txt, and a torchrun stderr file."""
from __future__ import annotations

import re

import pytest

from analyzer.parsers import buildnanogpt, scores
from tests.analyzer._parse_util import assert_same_run, events, of_type, real_names, run

STDOUT = """\
total desired batch size: 524288
=> calculated gradient accumulation steps: 2
found 99 shards for split train
found 1 shards for split val
using fused AdamW: True
validation loss: 10.9522
HellaSwag accuracy: 2497/10042=0.2487
step     0 | loss: 10.955010 | lr 8.3916e-07 | norm: 15.3421 | dt: 23547.83ms | tok/sec: 22264.81
step     1 | loss: 10.902707 | lr 1.6783e-06 | norm: 14.8630 | dt: 410.25ms | tok/sec: 1277966.93
validation loss: 10.7000
HellaSwag accuracy: 2436/10042=0.2426
rank 1 sample 0: Hello, I'm a language model, "CD.
The I) The time is more time, it with the
rank 0 sample 0: Hello, I'm a language model, this is
[Enter code for this simulation]
step     2 | loss: 10.803959 | lr 2.5175e-06 | norm: nan | dt: 18264.89ms | tok/sec: 28704.70
"""


def test_stdout():
    evs = events(buildnanogpt, STDOUT)
    it = of_type(evs, "iter")
    assert [(i["step"], i["loss"], i["lr"], i["grad_norm"], i["dt_ms"], i["tokens_per_s"],
             i["eval_inclusive"]) for i in it] == [
        (0, 10.95501, 8.3916e-07, 15.3421, 23547.83, 22264.81, True),
        (1, 10.902707, 1.6783e-06, 14.863, 410.25, 1277966.93, False),
        (2, 10.803959, 2.5175e-06, None, 18264.89, 28704.7, True)]   # eval at the top of 2
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 10.9522), (2, 10.7)]
    assert [(m["step"], m["name"], m["value"]) for m in of_type(evs, "metric")] == [
        (0, "hellaswag", 0.2487), (2, "hellaswag", 0.2426)]
    assert [(a["step"], a["kind"]) for a in of_type(evs, "anomaly")] == [(2, "nonfinite_grad")]
    r = run(buildnanogpt, STDOUT)
    assert r.meta["tokens_per_iter"] == 524288 and r.meta["config"]["grad_accum_steps"] == 2
    assert r.stats.skipped == 0  # sample text over several lines is recognised


def test_log_file():
    text = "0 val 10.9310\n0 hella 0.2413\n0 train 10.934416\n1 train 10.883945\n"
    evs = events(buildnanogpt, text)
    assert [(i["step"], i["loss"], i["dt_ms"], i["eval_inclusive"])
            for i in of_type(evs, "iter")] == [(0, 10.934416, None, False),
                                               (1, 10.883945, None, False)]
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 10.931)]
    assert [(m["step"], m["value"]) for m in of_type(evs, "metric")] == [(0, 0.2413)]


def test_a_fork_with_dt_without_ms_and_a_capital_validation_loss():
    """'Validation loss 10.9535' is the eval at step 0; 'dt: 12701.84' with no unit is ms, as
    524288 tokens over its tok/sec show (a line cut in the dt field stays no time)."""
    text = ("total desired batch size: 524288\n"
            "Validation loss 10.9535\n"
            "step    0 | loss: 10.955009 | lr: 1.2000e-05 | norm: 15.9685 | dt: 12701.84 | "
            "tok/sec: 41276.54\n"
            "step    1 | loss: 10.440608 | lr: 2.4000e-05 | norm: 9.0330 | dt: 498.35 | "
            "tok/sec: 1052056.01\n"
            "step    2 | loss: 10.040066 | lr: 3.6000e-05 | norm: 5.4874 | dt: 493\n")
    evs = events(buildnanogpt, text)
    assert [(i["step"], i["dt_ms"]) for i in of_type(evs, "iter")] == [
        (0, 12701.84), (1, 498.35), (2, None)]
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 10.9535)]


def test_torchrun_stderr_with_a_time_limit():
    text = ("slurmstepd: error: *** STEP 1809955.0 ON nid006965 CANCELLED AT 2026-04-07T08:18:54"
            " DUE TO TIME LIMIT ***\n"
            "W0407 08:18:54.022000 79282 api.py:723] Received 15 death signal, shutting down\n"
            "--- Logging error ---\nTraceback (most recent call last):\n  File \"x\", line 1\n"
            "torch.distributed.elastic.multiprocessing.api.SignalException: Process 79282 got "
            "signal: 15\n")
    r = run(buildnanogpt, text)
    assert len(r.iters) == 0 and r.end["status"] == "interrupted"
    assert "DUE TO TIME LIMIT" in r.end["error"]
    assert buildnanogpt.detect(text.splitlines() + ["Setting OMP_NUM_THREADS environment"]) > 0.2


@pytest.mark.parametrize("chunk", [1, 3])
def test_chunks(chunk):
    assert_same_run(run(buildnanogpt, STDOUT), run(buildnanogpt, STDOUT, chunk=chunk))


def test_detect():
    assert buildnanogpt.detect(STDOUT.splitlines()[7:9]) > 0.9
    assert buildnanogpt.detect(["0 val 10.9310", "0 hella 0.2413", "0 train 10.934416"]) > 0.8
    assert buildnanogpt.detect(["iter 0: loss 4.2, time 1.0ms, mfu 1.00%"]) == 0
    assert buildnanogpt.detect(["step:1/6000 train_loss:11.0091 train_time:24179ms"]) == 0


# --------------------------------------------------------------------- the real logs
def _lines(path):
    return path.read_text(errors="replace").splitlines()


NAMES = real_names("build-nanogpt")


def test_all_real_files_are_tested(realdata):
    assert len(NAMES) >= 7


@pytest.mark.parametrize("name", NAMES)
def test_real_file_loads_with_independent_counts(realdata, name):
    path = realdata / "build-nanogpt" / name
    r = run(buildnanogpt, path.read_bytes())
    lines = _lines(path)
    if path.suffix == ".txt":
        n_iter = sum(" train " in x for x in lines)
        n_eval = sum(" val " in x for x in lines)
        n_hella = sum(" hella " in x for x in lines)
    else:
        n_iter = sum(x.startswith("step ") and "| loss:" in x for x in lines)
        n_eval = sum(x.startswith("validation loss:") for x in lines)
        n_hella = sum(x.startswith("HellaSwag accuracy:") for x in lines)
    assert (len(r.iters), len(r.evals), len(r.metrics)) == (n_iter, n_eval, n_hella)
    assert not any(s[1].startswith("parser error") for s in r.stats.samples)
    if n_iter:
        first = next(x for x in lines if re.match(r"(step\s+0 \||0 train )", x))
        assert r.iters["loss"].iloc[0] == float(re.findall(r"\d+\.\d+", first)[0])
        assert r.iters["step"].is_monotonic_increasing and r.n_segments == 1


def test_full_stdout(realdata):
    path = realdata / "build-nanogpt" / "agndm-1epoch-4gpu-stdout.log"
    r = run(buildnanogpt, path.read_bytes())
    assert r.iters["step"].iloc[-1] == 19072 and len(r.iters) == 19073
    spikes = r.iters[r.iters["eval_inclusive"]]
    assert spikes["step"].tolist() == sorted(set(range(0, 19073, 250)) | {19072})
    assert (spikes["dt_ms"] > 15_000).all()
    assert (r.iters.loc[~r.iters["eval_inclusive"], "dt_ms"] < 2_000).all()
    assert r.stats.skipped == 0


def test_first_eval_of_a_second_run_in_the_file_is_its_step_0():
    # two runs of the same script in one file (a run, then the same under a profiler): the
    # second run's header, then its first 'validation loss' (at the top of its step 0). It
    # is that run's eval at step 0, not an eval at step 2 of the run before (which made a
    # run of one eval and no iterations, and three runs in the file)
    one = """\
found 15 shards for split train
found 1 shards for split val
validation loss: 11.0437
step     0 | loss: 11.041492 | lr 6.0000e-04 | norm: 15.6641 | dt: 13004.28ms | tok/sec: 40316.58
validation loss: 8.7634
step     1 | loss: 10.007135 | lr 6.0000e-04 | norm: 3.9044 | dt: 9187.98ms | tok/sec: 57062.38
"""
    evs = events(buildnanogpt, one + "=== Training Complete ===\n" + one.replace("8.7634", "8.7633"))
    assert [e["type"] for e in evs if e["type"] in ("run_start", "resume")] == ["run_start"] * 2
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (0, 11.0437), (1, 8.7634), (0, 11.0437), (1, 8.7633)]
    r = run(buildnanogpt, one + one.replace("8.7634", "8.7633"))
    assert r.n_segments == 2
    assert r.evals["val_loss"].tolist()[-1] == 8.7633


# the standard head and a retyped tail ('Step', 'dt: 10608.56 ms', 'lr 6.0001 e-05')
RETYPED = """\
total desired batch size: 524288
=> calculated gradient accumulation steps: 32
validation loss: 10.9499
HellaSwag accuracy: 2504/10042=0.2494
step     0 | loss: 10.955019 | lr 8.3916e-07 | norm: 15.3426 | dt: 75229.21ms | tok/sec: 6969.21
step     1 | loss: 10.902682 | lr 1.6783e-06 | norm: 14.8635 | dt: 10453.95ms | tok/sec: 50152.16
......
Step 19070 | loss: 2.983717 | lr 6.0000 e-05 | norm: 0.3110 | dt: 10610.45 ms | tok/sec: 49412.43
Step 19071 | loss: 3.073220 | lr 6.0001 e-05 | norm: 0.3302 | dt: 10616.20 ms | tok/sec: 49385.63
Validation loss: 3.0331
HellaSwag accuracy: 3052/10042=0.3039
"""


def test_a_retyped_capital_step_tail_after_the_standard_head():
    # the tail's 'Step N | loss:' lines are nanochat's shape too: build-nanogpt's own head
    # and step lines decide (both 0.95, build-nanogpt first on a tie)
    assert scores(RETYPED.splitlines())[0][1] == "buildnanogpt"
    evs = events(buildnanogpt, RETYPED)
    assert [(i["step"], i["lr"], i["dt_ms"]) for i in of_type(evs, "iter")] == [
        (0, 8.3916e-07, 75229.21), (1, 1.6783e-06, 10453.95), (19070, 6.0e-05, 10610.45),
        (19071, 6.0001e-05, 10616.2)]
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (0, 10.9499), (19072, 3.0331)]
    assert [(m["step"], m["value"]) for m in of_type(evs, "metric")] == [
        (0, 0.2494), (19072, 0.3039)]


AT_STEP = """\
total desired batch size: 65536
validation loss: 10.8410
Evaluating HellaSwag at step 0...
HellaSwag accuracy: 2460/10042=0.2450
step     0 | loss: 10.837882 | lr 6.0000e-05 | norm: 1.4973 | dt: 259741.99ms | tok/sec: 252.31
...
validation loss: 8.0558
Evaluating HellaSwag at step 49...
HellaSwag accuracy: 2452/10042=0.2442
"""


def test_an_eval_that_names_its_step_is_placed_there():
    """Lines were cut after step 0: the eval's own 'at step 49' says where it ran, not the
    step after the last step line (1)."""
    evs = events(buildnanogpt, AT_STEP)
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (0, 10.841), (49, 8.0558)]
    assert [(m["step"], m["value"]) for m in of_type(evs, "metric")] == [
        (0, 0.245), (49, 0.2442)]
    # a val line that is the last line still counts (at the end of the input)
    last = events(buildnanogpt, STDOUT + "validation loss: 10.5\n")
    assert [(e["step"], e["val_loss"]) for e in of_type(last, "eval")][-1] == (3, 10.5)


@pytest.mark.parametrize("text", [RETYPED, AT_STEP])
@pytest.mark.parametrize("chunk", [1, 2])
def test_evals_held_a_line_read_the_same_in_chunks(text, chunk):
    assert_same_run(run(buildnanogpt, text), run(buildnanogpt, text, chunk=chunk))


def test_a_resume_line_in_any_wording_continues_the_run():
    """A log.txt whose trainer notes its resume ('# resumed at <time> from step 104'): the
    steps done again after it belong to the same run, which starts where it started (its
    first segment), not at the lowest step done again."""
    from analyzer.stats import summarize
    text = ("".join(f"{s} train {4 - s / 100:.6f}\n" for s in range(100, 110))
            + "# resumed at 2026-05-30T03:52:09.541754 from step 104\n"
            + "".join(f"{s} train {4 - s / 100:.6f}\n" for s in range(104, 112)))
    r = run(buildnanogpt, text)
    assert [s["kind"] for s in r.segments] == ["run_start", "resume"]
    s = summarize(r)
    assert (s["runs"], s["first_step"], s["last_step"]) == (1, 100, 111)


def test_an_excerpt_opening_on_an_eval_puts_it_at_the_first_step_after_it():
    """A stdout excerpt whose first lines are an eval (no header, no step yet): the eval ran
    at the top of the first step printed after it, not at step 0; and the evals' share of
    the time is the run's (one eval against an interval of steps), not the excerpt's, which
    opens and closes on one."""
    from analyzer.diagnostics import DiagnosticsConfig
    from analyzer.diagnostics.timing import eval_spikes
    from analyzer.parsers import buildnanogpt as bn
    from tests.analyzer._parse_util import run as run_
    line = ("step {s} | loss: 3.5 | lr 6.0000e-05 | norm: 0.68 | dt: {dt:.2f}ms | "
            "tok/sec: 48373.07\n")
    text = ("validation loss: 3.5626\nHellaSwag accuracy: 2638/10042=0.2627\n"
            + "".join(line.format(s=s, dt=10000.0 if s in (100, 350) else 100.0)
                      for s in range(100, 351))
            .replace("step 350 |", "validation loss: 3.5576\nstep 350 |"))
    r = run_(bn, text)
    assert r.iters["step"].iloc[0] == 100
    assert r.evals[["step", "val_loss"]].values.tolist() == [[100, 3.5626], [350, 3.5576]]
    assert r.metrics[["step", "name"]].values.tolist() == [[100, "hellaswag"]]
    (f,) = eval_spikes(r, DiagnosticsConfig())
    assert f.evidence["eval_overhead_frac"] == pytest.approx(9900 / (250 * 100 + 9900))
