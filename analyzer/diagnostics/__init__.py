"""Diagnostics: pure functions from a Run to a list of Findings.

Each diagnostic is ``fn(run, config) -> list[Finding]``, listed in DIAGNOSTICS; ``run_all``
runs them all. Thresholds live in DiagnosticsConfig (analyzer/diagnostics/config.py), each
with its default and the reason for it. To add a diagnostic: write the function in a module
of this package, append it to DIAGNOSTICS, and test it on a synthetic run that triggers it and
on one that must not.
"""
from __future__ import annotations

from typing import Callable

from analyzer.diagnostics.config import DiagnosticsConfig, config_docs
from analyzer.diagnostics.loss import loss_plateau, loss_spikes, loss_trend_divergence
from analyzer.diagnostics.mfu import implausible_mfu, low_mfu
from analyzer.diagnostics.nonfinite import nonfinite_grad, nonfinite_loss
from analyzer.diagnostics.overfitting import overfitting
from analyzer.diagnostics.run_end import run_failed
from analyzer.diagnostics.straggler import straggler
from analyzer.diagnostics.timing import eval_spikes, throughput_drop, timing_spikes
from analyzer.findings import Finding, sort_findings
from analyzer.run import Run

Diagnostic = Callable[[Run, DiagnosticsConfig], list[Finding]]

DIAGNOSTICS: dict[str, Diagnostic] = {
    "run_failed": run_failed,
    "nonfinite_loss": nonfinite_loss,
    "nonfinite_grad": nonfinite_grad,
    "loss_spikes": loss_spikes,
    "loss_trend_divergence": loss_trend_divergence,
    "loss_plateau": loss_plateau,
    "overfitting": overfitting,
    "eval_spikes": eval_spikes,
    "timing_spikes": timing_spikes,
    "throughput_drop": throughput_drop,
    "low_mfu": low_mfu,
    "implausible_mfu": implausible_mfu,
    "straggler": straggler,
}


def run_all(run: Run, config: DiagnosticsConfig | None = None,
            only: list[str] | None = None) -> list[Finding]:
    """Every diagnostic (or those named in ``only``) on ``run``, most severe first."""
    config = config or DiagnosticsConfig()
    names = only or list(DIAGNOSTICS)
    unknown = [n for n in names if n not in DIAGNOSTICS]
    if unknown:
        raise ValueError(f"unknown diagnostic(s) {unknown}; known: {', '.join(DIAGNOSTICS)}")
    findings: list[Finding] = []
    for name in names:
        findings.extend(DIAGNOSTICS[name](run, config))
    return sort_findings(findings)


__all__ = ["DIAGNOSTICS", "DiagnosticsConfig", "Finding", "config_docs", "run_all"]
