"""NaN / Inf losses: onset, last finite loss, lr there, persisted or recovered."""
from __future__ import annotations

import math

import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.nonfinite import nonfinite_grad, nonfinite_loss
from gptscope.schema import make_event
from tests.analyzer._synth import ev, iters, run

CFG = DiagnosticsConfig()
NAN = float("nan")


def test_nan_onset_persisting():
    steps = list(range(0, 455, 5))
    losses = [3.5 if s < 425 else NAN for s in steps]
    lrs = [6e-4 - s * 1e-7 for s in steps]
    (f,) = nonfinite_loss(run(iters(steps, losses, lr=lrs)), CFG)
    assert f.code == "nonfinite_loss" and f.severity == "error"
    assert f.steps == (425, 450)
    e = f.evidence
    assert (e["first_nonfinite_step"], e["last_finite_step"], e["last_finite_loss"]) == \
        (425, 420, 3.5)
    assert e["lr_at_onset"] == pytest.approx(6e-4 - 425e-7)
    assert e["persisted"] is True and e["nonfinite_iters"] == 6
    assert "425" in f.message and "420" in f.message


def test_recovered_nan_is_a_warning():
    losses = [2.0] * 10 + [NAN] * 3 + [2.0] * 10
    (f,) = nonfinite_loss(run(iters(range(23), losses)), CFG)
    assert f.severity == "warning"
    assert f.evidence["recovered_at"] == 13 and f.evidence["persisted"] is False


def test_a_huge_last_finite_loss_is_written_readably():
    losses = [2.4, 1.3633944e15, NAN]
    (f,) = nonfinite_loss(run(iters(range(3), losses)), CFG)
    assert "last finite loss 1.363e+15 at step 1" in f.message
    assert f.evidence["last_finite_loss"] == 1.3633944e15


def test_inf_counts_too():
    losses = [2.0] * 5 + [math.inf] * 2
    # make_event writes inf as null (JSON has none), so build the frame value directly
    r = run(iters(range(7), losses[:5] + [2.0, 2.0]))
    r.iters.loc[5:, "loss"] = math.inf
    (f,) = nonfinite_loss(r, CFG)
    assert f.evidence["first_nonfinite_step"] == 5


def test_never_finite_with_nan_val_loss():
    # llm.c: 'val loss nan' then 'loss nan' from step 1 on
    r = run([ev(0, None, None)], iters(range(1, 100), NAN, lr=1e-6))
    (f,) = nonfinite_loss(r, CFG)
    assert f.evidence["first_nonfinite_step"] == 0
    assert f.evidence["last_finite_loss"] is None
    assert "setup" in f.message or "never" in f.message


def test_a_nan_val_loss_beside_finite_training_losses_says_so():
    """A Trainer's 'eval_loss': nan while every training loss is finite: the message is
    about the val loss, never 'NaN/Inf at 0 logged iterations'."""
    r = run(iters(range(0, 1000, 100), 2.0), [ev(500, None, NAN)])
    (f,) = nonfinite_loss(r, CFG)
    assert f.evidence["first_nonfinite_step"] == 500 and f.evidence["nonfinite_iters"] == 0
    assert f.message.startswith("The val loss was NaN/Inf at 1 eval from step 500")
    assert "0 logged iterations" not in f.message


def test_log_starting_mid_run_does_not_claim_the_run_never_trained():
    r = run([ev(16000, None, None)], iters(range(16219, 16256), NAN))
    (f,) = nonfinite_loss(r, CFG)
    assert "never trained" not in f.message and "step 16000" in f.message


def test_loss_not_logged_is_not_nan():
    # modded-nanogpt records whose step lines carry no train loss: NaN means "absent"
    r = run(iters(range(100), None), [ev(0, None, 10.8), ev(50, None, 4.0)])
    assert nonfinite_loss(r, CFG) == []


def test_anomaly_events_mark_the_step():
    # our trainer: loss null in the iter event, then an anomaly event with the value
    r = run(iters(range(10), [2.0] * 9 + [None]),
            [make_event("anomaly", "r", 9, 9.0, kind="nonfinite_loss", value="inf",
                        action="stop")])
    (f,) = nonfinite_loss(r, CFG)
    assert f.evidence["first_nonfinite_step"] == 9


def test_fp16_gets_fp16_advice():
    r = run(iters(range(20), [2.0] * 10 + [NAN] * 10), meta={"dtype": "float16"})
    (f,) = nonfinite_loss(r, CFG)
    assert "float16" in f.suggestion and f.evidence["dtype"] == "float16"


def test_healthy_run_has_none():
    assert nonfinite_loss(run(iters(range(100), 2.0), [ev(50, 2.0, 2.1)]), CFG) == []


@pytest.mark.parametrize("action, severity", [("skip", "info"), ("continue", "warning")])
def test_nonfinite_grad(action, severity):
    an = [make_event("anomaly", "r", s, 0.0, kind="nonfinite_grad", value="inf", action=action)
          for s in (3, 4)]
    (f,) = nonfinite_grad(run(iters(range(10)), an), CFG)
    assert f.severity == severity and f.evidence["count"] == 2 and f.steps == (3, 4)


def test_nonfinite_grad_at_nonfinite_loss_steps_is_not_repeated():
    # llm.c prints 'loss nan ... norm nan': the loss finding covers both
    an = [make_event("anomaly", "r", s, 0.0, kind="nonfinite_grad", value="nan",
                     action="continue") for s in range(5, 10)]
    r = run(iters(range(10), [2.0] * 5 + [NAN] * 5), an)
    assert nonfinite_grad(r, CFG) == []
    assert nonfinite_loss(r, CFG)[0].evidence["first_nonfinite_step"] == 5


def test_nonfinite_grad_stop_is_not_kept_going():
    # a NaN stop (nan_policy=stop): the trainer did not keep going (issue #17 item 11)
    an = [make_event("anomaly", "r", s, 0.0, kind="nonfinite_grad", value="nan", action=a)
          for s, a in ((3, "skip"), (4, "skip"), (5, "stop"))]
    (f,) = nonfinite_grad(run(iters(range(10)), an), CFG)
    assert "stopped the run" in f.message and "kept going" not in f.message


def test_a_val_lines_loss_less_iteration_is_no_nan():
    # a modded-nanogpt log resumed at step 30000 opens with a val line, which gives its step
    # an iteration with the step time and no loss: not a NaN (the parser reports every
    # non-finite loss it reads as an anomaly; here there is none)
    from analyzer.parsers import modded
    from tests.analyzer._parse_util import run as parse
    text = "step:30000/60000 val_loss:2.0349 val_bpb:1.2215 train_time:47870254ms\n" + "".join(
        f"step:{s}/60000 train_loss:{2.0 + (s % 7) / 100:.4f} lr_mul:0.0999 "
        f"train_time:{47870254 + (s - 30000) * 1600}ms step_avg:1595.69ms\n"
        for s in range(30020, 30400, 20))
    r = parse(modded, text)
    assert r.iters["loss"].isna().sum() == 1  # the val line's iteration
    assert nonfinite_loss(r, DiagnosticsConfig()) == []
    # a NaN the log prints is still found
    r = parse(modded, text.replace("train_loss:2.0300", "train_loss:nan"))
    (f,) = nonfinite_loss(r, DiagnosticsConfig())
    assert f.steps[0] == 30040


def test_reported_formats_are_the_stdout_parsers():
    import importlib
    from analyzer.run import STDOUT_FORMATS
    from analyzer.parsers import MODULES
    from analyzer.parsers._stdout import StdoutParser
    names = {m.NAME for m in (importlib.import_module(f"analyzer.parsers.{n}") for n in MODULES)
             if isinstance(getattr(m, "Parser", None), type)
             and issubclass(m.Parser, StdoutParser)}
    assert STDOUT_FORMATS == names


def test_a_metrics_csvs_val_only_rows_are_no_nan_loss(tmp_path):
    """A script's metrics CSV: train rows every 200 steps, val rows every 100 with a blank
    train_loss but the lr filled in. The lr makes those steps iterations, with no loss: not
    'NaN at 50 logged iterations'. A real 'nan' in the train_loss column still is one."""
    import analyzer
    from analyzer.diagnostics import run_all
    rows = ["step,train_loss,val_loss,lr,wall_cum_s"]
    for s in range(0, 2001, 100):
        if s % 200 == 0:
            rows.append(f"{s},{6 - s / 1000:.4f},,0.0003,{s * 2.4:.1f}")
        rows.append(f"{s},,{6.1 - s / 1000:.4f},0.0003,{s * 2.4:.1f}")
    p = tmp_path / "metrics.csv"
    p.write_text("\n".join(rows) + "\n")
    r = analyzer.load(p)
    assert r.format == "lightning"
    assert "nonfinite_loss" not in [f.code for f in run_all(r)]
    p.write_text("\n".join(rows + ["2200,nan,,0.0003,5280.0"]) + "\n")
    (f,) = [f for f in run_all(analyzer.load(p)) if f.code == "nonfinite_loss"]
    assert f.steps[0] == 2200
