"""analyzer.golden: baselines, exact and tolerance checks, reports (synthetic runs)."""
from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from analyzer import golden
from analyzer.cli import main as analyzer_main
from analyzer.golden import GoldenError, Tolerance
from analyzer.golden_report import render_json, render_markdown, render_table
from analyzer.run import Run
from gptscope.schema import dumps, make_event


def curve(step: int) -> float:
    return 4.0 * math.exp(-step / 40) + 1.0


def make_events(losses: dict[int, float] | None = None, evals: dict[int, float] | None = None,
                config: dict | None = None, step_ms: dict[int, float] | None = None,
                eval_every: int = 10, n: int = 50, torch_version: str = "2.13.0") -> list[dict]:
    """Events of a run whose train loss is `losses` (default: curve), evals every
    eval_every steps (val loss = curve + 0.1, train loss = curve)."""
    losses = losses if losses is not None else {s: curve(s) for s in range(n + 1)}
    evals = evals if evals is not None else {s: curve(s) + 0.1 for s in range(0, n + 1,
                                                                               eval_every)}
    cfg = {"learning_rate": 6e-4, "n_layer": 2, "seed": 1337, "out_dir": "out", **(config or {})}
    ev = [make_event("run_start", "r1", 0, 0.0, config=cfg, model={"n_layer": 2, "n_embd": 16},
                     tokens_per_iter=64, max_iters=n, device="cpu", device_name=None,
                     dtype="float32", world_size=1, peak_flops=None, peak_flops_source="unknown",
                     torch_version=torch_version, source="gptscope")]
    for s in sorted(set(losses) | set(evals)):
        if s in evals:
            ev.append(make_event("eval", "r1", s, 1.0, train_loss=evals[s] - 0.1,
                                 val_loss=evals[s]))
        if s in losses:
            ev.append(make_event("iter", "r1", s, 1.0, loss=losses[s], dt_ms=100.0,
                                 step_ms=(step_ms or {}).get(s, 10.0),
                                 eval_inclusive=s in evals))
    return ev


def make_run(*args, source: str = "/tmp/somewhere/events.jsonl", **kw) -> Run:
    return Run.from_events(make_events(*args, **kw), format="gptscope", source=source)


@pytest.fixture
def baseline() -> dict:
    return golden.make_baseline(make_run())


def shifted(factor: float, at: set[int] | None = None, n: int = 50) -> dict[int, float]:
    return {s: curve(s) * (factor if at is None or s in at else 1.0) for s in range(n + 1)}


# ---------------------------------------------------------------- baseline contents and file

def test_baseline_holds_the_runs_values(baseline):
    assert list(baseline) == ["format", "version", "description", "source", "config",
                              "train_loss", "evals", "final_val_loss", "step_time_ms"]
    tl = baseline["train_loss"]
    assert tl["every"] == 1 and tl["last_step"] == 50
    assert tl["values"] == {str(s): curve(s) for s in range(51)}
    assert baseline["evals"]["20"] == {"train_loss": curve(20) + 0.1 - 0.1,
                                       "val_loss": curve(20) + 0.1}
    assert baseline["final_val_loss"] == {"step": 50, "value": curve(50) + 0.1}
    assert baseline["source"] == {"file": "events.jsonl", "format": "gptscope", "run_id": "r1"}


def test_fingerprint_leaves_out_what_does_not_shape_the_curve(baseline):
    fp = baseline["config"]
    assert fp["config"] == {"learning_rate": 6e-4, "n_layer": 2, "seed": 1337}  # no out_dir
    assert fp["model"] == {"n_embd": 16, "n_layer": 2}
    assert fp["runtime"] == {"device": "cpu", "dtype": "float32", "world_size": 1,
                             "torch_version": "2.13.0"}


def test_step_time_median_skips_warmup_and_eval_steps():
    # 21 iterations (0..20), evals at 0, 10, 20; warm-up = ceil(2.1) = 3 iterations (0, 1, 2).
    times = {s: 1000.0 + s for s in range(21)}
    run = make_run(losses={s: 2.0 for s in range(21)}, step_ms=times, n=20)
    st = golden.make_baseline(run)["step_time_ms"]
    kept = [1000.0 + s for s in range(3, 21) if s not in (10, 20)]   # 16 values
    assert st == {"median": (kept[7] + kept[8]) / 2, "column": "step_ms", "n": 16,
                  "warmup_excluded": 3, "eval_excluded": 2}
    assert golden.make_baseline(run, warmup=0)["step_time_ms"]["warmup_excluded"] == 0


def test_file_round_trips_every_float_bit_for_bit(baseline):
    text = golden.dumps_baseline(baseline)
    assert golden.loads_baseline(text) == baseline
    assert json.loads(text) == baseline


def test_a_changed_loss_is_a_one_line_diff(baseline):
    other = golden.make_baseline(make_run(losses=shifted(1.01, at={7})))
    diff = [d for d in difflib.unified_diff(golden.dumps_baseline(baseline).splitlines(),
                                            golden.dumps_baseline(other).splitlines(), n=0)
            if d[:1] in "+-" and d[:3] not in ("+++", "---")]
    assert diff == [f'-      "7": {curve(7)!r},', f'+      "7": {curve(7) * 1.01!r},']


@pytest.mark.parametrize("n_steps,every,expected", [
    (51, None, list(range(51))),                                # few steps: all of them
    (1001, None, list(range(0, 1001, 10))),                     # 1, 2, 5 keep >200; 10 fits
    (1005, None, list(range(0, 1001, 10)) + [1004]),            # the last step is always kept
    (51, 20, [0, 20, 40, 50]),
])
def test_which_train_steps_are_kept(n_steps, every, expected):
    run = make_run(losses={s: 2.0 for s in range(n_steps)}, evals={})
    b = golden.make_baseline(run, every=every)
    assert [int(s) for s in b["train_loss"]["values"]] == expected


def test_no_baseline_from_a_diverged_or_empty_run():
    losses = shifted(1.0)
    losses[30] = float("nan")
    with pytest.raises(GoldenError, match="not finite at step 30"):
        golden.make_baseline(make_run(losses=losses))
    with pytest.raises(GoldenError, match="no training iterations"):
        golden.make_baseline(make_run(losses={}, evals={}))


@pytest.mark.parametrize("text,message", [
    ("{not json", "line 1: not JSON"),
    ('{"format": "other"}', "not a gptscope baseline"),
    ('{"format": "gptscope-golden", "version": 99}', "version 99 is not supported"),
    ('{"format": "gptscope-golden", "version": 1, "train_loss": {}}', "malformed baseline"),
])
def test_unreadable_baselines_are_named(text, message):
    with pytest.raises(GoldenError, match=message) as e:
        golden.loads_baseline(text, "b.json")
    assert str(e.value).startswith("b.json: ")


# ---------------------------------------------------------------- exact mode

def test_exact_mode_passes_an_identical_run(baseline):
    result = golden.check(make_run(), baseline, mode="exact")
    assert result.passed and result.status == "pass"
    assert len(result.rows) == 51 + 2 * 6 + 1


def test_exact_mode_fails_on_one_float32_ulp(baseline):
    # losses are float32 values: one step of a float32 is the smallest real change
    losses = shifted(1.0)
    losses[33] = float(np.nextafter(np.float32(losses[33]), np.float32(10.0)))
    result = golden.check(make_run(losses=losses), baseline, mode="exact")
    assert result.status == "regression"
    assert [(r.metric, r.step) for r in result.failures] == [("train_loss", 33)]
    # ... which the default tolerance lets through
    assert golden.check(make_run(losses=losses), baseline).passed


def test_exact_mode_compares_numbers_not_their_text():
    # The trainer writes 9 significant digits, which round-trip the float32 a loss is; an
    # older baseline holds the float64 repr of the same float32. Same numbers: exact passes.
    f32 = {s: float(np.float32(curve(s))) for s in range(51)}
    short = {s: float(f"{v:.9g}") for s, v in f32.items()}
    assert sum(short[s] != f32[s] for s in f32) > 40          # the texts do differ
    result = golden.check(make_run(losses=short), golden.make_baseline(make_run(losses=f32)),
                          mode="exact")
    assert result.passed, result.failures[:3]
    assert golden.same_number(4.1827802658081055, 4.18278027)  # tests/ci/baseline.json's 0
    assert not golden.same_number(4.18278027, 4.1827807)


def test_exact_mode_refuses_smoothing(baseline):
    with pytest.raises(GoldenError, match="smoothing"):
        golden.check(make_run(), baseline, mode="exact", smoothing=3)


# ---------------------------------------------------------------- tolerance mode

@pytest.mark.parametrize("factor,direction,passes", [
    (1.019, "both", True), (1.021, "both", False),
    (0.981, "both", True), (0.979, "both", False),     # far below fails too: a lost mask
    (0.5, "worse", True), (1.021, "worse", False),
])
def test_default_loss_tolerance_is_two_percent(baseline, factor, direction, passes):
    result = golden.check(make_run(losses=shifted(factor, at={25})), baseline,
                          direction=direction)
    assert result.passed is passes
    assert [r.step for r in result.failures] == ([] if passes else [25])


def test_per_metric_tolerances(baseline):
    run = make_run(losses=shifted(1.03))
    assert not golden.check(run, baseline).passed
    loose = golden.make_tolerances(rtol={"train_loss": 0.05})
    assert golden.check(run, baseline, loose).passed
    assert loose["val_loss"] == Tolerance(0.02) and loose["train_loss"] == Tolerance(0.05)
    everything = golden.make_tolerances(rtol={"loss": 0.1}, atol={"step_time": 5})
    assert all(everything[m] == Tolerance(0.1) for m in golden.LOSS_METRICS)
    assert everything["step_time"] == Tolerance(0.5, 5.0)
    # 4.0 * 1.03 - 4.0 = 0.12 over the rtol 0 baseline: atol alone decides
    by_atol = golden.make_tolerances(rtol={"loss": 0}, atol={"loss": 0.16})
    assert golden.check(run, baseline, by_atol).passed      # largest gap 5.0 * 0.03 = 0.15
    assert not golden.check(run, baseline, golden.make_tolerances(
        rtol={"loss": 0}, atol={"loss": 0.14})).passed


def test_bad_tolerances_name_the_metric():
    with pytest.raises(GoldenError, match="unknown metric 'los'"):
        golden.make_tolerances(rtol={"los": 0.1})
    with pytest.raises(GoldenError, match="rtol must be"):
        golden.make_tolerances(rtol={"loss": -1})


def test_smoothing_forgives_one_noisy_batch_not_a_shift():
    flat = {s: 3.0 for s in range(51)}
    base = golden.make_baseline(make_run(losses=flat, evals={}))
    spike = {**flat, 20: 3.0 * 1.08}
    assert not golden.check(make_run(losses=spike, evals={}), base).passed
    # the window of 5 spreads 8% into 1.6% on each of 5 points
    assert golden.check(make_run(losses=spike, evals={}), base, smoothing=5).passed
    shift = {s: 3.0 * (1.08 if s >= 20 else 1.0) for s in range(51)}
    result = golden.check(make_run(losses=shift, evals={}), base, smoothing=5)
    # smoothed shift: (k/5)*8% at the k-th point after 20 -> fails from k=2 on (3.2% > 2%)
    assert [r.step for r in result.failures] == list(range(21, 51))


# ---------------------------------------------------------------- what goes wrong with a run

def test_missing_steps_are_listed(baseline):
    losses = {s: curve(s) for s in range(51) if not 12 <= s <= 15 and s != 40}
    result = golden.check(make_run(losses=losses), baseline)
    assert [r.step for r in result.failures] == [12, 13, 14, 15, 40]
    assert {r.status for r in result.failures} == {"missing"}
    msgs = [p.message for p in result.problems if p.kind == "missing_steps"]
    assert msgs == ["train_loss: 5 of 51 baseline steps are not in the run: 12-15, 40"]


def test_a_shorter_run_fails_and_a_longer_one_is_noted(baseline):
    short = golden.check(make_run(n=35), baseline)
    assert not short.passed
    kinds = {p.kind: p for p in short.problems}
    assert kinds["shorter_run"].message == "the run stops at step 35, the baseline at step 50"
    assert kinds["shorter_run"].fatal
    assert {r.step for r in short.failures} == set(range(36, 51))
    longer = golden.check(make_run(n=70), baseline)
    assert longer.passed
    assert [(p.kind, p.fatal) for p in longer.problems] == [("longer_run", False)]


def test_nan_losses_fail_and_are_reported(baseline):
    losses = shifted(1.0)
    for s in range(30, 51):
        losses[s] = float("nan")
    result = golden.check(make_run(losses=losses), baseline, smoothing=3)
    assert [r.step for r in result.failures] == list(range(30, 51))
    assert {r.status for r in result.failures} == {"nan"}
    nan = [p for p in result.problems if p.kind == "nan"]
    assert nan[0].message == "train loss is not finite at 21 step(s), first at step 30"
    assert nan[0].fatal


def test_missing_evals(baseline):
    result = golden.check(make_run(evals={0: curve(0) + 0.1}), baseline)
    failing = {(r.metric, r.step) for r in result.failures}
    assert ("val_loss", 50) in failing and ("final_val_loss", 50) in failing
    assert ("val_loss", 0) not in failing
    no_evals = golden.check(make_run(evals={}), baseline)
    assert "the run has no evals; the baseline has 6" in [p.message for p in no_evals.problems]


def test_a_different_config_is_reported_and_fails_only_when_strict(baseline):
    run = make_run(config={"learning_rate": 6e-2, "out_dir": "elsewhere", "new_knob": 1},
                   torch_version="2.14.0")
    result = golden.check(run, baseline, golden.make_tolerances(rtol={"loss": 1}))
    problems = {p.kind: p for p in result.problems}
    assert problems["config"].message == ("different config: config.learning_rate 0.0006 -> "
                                          '0.06; config.new_knob "(absent)" -> 1')
    assert problems["runtime"].message == "different runtime: torch_version 2.13.0 -> 2.14.0"
    assert result.passed
    assert not golden.check(run, baseline, golden.make_tolerances(rtol={"loss": 1}),
                            strict_config=True).passed


def test_another_log_format_compares_only_the_keys_both_record(baseline):
    events = make_events(config={"learning_rate": 6e-3})
    events[0]["config"] = {"learning_rate": 6e-3, "dataset": "shakespeare_char"}
    events[0]["model"] = {"n_layer": 2, "n_embd": None}     # a stdout log knows less
    run = Run.from_events(events, format="nanogpt")
    problems = {p.kind: p.message for p in golden.check(run, baseline).problems}
    assert problems["config"] == "different config: config.learning_rate 0.0006 -> 0.006"


def test_step_time_only_when_asked_and_only_slower_fails(baseline):
    slow = make_run(step_ms={s: 16.0 for s in range(51)})
    assert golden.check(slow, baseline).passed                          # not compared
    result = golden.check(slow, baseline, check_step_time=True)        # 10 -> 16 ms: +60%
    assert [(r.metric, r.baseline, r.candidate) for r in result.failures] == [
        ("step_time", 10.0, 16.0)]
    assert golden.check(make_run(step_ms={s: 14.0 for s in range(51)}), baseline,
                        check_step_time=True).passed                   # +40% < 50%
    assert golden.check(make_run(step_ms={s: 1.0 for s in range(51)}), baseline,
                        check_step_time=True).passed                   # faster never fails


def test_a_resumed_run_uses_the_replayed_steps():
    events = [make_event("iter", "r", s, 0.0, loss=5.0) for s in range(10)]
    events += [make_event("resume", "r", 5, 0.0, from_step=5, checkpoint=None)]
    events += [make_event("iter", "r", s, 0.0, loss=1.0) for s in range(5, 10)]
    run = Run.from_events(events, format="gptscope")
    values = golden.make_baseline(run)["train_loss"]["values"]
    assert [values[str(s)] for s in range(10)] == [5.0] * 5 + [1.0] * 5


def test_a_run_without_iterations_is_unusable(baseline):
    with pytest.raises(GoldenError, match="no training iterations"):
        golden.check(make_run(losses={}, evals={}), baseline)


# ---------------------------------------------------------------- reports

def test_reports_show_the_verdict_and_the_failing_points(baseline):
    losses = shifted(1.0)
    losses[44] = curve(44) * 1.5
    result = golden.check(make_run(losses=losses, n=50), baseline, baseline_name="b.json")
    text = render_table(result)
    assert text.startswith("golden check: REGRESSION (tolerance, direction both)")
    failing = text.split("failing points (1 of 1):\n")[1].splitlines()
    assert failing[1].split() == ["train_loss", "44", f"{curve(44):.6g}",
                                  f"{curve(44) * 1.5:.6g}", f"{curve(44) * 0.5:+.3g}", "+50%",
                                  "fail"]
    md = render_markdown(result)
    assert md.startswith("### :x: gptscope golden check: REGRESSION")
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.count("|") == 8          # 7 columns, no stray pipes
    data = json.loads(render_json(result))
    assert data["status"] == "regression" and data["baseline"] == "b.json"
    failing = [r for r in data["rows"] if r["status"] != "ok"]
    assert failing == [{"metric": "train_loss", "step": 44, "baseline": curve(44),
                        "candidate": curve(44) * 1.5, "diff": curve(44) * 0.5,
                        "rel_diff": pytest.approx(0.5), "allowed": 0.02 * curve(44),
                        "status": "fail"}]
    summary = {m["metric"]: m for m in data["metrics"]}
    assert summary["train_loss"]["failed"] == 1 and summary["train_loss"]["worst_step"] == 44


def test_json_report_of_a_nan_run_is_valid_json(baseline):
    run = make_run()    # a parser of a foreign log may keep an infinite loss as it was printed
    run.iters.loc[run.iters["step"] == 3, "loss"] = float("inf")
    run.iters.loc[run.iters["step"] == 4, "loss"] = float("nan")
    data = json.loads(render_json(golden.check(run, baseline)))
    assert [r["candidate"] for r in data["rows"] if r["status"] == "nan"] == ["inf", "nan"]


def test_a_passing_report(baseline):
    result = golden.check(make_run(), baseline, mode="exact")
    assert render_table(result).startswith("golden check: PASS (exact)")
    assert render_markdown(result).startswith("### :white_check_mark:")
    assert "failing points" not in render_table(result)


# ---------------------------------------------------------------- the CLI: golden and check

def write_run(path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(dumps(e) + "\n" for e in make_events(**kw)), encoding="utf-8")
    return path


@pytest.fixture
def golden_file(tmp_path: Path) -> Path:
    out = tmp_path / "baseline.json"
    assert analyzer_main(["golden", str(write_run(tmp_path / "base" / "events.jsonl")),
                          "-o", str(out)]) == 0
    return out


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = analyzer_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_golden_writes_the_runs_losses(golden_file):
    data = json.loads(golden_file.read_text())
    assert data["train_loss"]["values"] == {str(s): curve(s) for s in range(51)}
    assert data["source"]["file"] == "events.jsonl"
    assert data["description"] == "baseline of r1"          # the run id, not "events.jsonl"


def test_a_step_time_tolerance_is_fine_in_exact_mode_when_checked(tmp_path, golden_file,
                                                                  capsys):
    run = write_run(tmp_path / "r" / "events.jsonl")
    code, out, err = cli(capsys, "check", str(run), "--baseline", str(golden_file), "--mode",
                         "exact", "--check-step-time", "--rtol", "step_time=0.1")
    assert (code, err) == (0, "") and "step_time" in out


def test_check_exit_status_and_outputs(tmp_path, golden_file, capsys):
    same = write_run(tmp_path / "same" / "events.jsonl")
    worse = write_run(tmp_path / "worse" / "events.jsonl", losses=shifted(1.05, at={30}))
    code, out, err = cli(capsys, "check", str(same.parent), "--baseline", str(golden_file),
                         "--mode", "exact")
    assert (code, err) == (0, "") and out.startswith("golden check: PASS (exact)")
    code, out, _ = cli(capsys, "check", str(worse), "--baseline", str(golden_file))
    assert code == 1 and out.startswith("golden check: REGRESSION")
    code, out, _ = cli(capsys, "check", str(worse), "--baseline", str(golden_file), "--json")
    data = json.loads(out)
    assert code == 1 and [r["step"] for r in data["rows"] if r["status"] == "fail"] == [30]
    code, out, _ = cli(capsys, "check", str(worse), "--baseline", str(golden_file),
                       "--markdown")
    assert code == 1 and out.startswith("### :x: gptscope golden check: REGRESSION")


@pytest.mark.parametrize("args,passes", [
    (["--rtol", "train_loss=0.06"], True),
    (["--rtol", "0.06"], True),                      # a bare number: every loss metric
    (["--rtol", "val_loss=0.06"], False),            # the wrong metric loosened
    (["--atol", "loss=0.1"], True),       # 5% of curve(30) = 0.144 < 0.1 + 2% of 2.89
    (["--atol", "loss=0.08"], False),
    (["--smooth", "5"], True),            # 5% spread over 5 points: about 1% on each
    (["--smooth", "5", "--rtol", "loss=0.009"], False),
])
def test_check_tolerance_options(tmp_path, golden_file, capsys, args, passes):
    worse = write_run(tmp_path / "w" / "events.jsonl", losses=shifted(1.05, at={30}))
    code, _, err = cli(capsys, "check", str(worse), "--baseline", str(golden_file), *args)
    assert (code, err) == ((0, "") if passes else (1, ""))


@pytest.mark.parametrize("args,message", [
    (["RUN", "--baseline", "MISSING"], "MISSING: cannot read baseline"),
    (["NORUN", "--baseline", "BASE"], "NORUN: no such file"),
    (["RUN", "--baseline", "BAD"], "BAD: line 1: not JSON"),
    (["RUN", "--baseline", "BASE", "--rtol", "loss=abc"], "--rtol 'loss=abc': expected"),
    (["RUN", "--baseline", "BASE", "--rtol", "lose=0.1"], "unknown metric 'lose'"),
    (["RUN", "--baseline", "BASE", "--mode", "exact", "--smooth", "3"], "smoothing has no"),
    (["EMPTY", "--baseline", "BASE"], "no training iterations"),
    (["RUN", "--baseline", "RUN"], "RUN: an events file (a run's JSONL), not a baseline; "
                                   "make one with `python -m analyzer golden"),
    (["RUN", "--baseline", "BASE", "--mode", "exact", "--rtol", "0.1"],
     "--rtol/--atol have no meaning for losses in exact mode"),
    (["RUN", "--baseline", "BASE", "--mode", "exact", "--atol", "val_loss=0.1"],
     "--rtol/--atol have no meaning for losses in exact mode"),
    (["RUN", "--baseline", "BASE", "--rtol", "step_time=0.1"], "needs --check-step-time"),
])
def test_unusable_input_is_exit_2_and_one_line(tmp_path, golden_file, capsys, args, message):
    run = write_run(tmp_path / "r" / "events.jsonl")
    empty = write_run(tmp_path / "e" / "events.jsonl", losses={}, evals={})
    (tmp_path / "bad.json").write_text("{oops")
    paths = {"RUN": str(run), "BASE": str(golden_file), "MISSING": str(tmp_path / "no.json"),
             "NORUN": str(tmp_path / "nothing.log"), "BAD": str(tmp_path / "bad.json"),
             "EMPTY": str(empty)}
    code, out, err = cli(capsys, "check", *[paths.get(a, a) for a in args])
    first = message.split(":")[0]
    message = message.replace(first, paths.get(first, first), 1)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_golden_refuses_a_diverged_run(tmp_path, capsys):
    losses = shifted(1.0)
    losses[40] = float("nan")
    run = write_run(tmp_path / "r" / "events.jsonl", losses=losses)
    code, _, err = cli(capsys, "golden", str(run), "-o", str(tmp_path / "b.json"))
    assert code == 2 and err == f"error: {run}: train loss is not finite at step 40 (1 " \
                                "steps); a diverged run makes no baseline\n"
    assert not (tmp_path / "b.json").exists()


# ---------------------------------------------------------------- real stdout logs

def test_a_nanogpt_stdout_log_is_its_own_golden(realdata, tmp_path, capsys):
    log = realdata / "nanogpt" / "wilcoooo-shakespeare-char-tiny-cuda.log"
    out = tmp_path / "b.json"
    assert cli(capsys, "golden", str(log), "-o", str(out))[0] == 0
    data = json.loads(out.read_text())
    text = log.read_text()
    iters = {s: float(x) for s, x in re.findall(r"^iter (\d+): loss ([\d.]+)", text, re.M)}
    assert len(iters) == 151                          # log_interval 20, iters 0..3000
    assert data["train_loss"]["values"] == iters      # as printed, every one of them
    assert data["source"]["format"] == "nanogpt"
    assert sorted(map(int, data["evals"])) == list(range(0, 3001, 500))
    assert data["final_val_loss"] == {"step": 3000, "value": 1.8115}
    code, text, _ = cli(capsys, "check", str(log), "--baseline", str(out), "--mode", "exact",
                        "--check-step-time")
    assert code == 0, text


def test_a_nan_log_against_a_healthy_baseline(realdata, tmp_path, capsys):
    healthy = realdata / "nanogpt" / "wilcoooo-shakespeare-char-tiny-cuda.log"
    sick = realdata / "nanogpt" / "chenzihua-termux-cpu-nan-at-425.log"
    out = tmp_path / "b.json"
    assert cli(capsys, "golden", str(healthy), "-o", str(out))[0] == 0
    code, text, _ = cli(capsys, "check", str(sick), "--baseline", str(out), "--json")
    kinds = {p["kind"] for p in json.loads(text)["problems"] if p["fatal"]}
    assert code == 1 and {"nan", "shorter_run", "missing_steps"} <= kinds
    assert cli(capsys, "golden", str(sick), "-o", str(tmp_path / "c.json"))[0] == 2
