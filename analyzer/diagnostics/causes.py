"""Root causes: what came just before a loss spike, a divergence or a NaN, and timing patterns.

The loss diagnostics say *that* a run spiked; this module looks at the steps before the onset
and says which cause the evidence favours, quoting it:

- gradient norm: its z-score against the previous GRAD_WINDOW logged norms (llm.c prints z
  over 128 steps; OLMo-core flags 6 sigma over 128) rising in the last steps before the onset;
- the learning-rate schedule there: the end of warm-up, or the peak learning rate;
- an eval or a checkpoint right before (a train/eval mode switch, a reloaded data loader);
- float16: the loss scale dropping (fp16 overflow) where the log has it, or a float16 run;
- the same step spiking in several runs (``shared_spikes``): the data at that position.

Timing: unexplained slow steps are periodic (something the loop does every k steps) or random
(other jobs, data loading); a step time that creeps up over the run is its own finding.
Thresholds are constants here, each with its reason (DiagnosticsConfig belongs to the other
diagnostics).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analyzer import orderstats
from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.loss import loss_spikes
from analyzer.diagnostics.nonfinite import nonfinite_loss
from analyzer.diagnostics.prepared import Prepared, prepared, sharing
from analyzer.diagnostics.timing import log_intervals, timing_spike_rows
from analyzer.findings import Finding
from analyzer.run import Run

GRAD_WINDOW = 128      # logged steps a grad-norm z-score is measured against (llm.c, OLMo)
GRAD_LOOKBACK = 10     # logged steps before the onset where a rising z-score counts
GRAD_Z = 3.0           # z at which the grad norm is "rising" (OLMo-core's 6 is for a spike)
GRAD_MIN_HISTORY = 20  # logged norms needed before a z-score means anything
NEAR_STEPS = 0.1       # "at the end of warm-up": within 10% of warmup_iters
PEAK_LR = 0.95         # "at peak lr": lr within 5% of the run's highest
EVAL_GAP = 2           # an eval/checkpoint this many logged intervals before the onset or less
CREEP_RATIO = 1.2      # last-fifth / first-fifth median step time for a creep
CREEP_RHO = 0.6        # Spearman correlation of block medians with time: a steady rise
CREEP_MIN_POINTS = 50  # steady iterations needed to judge a trend


def _onsets(run: Run, config: DiagnosticsConfig,
            spikes: list[Finding] | None = None) -> list[tuple[str, int, int]]:
    """(kind, segment, step) of each loss spike, divergence and NaN onset (``spikes``: the
    run's loss_spikes findings when the caller has them already)."""
    spikes = loss_spikes(run, config) if spikes is None else spikes
    out = [(f.code, f.segment, int(f.evidence["step"])) for f in spikes
           if f.code in ("loss_spike", "loss_divergence")]
    out += [("nonfinite_loss", f.segment, int(f.evidence["first_nonfinite_step"]))
            for f in nonfinite_loss(run, config) if f.evidence.get("last_finite_step") is not None]
    return out


@dataclass(frozen=True)
class SegmentSeries:
    """What the evidence helpers read of one segment, in step order (rows without a step
    left out), computed once per segment however many onsets it has."""
    grad_steps: np.ndarray    # rows with a finite grad norm
    grad: np.ndarray
    grad_z: np.ndarray | None  # None: fewer than GRAD_MIN_HISTORY norms
    grad_mean: np.ndarray | None  # mean of the GRAD_WINDOW norms before each
    lr_steps: np.ndarray      # rows with a finite, positive learning rate
    lr: np.ndarray
    gap: int                  # median logged interval, in steps
    any_grad: bool            # any grad norm / learning rate logged at all
    any_lr: bool
    first_step: int | None = None  # the segment's first logged iteration


def segment_series(prep: Prepared, seg: int) -> SegmentSeries:
    return prep.once(f"cause_series_{seg}", lambda: _segment_series(prep, seg))


def _segment_series(prep: Prepared, seg: int) -> SegmentSeries:
    rows = prep.stepped.get(seg, np.empty(0, np.int64))
    steps, grad, lr = prep.step[rows], prep.column("grad_norm")[rows], prep.column("lr")[rows]
    keep = np.isfinite(grad)
    g, g_steps = grad[keep], steps[keep]
    z = mean = None
    if len(g) >= GRAD_MIN_HISTORY:
        prev = pd.Series(g).shift(1).rolling(GRAD_WINDOW, min_periods=GRAD_MIN_HISTORY)
        mean = prev.mean().to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (g - mean) / prev.std().to_numpy()
    with np.errstate(invalid="ignore"):
        ok_lr = np.isfinite(lr) & (lr > 0)
    gap = int(orderstats.median(np.diff(steps))) if len(steps) > 2 else 1
    return SegmentSeries(g_steps, g, z, mean, steps[ok_lr], lr[ok_lr], gap,
                         bool((~np.isnan(grad)).any()), bool((~np.isnan(lr)).any()),
                         int(steps.min()) if len(steps) else None)


def grad_evidence(s: SegmentSeries, onset: int) -> dict[str, Any] | None:
    """The largest grad-norm z-score (against the previous GRAD_WINDOW logged norms) in the
    GRAD_LOOKBACK logged steps up to the onset, when it reaches GRAD_Z."""
    if s.grad_z is None or s.grad_mean is None:
        return None
    end = int(np.searchsorted(s.grad_steps, onset, "right"))
    start = max(0, end - GRAD_LOOKBACK)
    zs = s.grad_z[start:end]
    zs = np.where(np.isinf(zs), np.nan, zs)
    if np.isnan(zs).all() or np.nanmax(zs) < GRAD_Z:
        return None
    k = start + int(np.nanargmax(zs))  # the first of equal maxima, as idxmax
    return {"grad_norm_z": float(s.grad_z[k]), "grad_norm": float(s.grad[k]),
            "grad_norm_step": int(s.grad_steps[k]),
            "grad_norm_mean_before": float(s.grad_mean[k])}


def lr_evidence(run: Run, s: SegmentSeries, onset: int) -> dict[str, Any] | None:
    """The schedule at the onset: the end of warm-up or the peak learning rate."""
    config = (run.meta or {}).get("config") or {}
    warm = next((config[k] for k in ("warmup_iters", "warmup_steps", "warmup iterations")
                 if isinstance(config.get(k), (int, float)) and config[k] > 0), None)
    out: dict[str, Any] = {}
    if warm and abs(onset - warm) <= max(2, NEAR_STEPS * warm):
        out.update(warmup_iters=int(warm), steps_from_warmup_end=int(onset - warm))
    before = int(np.searchsorted(s.lr_steps, onset, "right"))
    # (a learning rate logged after the onset too: the highest of a log that ends at the
    # onset, mid warm-up, may be no peak at all)
    if 0 < before < len(s.lr):
        at, peak = float(s.lr[before - 1]), float(s.lr.max())
        if at >= PEAK_LR * peak:
            out.update(lr=at, peak_lr=peak)
    return out or None


def boundary_evidence(run: Run, seg: int, s: SegmentSeries, onset: int
                      ) -> dict[str, Any] | None:
    """An eval or checkpoint within EVAL_GAP logged intervals before the onset. The eval of
    the initial model, before the run's first training step (step 0 or 1), is not one: every
    run starts with it, so it tells nothing about a spike in the first steps (warm-up); nor
    are evals that come every few steps (within that reach of any step)."""
    reach = EVAL_GAP * max(s.gap, 1)
    from_start = s.first_step is not None and s.first_step <= 1
    # an eval numbered with the onset's step came before it only if the log's clock had not
    # yet counted that step (nanoGPT evaluates at the top of iter N; llm.c and modded print
    # 'step N' and then evaluate the model it gave, which cannot have caused it)
    it = run.iters
    at = it.loc[(it["segment"] == seg) & (it["step"] == onset), "time"].dropna()
    onset_time = float(at.min()) if len(at) else None
    for kind, df in (("eval", run.evals), ("checkpoint", run.checkpoints)):
        mine = df[(df["segment"] == seg) & df["step"].notna()]
        if len(mine) >= 3 and float(np.median(np.diff(np.unique(mine["step"])))) <= reach:
            continue  # one every few steps (an eval every 10): any onset has one just before
        near = mine[(mine["step"] <= onset) & (mine["step"] >= onset - reach)]
        if onset_time is not None and "time" in near:
            near = near[(near["step"] < onset) | (near["time"] < onset_time)]
        if from_start:
            near = near[near["step"] > 0]
        if len(near):
            return {"boundary": kind, "boundary_step": int(near["step"].max()),
                    "steps_before_onset": int(onset - near["step"].max())}
    return None


def fp16_evidence(run: Run, seg: int, onset: int) -> dict[str, Any] | None:
    """A loss-scale drop before the onset (metric events named *scale*), or a float16 run."""
    m = run.metrics
    m = m[(m["segment"] == seg) & m["name"].astype(str).str.contains("scale")
          & m["step"].notna() & (m["step"] <= onset)].sort_values("step", kind="stable")
    if len(m) >= 2:
        v = m["value"].to_numpy(dtype=float)
        drops = np.flatnonzero(v[1:] < v[:-1])
        if len(drops):
            i = drops[-1] + 1
            return {"loss_scale_drop_step": int(m["step"].iloc[i]),
                    "loss_scale_before": float(v[i - 1]), "loss_scale_after": float(v[i])}
    meta = run.meta or {}
    dtype = str(meta.get("dtype") or (meta.get("config") or {}).get("dtype") or "")
    return {"dtype": dtype} if dtype in ("float16", "fp16", "half") else None


def _quote(name: str, e: dict[str, Any]) -> str:
    if name == "grad_norm":
        return (f"the gradient norm rose to {e['grad_norm']:.3g} at step {e['grad_norm_step']} "
                f"(z = {e['grad_norm_z']:.1f} against the previous {GRAD_WINDOW} logged norms, "
                f"mean {e['grad_norm_mean_before']:.3g})")
    if name == "fp16":
        if "loss_scale_drop_step" in e:
            return (f"the fp16 loss scale dropped from {e['loss_scale_before']:g} to "
                    f"{e['loss_scale_after']:g} at step {e['loss_scale_drop_step']} (overflow)")
        return "the run trains in float16, whose range overflows first"
    if name == "boundary":
        return (f"a{'n' if e['boundary'] == 'eval' else ''} {e['boundary']} ran at step "
                f"{e['boundary_step']}, {e['steps_before_onset']} steps before")
    parts = []
    if "warmup_iters" in e:
        parts.append(f"it came {e['steps_from_warmup_end']:+d} steps from the end of warm-up "
                     f"(warmup_iters {e['warmup_iters']})")
    if "peak_lr" in e:
        parts.append(f"the learning rate was at its peak ({e['lr']:.3g} of {e['peak_lr']:.3g})")
    return " and ".join(parts)


SUGGESTIONS = {
    "grad_norm": "Lower the learning rate or clip gradients harder (grad_clip=1.0); the rise "
                 "before the spike is the early warning to alert on.",
    "fp16": "Train in bfloat16 if the device has it, or keep the GradScaler on and let it skip "
            "the overflowing steps.",
    "boundary": "Check what the eval or checkpoint changes: model.train() restored after the "
                "eval, the data loader's position after a save, dropout or the optimizer "
                "state after a reload.",
    "lr": "The learning rate is at its highest there: a longer warm-up or a lower peak "
          "learning rate usually removes such spikes.",
}
CAUSE_NAMES = {"grad_norm": "a gradient blow-up", "fp16": "fp16 overflow",
               "lr": "the learning-rate schedule"}
WEIGHTS = {"fp16": 3.0, "grad_norm": 2.5, "boundary": 2.0, "lr": 1.5}


def _score(name: str, e: dict[str, Any]) -> float:
    if name == "grad_norm":
        return WEIGHTS[name] + min(e["grad_norm_z"], 20) / 10   # a larger z, a stronger case
    if name == "fp16" and "loss_scale_drop_step" not in e:
        return 1.0        # float16 alone is a weak hint
    return WEIGHTS[name]


def explain(prep: Prepared, kind: str, seg: int, onset: int) -> Finding:
    """A finding that names the cause the evidence favours for one onset, quoting it."""
    run, s = prep.run, segment_series(prep, seg)
    found = {"grad_norm": grad_evidence(s, onset), "lr": lr_evidence(run, s, onset),
             "boundary": boundary_evidence(run, seg, s, onset),
             "fp16": fp16_evidence(run, seg, onset)}
    if kind != "nonfinite_loss" and found["fp16"] and "dtype" in found["fp16"]:
        found["fp16"] = None     # a float16 run says little about a finite spike
    found = {k: v for k, v in found.items() if v}
    what = {"loss_spike": "Loss spike", "loss_divergence": "Divergence",
            "nonfinite_loss": "NaN/Inf loss"}[kind]
    if not found:
        missing = [n for n, logged in (("grad norms", s.any_grad), ("learning rates", s.any_lr))
                   if not logged]
        gaps = f" (the log has no {' or '.join(missing)})" if missing else ""
        return Finding(
            code="spike_cause", severity="info", steps=(onset, onset), segment=seg,
            message=f"{what} at step {onset}: none of the usual causes shows in the log "
                    f"before it{gaps}.",
            evidence={"onset_kind": kind, "onset_step": onset, "favoured": None},
            suggestion="Rerun with another seed: a spike at the same step again points at "
                       "the data there.")
    ranked = sorted(found, key=lambda n: -_score(n, found[n]))
    best = ranked[0]
    others = "; ".join(_quote(n, found[n]) for n in ranked[1:])
    cause = ("the " + found[best]["boundary"]) if best == "boundary" else CAUSE_NAMES[best]
    msg = (f"{what} at step {onset}: the evidence favours {cause}: "
           f"{_quote(best, found[best])}." + (f" Also: {others}." if others else ""))
    evidence: dict[str, Any] = {"onset_kind": kind, "onset_step": onset, "favoured": best,
                                "ranked": ranked}
    for v in found.values():
        evidence.update(v)
    return Finding(code="spike_cause", severity="info", message=msg, steps=(onset, onset),
                   segment=seg, evidence=evidence, suggestion=SUGGESTIONS[best])


def spike_causes(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """For each loss spike, divergence and NaN onset: the cause the evidence favours."""
    prep = prepared(run, config)
    return [explain(prep, kind, seg, step) for kind, seg, step in _onsets(run, config)]


def shared_spikes(runs: Sequence[Run], config: DiagnosticsConfig | None = None,
                  tolerance: int = 0) -> list[Finding]:
    """Steps where two or more runs spike (within ``tolerance`` steps): with different seeds
    or code, the same position in the data stream is the common factor."""
    config = config or DiagnosticsConfig()
    where: list[tuple[int, int]] = []     # (step, run index)
    for i, run in enumerate(runs):
        with sharing():
            spikes = loss_spikes(run, config)
            where += [(step, i) for _, _, step in _onsets(run, config, spikes)]
        # single-step jumps gone by the next step: harmless alone, telling when runs share them
        where += [(int(s), i) for f in spikes if f.code == "loss_outliers"
                  for s in f.evidence.get("steps", [])]
    where.sort()
    findings, used = [], set()
    for k, (step, i) in enumerate(where):
        if (step, i) in used:
            continue
        group = [(s, j) for s, j in where[k:] if s - step <= tolerance]
        names = sorted({j for _, j in group})
        if len(names) < 2:
            continue
        used.update(group)
        srcs = [runs[j].source or f"run {j}" for j in names]
        findings.append(Finding(
            code="shared_spike", severity="warning", steps=(step, group[-1][0]),
            message=(f"The loss spiked at step {step} in {len(names)} runs "
                     f"({', '.join(srcs)}): the same position in the data stream is the "
                     "likely cause."),
            evidence={"step": step, "runs": srcs},
            suggestion=("Look at the batches at that step (duplicated, garbled or very long "
                        "documents); skipping them usually removes the spike.")))
    return findings


# ---------------------------------------------------------------------------- timing

def spike_period(steps: np.ndarray) -> tuple[int | None, float]:
    """The period k of spike steps, when at least 80% of the gaps are multiples of the most
    common gap (a log that prints every n steps can miss some spikes), and that share."""
    if len(steps) < 4:
        return None, 0.0
    gaps = np.diff(np.sort(steps))
    gaps = gaps[gaps > 0]
    if not len(gaps):
        return None, 0.0
    values, counts = np.unique(gaps, return_counts=True)
    k = int(values[np.argmax(counts)])
    share = float(np.mean(gaps % k == 0)) if k > 1 else 0.0
    return (k, share) if k > 1 and share >= 0.8 else (None, share)


def timing_pattern(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Unexplained slow steps (timing.spike_rows: not eval-inclusive): periodic, with the
    setting that has that interval if one does, or random."""
    prep = prepared(run, config)
    rows = np.flatnonzero(timing_spike_rows(prep)[0])
    findings = []
    for seg in np.unique(prep.segment[rows]):
        seg_rows = rows[prep.segment[rows] == seg]  # in file order, as the log shows them
        steps = prep.step[seg_rows][prep.has_step[seg_rows]]
        if len(steps) < 4:
            continue
        k, share = spike_period(steps)
        gaps = np.diff(np.sort(steps))
        interval = log_intervals(prep).get(int(seg), 1)
        if k and k <= interval:  # slow rows one after another: the log's interval, no period
            msg = (f"{len(steps)} slow steps came one logged line after another (steps "
                   f"{int(steps[0])}-{int(steps[-1])}, the log prints every {interval}): the "
                   "loop slowed down for that stretch, nothing it does every few steps.")
            tip = ("A stretch of slow steps comes from outside the step: other jobs on the "
                   "machine, thermal throttling, a slower disk or network for the data, "
                   "swapping, a laptop going to sleep.")
            k = None
        elif k:
            config_ = (run.meta or {}).get("config") or {}
            match = sorted(n for n, v in config_.items() if isinstance(v, (int, float))
                           and not isinstance(v, bool) and v == k and "interval" in str(n)
                           or n in ("checkpoint_every", "sample_every") and v == k)
            extra = f"; {', '.join(match)} = {k} in the config" if match else ""
            msg = (f"{len(steps)} slow steps come every {k} steps ({share:.0%} of the gaps are "
                   f"multiples of {k}{extra}): something the loop does periodically.")
            tip = ("Find what runs every k steps (a checkpoint, sampling, logging to disk, a "
                   "preconditioner update) and make it cheaper or rarer.")
        else:
            cv = float(np.std(gaps) / np.mean(gaps)) if len(gaps) else 0.0
            msg = (f"{len(steps)} slow steps come at irregular intervals (gaps {int(gaps.min())} "
                   f"to {int(gaps.max())} steps, coefficient of variation {cv:.2f}): no loop "
                   "setting explains them.")
            tip = ("Random stalls come from outside the loop: other jobs on the machine, data "
                   "loading (more workers, pinned memory), garbage collection, network storage.")
        findings.append(Finding(
            code="timing_pattern", severity="info", message=msg,
            steps=(int(steps[0]), int(steps[-1])), segment=int(seg),
            evidence={"spikes": len(steps), "period": k, "multiple_share": share,
                      "steps": [int(x) for x in steps[:10]]}, suggestion=tip))
    return findings


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if np.std(rx) == 0 or np.std(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def step_time_creep(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """A step time that rises steadily over a segment (growing memory, a leaking data
    loader, a cache that fills): the last fifth's median against the first fifth's, and a
    rank correlation of block medians with time, so one slow stretch does not count."""
    prep = prepared(run, config)
    t = prep.masks.step_time
    findings = []
    for seg, rows in prep.groups(prep.masks.steady & ~timing_spike_rows(prep)[0]):
        times = t[rows]
        good = np.isfinite(times) & (times > 0)
        if not good.all():
            times, rows = times[good], rows[good]
        if len(times) < CREEP_MIN_POINTS:
            continue
        fifth = len(times) // 5
        first = float(orderstats.median(times[:fifth]))
        last = float(orderstats.median(times[-fifth:]))
        if last < CREEP_RATIO * first:
            continue  # no rise: the trend of the block medians cannot change that
        blocks = orderstats.block_medians(times, max(5, len(times) // 20))
        rho = _spearman(np.arange(len(blocks)), blocks)
        if rho < CREEP_RHO or not math.isfinite(rho):
            continue
        # info: a slower step wastes time but breaks nothing, and some schedules (modded-
        # nanogpt's attention-window warm-up) make later steps slower on purpose
        findings.append(Finding(
            code="step_time_creep", severity="info",
            steps=(int(prep.step[rows[0]]), int(prep.step[rows[-1]])),
            segment=int(seg),
            message=(f"The step time crept up over the run: median {first:.1f} ms in the first "
                     f"fifth, {last:.1f} ms in the last ({last / first:.2f}x), rising steadily "
                     f"(rank correlation {rho:.2f})."),
            evidence={"first_fifth_ms": first, "last_fifth_ms": last, "ratio": last / first,
                      "spearman_rho": rho},
            suggestion=("Unless a schedule grows the work per step on purpose (sequence "
                        "length, attention window or batch-size warm-up), look for something "
                        "that grows with the step: memory (tensors kept in a list, a growing "
                        "cache), a data loader slowing down, fragmentation; compare memory use "
                        "at the start and the end.")))
    return findings


def root_causes(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """All of this module's single-run findings: spike causes, timing patterns, creep."""
    return spike_causes(run, config) + timing_pattern(run, config) + step_time_creep(run, config)
