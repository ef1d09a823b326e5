"""Long series made drawable, shared by the HTML report and the dashboard.

Two things, each defined once so that a chart means the same wherever it is drawn:

- **Downsampling without hiding spikes.** A browser chart of 100,000 points takes half a
  minute to draw; random or strided sampling would drop exactly the points people look for (a
  loss spike, one slow step). ``minmax_indices`` keeps each bucket's minimum and maximum;
  ``envelope`` gives per bucket the median (the line) and the min/max (a light band), so a
  noisy series reads as a line while a single slow step still shows in the band.
- **TensorBoard's smoothing** (``debiased_ema``), so a smoothed loss reads the same here as
  in TensorBoard.

Pure numpy/pandas functions, no plotting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_POINTS = 2000
DEFAULT_WEIGHT = 0.6  # TensorBoard's default smoothing slider position


def minmax_indices(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Sorted indices of the points to keep: per bucket the argmin and argmax of ``y``.

    NaNs never win a bucket (a bucket of only NaNs keeps nothing). With ``n <= max_points``
    every index is kept. The result has at most ``max_points`` indices.
    """
    y = np.asarray(y, dtype="float64")
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    n_buckets = max(1, (max_points - 2) // 2)
    size = -(-n // n_buckets)  # ceil: the last bucket may be short
    n_buckets = -(-n // size)
    nan = np.isnan(y)
    has_nan = bool(nan.any())
    # pad the short last bucket with the last value (a padded index maps back to n - 1),
    # or with NaN when NaNs need handling anyway
    padded = np.full(n_buckets * size, np.nan if has_nan else y[-1])
    padded[:n] = y
    grid = padded.reshape(n_buckets, size)
    if has_nan:  # NaN never wins: it becomes +inf for the argmin and -inf for the argmax
        gnan = np.isnan(grid)
        empty = gnan.all(axis=1)
        lo = np.argmin(np.where(gnan, np.inf, grid), axis=1)
        hi = np.argmax(np.where(gnan, -np.inf, grid), axis=1)
    else:
        empty = np.zeros(n_buckets, bool)
        lo, hi = np.argmin(grid, axis=1), np.argmax(grid, axis=1)
    base = np.arange(n_buckets) * size
    keep = np.concatenate([(base + lo)[~empty], (base + hi)[~empty], [0, n - 1]])
    keep = np.unique(np.minimum(keep, n - 1))
    return keep[~nan[keep]] if has_nan else keep


def thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
         ) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` cut to at most ``max_points`` points with min/max buckets over ``y``."""
    idx = minmax_indices(y, max_points)
    return np.asarray(x)[idx], np.asarray(y, dtype="float64")[idx]


@dataclass(frozen=True)
class Envelope:
    """A series cut into buckets of consecutive points: per bucket, the index of its middle
    point (for its x and step), the median of its values (the line), and min and max (the
    band). Without cutting (few points), every point is its own bucket."""
    index: np.ndarray
    mid: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def bucketed(self) -> bool:
        return bool(len(self.mid)) and not np.array_equal(self.lo, self.hi)


def envelope(y: np.ndarray, max_points: int = MAX_POINTS) -> Envelope:
    """Median line and min/max band of ``y`` (finite values only) in at most ``max_points``
    buckets.

    The median rather than the mean: one eval-sized outlier in a bucket moves a mean a lot
    and a median not at all, so the line shows the typical step and the band the extremes.
    """
    y = np.asarray(y, dtype="float64")
    n = len(y)
    if n <= max_points:
        return Envelope(np.arange(n), y, y, y)
    size = -(-n // max_points)
    full = n // size * size
    grid = y[:full].reshape(-1, size)
    mid, lo, hi = np.median(grid, axis=1), grid.min(axis=1), grid.max(axis=1)
    index = np.arange(len(mid)) * size + size // 2
    if full < n:  # the short last bucket
        rest = y[full:]
        mid = np.append(mid, np.median(rest))
        lo, hi = np.append(lo, rest.min()), np.append(hi, rest.max())
        index = np.append(index, full + (n - full) // 2)
    return Envelope(index, mid, lo, hi)


def debiased_ema(values: np.ndarray, weight: float = DEFAULT_WEIGHT) -> np.ndarray:
    """TensorBoard's debiased EMA of ``values`` (float array, NaN/inf allowed).

    With weight ``w`` (0 <= w < 1), over the finite values ``x_1, x_2, ...`` in order:
    ``last_k = w * last_{k-1} + (1 - w) * x_k`` from ``last_0 = 0``, shown as
    ``last_k / (1 - w**k)``, which removes the pull towards the zero start (the first
    smoothed value is the first raw value). Non-finite values do not enter the average and
    are returned as they are; a constant series is returned unchanged (as TensorBoard does).
    This is pandas' adjusted EWM (``alpha=1-w, adjust=True, ignore_na=True``), run in C.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    y = np.asarray(values, dtype="float64")
    finite = np.isfinite(y)
    if weight == 0.0 or len(y) == 0:
        return y.copy()
    if finite.any() and np.all(y[finite] == y[finite][0]):
        return y.copy()
    clean = np.where(finite, y, np.nan)
    out = pd.Series(clean).ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean()
    out = out.to_numpy(dtype="float64", copy=True)
    out[~finite] = y[~finite]
    return out
