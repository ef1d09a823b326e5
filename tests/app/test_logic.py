"""What the dashboard computes from a Run besides charts: summaries, figures, metadata."""
from __future__ import annotations

import math

import pytest

from analyzer.run import Run
from app import logic
from app.discovery import RunFile
from tests.app import _runs as R


def _run(evs):
    return Run.from_events(evs, "gptscope", "x")


def _rf(mtime=R.T0 + 100):
    return RunFile(path=None, name="r/events.jsonl", kind="events", mtime=mtime, size=1)


def test_summary_of_a_completed_run():
    run = _run(R.events("r", 200, ended=True))
    s = logic.summarize(run, _rf(), now=R.T0 + 10_000)
    assert (s.status, s.step, s.iters) == ("completed", 199, 200)
    assert s.loss == pytest.approx(4.0 - 2.0 * 199 / 200)
    assert s.val_loss == pytest.approx(4.1 - 150 / 200)   # last eval at step 150
    assert s.elapsed_s == pytest.approx(0.1 * 199 + 1)    # run_end's wall_s


def test_summary_of_a_live_then_silent_run():
    run = _run(R.events("r", 100))
    assert logic.summarize(run, _rf(R.T0 + 10), now=R.T0 + 20).status == "running"
    assert logic.summarize(run, _rf(R.T0 + 10), now=R.T0 + 500).status == "stalled"
    s = logic.summarize(run, _rf(R.T0 + 10), now=R.T0 + 20)
    assert s.elapsed_s == pytest.approx(9.9)               # first event to last event


def test_summary_latest_loss_is_nan_when_the_last_step_was_not_finite():
    run = _run(R.events("r", 10, nan_at=9))
    assert math.isnan(logic.summarize(run, _rf(), now=R.T0).loss)


def test_summary_table_formats_and_absent_values_read_as_a_dash():
    rows = [logic.Summary("a", "running", 5, 1.5, None, 3725.0, 990.0, "gptscope", 6)]
    rows.append(logic.Summary("b", "waiting", None, math.nan, None, None, 0.0, "log", 0))
    table = logic.summary_table(rows, now=1000.0)
    assert table.iloc[0].to_dict() == {"run": "a", "status": "running", "step": "5",
                                       "loss": "1.5000", "val loss": "–",
                                       "elapsed": "1:02:05", "updated": "10 s ago",
                                       "format": "gptscope"}
    assert table.iloc[1][["step", "loss", "val loss", "elapsed"]].tolist() == ["–"] * 4
    shown = table.astype(str).to_numpy().ravel().tolist()
    assert not any(v in ("nan", "None", "NaN", "<NA>") for v in shown)


def test_steady_figures_leave_eval_steps_out():
    # nanoGPT-like: every 50th iteration holds an eval (400 ms, MFU 0.0), the last one too
    evs = [R.start("r")]
    for s in range(201):
        ev = s % 50 == 0
        evs.append(R.it("r", s, 2.0, dt_ms=4000.0 if ev else 100.0, eval_inclusive=ev,
                        mfu=0.0005 if ev else 0.0048, tokens_per_s=180.0 if ev else 20_000.0))
    fig = logic.steady_figures(_run(evs))
    assert fig == {"step_ms": 100.0, "tokens_per_s": 20_000.0, "mfu": 0.0048, "mfu_note": None}
    assert logic.fmt_pct(fig["mfu"]) == "0.48%" and logic.fmt_pct(None) == "–"
    assert logic.steady_figures(_run([R.start("r")])) == {
        "step_ms": None, "tokens_per_s": None, "mfu": None, "mfu_note": None}


def test_steady_mfu_of_a_nanogpt_log_says_it_is_of_an_a100s_peak_or_corrects_it():
    """nanoGPT divides by an A100's 312 TFLOPS on every GPU: the header keeps that figure
    with a note when the GPU is not named, and gives the GPU's own MFU when it is."""
    def fig(**meta):
        evs = [R.start("r", peak_flops=312e12, device="cuda",
                       peak_flops_source="table:nanoGPT train.py A100 bf16 constant", **meta)]
        evs += [R.it("r", s, 2.0, dt_ms=100.0, mfu=0.10) for s in range(40)]
        return logic.steady_figures(_run(evs))
    unnamed = fig()
    assert unnamed["mfu"] == 0.10 and "the log does not name the GPU" in unnamed["mfu_note"]
    h100 = fig(device_name="NVIDIA H100 80GB HBM3")
    assert h100["mfu"] == pytest.approx(0.10 * 312 / 989)
    assert "NVIDIA H100 80GB HBM3's 989 TFLOPS" in h100["mfu_note"]


def test_comparison_best_val_and_differing_config():
    a = _run(R.events("a", 120))
    b = _run([R.start("b", config={"learning_rate": 3e-4, "batch_size": 4})]
             + R.events("b", 120)[1:])
    assert logic.best_val(a) == pytest.approx(4.1 - 100 / 120)
    assert logic.best_val(_run([R.start("c")])) is None
    diff = logic.config_diff([("a", a), ("b", b)])
    assert diff.to_dict("records") == [{"setting": "learning_rate", "a": "0.001",
                                        "b": "0.0003"}]
    assert len(logic.config_diff([("a", a), ("a2", a)])) == 0


@pytest.mark.parametrize("seconds, want", [(None, "–"), (0.4, "0 s"), (59, "59 s"),
                                           (61, "1:01"), (3600, "1:00:00"), (math.inf, "–")])
def test_fmt_duration(seconds, want):
    assert logic.fmt_duration(seconds) == want


def test_meta_rows_and_evidence():
    run = _run(R.events("r", 3, ended=True))
    rows = dict(logic.meta_rows(run, "r/events.jsonl"))
    assert rows["model parameters"] == "12.35k"
    assert rows["model shape"] == "n_layer=2, n_head=2, n_embd=16, block_size=32, vocab_size=65"
    assert rows["peak FLOP/s source"] == "unknown" and rows["device"] == "cpu"
    assert rows["end"] == "completed"
    text = logic.fmt_evidence({"ratio": 5.123456, "steps": list(range(10)), "ok": True})
    assert text == "ratio = 5.123 · steps = [0, 1, 2, 3, 4, 5, 6, 7, …] · ok = True"


@pytest.mark.parametrize("n, want", [(None, "–"), (12, "12"), (1234, "1.23k"),
                                     (10_650_000, "10.65M"), (3.12e14, "312.00T"),
                                     (2e9, "2.00G")])
def test_fmt_count(n, want):
    assert logic.fmt_count(n) == want


def test_meta_rows_count_the_runs_in_a_file(tmp_path):
    # two independent runs in one stdout log (a seed loop): the metadata says so (issue #12)
    from analyzer.loader import load
    lines = []
    for seed in (1, 2):
        lines += [f"Overriding: seed = {seed}", "number of parameters: 10.65M"]
        lines += [f"iter {s}: loss {4 - s / 100:.4f}, time 20.00ms, mfu 5.00%" for s in range(5)]
    log = tmp_path / "two.log"
    log.write_text("\n".join(lines) + "\n")
    rows = dict(logic.meta_rows(load(log), str(log)))
    assert rows["independent runs in this file"] == "2"
    one = _run(R.events("r", 3, ended=True))
    assert dict(logic.meta_rows(one, "r/events.jsonl"))["independent runs in this file"] == "1"
