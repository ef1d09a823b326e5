"""Model FLOPs utilisation: the model's FLOPs per step over the device's peak.

FLOPs per token follow the PaLM paper (appendix B), as nanoGPT does: 6N for the matmuls with
the weights (forward 2N, backward 4N) plus 12·L·H·Q·T for attention (L layers, H heads, head
size Q, sequence length T). N excludes the position embeddings.

The peak of a GPU is its dense bf16 tensor throughput from the one shared table,
gptscope/peaks.py (whole-word name matching; a GPU that is not there gets no MFU rather than
a wrong one). A CPU's peak is measured (no datasheet describes a shared cloud vCPU).
"""
from __future__ import annotations

import functools
import time

from gptscope import peaks


def flops_per_token(n_params: int, n_layer: int, n_head: int, head_dim: int,
                    seq_len: int) -> int:
    """Training FLOPs per token (forward + backward): 6N + 12·L·H·Q·T."""
    return 6 * n_params + 12 * n_layer * n_head * head_dim * seq_len


def flops_per_iter(n_params: int, n_layer: int, n_head: int, n_embd: int, block_size: int,
                   tokens_per_iter: int) -> int:
    """FLOPs of one optimizer step over tokens_per_iter tokens of block_size sequences."""
    return flops_per_token(n_params, n_layer, n_head, n_embd // n_head,
                           block_size) * tokens_per_iter


def measure_cpu_peak() -> float:
    """FLOP/s of the fastest of a series of float32 matmuls with the current torch threads:
    the practical peak of this CPU (no datasheet describes a shared cloud vCPU). Takes about
    0.3 s, once per process and thread count. Best-of over a time budget rather than a few
    tries, because a CPU shared with other programs is slow at random moments: too low a peak
    would show an MFU above 100%."""
    import torch
    return _cpu_matmul_peak(torch.get_num_threads())


@functools.cache
def _cpu_matmul_peak(threads: int, n: int = 1024, budget_s: float = 0.3) -> float:
    import torch
    # its own generator: drawing from the global one would shift the dropout stream of
    # the first run in a process (the peak is measured once per process)
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    torch.mm(a, b)  # warm-up: thread pool, caches
    best, start, tries = float("inf"), time.perf_counter(), 0
    while tries < 5 or (time.perf_counter() - start < budget_s and tries < 200):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
        tries += 1
    return 2 * n ** 3 / best


def resolve_peak(device_type: str, device_name: str | None, user_tflops: float
                 ) -> tuple[float | None, str, str | None]:
    """(peak FLOP/s or None, peak_flops_source, warning or None) for run_start."""
    if user_tflops > 0:
        return user_tflops * 1e12, "user", None
    if device_type == "cpu":
        return measure_cpu_peak(), "measured:cpu-matmul", None
    reason = peaks.not_comparable(device_type, device_name)
    if reason is not None:
        # 'unknown: ...' as the schema's 'unknown', with the reason (as parsers do)
        return None, "unknown: not comparable (Apple GPU)", (
            f"{reason}: MFU will not be reported (set --peak_tflops to give a peak)")
    entry = peaks.lookup(device_name)
    if entry is None:
        return None, "unknown", (f"no peak FLOP/s known for {device_name!r}: MFU will not be "
                                 f"reported (set --peak_tflops to give one)")
    return entry.flops, f"table:{entry.name}", None


def mfu(flops: float, seconds: float, peak_flops: float | None) -> float | None:
    """Fraction of peak achieved by `flops` in `seconds` (0.45 = 45%); None when unknown."""
    if peak_flops is None or seconds <= 0:
        return None
    return flops / seconds / peak_flops
