"""TensorBoard's smoothing, so that a smoothed loss reads the same here as there.

TensorBoard's scalar dashboard smooths with a *debiased* exponential moving average: with
weight ``w`` (the slider, 0 <= w < 1), over the finite values ``x_1, x_2, ...`` in order,

    last_k     = w * last_{k-1} + (1 - w) * x_k,   last_0 = 0
    smoothed_k = last_k / (1 - w**k)

Dividing by ``1 - w**k`` removes the pull towards 0 of the zero start, so the first smoothed
value equals the first raw value. Non-finite values do not enter the average and are shown as
they are (NaN stays NaN); a constant series is returned unchanged.

This is exactly the adjusted EWM of pandas (``ewm(alpha=1-w, adjust=True, ignore_na=True)``):
sum_i w**i x_{k-i} / sum_i w**i, which runs in C on a million points.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_WEIGHT = 0.6  # TensorBoard's default slider position


def debiased_ema(values: np.ndarray, weight: float = DEFAULT_WEIGHT) -> np.ndarray:
    """TensorBoard's debiased EMA of ``values`` (float array, NaN/inf allowed)."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    y = np.asarray(values, dtype="float64")
    finite = np.isfinite(y)
    if weight == 0.0 or len(y) == 0:
        return y.copy()
    if finite.any() and np.all(y[finite] == y[finite][0]):
        return y.copy()  # TensorBoard leaves a constant series as it is
    clean = np.where(finite, y, np.nan)
    out = pd.Series(clean).ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean()
    out = out.to_numpy(dtype="float64", copy=True)
    out[~finite] = y[~finite]
    return out
