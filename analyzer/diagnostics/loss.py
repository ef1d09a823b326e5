"""Training-loss shape: spikes, divergence and plateaus.

A spike must clear two bars at once (see DiagnosticsConfig.loss_spike_sigma and
loss_spike_rel): a statistical one, as OLMo's z-score over a rolling window, and a practical
one, as llm-foundry's "k times the recent mean". One bar alone cries wolf on real logs.
Non-finite losses are left to the nonfinite diagnostic.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analyzer import orderstats
from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.prepared import prepared
from analyzer.findings import Finding
from analyzer.run import Run


def _segments(run: Run, config: DiagnosticsConfig
              ) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(segment, steps, losses, lrs) per segment with finite losses, in step order."""
    prep = prepared(run, config)

    def build() -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        loss, lr, out = prep.column("loss"), prep.column("lr"), []
        for seg, rows in prep.stepped.items():
            finite = np.isfinite(prep.take(loss, rows))
            rows = rows if finite.all() else rows[finite]
            if len(rows):
                out.append((seg, prep.take(prep.step, rows), prep.take(loss, rows),
                            prep.take(lr, rows)))
        return out
    return prep.once("loss_segments", build)


_BLOCK = 8192  # candidate windows gathered at once (8192 x 50 floats: 3.3 MB)


def _spike_points(loss: np.ndarray, config: DiagnosticsConfig) -> tuple[np.ndarray, ...]:
    """Boolean spike mask plus the rolling mean and std each loss was compared with (of the
    ``loss_window`` points before it, once ``loss_min_history`` exist), given where the mask
    may be set: elsewhere they are NaN.

    Why not pandas' rolling mean and std over all points: on a 1M-point run that took 30 ms
    of a 0.1 s diagnostics pass, and a loss above both bars is rare. A running sum finds the
    points above the practical bar (``loss_spike_rel`` over the mean), with a margin far
    above its rounding; only their windows are then averaged exactly, a block at a time (a
    noisy loss, with candidates everywhere, takes pandas' rolling statistics again)."""
    n, w = len(loss), config.loss_window
    mean, std = np.full(n, np.nan), np.full(n, np.nan)
    spike = _short_spikes(loss, config)
    first = config.loss_min_history  # the first point with that many before it
    if n <= first:
        return spike, mean, std
    csum = np.cumsum(loss)
    # the sum of the w points before point i: csum[i-1] - csum[i-w-1] (slices, no gathers)
    rough = np.empty(n - first)
    head = min(w, n) - first  # points first..w-1: every point before them
    if head > 0:
        rough[:head] = csum[first - 1:first - 1 + head] / np.arange(first, first + head)
    if n > w:
        rough[max(head, 0):] = (csum[w - 1:n - 1] - np.concatenate(([0.0], csum[:n - w - 1]))
                                )[max(first - w, 0):] / w
    bar = rough * (1 + config.loss_spike_rel)
    near = np.flatnonzero(loss[first:] > bar - 1e-6 * (np.abs(bar) + 1.0)) + first
    if len(near) > n // 16:  # a noisy loss: the rolling statistics of all points cost less
        roll = pd.Series(loss).shift(1).rolling(w, min_periods=first)
        mean[near], std[near] = roll.mean().to_numpy()[near], roll.std().to_numpy()[near]
    else:
        full = near[near >= w]  # a whole window before them, a block of them at a time
        for a in range(0, len(full), _BLOCK):
            rows = full[a:a + _BLOCK]
            windows = np.lib.stride_tricks.sliding_window_view(loss, w)[rows - w]
            mean[rows], std[rows] = windows.mean(axis=1), windows.std(axis=1, ddof=1)
        for i in near[near < w].tolist():  # the run's first points: fewer before them
            mean[i], std[i] = loss[:i].mean(), loss[:i].std(ddof=1)
    x, m, sd = loss[near], mean[near], std[near]
    spike[near] |= (x > m + config.loss_spike_sigma * sd) & (x > m * (1 + config.loss_spike_rel))
    return spike, mean, std


def _short_spikes(loss: np.ndarray, config: DiagnosticsConfig) -> np.ndarray:
    """Jumps where the rolling window has too little history (a short log, a run's first
    points): a loss ``short_spike_rel`` above the point before it and, on the other side,
    as far above the lowest of the next few or back near the point before within them, i.e.
    a jump against both sides (8.07 -> 15.13 -> 7.97; 3.02 -> 3.96 -> 3.56 -> 3.47 -> 3.28)."""
    out = np.zeros(len(loss), bool)
    factor = 1 + config.short_spike_rel
    stop = min(len(loss) - 1, config.loss_min_history)
    head = loss[:stop + 1]  # only the first points are judged this way
    rises = np.ones(len(head))
    with np.errstate(divide="ignore", invalid="ignore"):
        rises[1:] = head[1:] / head[:-1]
    for i in range(1, stop):
        after = loss[i + 1:i + 4]
        # (a loss equal to the one before is no jump: a loss stuck at 0.0 is 0 >= factor * 0)
        if not len(after) or loss[i] <= loss[i - 1] or loss[i] < factor * loss[i - 1]:
            continue
        # back near the point before also counts: a jump can decay over a few steps, as
        # when a resume restarts a finished schedule's learning rate
        low, near = after.min(), loss[i - 1] * (1 + config.short_spike_rel / 2)
        # ... or, for a jump to twice the point before and more (far above the loss of the
        # model at its initialization), back near it at any later point, however slowly
        # (BigScience's 12.44 -> 44.24 at iteration 3, back under 12.4 by iteration 31)
        if not (loss[i] >= factor * low or low <= near
                or (loss[i] >= 2 * loss[i - 1] and (loss[i + 1:] <= near).any())):
            continue
        # only where the rest of those points is calm: a loss that jumps up and down by
        # half anyway (a noisy fine-tune) has no spike to tell apart; the jump going on up
        # a step more is part of it (3.13 -> 4.12 -> 4.76 -> 3.84). A loss far above every
        # other of those points stands out all the same (5.30 -> 153318.95 -> 5.75 among
        # losses of 5.0-6.1 that move by up to 16% a line)
        mine = [i - 1] + ([i] if i < stop and loss[i + 1] > loss[i] else [])
        # (the log's last point has nothing after it to say whether its rise was noise)
        mine += [stop - 1] if stop == len(loss) - 1 and stop - 1 not in mine else []
        others = np.delete(rises[1:stop + 1], mine)
        rest = np.delete(head, [i] + ([i + 1] if i + 1 < len(head) and mine[-1] == i else []))
        out[i] = not (others >= 1 + config.short_spike_rel / 2).any() or \
            bool(loss[i] >= config.loss_above_start ** 2 * rest.max())
    return out


def loss_spikes(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Sudden jumps of the training loss. A jump gone by the next logged step is one odd
    batch (reported together, as info); one that lasts is a spike (warning); one never
    recovered from is a divergence (error)."""
    prep = prepared(run, config)

    def build() -> list[Finding]:
        out = []
        for seg, steps, loss, _ in _segments(run, config):
            found = _segment_spikes(seg, steps, loss, config)
            last = int(prep.take(prep.step, prep.stepped[seg])[-1])  # finite or not
            out += (found or _above_start(run, seg, steps, loss, config)
                    or (_last_jump(seg, steps, loss, config) if steps[-1] == last else []))
        return out
    return list(prep.once("loss_spikes", build))


def _above_start(run: Run, seg: int, steps: np.ndarray, loss: np.ndarray,
                 config: DiagnosticsConfig) -> list[Finding]:
    """A training loss far above the untrained model's (the segment's eval at step 0, in
    the same unit): a spike even when the log has too few points for the rolling checks
    (a parameter-golf log keeps one train line: 16.74 at step 2 against 6.94 at step 0)."""
    if (run.stats.val_unit or "loss") != "loss" or not len(run.evals):
        return []
    ev = run.evals
    at0 = ev[(ev["segment"] == seg) & (ev["step"] == 0)]["val_loss"].to_numpy(dtype=float)
    if not len(at0) or not np.isfinite(at0[0]) or at0[0] <= 0:
        return []
    high = np.flatnonzero((steps > 0) & (loss >= config.loss_above_start * at0[0]))
    if not len(high):
        return []
    i = int(high[0])
    return [Finding(
        code="loss_spike", severity="warning", segment=seg, steps=(int(steps[i]), int(steps[i])),
        message=(f"The training loss at step {steps[i]} ({loss[i]:.4f}) is "
                 f"{loss[i] / at0[0]:.1f}x the untrained model's val loss at step 0 "
                 f"({at0[0]:.4f}): training blew up there."),
        evidence={"step": int(steps[i]), "loss": float(loss[i]), "val_loss_at_0": float(at0[0]),
                  "ratio": float(loss[i] / at0[0])},
        suggestion=("Lower the learning rate or lengthen its warm-up, clip gradients, and "
                    "check the data at that step."))]


_LAST_JUMP_POINTS = 3  # a jump this close to the log's end is too recent to judge


def _last_jump(seg: int, steps: np.ndarray, loss: np.ndarray,
               config: DiagnosticsConfig) -> list[Finding]:
    """The segment's last few logged losses all ``loss_above_start`` times the highest
    before them: a jump the log ends on (a GPT-NeoX bf16 run, 2.28 at step 1 and 11.05 at
    step 2; a BigScience 52B run, 12.52 -> 40.75 -> 39.00 at steps 2-4), which the other
    checks cannot judge without points after it."""
    n = len(loss)
    if n < 2 or not np.isfinite(loss[-1]):
        return []
    for i in range(max(1, n - _LAST_JUMP_POINTS), n):  # the earliest jump still up at the end
        before = loss[:i][np.isfinite(loss[:i])]
        high = float(before.max()) if len(before) else math.nan
        if high > 0 and float(np.nanmin(loss[i:])) >= config.loss_above_start * high:
            break
    else:
        return []
    step = int(steps[i])
    where = "the last one logged" if i == n - 1 else f"and stayed there to step {steps[-1]}"
    return [Finding(
        code="loss_spike", severity="warning", segment=seg, steps=(step, step),
        message=(f"The training loss jumped to {loss[i]:.4f} at step {step}, {where}: "
                 f"{loss[i] / high:.1f}x the highest before it ({high:.4f}). Too soon to "
                 f"tell whether it recovers."),
        evidence={"step": step, "loss": float(loss[i]), "highest_before": high,
                  "ratio": float(loss[i] / high)},
        suggestion=("Watch the next steps; if the loss stays up, lower the learning rate or "
                    "lengthen its warm-up, clip gradients, and check the data at that step."))]


def _first_at_or_below(loss: np.ndarray, start: int, limit: float) -> int | None:
    """The first index from ``start`` on whose loss is <= ``limit``: looked for in growing
    chunks, since a spike usually recovers within a few points of a 1M-point series."""
    size = 64
    while start < len(loss):
        hit = np.flatnonzero(loss[start:start + size] <= limit)
        if len(hit):
            return start + int(hit[0])
        start, size = start + size, size * 4
    return None


def _segment_spikes(seg: int, steps: np.ndarray, loss: np.ndarray,
                    config: DiagnosticsConfig) -> list[Finding]:
    findings = []
    spike, mean, std = _spike_points(loss, config)
    outliers: list[int] = []
    i = 0
    for k in np.flatnonzero(spike):  # each jump, skipping those inside the last one
        if k < i:
            continue
        i = int(k)
        # the loss before the jump: median of the last few points, not the window mean,
        # which lags behind a loss that is still falling fast
        before = float(np.median(loss[max(0, i - 5):i]))
        back = _first_at_or_below(loss, i + 1, before * (1 + config.loss_spike_rel))
        recovered = back is not None
        end = back if back is not None else len(loss) - 1
        peak = int(i + np.argmax(loss[i:end + 1]))
        z = (loss[i] - mean[i]) / std[i] if std[i] > 0 else float("inf")
        evidence = {"step": int(steps[i]), "loss_before": before, "loss": float(loss[i]),
                    "peak_loss": float(loss[peak]), "peak_step": int(steps[peak]),
                    "z_score": float(z), "ratio_to_mean": float(loss[i] / mean[i]),
                    "recovered_at": int(steps[end]) if recovered else None}
        short = i < config.loss_min_history  # judged by its neighbours alone
        if recovered and end == i + 1 and not short:
            outliers.append(i)
        else:
            findings.append(_jump(seg, steps, loss, (i, peak, end), before, evidence,
                                  short, recovered))
            if not recovered:
                break
        i = end + 1
    if outliers:
        findings.append(_outliers(seg, steps, loss, mean, outliers))
    return findings


def _jump(seg: int, steps: np.ndarray, loss: np.ndarray, where: tuple[int, int, int],
          before: float, evidence: dict, short: bool, recovered: bool) -> Finding:
    """The finding of one jump at ``i`` (peak, back down at ``end``) that is not a
    single-point outlier: an early jump, a spike, or a divergence."""
    i, peak, end = where
    if recovered and short:
        return Finding(
            code="loss_spike", severity="info" if end == i + 1 else "warning",
            segment=seg, steps=(int(steps[i]), int(steps[end])),
            message=(f"The training loss jumped at step {steps[i]} ({loss[i - 1]:.4f} "
                     f"-> {loss[peak]:.4f}) and came back down by step {steps[end]} "
                     "(judged against its neighbours: too few points before it for "
                     "the rolling statistics)."),
            evidence=evidence,
            suggestion=("Early jumps are common while the learning rate warms up; if "
                        "they repeat, lower the learning rate or lengthen the warm-up, "
                        "and keep gradient clipping on."))
    if recovered:
        return Finding(
            code="loss_spike", severity="warning", segment=seg,
            steps=(int(steps[i]), int(steps[end])),
            message=(f"The training loss spiked at step {steps[i]} ({before:.4f} -> "
                     f"{loss[peak]:.4f}) and came back down by step {steps[end]}."),
            evidence=evidence,
            suggestion=("One recovered spike is usually harmless; repeated spikes "
                        "call for a lower learning rate, gradient clipping, or a look "
                        "at the batches at those steps (bad data)."))
    return Finding(
        code="loss_divergence", severity="error", segment=seg,
        steps=(int(steps[i]), int(steps[-1])),
        message=(f"The training loss exploded at step {steps[i]} ({before:.4f} -> "
                 f"{loss[peak]:.4f}) and had not recovered by the end of the log "
                 f"({loss[-1]:.4f} at step {steps[-1]})."),
        evidence=evidence,
        suggestion=("Restart from a checkpoint before the jump with a lower "
                    "learning rate or a longer warm-up, and keep gradient "
                    "clipping on (grad_clip=1.0)."))


def _outliers(seg: int, steps: np.ndarray, loss: np.ndarray, mean: np.ndarray,
              idx: list[int]) -> Finding:
    worst = max(idx, key=lambda k: loss[k] / mean[k])
    return Finding(
        code="loss_outliers", severity="info", segment=seg,
        steps=(int(steps[idx[0]]), int(steps[idx[-1]])),
        message=(f"{len(idx)} single-step loss jump(s), each gone by the next logged step "
                 f"(largest {loss[worst]:.4f} at step {steps[worst]} against a recent mean of "
                 f"{mean[worst]:.4f}): unusual batches, not instability."),
        evidence={"count": len(idx), "steps": [int(steps[k]) for k in idx[:20]],
                  "max_ratio_to_mean": float(loss[worst] / mean[worst])},
        suggestion=("Harmless on their own. If they come at the same steps in every run, the "
                    "data at those positions is odd (duplicated or garbled documents)."))


def loss_trend_divergence(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """A loss that drifts up for good without one sudden spike: the rolling median at the
    end is well above its lowest point."""
    findings = []
    spiked = {f.segment for f in loss_spikes(run, config) if f.code == "loss_divergence"}
    for seg, steps, loss, _ in _segments(run, config):
        if seg in spiked or len(loss) < 2 * config.loss_min_history:
            continue
        w = max(5, len(loss) // 20)
        full = len(loss) // w * w  # whole blocks only: the last partial one is too noisy
        med = orderstats.block_medians(loss[len(loss) - full:], w)
        if len(med) < 2:
            continue
        low = int(np.argmin(med))
        final = float(med[-1])
        if final <= med[low] * (1 + config.divergence_rel) or final - med[low] <= _noise(med):
            continue
        offset = len(loss) - full
        low_step = int(steps[offset + low * w])
        val = _val_fell(run, seg, low_step)
        if val is not None:  # the held-out loss says the model got better: not a divergence
            findings.append(Finding(
                code="train_loss_rise", severity="info", segment=seg,
                steps=(low_step, int(steps[-1])),
                message=(f"The training loss rose from {med[low]:.4f} around step {low_step} "
                         f"to {final:.4f} at the end (step {steps[-1]}) while the val loss "
                         f"fell from {val[0]:.4f} to {val[1]:.4f}: the training objective or "
                         f"data changed (a curriculum, a phase of another loss), the model "
                         f"did not diverge."),
                evidence={"low_step": low_step, "low_median": float(med[low]),
                          "final_median": final, "window": w, "val_first": val[0],
                          "val_last": val[1]},
                suggestion="Nothing to fix if the objective changes on purpose; compare runs "
                           "by their val loss."))
            continue
        findings.append(Finding(
            code="loss_divergence", severity="error", segment=seg,
            steps=(low_step, int(steps[-1])),
            message=(f"The training loss has been climbing: its median went from "
                     f"{med[low]:.4f} around step {low_step} up to {final:.4f} at the end "
                     f"(step {steps[-1]})."),
            evidence={"low_step": low_step, "low_median": float(med[low]),
                      "final_median": final, "window": w},
            suggestion=("Lower the learning rate (or decay it), check the data order for a "
                        "switch to different data, and keep gradient clipping on.")))
    done = {f.segment for f in findings} | spiked
    return findings + [f for f in _val_divergence(run, config) if f.segment not in done]


def _noise(med: np.ndarray) -> float:
    """How far block medians wander by chance: 4 robust standard deviations of one block's
    median, from the spread of the steps between neighbours around their typical step (a
    drift moves them all alike; per-batch losses of an SFT mix, 0.16 to 2.1, scatter them).
    The lowest of many noisy medians is far below their level: a rise from it is no
    divergence unless it is larger than this."""
    d = np.diff(med)
    if len(d) < 3:
        return 0.0
    mad = float(np.median(np.abs(d - np.median(d))))
    return 4.0 * 1.4826 * mad / np.sqrt(2.0)


def _val_fell(run: Run, seg: int, since: int) -> tuple[float, float] | None:
    """(first, last) val loss of the segment's evals from step ``since`` on, when there are
    two or more and the last is clearly (2%) below the first; else None."""
    ev = run.evals[(run.evals["segment"] == seg) & run.evals["val_loss"].notna()
                   & (run.evals["step"] >= since)].sort_values("step")
    val = ev["val_loss"].to_numpy(dtype=float)
    if len(val) < 2 or not np.isfinite(val).all() or not val[-1] < 0.98 * val[0]:
        return None
    return float(val[0]), float(val[-1])


def _train_change(run: Run, seg: int, since: int) -> float | None:
    """The train loss at the segment's end over that at step ``since``: the evals' own train
    loss where they print one (nanoGPT's eval lines), else the median of the last few logged
    losses at ``since`` and at the end; None when there is nothing to compare."""
    ev = run.evals[(run.evals["segment"] == seg) & (run.evals["step"] >= since)]
    tr = ev["train_loss"].to_numpy(dtype=float) if "train_loss" in ev else np.empty(0)
    tr = tr[np.isfinite(tr)]
    if len(tr) >= 2:
        return float(tr[-1] / tr[0]) if tr[0] > 0 else None
    it = run.iters[(run.iters["segment"] == seg) & np.isfinite(run.iters["loss"])]
    at, end = it[it["step"] <= since]["loss"].tail(5), it["loss"].tail(5)
    if not len(at) or not len(end) or not at.median() > 0:
        return None
    return float(end.median() / at.median())


def _train_fell(run: Run, seg: int, since: int) -> bool:
    """The train loss fell by a tenth or more from step ``since`` to the segment's end."""
    change = _train_change(run, seg, since)
    return change is not None and change < 0.9


def _worse_than_start(run: Run, seg: int, val: np.ndarray, best_step: int,
                      config: DiagnosticsConfig) -> bool:
    """The val loss got better, then ended clearly (a third of divergence_rel) above where it
    started, with the train loss climbing as much since the best step: both losses say the
    model is now worse than untrained (an unstable run: 8.94 -> 13.09 from an initial 10.86,
    train 8.66 -> 12.76), a rise smaller than a divergence's bar from the best."""
    rel = 1 + config.divergence_rel / 3
    if not (val[-1] > val[0] * rel and val.min() < val[0]):
        return False
    change = _train_change(run, seg, best_step)
    return change is not None and change > rel


def _val_divergence(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """The val loss ends far above its best (twice divergence_rel above it): a model that
    was destroyed (a fine-tune with a wrong learning rate), whatever the train loss shows,
    unless the val loss got better first and the train loss kept falling since its best:
    overfitting, however far (a tiny dataset memorised: val 2.60 -> 5.55, train 2.38 -> 0.23),
    which the overfitting diagnostic reports."""
    findings = []
    ev_all = run.evals[run.evals["val_loss"].notna() & run.evals["step"].notna()]
    for seg, ev in ev_all.groupby("segment"):
        ev = ev.sort_values("step").drop_duplicates("step", keep="last")
        val = ev["val_loss"].to_numpy(dtype=float)
        if len(val) < 2 or not np.isfinite(val).all() or val.min() <= 0:
            continue
        best = int(np.argmin(val))
        if best == len(val) - 1:
            continue
        steps = ev["step"].to_numpy(dtype=int)
        if val[-1] < val[best] * (1 + 2 * config.divergence_rel) \
                and not _worse_than_start(run, int(seg), val, int(steps[best]), config):
            continue
        if best > 0 and _train_fell(run, int(seg), int(steps[best])):
            continue  # better at first, then worse while the train loss falls: overfitting
        findings.append(Finding(
            code="loss_divergence", severity="error", segment=int(seg),
            steps=(int(steps[best]), int(steps[-1])),
            message=(f"The val loss diverged: best {val[best]:.4f} at step {steps[best]}, "
                     f"{val[-1]:.4f} at step {steps[-1]} ({val[-1] / val[best]:.1f}x"
                     + (f", above its first {val[0]:.4f}" if best and val[-1] > val[0] else "")
                     + "): the model got worse, not just noisier."),
            evidence={"best_step": int(steps[best]), "best_val_loss": float(val[best]),
                      "last_step": int(steps[-1]), "last_val_loss": float(val[-1])},
            suggestion=("Keep the checkpoint from the best step; restart from it with a lower "
                        "learning rate (a fine-tune usually wants 10-100x less than "
                        "pre-training) and a warm-up.")))
    return findings


def loss_plateau(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """The loss stopped improving while the learning rate was still high."""
    findings = []
    for seg, steps, loss, lr in _segments(run, config):
        span = steps[-1] - steps[0]
        tail = steps >= steps[-1] - config.plateau_frac * span
        if span <= 0 or tail.sum() < config.plateau_min_points:
            continue
        if np.isfinite(lr).any():
            peak = np.nanmax(lr)
            tail_lr = np.nanmin(np.where(tail, lr, np.nan)) if np.isfinite(lr[tail]).any() \
                else np.nan
            if not (tail_lr >= config.plateau_lr_frac * peak):
                continue  # a decayed schedule settling down is convergence
        t = loss[tail]
        half = len(t) // 2
        a, b = float(orderstats.median(t[:half])), float(orderstats.median(t[half:]))
        gain = (a - b) / abs(a) if a else 0.0
        if gain >= config.plateau_rel:
            continue
        s0 = int(steps[tail][0])
        findings.append(Finding(
            code="loss_plateau", severity="info", segment=seg, steps=(s0, int(steps[-1])),
            message=(f"The training loss stopped improving from step {s0} on "
                     f"(median {a:.4f} then {b:.4f}) although the learning rate was still "
                     f"high or unknown."),
            evidence={"median_first_half": a, "median_second_half": b, "improvement": gain,
                      "points": int(tail.sum())},
            suggestion=("If this is not the end of training, try a higher or lower learning "
                        "rate, a bigger model, or check that the data is not repeating.")))
    return findings
