"""Thresholds of every diagnostic, with the reasoning behind each default.

Defaults were chosen against the real logs in ../shared/data/realdata: they find the NaNs,
eval spikes, overfitting and wrong MFU constants those logs show, and stay quiet on the healthy
runs (llm.c GPT-2 124M, modded-nanogpt records, nanoGPT shakespeare-char).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Thresholds of the diagnostics. Override any field: ``DiagnosticsConfig(patience=3)``."""

    # --- overfitting ---
    patience: int = 2
    """Evals after the best val loss that must all stay above it before we call it overfitting
    (as early stopping's patience). 2 catches nanoGPT's shakespeare-char runs, which log a
    handful of evals; raise it for runs with many noisy evals."""
    min_delta: float = 0.005
    """Loss units the val loss must have risen above its best on average over those evals
    (each of them above the best), and the train loss fallen. Eval-loss noise with nanoGPT's
    eval_iters=200 is a few thousandths; averaging the evals after the best halves it."""
    overfit_rel: float = 0.005
    """... and by this fraction of the best val loss (eval noise grows with the loss)."""
    overfit_single_rel: float = 0.02
    """With too few evals for ``patience``, one eval after the best is enough when the val
    loss rose by this fraction of its best (4x overfit_rel: well above eval noise) while the
    train loss fell (a fine-tuning paste: 3.7535 -> 3.8986, train 0.98 -> 0.67). Also when a
    log of more evals ends one eval after its best, if the gap is big and training opened it
    (overfit_gap_ratio, overfit_gap_start): 5.3509 -> 5.4989 while train fell 2.82 -> 2.32,
    val 2.4x train, against 1.0x at the first eval."""
    overfit_gap_ratio: float = 1.5
    """With too few evals for a rise to show, a last val loss this many times the train loss
    (char-level Shakespeare memorised: 1.71 vs 0.62) is overfitting ..."""
    overfit_gap_start: float = 1.2
    """... when the first eval's ratio was below this (the gap grew during training, it is
    not a val set from another distribution)."""
    overfit_one_eval_ratio: float = 3.0
    """A log with a single eval (after step 0) is overfitting when its val loss is this many
    times the train loss: with no earlier eval to show the gap grew, only a gap far beyond
    eval noise or a shifted val set counts (a GPT-2 small tail: val 5.91 vs train 0.72)."""

    # --- throughput, evals and warm-up ---
    warmup_steps: int = 10
    """Steps at the start of each segment left out of throughput and MFU statistics
    (torch.compile, CUDA caches). The first logged iteration is always left out."""
    eval_spike_ratio: float = 1.5
    """Eval-inclusive iterations are reported as eval spikes when their median dt is at least
    this many times the steady median step time (and they cost spike_min_overhead of the
    wall time)."""
    eval_warn_ratio: float = 100.0
    """An eval-inclusive iteration this many times a normal step is a warning: the eval is
    costly (eval_iters too large, recompilation in eval mode, a slow device) ..."""
    eval_warn_overhead: float = 0.25
    """... as are evals that take this share of the wall time. Below both it is info."""
    spike_ratio: float = 3.0
    """An iteration not explained by an eval is a timing spike when its step time is this many
    times the median of its neighbours. Bimodal step times (2x) stay below it."""
    spike_window: int = 51
    """Neighbours (consecutive logged iterations) whose median a spike is measured against."""
    spike_min_overhead: float = 0.01
    """Unexplained spikes costing less than this fraction of the wall time are not reported
    (one slow step in thousands is noise: a GC pause, a data shard switch)."""
    spike_warn_overhead: float = 0.05
    """Unexplained spikes costing at least this fraction of the wall time are a warning."""
    drop_ratio: float = 1.5
    """A throughput drop is a stretch where the median throughput (tokens/s, else steps/s)
    falls below the run's typical (upper-quartile) throughput divided by this."""
    drop_min_frac: float = 0.05
    """Share of the steady iterations (and at least 5) a drop must last to be reported."""

    # --- loss ---
    loss_window: int = 50
    """Previous logged losses that a loss is compared with (rolling mean and std)."""
    loss_min_history: int = 10
    """Logged losses needed before spikes are looked for."""
    loss_spike_sigma: float = 6.0
    """A loss spike is above the rolling mean by this many rolling standard deviations (as
    OLMo's spike score) ..."""
    loss_above_start: float = 2.0
    """A training loss this many times the untrained model's (the eval at step 0, same unit)
    is a spike, however few points the log has (a single train line can show one: 16.74
    against 6.94). Twice: one batch of a small fine-tune reaches 1.5x its averaged val."""
    loss_spike_rel: float = 0.2
    """... and above the rolling mean by this fraction (llm-foundry's 'k times the mean').
    Both must hold: single-batch noise in llm.c reaches 5-6 sigma but only ~5% above the mean,
    and noisy fine-tuning losses reach 2x the mean but only ~3 sigma."""
    short_spike_rel: float = 0.3
    """Before loss_min_history points exist (a short log), a loss this fraction above both the
    point before it and the lowest of the next three is a spike (8.07 -> 15.13 -> 7.97): early
    losses fall fast, so a 30% jump against both sides is no noise (llm.c's first update
    overshooting, 2.39 -> 3.28 -> 2.37, is the smallest of the real logs' early spikes)."""
    divergence_rel: float = 0.3
    """The loss diverged when the median of its last twentieth is this fraction above the
    lowest such median (a slow climb; a sudden one is a spike that never recovers)."""
    plateau_frac: float = 0.3
    """Tail of each segment (share of its steps) examined for a plateau."""
    plateau_min_points: int = 30
    """Logged losses the tail needs before a plateau can be called."""
    plateau_rel: float = 0.002
    """A plateau: the loss improved by less than this fraction across the tail ..."""
    plateau_lr_frac: float = 0.5
    """... while the learning rate (when logged) was still at least this share of its peak. A
    flat loss at the end of a decayed schedule is convergence, not a plateau."""

    # --- MFU ---
    low_mfu: float = 0.10
    """Steady-state median MFU (fraction) below which MFU is low. nanoGPT reaches ~0.37 on an
    A100 for GPT-2 124M, llm.c ~0.32-0.50."""
    small_model_params: float = 50e6
    """Models with fewer parameters cannot keep a GPU busy: low MFU is expected (info), and an
    MFU above small_model_max_mfu is implausible."""
    small_model_max_mfu: float = 0.5
    """Highest median MFU believable for a model under small_model_params."""
    max_plausible_mfu: float = 0.75
    """The 95th percentile of MFU above this points to a wrong peak-FLOPS constant (real runs
    top out around 0.5-0.6); above 1.0 it is certain."""

    # --- stragglers (multi-process runs) ---
    straggler_ratio: float = 1.15
    """Median slowest-rank / fastest-rank step time above which ranks are unbalanced."""
    straggler_share: float = 0.6
    """Share of the logged iterations in which one rank must be the slowest to be named."""
    straggler_min_points: int = 10
    """Logged iterations with per-rank timings needed before judging."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"DiagnosticsConfig.{f.name} must be a number, "
                                 f"got {value!r}")
            if value < 0:
                raise ValueError(f"DiagnosticsConfig.{f.name} must be >= 0, got {value!r}")
            if f.type == "int" and int(value) != value:
                raise ValueError(f"DiagnosticsConfig.{f.name} must be an integer, "
                                 f"got {value!r}")
        for name in ("eval_spike_ratio", "spike_ratio", "drop_ratio", "straggler_ratio"):
            if getattr(self, name) <= 1:
                raise ValueError(f"DiagnosticsConfig.{name} must be > 1, "
                                 f"got {getattr(self, name)!r}")
        for name in ("drop_min_frac", "plateau_frac", "straggler_share", "plateau_lr_frac"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"DiagnosticsConfig.{name} must be in (0, 1], "
                                 f"got {getattr(self, name)!r}")
        if self.patience < 1:
            raise ValueError(f"DiagnosticsConfig.patience must be >= 1, got {self.patience}")

    @classmethod
    def from_overrides(cls, pairs: list[str]) -> "DiagnosticsConfig":
        """Build from 'name=value' strings (the CLI's --set); values parsed as numbers only."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for pair in pairs:
            name, sep, text = pair.partition("=")
            name = name.strip()
            if not sep or name not in known:
                raise ValueError(f"unknown diagnostics setting {name!r} "
                                 f"(known: {', '.join(known)})")
            try:
                kwargs[name] = int(text) if known[name].type == "int" else float(text)
            except ValueError:
                raise ValueError(f"DiagnosticsConfig.{name}: {text!r} is not a number") from None
        return cls(**kwargs)


def config_docs() -> list[tuple[str, Any, str]]:
    """(name, default, docstring) of every threshold, read from the source so docs and --help
    cannot drift from the code."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(DiagnosticsConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) \
                and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())  # type: ignore
    return [(f.name, f.default, docs.get(f.name, "")) for f in fields(DiagnosticsConfig)]
