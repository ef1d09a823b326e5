"""NaN / Inf losses: where they start, what came before, whether the run ever recovered.

In a Run a non-finite loss is NaN in the ``loss`` column (our JSONL writes null, foreign
parsers give float nan). NaN also means "not logged" for formats whose iteration lines may
carry no loss (some modded-nanogpt records). For a stdout log a NaN counts as non-finite only
where its parser reported one (an anomaly event: run.STDOUT_FORMATS, and the series formats,
run.SCALAR_FORMATS, whose tables write one for every non-finite loss the series holds: a
metrics CSV's val-only row has no train loss, not a NaN one); otherwise only when the
segment shows the loss is normally logged: an anomaly event, a finite loss somewhere, or an
eval whose losses are non-finite too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.prepared import Prepared, prepared
from analyzer.findings import Finding
from analyzer.run import SCALAR_FORMATS, STDOUT_FORMATS, Run


def _dtype(run: Run) -> str | None:
    dtype = run.meta.get("dtype") or (run.meta.get("config") or {}).get("dtype")
    return str(dtype) if dtype else None


def _loss_text(x: float) -> str:
    """A loss as printed: 4 decimals, but a loss that blew up before it went non-finite
    (1.36e+15) in scientific form, not as 16 digits."""
    return f"{x:.4f}" if abs(x) < 1e6 else f"{x:.4g}"


def _suggestion(dtype: str | None, never_finite: bool) -> str:
    if never_finite:
        return ("Check the setup before the dynamics: token ids within the vocabulary, the "
                "weight initialisation, a zero or negative learning rate, and whether a "
                "float32 run of a few steps is finite.")
    tips = ["resume from a checkpoint before the onset with a lower learning rate or a "
            "longer warm-up", "enable gradient clipping (grad_clip=1.0)"]
    if dtype in ("float16", "fp16", "half"):
        tips.insert(0, "float16 overflows easily: train in bfloat16 if the device has it, "
                       "or make sure the GradScaler is enabled")
    return "; ".join(tips).capitalize() + "."


def _segment_mask(run: Run, seg: int, steps: np.ndarray, loss: np.ndarray) -> np.ndarray:
    bad = np.isinf(loss)
    an = run.anomalies
    an = an[(an["segment"] == seg) & (an["kind"] == "nonfinite_loss")]
    if len(an):
        bad |= np.isin(steps, an["step"].dropna().to_numpy(dtype="int64"))
    if run.format in STDOUT_FORMATS or run.format in SCALAR_FORMATS:
        # its parser writes an anomaly event for every non-finite loss it reads: a NaN
        # without one is a loss the line did not print (a modded val line's iteration)
        return bad
    ev = run.evals[run.evals["segment"] == seg]
    bad_evals = ev["val_loss"].isna() & ev["train_loss"].isna()
    logged = len(an) > 0 or np.isfinite(loss).any() or bool(bad_evals.any())
    if logged:
        bad |= np.isnan(loss)
    return bad


def nonfinite_loss(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """One finding per segment whose training or eval loss went NaN / Inf."""
    prep = prepared(run, config)
    return list(prep.once("nonfinite_loss", lambda: _nonfinite_loss(prep)))


def _nonfinite_loss(prep: Prepared) -> list[Finding]:
    run, findings = prep.run, []
    loss_all, lr_all = prep.column("loss"), prep.column("lr")
    for seg in sorted(set(prep.segment_ids) | set(run.evals["segment"])):
        rows = prep.stepped.get(seg, np.empty(0, np.int64))  # in step order
        bad = _segment_mask(run, seg, prep.take(prep.step, rows), prep.take(loss_all, rows))
        ev = run.evals[(run.evals["segment"] == seg) & run.evals["step"].notna()]
        ev_bad = ev[ev["val_loss"].isna() & ev["train_loss"].isna()
                    | np.isinf(ev["val_loss"].astype(float))]
        if bad.any() or not ev_bad.empty:
            findings.append(_segment_finding(
                run, prep.config, int(seg), prep.take(prep.step, rows).astype(float),
                prep.take(loss_all, rows), prep.take(lr_all, rows), bad, ev_bad))
        elif (stepless := _stepless_bad_evals(run, int(seg))
              or _stepless_report(run, int(seg), prep.take(prep.step, rows))) is not None:
            findings.append(stepless)
    return findings


_NAMES = {"nan": "NaN", "inf": "Inf", "-inf": "-Inf"}


def _stepless_report(run: Run, seg: int, steps: np.ndarray) -> Finding | None:
    """A non-finite loss the trainer reported at a step it does not print (TensorFlow's
    NanTensorHook: 'Model diverged with loss = NaN.'): said after the last logged step,
    never at a guessed one."""
    an = run.anomalies
    an = an[(an["segment"] == seg) & an["step"].isna() & (an["kind"] == "nonfinite_loss")]
    if an.empty:
        return None
    stopped = bool((an["action"] == "stop").any())
    last = int(steps.max()) if len(steps) else None
    where = f"after step {last}, the last one logged" if last is not None else "before any step"
    name = _NAMES.get(an["value"].iloc[0], "non-finite")
    return Finding(
        code="nonfinite_loss", severity="error", segment=seg, steps=None,
        message=(f"The trainer reported a {name} loss {where}, at a step the log does not "
                 "print" + (", and stopped the run there." if stopped else ".")),
        evidence={"reports": len(an), "last_logged_step": last, "stopped": stopped,
                  "first_nonfinite_step": None},
        suggestion=("Log every step around that point (the hook's every_n_iter) to see the "
                    "step and the losses before it; then lower the learning rate or clip "
                    "gradients, and check float16 loss scaling."))


def _stepless_bad_evals(run: Run, seg: int) -> Finding | None:
    """Non-finite val losses of evals that print no step (the Trainer's closing '***** eval
    metrics *****' block, 'eval_loss = nan'): said without a step rather than at a guessed
    one."""
    ev = run.evals[(run.evals["segment"] == seg) & run.evals["step"].isna()]
    val = ev["val_loss"].astype(float)
    n_bad = int((val.isna() & ev["train_loss"].isna() | np.isinf(val)).sum())
    if not n_bad:
        return None
    which = "evals that print" if n_bad > 1 else "eval that prints"
    return Finding(
        code="nonfinite_loss", severity="error", segment=seg, steps=None,
        message=(f"The val loss was NaN/Inf at {n_bad} {which} no step: the model's outputs on the eval batches went non-finite "
                 "(fp16 overflow, weights already NaN after training, an empty or corrupt "
                 "eval set)."),
        evidence={"nonfinite_evals": n_bad, "first_nonfinite_step": None},
        suggestion=("Look at the training losses logged before the eval (finite?), and "
                    "evaluate once in float32 on a few batches: a finite loss there points at "
                    "fp16 overflow, a NaN one at the weights or the eval data."))


def _segment_finding(run: Run, config: DiagnosticsConfig, seg: int, steps: np.ndarray,
                     loss: np.ndarray, lr_known: np.ndarray, bad: np.ndarray,
                     ev_bad: pd.DataFrame) -> Finding:
    """The finding of one segment with non-finite losses (``bad``, rows in step order)."""
    dtype = _dtype(run)
    onsets = [steps[bad].min()] if bad.any() else []
    if not ev_bad.empty:
        onsets.append(float(ev_bad["step"].min()))
    first = int(min(onsets))
    before = (steps < first) & np.isfinite(loss) & ~bad
    after_ok = (steps > first) & np.isfinite(loss) & ~bad
    last_ok = int(np.flatnonzero(before)[-1]) if before.any() else None
    lr_rows = np.flatnonzero((steps <= first) & np.isfinite(lr_known))
    lr = float(lr_known[lr_rows[-1]]) if len(lr_rows) else None
    n_bad = int(bad.sum())
    recovered = int(steps[after_ok][0]) if after_ok.any() else None
    never = last_ok is None
    last_step = int(steps[-1]) if len(steps) else first
    lr_txt = f", learning rate {lr:.3g}" if lr is not None else ""
    if n_bad == 0 and not never:  # only evals: every logged training loss is finite
        n_ev = len(ev_bad)
        msg = (f"The val loss was NaN/Inf at {n_ev} eval{'s' if n_ev > 1 else ''} from step "
               f"{first}, while every logged training loss stayed finite: the model's outputs "
               "on the eval batches went non-finite (fp16 overflow without the training "
               "loop's loss scaling, an empty or corrupt eval set).")
    elif never and first <= config.warmup_steps:
        msg = (f"The loss was not finite from the first logged step ({first}) on: "
               "the run never trained, so the cause is in the setup, not the dynamics.")
    elif never:
        msg = (f"Every logged loss is NaN/Inf: the log starts at step {first}, so the "
               "loss went non-finite earlier than that and never came back.")
    elif recovered is None:
        msg = (f"The loss became NaN/Inf at step {first} (last finite loss "
               f"{_loss_text(loss[last_ok])} at step {int(steps[last_ok])}{lr_txt}) and stayed "
               f"non-finite to the end of the log ({n_bad} logged iterations).")
    else:
        msg = (f"The loss was NaN/Inf at {n_bad} logged iterations from step {first} "
               f"(last finite loss {_loss_text(loss[last_ok])} at step {int(steps[last_ok])}"
               f"{lr_txt}) and was finite again at step {recovered}.")
    return Finding(
        code="nonfinite_loss", severity="error" if recovered is None else "warning",
        segment=int(seg), steps=(first, max(first, last_step)), message=msg,
        evidence={"first_nonfinite_step": first,
                  "last_finite_step": None if never else int(steps[last_ok]),
                  "last_finite_loss": None if never else float(loss[last_ok]),
                  "lr_at_onset": lr, "nonfinite_iters": n_bad,
                  "nonfinite_evals": int(len(ev_bad)), "persisted": recovered is None,
                  "recovered_at": recovered, "dtype": dtype},
        suggestion=_suggestion(dtype, never and first <= config.warmup_steps))


def nonfinite_grad(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Non-finite gradients reported by the trainer (anomaly events) while the loss was
    finite: fp16 loss-scale overflows are skipped harmlessly, anything else is suspect."""
    an = run.anomalies[run.anomalies["kind"] == "nonfinite_grad"]
    prep = prepared(run, config)
    findings = []
    for seg, df in an.groupby("segment"):
        # where the loss is non-finite too, nonfinite_loss already says it all
        rows = np.flatnonzero(prep.segment == seg)
        bad_loss = rows[~np.isfinite(prep.column("loss")[rows]) & prep.has_step[rows]]
        df = df[~df["step"].isin(prep.step[bad_loss])]
        if df.empty:
            continue
        steps = df["step"].dropna().astype(int).to_numpy()
        actions = set(df["action"].dropna())
        skipped = actions == {"skip"}
        # what the trainer did, as its anomaly events say: a stop is not "kept going"
        if "stop" in actions:
            outcome = " and the trainer stopped the run."
        elif skipped:
            outcome = " and those updates were skipped."
        elif "skip" in actions:
            outcome = "; some updates were skipped, others applied."
        else:
            outcome = " and the trainer kept going."
        findings.append(Finding(
            code="nonfinite_grad", severity="info" if skipped else "warning", segment=int(seg),
            steps=(int(steps.min()), int(steps.max())) if len(steps) else None,
            message=f"The gradient was NaN/Inf at {len(df)} steps" + outcome,
            evidence={"count": len(df), "steps": [int(s) for s in steps[:8]],
                      "actions": sorted(set(df["action"].dropna()))},
            suggestion=("A few skipped steps early in fp16 training are the loss scaler "
                        "finding its range; many of them, or any under bf16/fp32, call for a "
                        "lower learning rate or gradient clipping.")))
    return findings
