"""Cut a long series to about 2,000 points for the browser without hiding spikes.

A browser chart of 100,000 points takes half a minute and 300 MB to draw; 2,000 take a few
seconds. Random or strided sampling would drop exactly the points people look for (a loss
spike, a slow eval iteration), so each bucket of consecutive points keeps its minimum and its
maximum instead (plus the first and last point of the series), in their original order.
"""
from __future__ import annotations

import numpy as np

MAX_POINTS = 2000


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


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` cut to at most ``max_points`` points with min/max buckets over ``y``."""
    idx = minmax_indices(y, max_points)
    return np.asarray(x)[idx], np.asarray(y, dtype="float64")[idx]
