"""The one table of accelerator peak FLOP/s, shared by the trainer's MFU and the analyzer's
MFU check (standard library only).

Each entry is a device's dense bf16 tensor throughput (fp16 on parts without bf16: V100,
T4), from the vendor's datasheet or whitepaper, named in the entry. Datasheets often quote
"with sparsity" figures: those are twice the dense figure, and only dense figures are here.

Lookup is by whole words of the device name as torch reports it ("NVIDIA H100 80GB HBM3",
"Tesla V100-PCIE-32GB", "AMD Instinct MI300X"): an entry matches when all its words are words
of the name, and the entry with most words wins. So H20 is never read as H200, A10 as A100 or
A10G, L40 as L40S, nor an H100 PCIe as the SXM part, whatever the order of the table.

A device that is not in the table has no peak (``None``: MFU "unknown"), never a guessed one.
Apple GPUs (MPS) have no published dense bf16 tensor figure comparable with these: their MFU
is marked not comparable rather than computed against a made-up peak.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Peak", "PEAKS", "NANOGPT_A100_FLOPS", "lookup", "peak_flops", "not_comparable"]


@dataclass(frozen=True)
class Peak:
    """One table entry: the words that name the device, its dense peak and where it is from."""
    words: tuple[str, ...]
    tflops: float
    source: str

    @property
    def name(self) -> str:
        return " ".join(self.words)

    @property
    def flops(self) -> float:
        return self.tflops * 1e12


_H100 = "NVIDIA H100 datasheet (BF16 1,979 TFLOPS with sparsity)"
_H100_PCIE = "NVIDIA H100 datasheet, PCIe (BF16 1,513 TFLOPS with sparsity)"
_H100_NVL = "NVIDIA H100 datasheet, NVL (BF16 1,671 TFLOPS with sparsity)"
_H200 = "NVIDIA H200 datasheet, SXM (BF16 1,979 TFLOPS with sparsity)"
_H200_NVL = "NVIDIA H200 datasheet, NVL (BF16 1,671 TFLOPS with sparsity)"
_A100 = "NVIDIA A100 datasheet (BF16 312 TFLOPS dense, 624 with sparsity)"

PEAKS: tuple[Peak, ...] = (
    # NVIDIA Hopper / Blackwell
    Peak(("h100",), 989.0, _H100 + "; SXM5, torch names it 'NVIDIA H100 80GB HBM3'"),
    Peak(("h100", "pcie"), 756.0, _H100_PCIE),
    Peak(("h100", "nvl"), 835.0, _H100_NVL),
    Peak(("h800",), 989.0, "NVIDIA H800 SXM5: the H100 SXM5 compute figures"),
    Peak(("h800", "pcie"), 756.0, "NVIDIA H800 PCIe: the H100 PCIe compute figures"),
    Peak(("h200",), 989.0, _H200),
    Peak(("h200", "nvl"), 835.0, _H200_NVL),
    Peak(("gh200",), 989.0, "NVIDIA GH200 datasheet (H100-class GPU, BF16 1,979 sparse)"),
    Peak(("h20",), 148.0, "NVIDIA H20 specification (BF16 148 TFLOPS dense)"),
    Peak(("b200",), 2250.0, "NVIDIA HGX B200 specification (BF16 4.5 PFLOPS per GPU with "
                            "sparsity)"),
    # NVIDIA Ampere / Ada
    Peak(("a100",), 312.0, _A100 + "; SXM4 and PCIe alike"),
    Peak(("a800",), 312.0, "NVIDIA A800: the A100 compute figures"),
    Peak(("a30",), 165.0, "NVIDIA A30 datasheet (BF16 165 TFLOPS, 330 with sparsity)"),
    Peak(("a40",), 149.7, "NVIDIA A40 datasheet (BF16 149.7 TFLOPS, 299.4 with sparsity)"),
    Peak(("a10",), 125.0, "NVIDIA A10 datasheet (BF16 125 TFLOPS, 250 with sparsity)"),
    Peak(("l4",), 121.0, "NVIDIA L4 datasheet (BF16 242 TFLOPS with sparsity)"),
    Peak(("l40",), 181.05, "NVIDIA L40 datasheet (BF16 362.1 TFLOPS with sparsity)"),
    Peak(("l40s",), 362.05, "NVIDIA L40S datasheet (BF16 733 TFLOPS with sparsity)"),
    Peak(("rtx", "a6000"), 154.8, "NVIDIA RTX A6000 datasheet (tensor 309.7 TFLOPS with "
                                  "sparsity)"),
    Peak(("rtx", "4090"), 165.2, "NVIDIA Ada GPU architecture whitepaper: RTX 4090 BF16 "
                                 "with FP32 accumulate (what autocast uses)"),
    Peak(("rtx", "3090"), 71.0, "NVIDIA Ampere GA102 whitepaper: RTX 3090 BF16 with FP32 "
                                "accumulate"),
    # NVIDIA Volta / Turing: no bf16, so the fp16 tensor-core peak (what --dtype=auto uses)
    Peak(("v100",), 125.0, "NVIDIA V100 datasheet, SXM2 (fp16 tensor 125 TFLOPS)"),
    Peak(("v100", "pcie"), 112.0, "NVIDIA V100 datasheet, PCIe (fp16 tensor 112 TFLOPS)"),
    Peak(("v100s",), 130.0, "NVIDIA V100S datasheet (fp16 tensor 130 TFLOPS)"),
    Peak(("t4",), 65.0, "NVIDIA T4 datasheet (fp16 tensor 65 TFLOPS)"),
    # AMD Instinct (torch on ROCm reports the device type 'cuda')
    Peak(("mi300x",), 1307.4, "AMD Instinct MI300X datasheet (BF16 1307.4 TFLOPS dense)"),
    Peak(("mi325x",), 1307.4, "AMD Instinct MI325X datasheet (BF16 1307.4 TFLOPS dense)"),
    Peak(("mi250x",), 383.0, "AMD Instinct MI250X datasheet (BF16 383 TFLOPS)"),
    Peak(("mi250",), 362.1, "AMD Instinct MI250 datasheet (BF16 362.1 TFLOPS)"),
    Peak(("mi210",), 181.0, "AMD Instinct MI210 datasheet (BF16 181 TFLOPS)"),
)
# Deliberately absent: NVIDIA A10G (AWS's variant of the A10; NVIDIA publishes no tensor
# figure for it, and the A10's 125 would be a guess) and the RTX 6000 Ada / consumer parts
# whose bf16 figure we have not found in a datasheet. They get no MFU, not a wrong one.

NANOGPT_A100_FLOPS = 312e12
"""The constant nanoGPT's estimate_mfu divides by, whatever the device (the A100 entry): the
analyzer uses it to read nanoGPT logs' MFU and to correct it against the real device."""

NANOCHAT_H100_FLOPS = 989e12
"""The constant nanochat's base_train divided by before it printed the GPU's own peak
('promised_flops_per_sec_h100', the H100 SXM entry), whatever the device."""

_APPLE = re.compile(r"\b(apple|mps)\b", re.IGNORECASE)


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.lower()))


def lookup(device_name: str | None) -> Peak | None:
    """The most specific table entry whose words are all words of device_name, or None."""
    if not device_name:
        return None
    words = _words(device_name)
    best: Peak | None = None
    for entry in PEAKS:
        if all(w in words for w in entry.words) and (best is None
                                                     or len(entry.words) > len(best.words)):
            best = entry
    return best


def peak_flops(device_name: str | None) -> float | None:
    """Dense bf16 peak FLOP/s of a device name, or None when it is not in the table."""
    entry = lookup(device_name)
    return entry.flops if entry is not None else None


def not_comparable(device_type: str | None, device_name: str | None = None) -> str | None:
    """Why an MFU on this device cannot be compared with datasheet peaks, or None. Apple
    GPUs (MPS): Apple publishes no dense bf16 tensor throughput."""
    if (device_type or "").lower() == "mps" or _APPLE.search(device_name or ""):
        return ("Apple GPU (MPS): no published dense bf16 peak, so an MFU would not be "
                "comparable with other devices' MFU")
    return None
