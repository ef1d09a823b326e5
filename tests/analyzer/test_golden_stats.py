"""analyzer/golden_stats.py: seed bands, spread-derived tolerances, band excursions, Welch."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analyzer import golden
from analyzer.golden import GoldenError
from analyzer.golden_stats import (band_excursions, band_tolerances, make_seed_baseline,
                                   run_excursions, save_band_png, seed_stats,
                                   validate_seeds, welch_for_runs, welch_worse)
from tests.analyzer import _synth as S


def seed_run(offset: float, steps: int = 20, val_shift: float = 0.0, source: str = "r"):
    """A falling curve 4/(1+0.1 s) shifted by offset; evals every 5 steps."""
    losses = [4 / (1 + 0.1 * s) + offset for s in range(steps)]
    evals = [S.ev(s, 4 / (1 + 0.1 * s) + offset, 4.1 / (1 + 0.1 * s) + offset + val_shift)
             for s in range(0, steps, 5)]
    run = S.run(S.iters(range(steps), losses), evals)
    run.source = source
    return run


def test_seed_stats_mean_std_min_max_and_megatron_tolerance():
    runs = [seed_run(o, source=f"s{i}") for i, o in enumerate((-0.1, 0.0, 0.1))]
    st = seed_stats(runs, multiplier=1.5, floor=0.001)
    assert st["n"] == 3 and st["runs"] == ["s0", "s1", "s2"]
    m, sd, lo, hi = st["band"]["train_loss"]["10"]
    assert m == pytest.approx(2.0) and lo == pytest.approx(1.9) and hi == pytest.approx(2.1)
    assert sd == pytest.approx(0.1)          # sample std of (-0.1, 0, 0.1) is 0.1
    # the largest relative deviation is at the last step, where the mean is lowest
    last_mean = 4 / (1 + 0.1 * 19)
    assert st["max_rel_dev"]["train_loss"] == pytest.approx(0.1 / last_mean)
    assert st["rtol"]["train_loss"] == pytest.approx(1.5 * 0.1 / last_mean)
    assert st["final"]["val_loss"] == pytest.approx([4.1 / 2.5 + o for o in (-0.1, 0, 0.1)])
    assert set(st["band"]["val_loss"]) == {"0", "5", "10", "15"}


def test_identical_seeds_get_the_floor_not_zero():
    st = seed_stats([seed_run(0.0), seed_run(0.0)], floor=0.002)
    assert st["max_rel_dev"]["train_loss"] == 0.0
    assert st["rtol"]["train_loss"] == 0.002


def test_only_common_steps_are_banded_and_bad_input_is_refused():
    st = seed_stats([seed_run(0.0, steps=20), seed_run(0.1, steps=12)])
    assert max(map(int, st["band"]["train_loss"])) == 11
    with pytest.raises(GoldenError, match="at least two runs"):
        seed_stats([seed_run(0.0)])
    nan = S.run(S.iters(range(5), [3, 2, float("nan"), 1, 1]))
    nan.source = "bad.jsonl"
    with pytest.raises(GoldenError, match=r"bad.jsonl: train_loss is not finite at step 2"):
        seed_stats([seed_run(0.0), nan])


def test_seed_baseline_is_a_valid_golden_baseline_of_means():
    runs = [seed_run(o) for o in (-0.05, 0.05)]
    b = make_seed_baseline(runs)
    again = golden.loads_baseline(golden.dumps_baseline(b))
    assert again["train_loss"]["values"]["10"] == pytest.approx(2.0)
    assert again["final_val_loss"] == {"step": 15, "value": pytest.approx(4.1 / 2.5)}
    assert validate_seeds(again)["n"] == 2
    tol = band_tolerances(again)
    assert set(tol) == {"train_loss", "eval_train_loss", "val_loss", "final_val_loss"}
    # a run from the middle of the seeds passes golden.check with the band's tolerances
    result = golden.check(seed_run(0.0), again, tol)
    assert result.passed, [r for r in result.rows if r.status != "ok"][:3]
    broken = dict(again, seeds=dict(again["seeds"], band={"train_loss": {"1": [1, 2]}}))
    with pytest.raises(GoldenError, match="malformed seeds section"):
        validate_seeds(broken, "b.json")


def test_band_excursions_group_steps_by_side():
    band = {str(s): [2.0, 0.01, 1.99, 2.01] for s in range(10)}
    values = pd.Series([2.0, 2.0, 2.5, 2.6, 2.0, 1.0, 2.0, 2.0, 2.0, float("nan")],
                       index=range(10))
    ex = band_excursions(values, band, rtol=0.05)
    assert [(e.first_step, e.last_step, e.side, e.worst_step) for e in ex] == [
        (2, 3, "above", 3), (5, 5, "below", 5), (9, 9, "above", 9)]
    assert "steps 2-3" in ex[0].message() and "+30.0%" in ex[0].message()
    assert band_excursions(values.drop([2, 3, 5, 9]), band, rtol=0.05) == []


def test_a_run_ten_percent_worse_leaves_the_band_where_the_seeds_agree():
    b = make_seed_baseline([seed_run(o) for o in (-0.01, 0.0, 0.01)])
    worse = S.run(S.iters(range(20), [1.1 * 4 / (1 + 0.1 * s) for s in range(20)]),
                  [S.ev(s, 4 / (1 + 0.1 * s), 1.1 * 4.1 / (1 + 0.1 * s)) for s in (0, 5, 10, 15)])
    ex = run_excursions(worse, b)
    metrics = {e.metric for e in ex}
    assert {"train_loss", "val_loss"} <= metrics
    tl = next(e for e in ex if e.metric == "train_loss")
    assert (tl.first_step, tl.last_step, tl.side) == (0, 19, "above")
    # an explicit, wide tolerance overrides the band's
    assert run_excursions(worse, b, {m: golden.Tolerance(0.2) for m in
                                     ("train_loss", "eval_train_loss", "val_loss")}) == []


def _t_tail(t: float, df: float) -> float:
    """P(T > t) for Student's t by Simpson's rule on the density: independent of scipy."""
    c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    upper, n = t + 100.0, 40_000
    h = (upper - t) / n
    f = [c * (1 + (t + i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(n + 1)]
    return h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))


def test_welch_matches_the_textbook_formulas():
    base = [3.280, 3.282, 3.279, 3.281, 3.283]
    cand = [3.284, 3.287, 3.283, 3.286]
    r = welch_worse(base, cand, alpha=0.01)
    a, b = np.array(base), np.array(cand)
    va, vb = a.var(ddof=1) / 5, b.var(ddof=1) / 4
    t = (b.mean() - a.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 3)
    assert r.t == pytest.approx(t) and r.df == pytest.approx(df)
    assert r.p_value == pytest.approx(_t_tail(t, df), rel=1e-4)
    d = (b.mean() - a.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert r.effect_size == pytest.approx(d)
    assert r.worse and "worse at p < 0.01" in r.message()
    # the other way round: an improvement is never a regression
    assert welch_worse(cand, base).p_value == pytest.approx(1 - r.p_value, rel=1e-6)
    assert not welch_worse(cand, base).worse


def test_welch_edge_cases():
    with pytest.raises(GoldenError, match="two or more runs on each side"):
        welch_worse([1.0, 1.1], [1.2])
    same = welch_worse([2.0, 2.0], [2.0, 2.0])
    assert same.p_value is None and not same.worse and "no test" in same.message()
    assert welch_worse([2.0, 2.0], [2.5, 2.5]).p_value == 0.0


def test_welch_for_runs_uses_final_val_loss():
    b = make_seed_baseline([seed_run(o) for o in (-0.01, 0.0, 0.01)])
    worse = [seed_run(o, val_shift=0.2) for o in (-0.01, 0.005, 0.01)]
    r = welch_for_runs(worse, b)
    assert r.metric == "val_loss" and r.n_candidate == 3 and r.worse
    assert welch_for_runs(worse[:1], b) is None
    assert not welch_for_runs([seed_run(o) for o in (-0.005, 0.0, 0.005)], b).worse


def test_band_png_is_written(tmp_path):
    b = make_seed_baseline([seed_run(o) for o in (-0.01, 0.01)])
    path = save_band_png(b, [seed_run(0.3, source="worse/events.jsonl")],
                         str(tmp_path / "band.png"))
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    # a one-run baseline draws too (no seeds section)
    one = golden.make_baseline(seed_run(0.0))
    assert save_band_png(one, [seed_run(0.1)], str(tmp_path / "one.png"))


def test_check_runs_takes_tolerances_from_the_spread_unless_given():
    from analyzer.golden_stats import check_runs
    b = make_seed_baseline([seed_run(o) for o in (-0.02, 0.0, 0.02)])
    # the seeds stray at most 0.02 / 1.379 = 1.45% from their mean (last step), so the
    # band's train-loss tolerance is 1.5 x 1.45% = 2.2%: a run 3% worse everywhere leaves it
    worse = seed_run(0.0)
    worse.iters["loss"] *= 1.03
    worse.evals[["train_loss", "val_loss"]] *= 1.03
    sc = check_runs([worse], b)
    assert sc.tolerance_source == "seed spread" and not sc.passed
    assert sc.results[0].tolerances["train_loss"].rtol == pytest.approx(1.5 * 0.02 / (4 / 2.9))
    assert sc.excursions["r"] and sc.welch is None
    loose = golden.make_tolerances({"loss": 0.05})
    explicit = check_runs([worse], b, loose, explicit={"train_loss", "eval_train_loss",
                                                        "val_loss", "final_val_loss"})
    assert explicit.passed and explicit.tolerance_source == "explicit --rtol"
    with pytest.raises(GoldenError, match="exact mode needs a baseline from one run"):
        check_runs([worse], b, mode="exact")


def test_check_runs_with_several_runs_runs_welch():
    from analyzer.golden_stats import check_runs
    b = make_seed_baseline([seed_run(o) for o in (-0.02, 0.0, 0.02)])
    same = check_runs([seed_run(o) for o in (-0.01, 0.01, 0.0)], b)
    assert same.passed and same.welch is not None and not same.welch.worse
    # a one-run baseline: the fixed defaults, no band, no test
    one = check_runs([seed_run(0.0), seed_run(0.01)], golden.make_baseline(seed_run(0.0)))
    assert one.tolerance_source == "defaults" and one.welch is None and one.excursions == {}


def test_the_statistics_report_lists_excursions_welch_and_the_picture():
    from analyzer.golden_stats import band_png, check_runs
    from analyzer.golden_stats_report import (data_uri, render_stats_markdown,
                                              render_stats_text, stats_dict)
    b = make_seed_baseline([seed_run(o, source=f"s{i}") for i, o in enumerate((-0.02, 0, 0.02))])
    worse = [seed_run(0.3 + o, source=f"w{i}") for i, o in enumerate((-0.01, 0.0, 0.01))]
    sc = check_runs(worse, b)
    png = band_png(b, worse)
    d = stats_dict(sc.excursions, sc.welch, sc.seeds, sc.tolerance_source, data_uri(png))
    text = render_stats_text(d)
    assert "seed band: 3 runs (s0, s1, s2); tolerance from the seed spread" in text
    assert "w0: train_loss outside the band at 20 points in 1 stretches" in text
    assert "one-sided Welch" in text and "worse at p < 0.01" in text
    md = render_stats_markdown(d)
    assert md.startswith("\n#### Seed statistics") and "](data:image/png;base64,iVBOR" in md
    assert json.loads(json.dumps(d))["welch"]["worse"] is True


def test_a_loss_the_format_does_not_print_is_absent_not_a_divergence():
    """llm.c prints no train-side eval loss: the band has val loss only, and checks work."""
    def llmc_like(offset: float):
        run = S.run(S.iters(range(20), [4 / (1 + 0.1 * s) + offset for s in range(20)]),
                    [S.ev(s, None, 4.1 / (1 + 0.1 * s) + offset) for s in range(0, 20, 5)])
        run.source = f"o{offset}"
        return run
    b = make_seed_baseline([llmc_like(o) for o in (-0.02, 0.0, 0.02)])
    assert set(b["seeds"]["band"]) == {"train_loss", "val_loss"}
    assert set(b["evals"]["5"]) == {"val_loss"} and b["final_val_loss"]["step"] == 15
    golden.loads_baseline(golden.dumps_baseline(b))
    from analyzer.golden_stats import check_runs
    sc = check_runs([llmc_like(0.01), llmc_like(-0.01)], b)
    assert sc.passed and sc.welch.metric == "val_loss"


# ---------------------------------------------------------------------------- the CLI

def write_seed(path, offset: float, steps: int = 40):
    from gptscope.schema import dumps, make_event
    from tests.analyzer._cli_runs import start
    evs = [start("s", config={"seed": 1})]
    for s in range(steps):
        if s % 10 == 0:
            evs.append(make_event("eval", "s", s, float(s), train_loss=4 / (1 + 0.1 * s) + offset,
                                  val_loss=4.1 / (1 + 0.1 * s) + offset))
        evs.append(make_event("iter", "s", s, float(s), loss=4 / (1 + 0.1 * s) + offset,
                              dt_ms=20.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(dumps(e) + "\n" for e in evs), encoding="utf-8")
    return str(path)


def cli(capsys, *argv):
    from analyzer.cli import main
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_golden_of_several_seeds_and_check_of_several_runs(tmp_path, capsys):
    seeds = [write_seed(tmp_path / f"seed{i}" / "events.jsonl", o)
             for i, o in enumerate((-0.02, 0.0, 0.02))]
    base = tmp_path / "band.json"
    code, _, err = cli(capsys, "golden", *seeds, "-o", str(base))
    assert code == 0 and "seed band of 3 runs, tolerances train_loss" in err
    same = [write_seed(tmp_path / f"new{i}" / "events.jsonl", o) for i, o in
            enumerate((-0.01, 0.0, 0.01))]
    code, out, err = cli(capsys, "check", *same, "--baseline", str(base))
    assert (code, err) == (0, "") and out.count("golden check: PASS") == 3
    assert "seed band: 3 runs (seed0, seed1, seed2); tolerance from the seed spread" in out
    assert "new0: inside the band at every step" in out and "not shown worse" in out
    worse = [write_seed(tmp_path / f"bad{i}" / "events.jsonl", 0.3 + o) for i, o in
             enumerate((-0.01, 0.0, 0.01))]
    code, out, _ = cli(capsys, "check", *worse, "--baseline", str(base), "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "regression" and len(data["runs"]) == 3
    assert data["statistics"]["welch"]["worse"] is True
    assert data["statistics"]["excursions"]["bad0"][0]["side"] == "above"
    # an explicit --rtol still rules the metrics it names
    code, out, _ = cli(capsys, "check", worse[0], "--baseline", str(base), "--rtol", "0.5",
                       "--json")
    assert code == 0 and json.loads(out)["statistics"]["tolerance_source"] == "explicit --rtol"


def test_cli_check_markdown_embeds_the_band_picture(tmp_path, capsys):
    seeds = [write_seed(tmp_path / f"s{i}" / "events.jsonl", o) for i, o in
             enumerate((-0.02, 0.02))]
    base = tmp_path / "band.json"
    assert cli(capsys, "golden", *seeds, "-o", str(base))[0] == 0
    code, out, _ = cli(capsys, "check", seeds[0], "--baseline", str(base), "--markdown")
    assert code == 0 and out.startswith("### :white_check_mark: gptscope golden check: PASS")
    assert "#### Seed statistics" in out and "](data:image/png;base64,iVBOR" in out
    png = tmp_path / "band.png"
    code, out, _ = cli(capsys, "check", seeds[0], "--baseline", str(base), "--markdown",
                       "--plot", str(png))
    assert code == 0 and f"]({png})" in out and png.read_bytes()[:4] == b"\x89PNG"
    # a seed baseline holds means: exact mode is refused as unusable input
    code, _, err = cli(capsys, "check", seeds[0], "--baseline", str(base), "--mode", "exact")
    assert code == 2 and "exact mode needs a baseline from one run" in err
