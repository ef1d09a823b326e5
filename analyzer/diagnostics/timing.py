"""Timing: eval-induced spikes (expected), spikes nothing explains, and throughput drops."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer import orderstats, stats
from analyzer.hidden_evals import eval_interval
from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.prepared import Prepared, prepared
from analyzer.findings import Finding
from analyzer.run import Run


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _steps_preview(steps: np.ndarray, n: int = 8) -> list[int]:
    return [int(s) for s in steps[:n]]


def eval_spikes(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Iterations whose dt includes an eval or a checkpoint save: expected, explained, and
    kept out of throughput and MFU statistics. Reported with the share of wall time they
    cost, because that share is what eval_interval / eval_iters trade against. In a file of
    several runs, each run is judged against its own step time and wall time."""
    runs = prepared(run, config).runs
    found = [_eval_spikes_of(prep, config, f"Run {k} of {len(runs)}: " if len(runs) > 1 else "")
             for k, prep in enumerate(runs, start=1)]
    return [f for f in found if f is not None]


def _eval_spikes_of(prep: Prepared, config: DiagnosticsConfig, which: str) -> Finding | None:
    dt = prep.column("dt_ms")
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(prep.masks.eval_spike & (dt > 0))
    st = prep.throughput
    if st.median_step_ms is None:
        return None
    if not len(rows):
        return _timed_evals(prep, config, which)
    eval_dt = float(np.median(dt[rows]))
    ratio = eval_dt / st.median_step_ms
    share = _overhead(prep, len(rows), eval_dt, st)  # None: the log is too short to say
    frac = share or 0.0
    if ratio < config.eval_spike_ratio or (share is not None and frac < config.spike_min_overhead):
        return None  # e.g. llm.c and modded-nanogpt time the training step alone
    steps = prep.step[rows][prep.has_step[rows]]
    worst = float(dt[rows].max()) / st.median_step_ms
    # severity follows magnitude: one eval costing 100x a step, or evals taking a quarter
    # of the time, is worth acting on; a small overhead is what evals cost
    costly = worst >= config.eval_warn_ratio or frac >= config.eval_warn_overhead
    if costly:
        suggestion = ("Likely causes: eval_iters too large for the eval_interval (each eval "
                      "runs eval_iters forward passes on train and val), recompilation when "
                      "the compiled model switches to eval mode, or a slow device for the "
                      "eval; lower eval_iters, raise eval_interval, or compile the eval path "
                      "once.")
    elif frac >= 0.10:
        suggestion = (f"Evals take {frac:.0%} of the time: raise eval_interval or lower "
                      "eval_iters if you can afford noisier val estimates.")
    else:
        suggestion = "Nothing to fix; read throughput from the steady steps, as done here."
    how = (f"costly: up to {worst:,.0f}x a normal step" if costly else "this is expected")
    return Finding(
        code="eval_spikes", severity="warning" if costly else "info",
        segment=int(prep.segment[rows[0]]),
        steps=(int(steps.min()), int(steps.max())) if len(steps) else None,
        message=(f"{which}The measured time of {_n(len(steps), 'iteration', 'iterations')} "
                 f"includes an evaluation or checkpoint "
                 f"(~{eval_dt:,.0f} ms against ~{st.median_step_ms:,.1f} ms for a normal step); "
                 f"{how}; they are left out of throughput and MFU figures"
                 + (f", and evals cost about {frac:.1%} of the wall time." if share is not None
                    else "; the log is too short to say what share of the time evals take.")),
        evidence={"eval_iters": len(steps), "steps": _steps_preview(steps),
                  "median_eval_dt_ms": eval_dt, "median_step_ms": st.median_step_ms,
                  "ratio": ratio, "max_ratio": worst, "eval_overhead_s": st.eval_overhead_s,
                  "eval_overhead_frac": share, "wall_s": st.wall_s},
        suggestion=suggestion)


def _overhead(prep: Prepared, n_evals: int, eval_dt: float, st: stats.ThroughputStats
              ) -> float | None:
    """The share of the wall time in evals. An excerpt shorter than one eval interval (a few
    steps around one eval) says nothing about it: then one eval's extra time against an
    interval of normal steps, when the interval is known, else None."""
    frac = st.eval_overhead_frac or 0.0
    steps = prep.step[prep.has_step]
    span = float(steps.max() - steps.min()) if len(steps) else 0.0
    interval = eval_interval(prep.run)
    if interval is not None and (n_evals < 4 or span < interval):
        # a few evals: an excerpt that opens and closes on one (steps 18750-19072 around
        # evals every 250) weighs them more than the run does; one eval's extra time
        # against an interval of normal steps is the run's share
        extra = max(0.0, eval_dt - st.median_step_ms)
        return extra / (interval * st.median_step_ms + extra)
    # (an interval known here means 4 evals or more over a span of at least one interval)
    return frac if interval is not None or n_evals > 1 or span >= 100 else None


def _timed_evals(prep: Prepared, config: DiagnosticsConfig, which: str) -> Finding | None:
    """Evals that the trainer timed itself ('val_time: 106972ms') while its step clock
    stopped for them (modded-nanogpt forks): no iteration's time holds them, their own
    times say what they cost. A warning on the same bars as eval-inclusive iterations."""
    ev = prep.run.evals.dropna(subset=["eval_ms"])
    st = prep.throughput
    frac = st.eval_overhead_frac or 0.0
    if not len(ev) or frac < config.spike_min_overhead:
        return None
    worst = float(ev["eval_ms"].max()) / st.median_step_ms
    # the evals' share is measured here (their own times against the whole run's), so one
    # eval of 100 steps is costly only where evals take a tenth of the time: once in a
    # run of 13,605 steps (3.7%) it is not
    costly = (worst >= config.eval_warn_ratio and frac >= 0.10) or \
        frac >= config.eval_warn_overhead
    steps = ev["step"].dropna().to_numpy(dtype=int)
    return Finding(
        code="eval_spikes", severity="warning" if costly else "info",
        segment=int(ev["segment"].iloc[0]),
        steps=(int(steps.min()), int(steps.max())) if len(steps) else None,
        message=(f"{which}{_n(len(ev), 'eval', 'evals')} took "
                 f"{float(ev['eval_ms'].sum()) / 1e3:,.1f} s in all as the log times them (up to "
                 f"{float(ev['eval_ms'].max()):,.0f} ms against ~{st.median_step_ms:,.1f} ms for "
                 f"a training step), about {frac:.1%} of the wall time"
                 + ("." if not costly else ": costly.")),
        evidence={"evals": len(ev), "steps": _steps_preview(steps),
                  "eval_ms_total": float(ev["eval_ms"].sum()),
                  "eval_ms_max": float(ev["eval_ms"].max()),
                  "median_step_ms": st.median_step_ms, "max_ratio": worst,
                  "eval_overhead_frac": frac, "wall_s": st.wall_s},
        suggestion=("Evaluate less often or on fewer batches, or make the eval itself "
                    "cheaper (a test-time-training or sliding-window eval is much slower "
                    "than a plain one)." if costly else
                    "Nothing to fix; the step times exclude the evals already."))


def spike_rows(run: Run, config: DiagnosticsConfig) -> tuple[pd.Series, pd.Series]:
    """Per iteration row: an unexplained timing spike? And the rolling median it was
    measured against (NaN where not steady). The report marks these rows."""
    spike, base = timing_spike_rows(prepared(run, config))
    return pd.Series(spike, index=run.iters.index), pd.Series(base, index=run.iters.index)


def timing_spike_rows(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """spike_rows as numpy arrays, computed once per Prepared (three diagnostics use it)."""
    def build() -> tuple[np.ndarray, np.ndarray]:
        t, n = prep.masks.step_time, len(prep.segment)
        spike, base = np.zeros(n, bool), np.full(n, np.nan)
        for _, rows in prep.groups(prep.masks.steady):
            times = t[rows]
            b = orderstats.local_median(times, prep.config.spike_window)
            base[rows] = b
            spike[rows] = times > prep.config.spike_ratio * b
        return spike, base
    return prep.once("timing_spike_rows", build)


def timing_spikes(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Steady iterations many times slower than their neighbours, with no eval at that step.
    Reported only when together they cost a noticeable share of the wall time."""
    prep = prepared(run, config)
    st = prep.throughput
    if not st.wall_s:
        return []
    spike_all, base_all = timing_spike_rows(prep)
    findings = []
    for seg, rows in prep.groups(spike_all):
        dt, base = prep.masks.step_time[rows], base_all[rows]
        over_s = float(np.nansum(dt - base)) / 1e3
        frac = over_s / st.wall_s
        if frac < config.spike_min_overhead:
            continue
        steps = prep.step[rows]
        period = _period(steps)
        interval = log_intervals(prep).get(int(seg), 1)
        in_a_row = period is not None and period <= interval
        period = None if in_a_row else period
        every = (f", every {period} steps" if period else
                 " (every line the log printed there: a stretch, not a period)" if in_a_row
                 else "")
        # a log that prints every Nth step timed only those: the steps between may have been
        # slow too (or, for a time averaged over them, were), so the cost is a lower bound
        least, untimed = (("at least ", f" (only every {interval}th step is printed)")
                          if interval > 1 else ("", ""))
        # a periodic cost is something the loop does on purpose (a preconditioner update,
        # a checkpoint): worth knowing, not alarming
        bad = frac >= config.spike_warn_overhead and not period
        findings.append(Finding(
            code="timing_spikes", severity="warning" if bad else "info",
            segment=int(seg), steps=(int(steps[0]), int(steps[-1])),
            message=(f"{_n(len(steps), 'iteration was', 'iterations were')} much slower than "
                     f"the steps around {'it' if len(steps) == 1 else 'them'}{every} "
                     f"(up to {np.nanmax(dt):,.0f} ms against ~{np.median(base):,.0f} ms) "
                     f"with no eval to explain them; together they cost {least}{frac:.1%} of "
                     f"the wall time{untimed}."),
            evidence={"spikes": len(steps), "steps": _steps_preview(steps),
                      "max_dt_ms": float(np.nanmax(dt)), "typical_dt_ms": float(np.median(base)),
                      "overhead_s": over_s, "overhead_frac": frac, "periodic_every": period},
            suggestion=("Regular spikes point at something your loop does every few steps "
                        "(checkpointing, logging to disk, sampling); irregular ones at other "
                        "jobs on the machine, data-loading stalls or garbage collection.")))
    return findings


def log_intervals(prep: Prepared) -> dict[int, int]:
    """Per segment, the log's own step interval: the most common gap between its iteration
    rows. Slow rows of a log that prints every 100th step can only be 100 steps apart: a
    'period' of that interval (or less) is the log's, not the loop's."""
    def build() -> dict[int, int]:
        out = {}
        for seg, rows in prep.groups():
            gaps = np.diff(prep.step[rows][prep.has_step[rows]])
            gaps = gaps[gaps > 0]
            if len(gaps):
                values, counts = np.unique(gaps, return_counts=True)
                out[int(seg)] = int(values[np.argmax(counts)])
        return out
    return prep.once("log_intervals", build)


def _period(steps: np.ndarray) -> int | None:
    """The common spacing of spike steps when at least 80% of the gaps share it."""
    if len(steps) < 4:
        return None
    gaps, counts = np.unique(np.diff(steps), return_counts=True)
    best = int(np.argmax(counts))
    return int(gaps[best]) if counts[best] >= 0.8 * (len(steps) - 1) else None


def _rate_unit(prep: Prepared, ok: np.ndarray) -> str:
    """tokens/s when logged for half the rows or more (robust to batch-size schedules),
    else steps/s from the step time."""
    with np.errstate(invalid="ignore"):
        logged = np.count_nonzero(prep.column("tokens_per_s")[ok] > 0)
    return "tokens_per_s" if logged / np.count_nonzero(ok) >= 0.5 else "steps_per_s"


def _rate(prep: Prepared, unit: str, rows: np.ndarray) -> np.ndarray:
    """Throughput of these rows in ``unit``; NaN where not known."""
    if unit == "steps_per_s":
        return 1000.0 / prep.masks.step_time[rows]
    tok = prep.column("tokens_per_s")[rows]
    with np.errstate(invalid="ignore"):
        return np.where(tok > 0, tok, np.nan)


def throughput_drop(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """A sustained stretch of steady iterations whose throughput is well below the run's
    typical (upper-quartile) throughput. Measured on medians of short blocks of iterations,
    so single slow steps (timing_spikes) do not count."""
    prep = prepared(run, config)
    ok = prep.masks.steady
    if ok.sum() < 20:
        return []
    unit = _rate_unit(prep, ok)
    findings = []
    for seg, rows in prep.groups(ok):
        rate = _rate(prep, unit, rows)
        if np.isnan(rate).any():
            rows, rate = rows[~np.isnan(rate)], rate[~np.isnan(rate)]
        n = len(rows)
        # the shortest drop worth reporting: 10 timed points at least, since 5 in a row of a
        # noisy series (one iteration's time sampled every 10 on a shared CPU) come by chance
        w = max(10, int(round(n * config.drop_min_frac)))
        if n < 4 * w:
            continue
        size = max(1, w // 5)  # blocks: a drop spans at least 5 of them
        med = orderstats.block_medians(rate, size)
        steps = prep.step[rows[::size][:len(med)]]
        typical = float(np.quantile(med, 0.75))
        low = med < typical / config.drop_ratio
        runs = [(a, b) for a, b in _true_runs(low) if (b - a) * size >= w]
        if not runs:
            continue
        a, b = max(runs, key=lambda ab: ab[1] - ab[0])
        last = prep.step[rows[min(n, b * size) - 1]]
        during = float(orderstats.median(rate[a * size:b * size]))
        to_end = b == len(med)
        if a == 0 and not to_end:  # slow from the first steady step on, then faster for good
            lo = (b - 1) * size  # the first fast point, inside the blocks around the change
            fast = np.flatnonzero(rate[lo:(b + 1) * size] >= typical / config.drop_ratio)
            k = lo + int(fast[0]) if len(fast) else min(n - 1, b * size)
            findings.append(_speed_up(int(seg), int(prep.step[rows[k]]), during, typical, unit))
            continue
        tokens = unit == "tokens_per_s"
        what = "tokens/s" if tokens else "steps/s"
        # fast again only for the last few points (fewer than a drop needs): a schedule's
        # cool-down (a modded-nanogpt record's last steps), not a recovery to judge by
        brief = not to_end and n - b * size < w
        # From step time alone, a lasting slowdown is most often a batch-size or sequence-
        # length schedule (modded-nanogpt records); a temporary one is not.
        severe = tokens or not (to_end or brief)
        findings.append(Finding(
            code="throughput_drop", severity="warning" if severe else "info", segment=int(seg),
            steps=(int(steps[a]), int(last)),
            message=(f"Throughput fell from ~{typical:,.3g} to ~{during:,.3g} {what} between "
                     f"steps {steps[a]} and {last}"
                     + (" and stayed there to the end of the log." if to_end else
                        " and was back up only in the log's last steps." if brief else
                        " and then recovered.")
                     + ("" if severe else " Measured from step time alone, this is expected "
                        "when the batch size or sequence length grows on a schedule.")),
            evidence={"typical": typical, "during": during, "unit": unit,
                      "slowdown": typical / during if during else None,
                      "iterations": int(min(n, b * size) - a * size), "recovered": not to_end},
            # an expected slowdown gets no hardware advice (thermal throttling would contradict
            # the message that calls it expected)
            suggestion=("Check for thermal throttling or power capping (nvidia-smi), other "
                        "processes on the GPU, a slower data source, or memory growth "
                        "forcing allocator retries." if severe else
                        "Nothing to fix if the run grows its batch size or sequence length on "
                        "a schedule; otherwise compare tokens per step before and after.")))
    return findings


def _speed_up(seg: int, step: int, before: float, after: float, unit: str) -> Finding:
    """A run slow from its start that got faster at ``step`` and stayed so: no drop (the
    fast part is the run's norm only by count), but worth knowing."""
    what = "tokens/s" if unit == "tokens_per_s" else "steps/s"
    return Finding(
        code="throughput_rise", severity="info", segment=seg, steps=(step, step),
        message=(f"Throughput rose from ~{before:,.3g} to ~{after:,.3g} {what} at step {step} "
                 "and stayed there: the steps before it ran slower (another process on the "
                 "device, a warm-up, a setting changed on resume)."),
        evidence={"before": before, "after": after, "unit": unit, "step": step},
        suggestion="Nothing to fix if the faster part is what you expect of this setup.")


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of consecutive True values."""
    padded = np.concatenate([[False], mask, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
