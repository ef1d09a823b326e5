"""Model FLOPs utilisation: the model's FLOPs per step over the device's peak.

FLOPs per token follow the PaLM paper (appendix B), as nanoGPT does: 6N for the matmuls with
the weights (forward 2N, backward 4N) plus 12·L·H·Q·T for attention (L layers, H heads, head
size Q, sequence length T). N excludes the position embeddings.

The peak is the device's dense bf16 (fp16 where there is no bf16) tensor throughput, from the
vendor's datasheet, looked up by the device name with whole-word matching, so that confusable
names (H20 / H200, H100 PCIe / H100 SXM, L40 / L40S, A10 / A100) cannot be mistaken for each
other. A GPU that is not in the table gets no MFU rather than a wrong one.
"""
from __future__ import annotations

import functools
import re
import time

# (name tokens, dense TFLOP/s). A device matches an entry when all the entry's tokens are
# words of its name; the entry with most tokens wins (most specific). Datasheet figures are
# often quoted "with sparsity": those are halved here.
PEAK_TFLOPS: tuple[tuple[tuple[str, ...], float], ...] = (
    # NVIDIA Hopper / Blackwell
    (("h100",), 989.0),            # SXM5; torch names it "NVIDIA H100 80GB HBM3"
    (("h100", "pcie"), 756.0),
    (("h100", "nvl"), 835.0),
    (("h800",), 989.0),
    (("h800", "pcie"), 756.0),
    (("h200",), 989.0),
    (("h200", "nvl"), 835.0),
    (("gh200",), 989.0),
    (("h20",), 148.0),
    (("b200",), 2250.0),
    # NVIDIA Ampere / Ada
    (("a100",), 312.0),            # SXM4 and PCIe alike
    (("a800",), 312.0),
    (("a30",), 165.0),
    (("a40",), 149.7),
    (("a10",), 125.0),
    (("l4",), 121.0),
    (("l40",), 181.0),
    (("l40s",), 362.0),
    (("rtx", "a6000"), 154.8),
    (("rtx", "4090"), 165.2),      # bf16 with fp32 accumulate (what autocast uses)
    (("rtx", "3090"), 71.0),
    # NVIDIA Volta / Turing: no bf16; fp16 tensor-core peak
    (("v100",), 125.0),            # SXM2
    (("v100", "pcie"), 112.0),
    (("t4",), 65.0),
    # AMD Instinct
    (("mi300x",), 1307.4),
    (("mi325x",), 1307.4),
    (("mi250x",), 383.0),
    (("mi250",), 362.1),
)


def flops_per_token(n_params: int, n_layer: int, n_head: int, head_dim: int,
                    seq_len: int) -> int:
    """Training FLOPs per token (forward + backward): 6N + 12·L·H·Q·T."""
    return 6 * n_params + 12 * n_layer * n_head * head_dim * seq_len


def flops_per_iter(n_params: int, n_layer: int, n_head: int, n_embd: int, block_size: int,
                   tokens_per_iter: int) -> int:
    """FLOPs of one optimizer step over tokens_per_iter tokens of block_size sequences."""
    return flops_per_token(n_params, n_layer, n_head, n_embd // n_head,
                           block_size) * tokens_per_iter


def lookup_peak(device_name: str) -> tuple[float, str] | None:
    """(peak FLOP/s, table entry) for a GPU name, or None when the table has no entry."""
    words = set(re.findall(r"[a-z0-9]+", device_name.lower()))
    best: tuple[tuple[str, ...], float] | None = None
    for tokens, tflops in PEAK_TFLOPS:
        if all(t in words for t in tokens) and (best is None or len(tokens) > len(best[0])):
            best = (tokens, tflops)
    if best is None:
        return None
    return best[1] * 1e12, " ".join(best[0])


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
    found = lookup_peak(device_name or "")
    if found is None:
        return None, "unknown", (f"no peak FLOP/s known for {device_name!r}: MFU will not be "
                                 f"reported (set --peak_tflops to give one)")
    return found[0], f"table:{found[1]}", None


def mfu(flops: float, seconds: float, peak_flops: float | None) -> float | None:
    """Fraction of peak achieved by `flops` in `seconds` (0.45 = 45%); None when unknown."""
    if peak_flops is None or seconds <= 0:
        return None
    return flops / seconds / peak_flops
