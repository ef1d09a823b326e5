"""Diagnostics: pure functions from a Run to a list of Findings.

Each diagnostic is ``fn(run, config) -> list[Finding]``, listed in DIAGNOSTICS; ``run_all``
runs them all. Thresholds live in DiagnosticsConfig (analyzer/diagnostics/config.py), each
with its default and the reason for it. To add a diagnostic: write the function in a module
of this package, append it to DIAGNOSTICS and its finding codes to CODES, and test it on a
synthetic run that triggers it and on one that must not. What several diagnostics need of a
run (masks, statistics, step-ordered rows) comes from ``prepared(run, config)``
(prepared.py), shared within one ``run_all``.
"""
from __future__ import annotations

from typing import Callable

from analyzer.diagnostics.causes import root_causes
from analyzer.diagnostics.config import DiagnosticsConfig, config_docs
from analyzer.diagnostics.loss import loss_plateau, loss_spikes, loss_trend_divergence
from analyzer.diagnostics.mfu import implausible_mfu, low_mfu
from analyzer.diagnostics.nonfinite import nonfinite_grad, nonfinite_loss
from analyzer.diagnostics.overfitting import overfitting
from analyzer.diagnostics.prepared import sharing
from analyzer.diagnostics.run_end import run_failed
from analyzer.diagnostics.straggler import straggler
from analyzer.diagnostics.timing import eval_spikes, throughput_drop, timing_spikes
from analyzer.findings import Finding, sort_findings
from analyzer.references import reference_standing
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
    "spike_cause": root_causes,
    "reference_standing": reference_standing,
}


# The finding codes each diagnostic can give: the one name of a finding, the name
# `diagnose --only` takes and prints (tests/analyzer/test_cli.py checks this on real logs).
CODES: dict[str, tuple[str, ...]] = {
    "run_failed": ("run_failed", "run_interrupted"),
    "nonfinite_loss": ("nonfinite_loss",),
    "nonfinite_grad": ("nonfinite_grad",),
    "loss_spikes": ("loss_spike", "loss_outliers", "loss_divergence"),
    "loss_trend_divergence": ("loss_divergence", "train_loss_rise"),
    "loss_plateau": ("loss_plateau",),
    "overfitting": ("overfitting",),
    "eval_spikes": ("eval_spikes",),
    "timing_spikes": ("timing_spikes",),
    "throughput_drop": ("throughput_drop", "throughput_rise"),
    "low_mfu": ("low_mfu",),
    "implausible_mfu": ("mfu_implausible",),
    "straggler": ("straggler_rank",),
    "spike_cause": ("spike_cause", "timing_pattern", "step_time_creep"),
    "reference_standing": ("reference_standing",),
}
FINDING_CODES = tuple(dict.fromkeys(c for codes in CODES.values() for c in codes))
# Old `--only` names (the diagnostics' function names), still accepted: each selects every
# code its diagnostic gives.
DEPRECATED_NAMES = {name: codes for name, codes in CODES.items()
                    if name not in FINDING_CODES}


def run_all(run: Run, config: DiagnosticsConfig | None = None,
            only: list[str] | None = None) -> list[Finding]:
    """Every diagnostic on ``run``, most severe first; ``only``: just the findings with
    these codes (FINDING_CODES; a name in DEPRECATED_NAMES stands for its codes)."""
    config = config or DiagnosticsConfig()
    unknown = [n for n in only or [] if n not in FINDING_CODES and n not in DEPRECATED_NAMES]
    if unknown:
        raise ValueError(f"unknown diagnostic code(s) {', '.join(unknown)}; known: "
                         f"{', '.join(FINDING_CODES)}")
    wanted = ({c for n in only for c in DEPRECATED_NAMES.get(n, (n,))} if only
              else set(FINDING_CODES))
    findings: list[Finding] = []
    with sharing():  # masks, statistics and spikes computed once for all diagnostics
        for name, fn in DIAGNOSTICS.items():
            if wanted & set(CODES[name]):
                findings.extend(f for f in fn(run, config) if not only or f.code in wanted)
    return sort_findings(findings)


__all__ = ["CODES", "DEPRECATED_NAMES", "DIAGNOSTICS", "DiagnosticsConfig", "FINDING_CODES",
           "Finding", "config_docs", "run_all"]
