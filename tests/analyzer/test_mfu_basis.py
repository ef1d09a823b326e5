"""What an MFU figure is measured against (analyzer/mfu_basis.py) and how summary shows it."""
from __future__ import annotations

import pytest

from analyzer.cli import main
from analyzer.cli.summary import format_mfu
from analyzer.diagnostics import run_all
from analyzer.mfu_basis import mfu_basis
from analyzer.parsers import nanochat
from gptscope import peaks
from tests.analyzer._parse_util import run as parse_run

NANOGPT = {"peak_flops": 312e12, "peak_flops_source": "table:nanoGPT train.py A100 bf16 constant"}


def test_nanogpt_on_an_unnamed_gpu_is_kept_and_labelled_as_an_a100s():
    b = mfu_basis({**NANOGPT, "device": "cuda"})
    assert b.factor is None and b.comparable
    assert format_mfu(0.0935, b.to_dict()) == (
        "9.35% of an A100's 312 TFLOPS (nanoGPT's constant; the log does not name the GPU)")


def test_nanogpt_on_a_named_gpu_is_corrected_to_its_own_peak():
    b = mfu_basis({**NANOGPT, "device": "cuda", "device_name": "Tesla V100-PCIE-32GB"})
    v100 = peaks.lookup("Tesla V100-PCIE-32GB")
    assert v100 is not None and b.factor == pytest.approx(312e12 / v100.flops)
    assert b.apply(0.10) == pytest.approx(0.10 * 312 / v100.tflops)
    assert format_mfu(0.10, b.to_dict()).startswith(f"{0.10 * 312 / v100.tflops:.2%} of the "
                                                    "Tesla V100-PCIE-32GB's")


def test_a_gpu_not_in_the_table_keeps_the_a100_figure_and_says_so():
    b = mfu_basis({**NANOGPT, "device_name": "Quantum Widget 9000"})
    assert b.factor is None and "the Quantum Widget 9000 is not in the peak table" in b.label


@pytest.mark.parametrize("meta", [{**NANOGPT, "device": "mps"},
                                  {"peak_flops": 1e12, "device_name": "Apple M2 Max"}])
def test_apple_gpus_are_not_comparable(meta):
    b = mfu_basis(meta)
    assert not b.comparable and b.label.startswith("(not comparable: Apple GPU")


def test_nanogpt_on_a_cpu_is_not_comparable():
    b = mfu_basis({**NANOGPT, "device": "cpu"})
    assert not b.comparable and "on a CPU it means nothing" in b.label


def test_a_peak_of_the_device_itself_needs_no_words():
    b = mfu_basis({"peak_flops": 989e12, "peak_flops_source": "table:H100 SXM",
                   "device": "cuda", "device_name": "NVIDIA H100 80GB HBM3"})
    assert b.factor is None and b.label is None
    assert format_mfu(0.41, b.to_dict()) == "41.00%" and format_mfu(None, b.to_dict()) == "-"


def test_an_older_nanochats_mfu_is_of_an_h100s_peak():
    # before nanochat printed 'GPU: … | Peak FLOPS (BF16): …', its MFU was against an H100
    # on any device: a GB10's 6% is no low MFU of its own
    steps = "".join(f"step {s:05d}/02000 (90.00%) | loss: 3.100000 | lrm: 1.00 | dt: 29000.00ms"
                    f" | tok/sec: 18,000 | mfu: 6.36 | total time: 10.00m\n" for s in range(1, 31))
    run = parse_run(nanochat, "Autodetected device type: cuda\n" + steps)
    b = mfu_basis(run.meta)
    assert b.factor is None and b.comparable and b.label == (
        "of an H100's 989 TFLOPS (nanochat's constant; the log does not name the GPU)")
    low = [f for f in run_all(run) if f.code == "low_mfu"]
    assert [f.severity for f in low] == ["info"]
    # on an H100 the figure is the device's own; with the GPU line, nanochat's own peak
    b = mfu_basis({**run.meta, "device_name": "NVIDIA H100 80GB HBM3"})
    assert b.factor == pytest.approx(1.0)
    run = parse_run(nanochat, "GPU: NVIDIA GB10 | Peak FLOPS (BF16): 2.09e+14\n" + steps)
    assert run.meta["peak_flops"] == 2.09e14 and mfu_basis(run.meta).label is None


def test_summary_prints_the_basis(tmp_path, capsys):
    log = tmp_path / "train.log"
    log.write_text("".join(f"iter {i}: loss 2.0000, time 50.00ms, mfu 9.35%\n"
                           for i in range(30)))
    assert main(["summary", str(log)]) == 0
    out = capsys.readouterr().out
    assert "of an A100's 312 TFLOPS (nanoGPT's constant; the log does not name the GPU)" in out


def test_the_html_report_says_what_the_mfu_is_of(tmp_path):
    import analyzer
    from analyzer.report import render_html
    log = tmp_path / "train.log"
    log.write_text("".join(f"iter {i}: loss 2.0000, time 50.00ms, mfu 9.35%\n"
                           for i in range(30)))
    out = tmp_path / "r.html"
    render_html(analyzer.load(log), [], out)
    assert "median_mfu is</th><td>of an A100&#x27;s 312 TFLOPS" in out.read_text()
