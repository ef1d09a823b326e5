"""Eval-induced spikes (expected), unexplained spikes, throughput drops, and the throughput
statistics that leave evals and warm-up out."""
from __future__ import annotations

import numpy as np
import pytest

from analyzer import stats
from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.timing import eval_spikes, throughput_drop, timing_spikes
from tests.analyzer._synth import ev, it, iters, run

CFG = DiagnosticsConfig()


def nanogpt_like(eval_every=100, log_every=10, n=1000, normal=20.0, eval_extra=1000.0,
                 first=5000.0, with_eval_rows=True):
    """Steps 0..n-1 logged every log_every; an eval at the top of every eval_every-th step."""
    steps = list(range(0, n, log_every))
    dts = [first if s == 0 else normal + (eval_extra if s % eval_every == 0 else 0.0)
           for s in steps]
    evs = [ev(s, 2.0, 2.1) for s in range(0, n, eval_every)] if with_eval_rows else []
    return run(iters(steps, 2.0, dts), evs)


def test_eval_spikes_explained_and_overhead_by_hand():
    r = nanogpt_like(eval_extra=500.0)
    (f,) = eval_spikes(r, CFG)
    assert f.code == "eval_spikes" and f.severity == "info"
    assert f.steps == (100, 900) and f.evidence["eval_iters"] == 9
    # by hand: steps 0..990 are 991 iterations; 90 normal logged ones (1800 ms) + 9 eval
    # steps (9 * 520) + iter 0 (5000) + 891 unlogged at 20 ms = 29300 ms; evals add 4500,
    # and 500 of iter 0 (it ran the step-0 eval at its top, as long as the others)
    assert f.evidence["wall_s"] == pytest.approx(29.3)
    assert f.evidence["eval_overhead_frac"] == pytest.approx(5000 / 29300)
    assert "expected" in f.message


@pytest.mark.parametrize("eval_extra, eval_every, why", [
    (2500.0, 500, "one eval costs 126x a step (but under 25% of the time)"),
    (1000.0, 100, "evals take 27% of the wall time (each 51x a step)"),
])
def test_costly_evals_are_a_warning(eval_extra, eval_every, why):
    (f,) = eval_spikes(nanogpt_like(eval_extra=eval_extra, eval_every=eval_every), CFG)
    assert f.severity == "warning", why
    assert "costly" in f.message and "eval_iters" in f.suggestion


def test_throughput_stats_leave_evals_and_warmup_out():
    r = nanogpt_like()
    st = stats.throughput_stats(r, warmup_steps=10)
    assert st.median_step_ms == pytest.approx(20.0)
    assert st.p90_step_ms == pytest.approx(20.0)  # no eval step leaks into the percentiles
    assert (st.eval_iters, st.warmup_iters, st.steady_iters) == (9, 1, 90)
    # iter 0 is 4980 ms over a step: the step-0 eval's typical 1000 of it, the rest warm-up
    assert st.warmup_overhead_s == pytest.approx(3.98)
    assert st.eval_overhead_s == pytest.approx(10.0)


def test_a_first_iteration_with_an_eval_gives_the_eval_its_typical_time_at_most():
    # build-nanogpt on a T4: step 0 (458 s) ran the eval at its top like steps 250, 500,
    # 750 (~451 s over a 5.2 s step); before, all of step 0 was warm-up: evals 24%, not 30%
    steps = list(range(0, 1000))
    dts = [458_000.0 if s == 0 else 5_200.0 + (451_000.0 if s % 250 == 0 else 0.0)
           for s in steps]
    r = run(iters(steps, 2.0, dts), [ev(s, 2.0, 2.1) for s in range(0, 1000, 250)])
    st = stats.throughput_stats(r, warmup_steps=10)
    assert st.eval_overhead_s == pytest.approx(4 * 451.0)
    assert st.warmup_overhead_s == pytest.approx(458.0 - 5.2 - 451.0)
    # never more than the first iteration's own extra time; no other eval: all warm-up
    r = run(iters(steps, 2.0, [105_200.0] + dts[1:]),
            [ev(s, 2.0, 2.1) for s in range(0, 1000, 250)])
    assert stats.throughput_stats(r, 10).eval_overhead_s == pytest.approx(3 * 451.0 + 100.0)
    r = run(iters(steps, 2.0, [454_700.0] + [5_200.0] * 999), [ev(0, 2.0, 2.1)])
    st = stats.throughput_stats(r, 10)
    assert st.eval_overhead_s is None and st.warmup_overhead_s == pytest.approx(449.5)


def test_eval_flag_without_eval_rows():
    # our JSONL marks the iteration itself
    steps = list(range(0, 300))
    evi = [s % 50 == 0 and s > 0 for s in steps]
    r = run(iters(steps, 2.0, [520.0 if e else 20.0 for e in evi], eval_inclusive=evi))
    (f,) = eval_spikes(r, CFG)
    assert f.evidence["eval_iters"] == 5


def test_checkpoint_at_a_step_also_explains_it():
    from gptscope.schema import make_event
    steps = list(range(0, 300, 10))
    dts = [800.0 if s in (100, 200) else 20.0 for s in steps]
    ckpt = [make_event("checkpoint", "r", s, 0.0, path="ckpt.pt") for s in (100, 200)]
    r = run(iters(steps, 2.0, dts), ckpt)
    assert eval_spikes(r, CFG)[0].evidence["eval_iters"] == 2
    assert timing_spikes(r, CFG) == []


def test_no_eval_spike_when_dt_excludes_the_eval():
    # llm.c and modded-nanogpt time the step alone: evals do not show in dt
    r = nanogpt_like(eval_extra=0.0)
    assert eval_spikes(r, CFG) == []


def test_without_eval_rows_the_spikes_are_unexplained():
    r = nanogpt_like(with_eval_rows=False)
    (f,) = timing_spikes(r, CFG)
    assert f.code == "timing_spikes" and f.evidence["periodic_every"] == 100
    assert f.severity == "info"  # periodic: something the loop does on purpose


def test_irregular_costly_spikes_are_a_warning():
    rng = np.random.default_rng(0)
    steps = list(range(1000))
    slow = set(rng.choice(np.arange(20, 1000), size=12, replace=False).tolist())
    dts = [400.0 if s in slow else 20.0 + rng.normal(0, 1) for s in steps]
    (f,) = timing_spikes(run(iters(steps, 2.0, dts)), CFG)
    assert f.severity == "warning" and f.evidence["spikes"] == 12
    assert f.evidence["periodic_every"] is None
    assert f.evidence["overhead_frac"] == pytest.approx(12 * 380 / sum(dts), rel=0.02)


@pytest.mark.parametrize("dts, why", [
    ([20.0] * 2000, "flat"),
    ([14.0 if i % 3 else 30.0 for i in range(2000)], "bimodal 14/30 ms"),
    ([20.0] * 1000 + [200.0] + [20.0] * 999, "one spike in 2000: 0.45% of the time"),
])
def test_no_timing_spikes(dts, why):
    assert timing_spikes(run(iters(range(2000), 2.0, dts)), CFG) == [], why


def test_throughput_drop_in_tokens_per_s_is_a_warning():
    steps = list(range(1000))
    tok = [50_000.0 if 500 <= s < 700 else 100_000.0 for s in steps]
    (f,) = throughput_drop(run(iters(steps, 2.0, 20.0, tokens_per_s=tok)), CFG)
    assert f.severity == "warning" and f.evidence["unit"] == "tokens_per_s"
    assert f.evidence["recovered"] is True
    assert f.evidence["typical"] == pytest.approx(100_000)
    assert f.evidence["during"] == pytest.approx(50_000)
    assert 480 <= f.steps[0] <= 520 and 680 <= f.steps[1] <= 720


def test_step_time_staircase_is_info():
    # modded-nanogpt style: batch size grows, step time with it, for good
    steps = list(range(1500))
    dts = [30.0 if s < 500 else 57.0 if s < 1000 else 83.0 for s in steps]
    (f,) = throughput_drop(run(iters(steps, 2.0, dts)), CFG)
    assert f.severity == "info" and f.evidence["recovered"] is False
    assert "schedule" in f.message


def test_step_time_ramp_back_down_in_the_last_few_steps_is_no_recovery():
    # a modded-nanogpt record timed every 25 steps: 17 ms, then a ramp to ~33 ms per step
    # while its window grows, and its last two intervals fast again (the schedule's end)
    dts = [17.3] * 14 + [17.3 + 16 * i / 33 for i in range(33)] + [21.5, 20.0]
    (f,) = throughput_drop(run(iters(range(25, 25 * (len(dts) + 1), 25), 2.0, dts)), CFG)
    assert f.severity == "info" and "only in the log's last steps" in f.message
    # the same fast stretch lasting as long as a drop must is a recovery, worth a warning
    dts = [17.3] * 14 + [33.0] * 33 + [17.3] * 12
    (f,) = throughput_drop(run(iters(range(25, 25 * (len(dts) + 1), 25), 2.0, dts)), CFG)
    assert f.severity == "warning" and f.message.endswith("and then recovered.")


@pytest.mark.parametrize("tok, why", [
    ([100_000.0] * 1000, "flat"),
    ([100_000.0 * (1 + 0.1 * np.sin(i / 7)) for i in range(1000)], "wobble of 10%"),
    ([100_000.0] * 990 + [10_000.0] * 10, "a short dip (< 5% of the run)"),
])
def test_no_throughput_drop(tok, why):
    r = run(iters(range(1000), 2.0, 20.0, tokens_per_s=tok))
    assert throughput_drop(r, CFG) == [], why


def test_single_logged_iteration_is_safe():
    r = run([it(0)])
    assert eval_spikes(r, CFG) == timing_spikes(r, CFG) == throughput_drop(r, CFG) == []
    assert stats.throughput_stats(r).median_step_ms is None


def test_step_ms_is_the_step_time_when_logged():
    # our trainer: dt_ms includes the eval at the top of the step, step_ms does not
    steps = list(range(0, 300))
    evi = [s % 100 == 0 for s in steps]
    dts = [520.0 if e else 21.0 for e in evi]
    r = run(iters(steps, 2.0, dts, step_ms=20.0, eval_inclusive=evi))
    st = stats.throughput_stats(r)
    assert st.median_step_ms == 20.0
    # the three evals (the first iteration's too) took 520 - 20 ms each beyond their step
    assert st.eval_overhead_s == pytest.approx(3 * 0.5)
    (f,) = eval_spikes(r, CFG)
    assert f.evidence["median_eval_dt_ms"] == 520.0


def test_clock_without_evals_uses_eval_ms_or_says_unknown():
    # modded-nanogpt: only step_ms (the clock stops during evals), no dt_ms
    steps = list(range(1, 301))
    r = run(iters(steps, 2.0, None, step_ms=100.0), [ev(s, None, 3.0) for s in (100, 200)])
    st = stats.throughput_stats(r)
    assert st.median_step_ms == 100.0 and st.eval_overhead_frac is None
    assert eval_spikes(r, CFG) == []
    r = run(iters(steps, 2.0, None, step_ms=100.0),
            [ev(s, None, 3.0, eval_ms=3000.0) for s in (100, 200)])
    st = stats.throughput_stats(r)
    # 300 steps of 100 ms, plus 6 s of evals
    assert st.wall_s == pytest.approx(36.0) and st.eval_overhead_frac == pytest.approx(6 / 36)


def test_spikes_in_step_ms_only_logs():
    steps = list(range(2000))
    step_ms = [1300.0 if s % 10 == 0 else 255.0 for s in steps]
    (f,) = timing_spikes(run(iters(steps, 2.0, None, step_ms=step_ms)), CFG)
    assert f.evidence["periodic_every"] == 10 and f.severity == "info"


def test_a_log_shorter_than_the_warm_up_still_has_a_step_time():
    # 5 logged steps: all inside warmup_steps; the steady time is that of all but the first
    from analyzer.stats import throughput_stats
    st = throughput_stats(run(iters(range(5), 2.0, [3000.0, 100.0, 104.0, 96.0, 100.0])), 10)
    assert st.median_step_ms == pytest.approx(100.0) and st.steady_iters == 4


def test_an_expected_slowdown_gets_no_hardware_advice():
    # step time alone grows to the end (a batch-size schedule): info, no thermal throttling
    dts = [20.0] * 300 + [40.0] * 300
    fs = [f for f in throughput_drop(run(iters(range(600), 2.0, dts)), CFG)]
    assert fs and all(f.severity == "info" and "thermal" not in f.suggestion for f in fs)


# ------------------------------------------------- evals whose line a pasted log left out
# realworld gtx1060-readme: 'step 750:' elided, its checkpoint line kept; 'iter 1000' at the
# next multiple of eval_interval=250 (printed nowhere), both ~138x a step
GTX1060 = """number of parameters: 10.65M
step 0: train loss 4.2874, val loss 4.2823
iter 0: loss 4.2675, time 124253.06ms, mfu -100.00%
iter 10: loss 3.2455, time 867.98ms, mfu 0.43%
... 30min later
saving checkpoint to out-shakespeare-char
iter 750: loss 1.4245, time 120214.49ms, mfu 0.38%
iter 760: loss 1.4523, time 876.03ms, mfu 0.38%
iter 770: loss 1.4261, time 872.84ms, mfu 0.39%
... 40min later
iter 980: loss 1.3589, time 869.70ms, mfu 0.42%
iter 990: loss 1.3402, time 878.26ms, mfu 0.42%
iter 1000: loss 1.3405, time 120470.64ms, mfu 0.38%
iter 1240: loss 1.2993, time 871.91ms, mfu 0.42%
"""


def _nanogpt(text):
    from analyzer.parsers import nanogpt
    from tests.analyzer._parse_util import run as parse
    return parse(nanogpt, text)


def _eval_steps(r):
    return r.iters["step"][stats.eval_spike_rows(r)].tolist()


def test_a_checkpoint_implies_an_eval_and_the_interval_the_next_one():
    # nanoGPT saves a checkpoint only right after an eval: the iteration after the line is
    # eval-inclusive (750), and 1000 is a slow step at a multiple of gcd(750, 1000) = 250
    r = _nanogpt(GTX1060)
    assert _eval_steps(r) == [750, 1000]
    (f,) = eval_spikes(r, CFG)
    assert f.severity == "warning" and f.evidence["max_ratio"] > 100
    assert timing_spikes(r, CFG) == []


def test_a_checkpoint_at_its_own_step_before_an_elision_marks_nothing_more():
    # realworld issue97: 'step 800' eval and checkpoint, then lines left out up to 'iter 997'
    text = ("step 800: train loss 0.9795, val loss 3.7535\nsaving checkpoint to out\n"
            + "\n".join(f"iter {s}: loss 1.0, time 745.50ms, mfu 0.38%" for s in range(791, 800))
            + "\n...\n" + "\n".join(f"iter {s}: loss 1.0, time 745.50ms, mfu 0.38%"
                                    for s in range(997, 1000)) + "\n")
    assert _eval_steps(_nanogpt(text)) == []


@pytest.mark.parametrize("slow, why", [
    (1230, "gcd(750, 1230) = 30: an interval that predicts fast logged steps"),
    (1100, "gcd(750, 1100) = 50: it predicts 800, 850, ... which were fast"),
])
def test_a_slow_step_off_the_eval_interval_stays_unexplained(slow, why):
    steps = [0] + list(range(750, 1300, 10))
    dts = [5000.0] + [40000.0 if s in (750, slow) else 20.0 for s in steps[1:]]
    r = run(iters(steps, 2.0, dts), [ev(0, 2.0, 2.1), ev(750, 1.5, 1.6)])
    assert _eval_steps(r) == [750], why
    (f,) = timing_spikes(r, CFG)
    assert f.steps == (slow, slow)


def test_the_configs_eval_interval_explains_a_slow_step_without_eval_lines():
    steps = list(range(0, 1300, 10))
    dts = [5000.0] + [2000.0 if s % 500 == 0 else 20.0 for s in steps[1:]]
    assert _eval_steps(run(iters(steps, 2.0, dts))) == []  # no eval known: no interval
    r = run(iters(steps, 2.0, dts), meta={"config": {"eval_interval": 500}})
    assert _eval_steps(r) == [500, 1000]
    assert timing_spikes(r, CFG) == []


def _nanogpt_run_text(step_ms: float, eval_ms: float, n: int = 60, every: int = 10) -> list[str]:
    lines = ["tokens per iteration will be: 16,384", "number of parameters: 10.65M"]
    for s in range(n):
        if s % every == 0:
            lines.append(f"step {s}: train loss 2.5000, val loss 2.6000")
        dt = 9000.0 if s == 0 else eval_ms if s % every == 0 else step_ms
        lines.append(f"iter {s}: loss 2.4000, time {dt:.2f}ms, mfu 5.00%")
    return lines


def test_each_run_in_a_file_is_judged_on_its_own_step_time(tmp_path):
    # two runs in one file (a fork's README): the first at 100 ms/step whose eval steps take
    # 200 ms, the second at 1000 ms/step whose eval steps take 1100 ms (1.1x: nothing to
    # say). Pooled, the eval steps' median (650 ms) was set against a median step of both
    # runs; each run has its own
    import analyzer
    path = tmp_path / "two.log"
    path.write_text("\n".join(_nanogpt_run_text(100.0, 200.0)
                              + _nanogpt_run_text(1000.0, 1100.0)) + "\n")
    r = analyzer.load(path)
    assert stats.summarize(r)["runs"] == 2
    (f,) = eval_spikes(r, CFG)
    assert f.message.startswith("Run 1 of 2: ")
    assert f.evidence["median_step_ms"] == pytest.approx(100.0)
    assert f.evidence["median_eval_dt_ms"] == pytest.approx(200.0)
    assert f.evidence["eval_iters"] == 5 and f.steps == (10, 50)


def test_an_eval_printed_after_its_steps_line_is_not_in_that_steps_time():
    # nanoGPT evaluates at the top of iter N (its dt holds the eval); a JAX port prints
    # 'step 100: ... val loss' after 'iter 100': that iteration's time holds no eval
    from analyzer.parsers import nanogpt
    from tests.analyzer._parse_util import run as parse
    iters_ = "".join(f"iter {s}: loss {6 - s / 100:.4f}, time {15 + s % 3:.1f}ms\n"
                     for s in range(0, 101, 10))
    after = parse(nanogpt, iters_ + "step 100: train loss 5.0, val loss 5.1\n")
    assert not stats.eval_inclusive(after).iloc[-1]
    before = parse(nanogpt, iters_.replace("iter 100:", "step 100: train loss 5.0, val loss "
                                           "5.1\niter 100:"))
    assert stats.eval_inclusive(before).iloc[-1]


def test_a_run_slow_from_its_start_that_speeds_up_has_no_drop():
    # minGPT on a shared GPU: ~44 ms per iteration to 4200, then ~7.3 ms for good
    dts = [44.0 + (i % 3) for i in range(42)] + [7.3 + (i % 2) * 0.2 for i in range(18)]
    fs = throughput_drop(run(iters(range(100, 6100, 100), 2.0, dts)), CFG)
    assert [(f.code, f.severity, f.steps) for f in fs] == [("throughput_rise", "info",
                                                            (4300, 4300))]


def test_five_slow_samples_of_a_noisy_series_are_no_drop():
    # one iteration's time sampled every 10 on a CPU: 78-156 ms, five in a row at 125-190
    base = [78.1, 93.8, 109.4, 93.8, 78.1, 125.0, 93.8, 78.1, 137.6, 93.8]
    dts = base * 2 + [125.0, 128.0, 132.0, 149.0, 190.0, 130.0] + base * 8
    assert throughput_drop(run(iters(range(0, 10 * len(dts), 10), 2.0, dts)), CFG) == []


def test_build_nanogpt_evals_every_250_steps_with_no_eval_line_are_evals():
    # a tail of step lines only: build-nanogpt's loop evaluates at every 250th step, whose
    # time holds the val loss, HellaSwag and samples (~20x a step)
    from analyzer.parsers import buildnanogpt
    from tests.analyzer._parse_util import run as parse
    line = ("step {s:5d} | loss: 3.020000 | lr 6.0000e-05 | norm: 0.2500 | dt: {dt:.2f}ms | "
            "tok/sec: 143000.00\n")
    text = "".join(line.format(s=s, dt=74300.0 if s % 250 == 0 else 3660.0 + s % 7)
                   for s in range(18700, 19060))
    r = parse(buildnanogpt, text)
    assert _eval_steps(r) == [18750, 19000]
    assert timing_spikes(r, CFG) == []
    # the same slow steps in another format, with no eval anywhere, are unexplained spikes
    from analyzer.parsers import generic
    assert timing_spikes(parse(generic, text), CFG)


def test_evals_the_trainer_timed_itself_are_their_cost():
    # modded's clock stops for evals: no iteration holds them, their val_time says the cost
    from tests.analyzer._synth import ev
    evals = [ev(0, None, 3.50, eval_ms=12.0), ev(1500, None, 3.31, eval_ms=790.0),
             ev(1570, None, 3.28, eval_ms=106972.0)]
    r = run(iters(range(1, 1571), 2.0, None, step_ms=60.0), evals)
    (f,) = eval_spikes(r, CFG)
    assert f.severity == "warning" and f.steps == (0, 1570)
    assert f.evidence["eval_ms_max"] == 106972.0 and f.evidence["eval_overhead_frac"] > 0.5
    # cheap evals (a few percent of the time) are info
    cheap = [ev(s, None, 3.3, eval_ms=300.0) for s in (0, 500, 1000, 1500)]
    (f,) = eval_spikes(run(iters(range(1, 1571), 2.0, None, step_ms=60.0), cheap),
                       CFG)
    assert f.severity == "info"
    # one eval of 1,000 steps' time in a long run (a 13,605-step fine-tune's one eval, ~4%
    # of its time) is info: the share is measured, and the ratio alone says nothing more
    once = [ev(12000, None, 3.3, eval_ms=60_000.0)]
    (f,) = eval_spikes(run(iters(range(1, 20001), 2.0, None, step_ms=60.0), once), CFG)
    assert f.severity == "info" and f.evidence["max_ratio"] == 1000.0
    assert 0.04 < f.evidence["eval_overhead_frac"] < 0.05


def test_one_eval_in_an_excerpt_shorter_than_its_interval_is_not_most_of_the_time():
    # four build-nanogpt steps around the step-500 eval (every 250 steps): 87% of this
    # excerpt's time, about 10% of the run's
    from analyzer.parsers import buildnanogpt
    from tests.analyzer._parse_util import run as parse
    line = ("step {s:5d} | loss: 3.020000 | lr 6.0000e-05 | norm: 0.2500 | dt: {dt:.2f}ms | "
            "tok/sec: 143000.00\n")
    text = "".join(line.format(s=s, dt=dt) for s, dt in
                   [(498, 929.1), (499, 928.5), (500, 25602.0), (501, 928.8)])
    (f,) = eval_spikes(parse(buildnanogpt, text), CFG)
    assert f.severity == "info" and 0.09 < f.evidence["eval_overhead_frac"] < 0.11


def test_the_trainers_total_times_its_own_run_only():
    """No step timed: the run's train_runtime metric over its run_end's steps is the step
    time (less the evals' own times); an earlier run of the same file, ended before it,
    never takes the last run's total."""
    from analyzer.per_run import only_segments, run_groups
    from gptscope.schema import make_event
    from tests.analyzer._synth import start

    def one(first: int, runtime: float) -> list:
        return (iters(range(first, first + 10), 2.0, None)
                + [ev(first + 5, None, 2.1, eval_ms=4000.0),
                   make_event("metric", "r", first + 9, 0.0, name="train_runtime",
                              value=runtime),
                   make_event("run_end", "r", first + 9, 0.0, status="completed", error=None,
                              steps=10, wall_s=runtime)])
    r = run(one(1, 24.0), start(), one(1, 104.0))
    t = stats.throughput_stats(r)
    assert t.step_ms_basis == "total" and t.median_step_ms == pytest.approx(10_000.0)
    first, last = run_groups(r)
    assert stats.throughput_stats(only_segments(r, last)).median_step_ms == pytest.approx(10_000)
    assert stats.throughput_stats(only_segments(r, first)).median_step_ms is None
