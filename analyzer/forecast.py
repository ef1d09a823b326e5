"""Forecast of the final loss: where will this curve be at max_iters?

A saturating power law L(t) = a + b * (t / t_last)^-c is fitted to the train-loss curve so
far, after warm-up, smoothed by taking the median of equal-width step bins (a median, so a
spike does not bend the fit). Scaling-law work fits this shape to loss against compute; here
it only extrapolates one run, which it does well when the learning rate is flat and badly when
a schedule is about to decay it: a cosine or linear decay makes the loss fall faster near the
end than any power law fitted before it (see docs/analyzer.md, "Forecast", for the measured
errors on real logs).

The interval comes from a back-test on the run itself: the same fit on the first two thirds
of the observed points predicts the last observed point; that error, grown with the log of how
much further the target lies, is the half-width (never below the curve's own noise). The low
end reaches further down by DECAY_ALLOWANCE of the value times the share of the run to come.

Pure functions: ``forecast_curve(steps, losses, target)`` and ``forecast_run(run, step)``.
A Forecast without a value says why (``reason``); nothing here guesses without data.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analyzer.run import Run

MIN_POINTS = 20        # logged losses after warm-up needed to fit three parameters honestly
N_BINS = 60            # smoothing: medians of this many equal-width step bins (at most)
MIN_FRACTION = 0.05    # below 5% of the run observed, an extrapolation is a guess
END_FRACTION = 0.01    # within 1% of the end, the forecast is the current value
# The low end of the interval reaches this share of the value further down, times the share
# of the run still to come: a learning-rate decay still ahead makes the true final loss lower
# than a power law says (forecasts on real logs were ~5% high at 25% observed). Chosen on
# the same logs the benchmark reports, so the measured coverage is optimistic.
DECAY_ALLOWANCE = 0.05

# Measured by benchmarks/forecast.py on the real logs in tests/data/realdata (docs/analyzer.md
# "Forecast"): median relative error of the forecast at the final step, by share observed.
MEASURED_MEDIAN_REL_ERROR = {0.25: 0.060, 0.5: 0.030}


@dataclass(frozen=True)
class Forecast:
    """A forecast of the smoothed train loss at target_step, or the reason there is none."""
    metric: str
    target_step: int | None
    value: float | None = None
    low: float | None = None
    high: float | None = None
    last_step: int | None = None
    last_value: float | None = None        # smoothed loss at the last observed step
    observed_frac: float | None = None     # last_step / target_step
    n_points: int = 0                      # losses used after warm-up
    params: dict[str, float] = field(default_factory=dict)
    reliability: str = ""                  # how far to trust it (measured figures)
    reason: str | None = None              # why there is no value

    @property
    def ok(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def curve(self, points: int = 50) -> list[tuple[int, float]]:
        """The fitted law from the last observed step to the target: the dashed
        continuation a chart draws. Empty without a forecast."""
        if not self.ok or not self.params:
            return []
        steps = np.unique(np.linspace(self.last_step, self.target_step, points).astype(int))
        values = _law(steps / self.last_step, *(self.params[k] for k in "abc"))
        return [(int(s), float(v)) for s, v in zip(steps, values)]

    def text(self) -> str:
        """What the forecast says, in one line without a label."""
        if not self.ok:
            return f"none ({self.reason})"
        return (f"{self.metric.replace('_', ' ')} {self.value:.3f} at step "
                f"{self.target_step} (interval {self.low:.3f}-{self.high:.3f}; now "
                f"{self.last_value:.3f} at step {self.last_step}, "
                f"{self.observed_frac:.0%} of the run). {self.reliability}")

    def line(self) -> str:
        """One line for the report: 'forecast: ...'."""
        return f"forecast: {self.text()}"


def _law(t: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a + b * np.power(t, -c)


def smooth(steps: np.ndarray, losses: np.ndarray, n_bins: int = N_BINS
           ) -> tuple[np.ndarray, np.ndarray]:
    """Medians of loss and step over equal-width step bins (empty bins dropped)."""
    edges = np.linspace(steps[0], steps[-1], min(n_bins, len(steps)) + 1)
    which = np.clip(np.searchsorted(edges, steps, side="right") - 1, 0, len(edges) - 2)
    xs, ys = [], []
    for k in np.unique(which):
        m = which == k
        xs.append(float(np.median(steps[m])))
        ys.append(float(np.median(losses[m])))
    return np.array(xs), np.array(ys)


def fit_power_law(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """(a, b, c) of y = a + b * t^-c with t scaled so the last point is t = 1, or None when
    the fit does not converge. a is kept in [0, min(y)]: a loss floor above the lowest loss
    seen would be a curve going up."""
    from scipy.optimize import curve_fit
    lo = float(np.min(y))
    p0 = (0.8 * lo, max(float(y[-1]) - 0.8 * lo, 1e-6), 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # OptimizeWarning on flat curves
            p, _ = curve_fit(_law, t, y, p0=p0, bounds=([0.0, 0.0, 0.01], [lo, np.inf, 4.0]),
                             maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return (float(p[0]), float(p[1]), float(p[2])) if np.all(np.isfinite(p)) else None


def _noise(y_raw: np.ndarray) -> float:
    """Batch-to-batch noise of the loss: median absolute successive difference / sqrt 2,
    scaled to a standard deviation (1.4826 MAD)."""
    if len(y_raw) < 3:
        return 0.0
    return float(1.4826 * np.median(np.abs(np.diff(y_raw))) / math.sqrt(2))


def reliability_note(observed_frac: float) -> str:
    """How far to trust a forecast made at this share of the run (measured figures)."""
    share = 0.25 if observed_frac < 0.375 else 0.5
    err = MEASURED_MEDIAN_REL_ERROR.get(share)
    measured = (f"on real logs cut at {share:.0%}, the median error was {err:.1%}"
                if err is not None else "not measured")
    if observed_frac < 0.375:
        return (f"Low reliability: early in the run; {measured}; a learning-rate decay "
                "still to come makes the real final loss lower.")
    if observed_frac < 0.75:
        return (f"Rough: {measured}; a learning-rate decay still to come makes the real "
                "final loss lower.")
    return "Fair: most of the run is observed."


def forecast_curve(steps: Any, losses: Any, target_step: int, warmup: int = 0,
                   metric: str = "train_loss") -> Forecast:
    """Forecast the smoothed loss at target_step from (step, loss) pairs.

    warmup: steps up to this one are left out (the warm-up's loss falls by another law).
    Non-finite losses are dropped. Returns a Forecast with reason set when it cannot say.
    """
    s = np.asarray(steps, dtype=float)
    y = np.asarray(losses, dtype=float)
    keep = np.isfinite(s) & np.isfinite(y) & (s > warmup) & (s > 0)
    s, y = s[keep], y[keep]
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    none = Forecast(metric, target_step, n_points=len(s))
    if len(s) < MIN_POINTS:
        return _replace(none, reason=f"not enough data: {len(s)} losses after warm-up "
                                     f"(step {warmup}), {MIN_POINTS} needed")
    last = int(s[-1])
    if target_step <= last:
        return _replace(none, reason=f"the log reaches step {last}, at or past the target "
                                     f"step {target_step}: nothing to forecast")
    frac = last / target_step
    if frac > 1 - END_FRACTION:
        return _replace(none, reason=f"the log reaches step {last}, within "
                                     f"{END_FRACTION:.0%} of the target step {target_step}: "
                                     "nothing to forecast")
    if frac < MIN_FRACTION:
        return _replace(none, reason=f"not enough data: {frac:.1%} of the run observed, "
                                     f"{MIN_FRACTION:.0%} needed")
    xs, ys = smooth(s, y)
    third = max(1, len(ys) // 3)
    if np.median(ys[-third:]) >= np.median(ys[:third]):
        return _replace(none, reason="the loss is not falling (the last third of the curve is "
                                     "not below the first): a power law does not apply")
    params = fit_power_law(xs / last, ys)
    if params is None:
        return _replace(none, reason="the power law did not fit this curve")
    value = float(_law(np.array([target_step / last]), *params)[0])
    half = _interval(xs, ys, last, target_step, value, _noise(y))
    low = value - half - DECAY_ALLOWANCE * (1 - frac) * value
    return Forecast(metric, target_step, value, max(0.0, low), value + half, last,
                    float(_law(np.array([1.0]), *params)[0]), frac, len(s),
                    dict(zip("abc", params)), reliability_note(frac))


def _interval(xs: np.ndarray, ys: np.ndarray, last: int, target: int, value: float,
              noise: float) -> float:
    """Half-width: the back-test error (fit on the first 2/3 of the bins, predict the last
    observed bin), scaled by log(target/last) / log(last/cut), at least the loss noise."""
    cut = max(4, int(len(xs) * 2 / 3))
    back = fit_power_law(xs[:cut] / xs[cut - 1], ys[:cut]) if cut < len(xs) else None
    floor = max(noise, 0.005 * abs(value))
    if back is None:
        return 3 * floor
    err = abs(float(_law(np.array([xs[-1] / xs[cut - 1]]), *back)[0]) - float(ys[-1]))
    ratio = math.log(target / last) / max(math.log(xs[-1] / xs[cut - 1]), 1e-9)
    return max(floor, err * max(ratio, 1.0))


def _replace(f: Forecast, **changes: Any) -> Forecast:
    return Forecast(**{**asdict(f), **changes})


def target_of(run: Run) -> int | None:
    """The run's planned last step, where its log says it (max_iters, num_iterations)."""
    meta = run.meta or {}
    config = meta.get("config") or {}
    for value in (meta.get("max_iters"), *(config.get(k) for k in
                                           ("max_iters", "num_iterations", "total_steps"))):
        if isinstance(value, (int, float)) and value > 0 and math.isfinite(value):
            return int(value)
    return None


def forecast_run(run: Run, target_step: int | None = None) -> Forecast:
    """Forecast a run's train loss at target_step (default: its max_iters), from its last
    segment (a resume continues the same curve). Warm-up: the config's warmup_iters, else
    the first 5% of the logged steps. A run that ended (completed or failed) has nothing to
    forecast unless a step is given."""
    it = run.iters.dropna(subset=["step"])
    if len(it) and run.n_segments > 1:
        it = it.sort_values(["segment", "step"], kind="stable").drop_duplicates(
            "step", keep="last")
    target = target_step or target_of(run)
    status = (run.end or {}).get("status")
    if target_step is None and status in ("completed", "failed"):
        return Forecast("train_loss", target, reason=f"the run {status}: nothing to forecast")
    if target is None:
        return Forecast("train_loss", None, reason="the run's max_iters is not known; give "
                                                   "the step to forecast")
    steps = it["step"].to_numpy(dtype=float)
    config = (run.meta or {}).get("config") or {}
    warm = next((config[k] for k in ("warmup_iters", "warmup_steps", "warmup iterations")
                 if config.get(k) is not None), None)
    if not isinstance(warm, (int, float)) or not math.isfinite(warm):
        warm = (np.nanmin(steps) + 0.05 * (np.nanmax(steps) - np.nanmin(steps))
                if len(steps) else 0)
    return forecast_curve(steps, it["loss"].to_numpy(dtype=float), int(target), int(warm))
