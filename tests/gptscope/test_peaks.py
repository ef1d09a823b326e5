"""The one peak-FLOPS table (gptscope/peaks.py): whole-word lookup of confusable device names,
unknown devices get no peak, Apple GPUs are not comparable, and nothing else in the project
keeps a table of its own."""
import re
from pathlib import Path

import pytest

from gptscope import peaks

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name,tflops,entry", [
    # the figures issue #11 names, as torch (CUDA / ROCm) reports the devices
    ("NVIDIA H100 80GB HBM3", 989, "h100"),
    ("NVIDIA H100 PCIe", 756, "h100 pcie"),
    ("NVIDIA H100 NVL", 835, "h100 nvl"),
    ("NVIDIA H200", 989, "h200"),
    ("NVIDIA A100-SXM4-80GB", 312, "a100"),
    ("NVIDIA A100 80GB PCIe", 312, "a100"),
    ("NVIDIA L4", 121, "l4"),
    ("NVIDIA GeForce RTX 4090", 165.2, "rtx 4090"),
    ("AMD Instinct MI300X", 1307.4, "mi300x"),
    # confusable neighbours: each must land on its own entry, not a prefix's
    ("NVIDIA H20", 148, "h20"),
    ("NVIDIA H200 NVL", 835, "h200 nvl"),
    ("NVIDIA GH200 480GB", 989, "gh200"),
    ("NVIDIA A10", 125, "a10"),
    ("NVIDIA L40", 181.05, "l40"),
    ("NVIDIA L40S", 362.05, "l40s"),
    ("Tesla V100-SXM2-16GB", 125, "v100"),
    ("Tesla V100-PCIE-32GB", 112, "v100 pcie"),
    ("Tesla V100S-PCIE-32GB", 130, "v100s"),
    ("Tesla T4", 65, "t4"),
    ("NVIDIA RTX A6000", 154.8, "rtx a6000"),
    ("NVIDIA GeForce RTX 3090", 71, "rtx 3090"),
    ("NVIDIA B200", 2250, "b200"),
    ("AMD Instinct MI250X", 383, "mi250x"),
    ("AMD Instinct MI250", 362.1, "mi250"),
])
def test_lookup_by_whole_words(name, tflops, entry):
    found = peaks.lookup(name)
    assert found is not None and found.name == entry
    assert found.flops == pytest.approx(tflops * 1e12)
    assert peaks.peak_flops(name) == pytest.approx(tflops * 1e12)


@pytest.mark.parametrize("name", [
    "NVIDIA A10G",             # AWS's A10 variant: no published figure, so no guess
    "NVIDIA GeForce GTX 1080", "H2000", "NVIDIA H1000", "Mystery GPU 9000", "", None,
    "NVIDIA GeForce RTX 40900", "RTX",
])
def test_unknown_devices_have_no_peak(name):
    assert peaks.lookup(name) is None and peaks.peak_flops(name) is None


def test_table_order_does_not_decide():
    # the most specific entry wins wherever it sits in the table
    shuffled = tuple(reversed(peaks.PEAKS))
    original = peaks.PEAKS
    try:
        peaks.PEAKS = shuffled
        assert peaks.lookup("NVIDIA H100 PCIe").name == "h100 pcie"
        assert peaks.lookup("NVIDIA H200 NVL").name == "h200 nvl"
    finally:
        peaks.PEAKS = original


def test_every_entry_is_dense_and_sourced():
    names = [p.name for p in peaks.PEAKS]
    assert len(names) == len(set(names))
    for p in peaks.PEAKS:
        assert 10 < p.tflops < 5000, p
        assert len(p.source) > 15 and not p.source.lower().startswith("guess"), p
        assert all(re.fullmatch(r"[a-z0-9]+", w) for w in p.words), p
    assert peaks.NANOGPT_A100_FLOPS == peaks.peak_flops("NVIDIA A100-SXM4-40GB")


@pytest.mark.parametrize("device_type,name,expected", [
    ("mps", "mps", True), ("mps", None, True), ("cuda", "Apple M2 Max", True),
    ("cuda", "NVIDIA H100 80GB HBM3", False), ("cpu", "Intel(R) Xeon(R) CPU", False),
    (None, None, False),
])
def test_apple_gpus_are_not_comparable(device_type, name, expected):
    reason = peaks.not_comparable(device_type, name)
    assert (reason is not None) == expected
    if expected:
        assert "Apple" in reason and "comparable" in reason


def test_no_other_peak_table_in_the_project():
    # the trainer and the analyzer both read gptscope/peaks.py: no second copy of a peak
    # figure (989e12, 312e12, 756.0 ...) may appear in their code
    figures = re.compile(r"\b(989|756|835|312|1307\.4)(\.0)?e12\b|\b(989|756|835)\.0\b")
    for folder in ("trainer", "analyzer", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not figures.search(text), f"{path}: a peak figure outside gptscope/peaks.py"
