"""modded-nanogpt record logs: every era of the step line, the warm-up clock reset, units."""
from __future__ import annotations

import math
import re

import pytest

from analyzer.parsers import modded
from tests.analyzer._parse_util import assert_same_run, events, of_type, real_names, run

HEADER = """\
====================================================================================================
Running pytorch 2.4.1+cu121 compiled for CUDA 12.1
nvidia-smi:
Wed Oct  9 18:10:50 2024
+---------------------------------------------------------------------------------------+
|   0  NVIDIA H100 80GB HBM3          On  | 00000000:61:00.0 Off |                    0 |
| N/A   30C    P0             113W / 700W |   5789MiB / 81559MiB |      5%      Default |
+-----------------------------------------+----------------------+----------------------+
|   1  NVIDIA H100 80GB HBM3          On  | 00000000:62:00.0 Off |                    0 |
+-----------------------------------------+----------------------+----------------------+
====================================================================================================
"""
STEPS = """\
step:0/12 val_loss:11.0149 train_time:305ms step_avg:nanms
step:1/12 train_loss:11.0091 train_time:24179ms step_avg:nanms
step:2/12 train_loss:11.0001 train_time:24523ms step_avg:nanms
step:10/12 train_loss:10.4348 train_time:26562ms step_avg:nanms
step:11/12 train_loss:10.2423 train_time:1539ms step_avg:nanms
step:12/12 train_loss:10.0687 train_time:1796ms step_avg:898.00ms
step:12/12 val_loss:9.9000 train_time:1800ms step_avg:900.00ms
peak memory consumption: 34239 MiB
"""


def test_steps_are_zero_based_and_step_ms_comes_from_the_clock():
    evs = events(modded, HEADER + STEPS)
    it = of_type(evs, "iter")
    # steps as printed (step:N after N steps; a reader searches the log for them)
    assert [i["step"] for i in it] == [1, 2, 10, 11, 12]
    assert [i["loss"] for i in it] == [11.0091, 11.0001, 10.4348, 10.2423, 10.0687]
    # differences of train_time; after the reset at step 10 the value itself
    # (step:2 to step:10 are 8 steps: the difference is spread over them)
    assert [i["step_ms"] for i in it] == [24179 - 305, 24523 - 24179, (26562 - 24523) / 8,
                                          1539, 1796 - 1539]
    assert all(i["dt_ms"] is None and not i["eval_inclusive"] for i in it)
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 11.0149),
                                                                            (12, 9.9)]
    end = of_type(evs, "run_end")
    assert len(end) == 1 and end[0]["status"] == "completed"   # the val at step M of M


def test_header():
    r = run(modded, HEADER + STEPS)
    assert (r.meta["torch_version"], r.meta["device"], r.meta["device_name"],
            r.meta["world_size"], r.meta["max_iters"]) == (
        "2.4.1+cu121", "cuda", "NVIDIA H100 80GB HBM3", 2, 12)
    assert r.stats.skipped == 0


@pytest.mark.parametrize("line, step, loss, step_ms", [
    ("step:1/1480 train_time:29476ms step_avg:nanms", 1, None, 29476.0),   # no train loss
    ("step:1/4875 train_time:5.418s step_avg:5418.26ms", 1, None, 5418.0),  # seconds
    ("step:1/4875 train_loss:3.5 train_time:0.5s step_avg:nanms", 1, 3.5, 500.0),
    # a log cut mid-run: its first line's clock holds many steps, none of them known
    ("step:3/4875 train_loss:3.5 train_time:0.5s step_avg:nanms", 3, 3.5, None),
])
def test_line_forms(line, step, loss, step_ms):
    it = of_type(events(modded, line), "iter")
    assert (it[0]["step"], it[0]["loss"], it[0]["step_ms"]) == (step, loss, step_ms)
    assert of_type(events(modded, line), "anomaly") == []  # no loss printed is not a NaN


def test_world_size_printed_wins():
    r = run(modded, "Running on device_name=NVIDIA H100 80GB HBM3 with world_size=8\n"
                    "|   0  NVIDIA H100 80GB HBM3          On  | 0:61:00.0 Off |   0 |\n"
                    "step:1/5 train_time:5.418s step_avg:5418.26ms\n")
    assert r.meta["world_size"] == 8


def test_nan_loss():
    evs = events(modded, "step:1/5 train_loss:nan train_time:10ms step_avg:nanms")
    assert of_type(evs, "iter")[0]["loss"] is None
    assert of_type(evs, "anomaly")[0]["kind"] == "nonfinite_loss"


@pytest.mark.parametrize("chunk", [1, 5])
def test_chunks(chunk):
    assert_same_run(run(modded, HEADER + STEPS), run(modded, HEADER + STEPS, chunk=chunk))


def test_detect():
    assert modded.detect(STEPS.splitlines()) > 0.9
    assert modded.detect(["iter 0: loss 4.2, time 1.0ms, mfu 1.00%"]) == 0
    assert modded.detect(["step 0: train loss 5.356189 (took 1452.121000 ms)"]) == 0


# --------------------------------------------------------------------- the real logs
@pytest.fixture(scope="module")
def files(real_logs):
    return real_logs("modded-nanogpt", minimum=10)


@pytest.mark.parametrize("name", real_names("modded-nanogpt", "*.log"))
def test_real_log_loads_with_independent_counts(files, name):
    path = files[name]
    lines = path.read_text(errors="replace").splitlines()
    r = run(modded, path.read_bytes())
    n_train = sum(x.startswith("step:") and "val_loss" not in x for x in lines)
    n_val = sum(x.startswith("step:") and "val_loss" in x for x in lines)
    assert (len(r.iters), len(r.evals)) == (n_train, n_val)
    total = int(re.match(r"step:\d+/(\d+)", next(x for x in lines
                                                  if x.startswith("step:"))).group(1))
    assert r.iters["step"].tolist() == list(range(1, total + 1))
    assert r.end["status"] == "completed" and r.meta["max_iters"] == total
    assert (r.iters["step_ms"] > 0).all()
    last_val = float(lines[[i for i, x in enumerate(lines) if "val_loss" in x][-1]]
                     .split("val_loss:")[1].split()[0])
    assert r.evals["val_loss"].iloc[-1] == last_val
    assert r.stats.skipped <= 1   # the one stray '74' line of the track-2 record
    has_loss = any("train_loss" in x for x in lines)
    assert r.iters["loss"].notna().all() if has_loss else r.iters["loss"].isna().all()


def test_wall_time_of_a_record_matches_its_last_train_time(files):
    # the step times after the warm-up reset add up to the final train_time
    path = files["2024-10-10-muon-train_loss-format.log"]
    last = [x for x in path.read_text().splitlines() if "train_loss" in x][-1]
    final_ms = float(last.split("train_time:")[1].split("ms")[0])
    r = run(modded, path.read_bytes())
    assert math.isclose(r.iters.loc[r.iters["step"] >= 11, "step_ms"].sum(), final_ms)
    s = run(modded, files["2026-04-30-track3-adamh-seconds-format.log"].read_bytes())
    assert s.iters["step_ms"].median() == pytest.approx(151, abs=5)


def test_sparse_logging_divides_the_clock_by_the_steps_between_lines():
    # every 125th step printed, log starting mid-run: 50 s / 125 steps = 400 ms a step
    text = ("step:1000/6000 train_loss:4.0 train_time:400000ms step_avg:400.00ms\n"
            "step:1125/6000 train_loss:3.9 train_time:450000ms step_avg:400.00ms\n"
            "step:1250/6000 train_loss:3.8 train_time:500000ms step_avg:400.00ms\n"
            "step:1250/6000 val_loss:3.95 train_time:500000ms step_avg:400.00ms\n"
            "step:1375/6000 train_loss:3.7 train_time:550000ms step_avg:400.00ms\n")
    it = of_type(events(modded, text), "iter")
    assert [i["step_ms"] for i in it] == [None, 400.0, 400.0, 400.0]


def test_a_log_of_val_lines_only_still_has_its_step_time():
    # issue #12 class 1: a grep of the val lines (or a record without training lines): the
    # clock difference of two val lines over the steps between them is the step time; the
    # first line of a log cut mid-run has none, and step 0 (nothing trained) is no iteration
    text = ("step:0/1000 val_loss:7.7109 train_time:0ms step_avg:nanms\n"
            "step:125/1000 val_loss:4.3719 train_time:30000ms step_avg:240.00ms\n"
            "step:250/1000 val_loss:3.9992 train_time:62500ms step_avg:250.00ms\n")
    r = run(modded, text)
    assert r.iters["step"].tolist() == [125, 250]
    assert r.iters["step_ms"].tolist() == [240.0, 260.0]
    assert r.iters["loss"].isna().all() and r.evals["step"].tolist() == [0, 125, 250]
    tail = run(modded, "step:375/3325 val_loss:3.97894 train_time:44.913s step_avg:119.77ms\n"
                       "step:500/3325 val_loss:3.85642 train_time:57.851s step_avg:115.70ms\n")
    assert tail.iters["step_ms"].tolist()[0] != tail.iters["step_ms"].tolist()[0]  # NaN
    assert tail.iters["step_ms"].tolist()[1] == pytest.approx(103.504)


def test_val_lines_beside_training_lines_add_no_iteration():
    text = ("step:1/100 train_loss:11.0 train_time:240ms step_avg:nanms\n"
            "step:2/100 train_loss:10.9 train_time:480ms step_avg:nanms\n"
            "step:2/100 val_loss:10.8 train_time:480ms step_avg:240.00ms\n"
            "step:4/100 val_loss:10.5 train_time:960ms step_avg:240.00ms\n")
    r = run(modded, text)
    assert r.iters["step"].tolist() == [1, 2] and r.evals["step"].tolist() == [2, 4]


def test_another_step_total_is_another_run():
    # 'step:i/20' lines, then 'step:i/10' lines with no header between: two runs
    line = "step:{i}/{n} train_loss:5.0 train_time:{t}ms step_avg:60.00ms\n"
    text = ("".join(line.format(i=i, n=20, t=60 * i) for i in (1, 2, 3))
            + "".join(line.format(i=i, n=10, t=60 * i) for i in (1, 2, 3)))
    starts = [e for e in events(modded, text) if e["type"] in ("run_start", "resume")]
    assert [(e["type"], e["step"], e["max_iters"]) for e in starts] == [
        ("run_start", 1, 20), ("run_start", 1, 10)]


def test_stopping_early_at_the_wallclock_cap_is_how_the_run_completed():
    # parameter-golf's trainers stop at their own time budget and say so; the lines after it
    # (sizes, a quantised model's eval) are no training
    text = ("step:2250/20000 train_loss:2.1736 train_time:595466ms step_avg:264.65ms\n"
            "step:2268/20000 val_loss:2.1398 val_bpb:1.2673 train_time:600242ms step_avg:264.66ms\n"
            "stopping_early: wallclock_cap train_time:600242ms step:2268/20000\n"
            "peak memory allocated: 6687 MiB reserved: 6954 MiB\n")
    (end,) = of_type(events(modded, text), "run_end")
    assert (end["status"], end["step"], end["error"]) == ("completed", 2268, None)


def test_a_log_printing_every_nth_step_keeps_the_clock():
    """Printed every 125 steps, each line's step time is one step's (the clock difference
    over 125): the event clock moves 125 of them per line, ending at the printed
    train_time, not at 1/125 of it."""
    lines = ["step:0/500 val_loss:11.0000 train_time:0ms step_avg:nanms"]
    lines += [f"step:{n}/500 train_loss:4.0 train_time:{n * 100}ms step_avg:100.00ms"
              for n in range(125, 501, 125)]
    it = of_type(events(modded, "\n".join(lines) + "\n"), "iter")
    assert [i["step_ms"] for i in it] == [100.0] * 4
    assert [i["time"] for i in it] == pytest.approx([12.5, 25.0, 37.5, 50.0])


def test_a_ports_padded_steps_separators_and_seconds_clock():
    """A port for a laptop GPU pads the step and separates fields with ' | ' (and prints
    the clock in seconds): the same fields, read the same way."""
    text = ("step:   0/3250 | val_loss:10.8258 | train_time:0.0s | step_avg:nanms | "
            "peak_vram:1043MB\n"
            "step:  10/3250 | train_time:56.9s | step_avg:5692.2ms | peak_vram:3840MB\n"
            "step:  20/3250 | train_time:77.2s | step_avg:3861.5ms | peak_vram:3840MB\n"
            "step: 125/3250 | val_loss:5.4178 | train_time:577.1s | step_avg:4616.5ms\n")
    assert modded.detect(text.splitlines()) >= 0.9
    evs = events(modded, text)
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 10.8258),
                                                                            (125, 5.4178)]
    it = of_type(evs, "iter")
    assert [i["step"] for i in it] == [10, 20]
    assert [i["step_ms"] for i in it] == pytest.approx([5690.0, 2030.0])


def test_short_field_names_loss_and_t():
    # a parameter-golf record prints 'loss' and 't' for train_loss and train_time
    text = "".join(f"step:{s}/10000 loss:{3.3 - s / 100000:.4f} t:{s * 91.9:.0f}ms avg:91.9ms\n"
                   for s in range(1000, 7000, 1000))
    r = run(modded, text)
    assert r.iters["step"].tolist() == [1000, 2000, 3000, 4000, 5000, 6000]
    assert r.iters["loss"].iloc[-1] == 3.24
    assert r.iters["step_ms"].dropna().round(1).tolist() == [91.9] * 5
    # 't' without a time unit is not a clock
    assert run(modded, "step:1000/10000 loss:3.3 t:0.5\nstep:2000/10000 loss:3.2 t:0.6\n"
               ).iters["step_ms"].isna().all()


def test_a_forks_param_count_and_timed_evals_on_its_val_lines():
    # 'param_count:132,475,500' on the val lines; 'val_time: 790ms' (with a space) is the
    # eval's own time, while train_time stops for it
    text = ("step:0/20 val_loss:3.4965 val_time: 12ms train_time:0ms step_avg:nanms "
            "param_count:132,475,500\n"
            + "".join(f"step:{s}/20 train_loss:3.{s:02d} train_time:{60 * s}ms "
                      f"step_avg:60.00ms\n" for s in range(1, 21))
            + "step:20/20 val_loss:3.2769 val_time: 106972ms train_time:1200ms "
              "step_avg:60.00ms param_count:132,475,500\n")
    r = run(modded, text)
    assert r.meta["model"]["n_params"] == 132475500
    assert r.evals["eval_ms"].tolist() == [12.0, 106972.0]
    assert r.iters["step_ms"].dropna().round(1).unique().tolist() == [60.0]


def test_a_forks_comma_after_the_step_and_its_average_train_loss():
    text = ("step:0/1000, tokens seen: 0.00M, val_loss:7.0619 train_time:1.20s step_avg:nanms\n"
            "step:10/1000, tokens seen:0.59M, avg_train_loss:5.2522 time:73/nans step_avg:nanms\n"
            "step:10/1000, tokens seen: 0.66M, val_loss:4.5649 train_time:0.00s step_avg:nanms\n"
            "step:20/1000, tokens seen:1.25M, avg_train_loss:4.4059 time:112/355s "
            "step_avg:355ms\n")
    r = run(modded, text)
    assert r.iters["loss"].tolist() == [5.2522, 4.4059]
    assert r.evals["val_loss"].tolist() == [7.0619, 4.5649]


def test_a_forks_untimed_training_lines_take_the_val_lines_clock():
    """A fork prints no train_time on its training lines, only on the val line after each
    ('avg_train_loss:… time:182/1147s' then 'val_loss:… train_time:11.47s'): the training
    line's step time is the val clocks' difference; none across the reset at step 10."""
    text = ("step:0/1000, tokens seen: 0.00M, val_loss:10.9830 train_time:0.21s step_avg:nanms\n"
            "step:10/1000, tokens seen:0.59M, avg_train_loss:10.0153 time:125/nans "
            "step_avg:nanms\n"
            "step:10/1000, tokens seen: 0.66M, val_loss:10.5120 train_time:0.00s step_avg:nanms\n"
            "step:20/1000, tokens seen:1.25M, avg_train_loss:9.5 time:182/1147s step_avg:1147ms\n"
            "step:20/1000, tokens seen: 1.31M, val_loss:9.4 train_time:11.47s step_avg:1147ms\n"
            "step:30/1000, tokens seen:1.90M, avg_train_loss:9.1 time:239/1146s step_avg:1146ms\n"
            "step:30/1000, tokens seen: 1.97M, val_loss:9.0 train_time:22.92s step_avg:1146ms\n")
    it = of_type(events(modded, text), "iter")
    assert [(i["step"], i["loss"]) for i in it] == [(10, 10.0153), (20, 9.5), (30, 9.1)]
    assert [i["step_ms"] for i in it] == [None, pytest.approx(1147.0), pytest.approx(1145.0)]


def test_a_launch_dying_in_moddeds_script_is_detected_as_modded():
    """torchrun's banner, then a traceback through modded-nanogpt's train_gpt.py and no step:
    modded's (build-nanogpt's script is train_gpt2.py)."""
    from analyzer.parsers import scores
    head = ["W0727 22:35:28.165000 84470 torch/distributed/run.py:852] Setting OMP_NUM_THREADS "
            "environment variable for each process to be 1 in default",
            "Traceback (most recent call last):",
            '  File "train_gpt.py", line 41, in <module>',
            "ModuleNotFoundError: No module named 'triton_kernels'"]
    assert scores(head)[0][1] == "modded"
    assert modded.detect(['  File "/x/train_gpt2.py", line 41, in <module>']) == 0.0
    assert modded.detect(['  File "/x/train_gpt_ablate.py", line 2450, in <module>']) == 0.3
