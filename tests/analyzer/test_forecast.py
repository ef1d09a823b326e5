"""analyzer/forecast.py: a saturating power law extrapolated to max_iters, or an honest no."""
from __future__ import annotations

import numpy as np
import pytest

from analyzer.forecast import forecast_curve, forecast_run, reliability_note, smooth
from analyzer.loader import load
from gptscope.schema import make_event
from tests.analyzer import _synth as S
from tests.conftest import REALDATA


def law(t):
    return 2.0 + 3.0 * np.power(t, -0.5)


def test_an_exact_power_law_is_extrapolated():
    steps = np.arange(1, 501)
    f = forecast_curve(steps, law(steps), 2000)
    assert f.ok and f.last_step == 500 and f.observed_frac == 0.25
    assert f.value == pytest.approx(law(2000.0), rel=0.01)
    assert f.low <= law(2000.0) <= f.high
    assert f.params["a"] == pytest.approx(2.0, rel=0.05)
    assert "step 2000" in f.line() and "Low reliability" in f.line()


def test_noise_and_spikes_do_not_bend_the_forecast():
    rng = np.random.default_rng(0)
    steps = np.arange(1, 1001)
    y = law(steps) + rng.normal(0, 0.05, len(steps))
    y[[300, 301, 700]] = 9.0              # spikes: the bin medians ignore them
    f = forecast_curve(steps, y, 2000)
    assert f.value == pytest.approx(law(2000.0), abs=0.05)
    assert f.low <= law(2000.0) <= f.high and f.high - f.low < 0.5


@pytest.mark.parametrize("steps,target,warmup,why", [
    (np.arange(1, 15), 100, 0, "not enough data: 14 losses"),
    (np.arange(1, 200), 150, 0, "the log reaches step 199, at or past the target step 150"),
    (np.arange(1, 40), 10000, 0, "0.4% of the run observed"),
    (np.arange(1, 200), 200, 0, "within 1% of the target step 200"),
    (np.arange(1, 200), 1000, 190, "not enough data: 9 losses after warm-up (step 190)"),
])
def test_no_forecast_says_why(steps, target, warmup, why):
    f = forecast_curve(steps, law(steps), target, warmup)
    assert not f.ok and why in f.reason and f.line().startswith("forecast: none (")


def test_a_rising_or_flat_loss_gets_no_forecast():
    steps = np.arange(1, 200)
    for y in (np.linspace(1, 2, 199), np.full(199, 2.0)):
        f = forecast_curve(steps, y, 1000)
        assert not f.ok and "the loss is not falling" in f.reason


def test_nan_losses_are_dropped_not_fitted():
    steps = np.arange(1, 301).astype(float)
    y = law(steps)
    y[::7] = np.nan
    f = forecast_curve(steps, y, 600)
    assert f.ok and f.n_points == 300 - len(y[::7])
    assert f.value == pytest.approx(law(600.0), rel=0.01)


def test_smooth_takes_bin_medians():
    xs, ys = smooth(np.arange(10.0), np.array([1, 1, 100, 1, 1, 2, 2, 2, 2, 2.0]), n_bins=2)
    assert list(ys) == [1.0, 2.0]


def test_forecast_run_reads_max_iters_and_warmup():
    steps = range(0, 400)
    run = S.run(S.iters(steps, [float(law(s + 1)) for s in steps]),
                meta={"config": {"max_iters": 1600, "warmup_iters": 50}})
    f = forecast_run(run)
    assert f.ok and f.target_step == 1600 and f.n_points == 400 - 51
    assert forecast_run(run, 800).target_step == 800
    bare = S.run(S.iters(steps, [float(law(s + 1)) for s in steps]))
    assert "max_iters is not known" in forecast_run(bare).reason


def test_a_real_llmc_run_cut_at_half_lands_within_five_percent():
    run = load(REALDATA / "llmc" / "hector-11685414-full-run-a100.log")
    steps = run.iters["step"].to_numpy(dtype=float)
    loss = run.iters["loss"].to_numpy(dtype=float)
    truth = float(np.median(loss[-len(loss) // 50:]))   # the run's smoothed final loss
    half = steps <= steps[-1] / 2
    f = forecast_curve(steps[half], loss[half], int(steps[-1]), warmup=700)
    assert f.ok and abs(f.value - truth) / truth < 0.05
    assert f.low <= truth <= f.high


def test_reliability_note_quotes_the_measured_error():
    assert "median error was 6.0%" in reliability_note(0.2)
    assert reliability_note(0.5).startswith("Rough") and "3.0%" in reliability_note(0.5)
    assert reliability_note(0.9).startswith("Fair")


def test_the_continuation_runs_from_the_last_step_to_the_target():
    steps = np.arange(1, 501)
    f = forecast_curve(steps, law(steps), 2000)
    c = f.curve(points=16)
    assert c[0][0] == 500 and c[-1][0] == 2000 and len(c) == 16
    assert c[-1][1] == pytest.approx(f.value) and c[0][1] == pytest.approx(f.last_value)
    assert all(a[1] >= b[1] for a, b in zip(c, c[1:]))       # a falling law
    assert forecast_curve(steps[:5], law(steps[:5]), 2000).curve() == []


def test_a_finished_run_has_nothing_to_forecast_unless_asked():
    steps = range(0, 400)
    ended = S.run(S.iters(steps, [float(law(s + 1)) for s in steps]),
                  make_event("run_end", "r", 399, 400.0, status="completed", steps=400),
                  meta={"config": {"max_iters": 1600}})
    assert forecast_run(ended).reason == "the run completed: nothing to forecast"
    assert forecast_run(ended, 1600).ok


def test_summary_and_report_carry_the_forecast(tmp_path, capsys):
    import json

    from analyzer.cli import main
    log = REALDATA / "nanogpt" / "macmini-m4-mps-warnings-evalspike-overfit-excerpt.log"
    assert main(["summary", str(log), "--json"]) == 0
    fc = json.loads(capsys.readouterr().out)["forecast"]
    assert fc["target_step"] == 5000 and fc["reason"] is None
    assert fc["low"] <= fc["value"] <= fc["high"] and fc["reliability"].startswith("Rough")
    assert main(["summary", str(log), "--forecast-step", "3000"]) == 0
    out = capsys.readouterr().out
    assert "\nforecast  train loss " in out and "at step 3000" in out
    page = tmp_path / "r.html"
    assert main(["report", str(log), "-o", str(page)]) == 0
    assert "<b>Forecast</b>: train loss" in page.read_text(encoding="utf-8")


def test_the_dashboard_draws_the_forecast_as_its_own_series():
    from app.views.charts_view import forecast_points
    run = load(REALDATA / "nanogpt" / "macmini-m4-mps-warnings-evalspike-overfit-excerpt.log")
    pts = forecast_points(run, "mac", "step")
    assert set(pts["series"]) == {"forecast"} and pts["x"].iloc[0] == 2250
    assert pts["x"].iloc[-1] == 5000 and pts["y"].is_monotonic_decreasing
    done = load(REALDATA / "llmc" / "hector-11685414-full-run-a100.log")
    assert forecast_points(done, "h", "step").empty        # nothing to forecast
