"""Model FLOPs utilisation: too low to be healthy, or too high to be true.

MFU = achieved FLOP/s / the device's peak. nanoGPT divides by an A100's 312 TFLOPS whatever
the device, so its MFU reads >100% on an H100 and ~0% on a CPU; forks change the constant.
Only steady iterations count (no eval, no warm-up): see analyzer.stats.
"""
from __future__ import annotations

import numpy as np

from analyzer import orderstats
from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.diagnostics.prepared import Prepared, prepared
from analyzer.findings import Finding
from analyzer.mfu_basis import mfu_basis
from analyzer.per_run import run_groups
from analyzer.run import Run
from gptscope import peaks

NANOGPT_PEAK = peaks.NANOGPT_A100_FLOPS  # nanoGPT's estimate_mfu: A100 bf16


def device_peak(name: str | None) -> float | None:
    """Dense bf16 peak FLOP/s of a device name such as 'NVIDIA H100 80GB HBM3' (the shared
    table, gptscope/peaks.py), or None when it is not there."""
    return peaks.peak_flops(name)


def _n_params(run: Run) -> float | None:
    model = run.meta.get("model") or {}
    n = model.get("n_params") or run.meta.get("n_params")
    try:
        return float(n) if n else None
    except (TypeError, ValueError):
        return None


def _meta(run: Run, key: str):
    return run.meta.get(key) or (run.meta.get("config") or {}).get(key)


def _causes(run: Run, n_params: float | None, config: DiagnosticsConfig) -> list[str]:
    causes = []
    device = str(_meta(run, "device") or "")
    source = str(run.meta.get("peak_flops_source") or "")
    on_gpu = not device.startswith(("cpu", "mps"))
    if not on_gpu and source.startswith("measured"):
        # our trainer measures a CPU's peak with a big matmul: the small matmuls, softmax,
        # layer norms and optimizer of a real step never get close to it
        causes.append(f"the device is {device} and the peak is a large-matmul calibration "
                      "that a training step's smaller, mixed operations cannot reach")
    elif not on_gpu:
        causes.append(f"the device is {device}, but the MFU is measured against a GPU's peak")
    if n_params is not None and n_params < config.small_model_params:
        causes.append(f"the model is small ({n_params / 1e6:.2f}M parameters): its kernels "
                      "are too small to keep the device busy and per-operation overhead "
                      "dominates")
    dtype = str(_meta(run, "dtype") or "")
    if on_gpu and dtype in ("float32", "fp32"):
        causes.append("it trains in float32, so tensor cores run far below their bf16 peak")
    if _meta(run, "compile") is False:
        causes.append("torch.compile is off")
    return causes


def _settings_on(run: Run) -> set[str]:
    """What the log shows is already on (config echo, command line): never advise it."""
    on = set()
    if _meta(run, "compile") is True:
        on.add("compile")
    if str(_meta(run, "dtype") or "").lower() in ("bfloat16", "bf16", "float16", "fp16"):
        on.add("bf16")
    flash = _meta(run, "flash") or _meta(run, "flash_attn") or _meta(run, "use_flash_attn")
    if flash is True:
        on.add("flash")
    return on


def _advice(run: Run) -> tuple[str, str]:
    """(likely causes, what to do) for a low MFU, leaving out what the log shows is on."""
    on = _settings_on(run)
    causes = ["a small batch or sequence length"]
    todo = []
    for key, cause, fix in (("compile", "torch.compile off", "torch.compile"),
                            ("bf16", "float32 instead of bf16", "bf16 autocast"),
                            ("flash", "no flash attention",
                             "flash attention (scaled_dot_product_attention)")):
        if key not in on:
            causes.append(cause)
            todo.append(fix)
    causes.append("or the data loader starving the GPU")
    do = ("Use " + ", ".join(todo) + " and the largest micro-batch that fits; then profile."
          if todo else "Use the largest micro-batch that fits, then profile the step (the "
          "log shows compile, bf16 and flash attention already on).")
    return "other likely causes: " + ", ".join(causes), do


def _steady_mfu(prep: Prepared) -> tuple[np.ndarray, tuple[int, int] | None, float]:
    """The MFU of the clean rows (no eval, no warm-up) where measured, the first and last
    step among them, and their median (NaN when there are none), for both MFU checks. In a
    file of several runs, the last run's (as the summary's figures): two runs' steps and
    speeds are never pooled."""
    def build() -> tuple[np.ndarray, tuple[int, int] | None, float]:
        mfu, m = prep.masks.mfu, prep.masks
        groups = run_groups(prep.run)
        last = np.isin(prep.segment, groups[-1]) if len(groups) > 1 else True
        rows = m.clean & ~np.isnan(mfu) & last
        if not rows.any():  # a log too short to get past the warm-up (as the summary's
            # throughput): all but each segment's first row and the eval-inclusive ones
            rows = ~m.eval_inclusive & ~m.first & ~np.isnan(mfu) & last
        values = mfu[rows]
        if not len(values):
            return values, None, float("nan")
        # the throughput statistics take the same median unless a short log made them
        # fall back to other rows, or the file holds several runs: one 1M-point median fewer
        median = (prep.throughput.median_mfu if prep.masks.steady.any() and len(groups) < 2
                  else None)
        median = float(orderstats.median(values)) if median is None else median
        stepped = rows & prep.has_step
        span = None if not stepped.any() else (
            int(np.min(prep.step, where=stepped, initial=np.iinfo(np.int64).max)),
            int(np.max(prep.step, where=stepped, initial=np.iinfo(np.int64).min)))
        return values, span, median
    return prep.once("steady_mfu", build)


def low_mfu(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """Steady-state median MFU below ``low_mfu``. Info when the run is small or not on a
    GPU (then it is expected), warning otherwise."""
    mfu, span, median = _steady_mfu(prepared(run, config))
    if len(mfu) < 3:
        return []
    basis = mfu_basis(run.meta)
    logged, median = median, basis.apply(median)  # of the device's own peak where known
    if median >= config.low_mfu:
        return []
    n_params = _n_params(run)
    causes = _causes(run, n_params, config)
    if basis.factor is None and basis.label and basis.comparable:
        # nanoGPT's figure of an A100's peak on a GPU the log does not name: on any smaller
        # GPU the same run uses a larger share of its own peak, so nothing can be concluded
        causes.append(f"the figure is {basis.label}")
    expected = any(c.startswith(("the device is", "the model is small", "the figure is"))
                   for c in causes)
    generic, todo = _advice(run)
    return [Finding(
        code="low_mfu", severity="info" if expected else "warning",
        steps=span,
        message=(f"The {'last run' + chr(39) + 's ' if len(run_groups(run)) > 1 else ''}"
                 f"steady-state MFU is {median:.2%} (below {config.low_mfu:.0%}): "
                 + ("; ".join(causes) if causes else generic) + "."),
        evidence={"median_mfu": median, "logged_median_mfu": logged,
                  "mfu_basis": basis.label, "threshold": config.low_mfu,
                  "p90_mfu": float(orderstats.quantiles(mfu, [0.9])[0]), "n_params": n_params,
                  "causes": causes},
        suggestion=_low_mfu_advice(causes, expected, todo))]


def _low_mfu_advice(causes: list[str], expected: bool, todo: str) -> str:
    if any(c.startswith("the figure is") for c in causes) and not any(
            c.startswith(("the device is", "the model is small")) for c in causes):
        return ("Judge it against the GPU's own peak: divide the achieved FLOP/s by that "
                "GPU's dense bf16 peak (gptscope's trainer does, and prints the GPU's name); "
                "if it is still low: " + todo[:1].lower() + todo[1:])
    return ("Expected for this setup; compare MFU only between runs of similar size on the "
            "same device." if expected else todo)


def implausible_mfu(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """MFU above what any real run reaches: the peak-FLOPS constant is wrong for the
    device (nanoGPT's A100 figure on an H100, or a fork's own constant)."""
    mfu, span, median = _steady_mfu(prepared(run, config))
    if len(mfu) < 3:
        return []
    # the 95th percentile is never above the largest value: only a run whose MFU goes above
    # the bar needs it now (a 1M-point partition)
    p95 = (float(orderstats.quantiles(mfu, [0.95])[0])
           if np.max(mfu) > config.max_plausible_mfu else None)
    n_params = _n_params(run)
    small = n_params is not None and n_params < config.small_model_params
    high = p95 is not None and p95 > config.max_plausible_mfu
    if not (high or (small and median > config.small_model_max_mfu)):
        return []
    p95 = float(orderstats.quantiles(mfu, [0.95])[0]) if p95 is None else p95
    name = _meta(run, "device_name")
    true_peak = device_peak(str(name)) if name else None
    source = str(run.meta.get("peak_flops_source") or "")
    # a nanoGPT log without a stated peak used train.py's A100 constant; our trainer's
    # stdout does not print the peak it used (its own table or a measured calibration)
    nanogpt_constant = run.format == "nanogpt" and not source.startswith(("gptscope",
                                                                          "measured"))
    used = run.meta.get("peak_flops") or (NANOGPT_PEAK if nanogpt_constant else None)
    corrected = None
    if true_peak and used:
        corrected = median * used / true_peak
    printed = run.iters["mfu_smoothed"].where(run.iters["mfu_smoothed"] > 0).max()
    printed = float(printed) if printed == printed else None  # what the log itself shows
    why = (f"the 95th percentile is {p95:.1%}" if high else
           f"a {n_params / 1e6:.1f}M-parameter model cannot keep a GPU that busy")
    shown = f", the log prints up to {printed:.2%}" if printed is not None else ""
    msg = (f"The MFU (median {median:.1%} over steady steps{shown}) is not believable: "
           f"{why}, so the peak-FLOPS constant used to compute it is probably wrong for "
           "this device")
    if corrected is not None:
        msg += f"; against the {name}'s real peak it would be about {corrected:.1%}"
    return [Finding(
        code="mfu_implausible", severity="error" if p95 > 1.0 else "warning",
        steps=span,
        message=msg + ".",
        evidence={"median_mfu": median, "p95_mfu": p95, "max_mfu": float(np.max(mfu)),
                  "max_printed_mfu": printed,
                  "n_params": n_params, "peak_flops_used": used, "device_name": name,
                  "device_peak_flops": true_peak, "corrected_median_mfu": corrected},
        suggestion=("Compute MFU against the device's real dense bf16 peak (H100 SXM ~989 "
                    "TFLOPS, A100 312): nanoGPT's estimate_mfu hard-codes the A100 figure. "
                    "Do not compare this MFU with other runs until it is fixed."
                    if used == NANOGPT_PEAK else
                    f"Check the peak the MFU was computed against ({source or 'not stated'}) "
                    "and the FLOPs per token; do not compare this MFU with other runs until "
                    "it is fixed."))]
