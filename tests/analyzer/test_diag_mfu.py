"""MFU: low (with likely causes), and implausible (a wrong peak-FLOPS constant)."""
from __future__ import annotations

import pytest

from analyzer.diagnostics import DiagnosticsConfig
from analyzer.diagnostics.mfu import device_peak, implausible_mfu, low_mfu
from tests.analyzer._synth import ev, iters, run

CFG = DiagnosticsConfig()


def mfu_run(mfu, n=200, meta=None, format="gptscope", **kw):
    return run(iters(range(n), 2.0, 20.0, mfu=mfu, **kw), meta=meta, format=format)


def test_low_mfu_warning_lists_generic_causes():
    (f,) = low_mfu(mfu_run(0.04), CFG)
    assert f.code == "low_mfu" and f.severity == "warning"
    assert f.evidence["median_mfu"] == pytest.approx(0.04)


@pytest.mark.parametrize("meta, cause", [
    ({"model": {"n_params": 800_000}}, "small"),
    ({"device": "cpu"}, "cpu"),
])
def test_low_mfu_expected_is_info(meta, cause):
    (f,) = low_mfu(mfu_run(0.004, meta=meta), CFG)
    assert f.severity == "info" and cause in f.message


def test_low_mfu_names_float32():
    (f,) = low_mfu(mfu_run(0.05, meta={"dtype": "float32"}), CFG)
    assert "float32" in f.message


@pytest.mark.parametrize("mfu, why", [
    (0.35, "healthy"), (0.0, "0.00 printed when the peak is unknown: not measured"),
    (None, "not measured"),
])
def test_no_low_mfu(mfu, why):
    assert low_mfu(mfu_run(mfu), CFG) == [], why


def test_a_log_too_short_to_get_past_the_warmup_is_judged_on_all_but_its_first_step():
    """Ten steps (torchtitan's first ten, MFU 0.6-7.3%): the summary's throughput takes all
    but the first row then; the MFU check the same rows, not none."""
    mfu = [0.0062, 0.0118, 0.0344, 0.0327, 0.0318, 0.0298, 0.0215, 0.0146, 0.0183, 0.0728]
    (f,) = low_mfu(run(iters(range(1, 11), 2.0, 20.0, mfu=mfu)), CFG)
    assert f.evidence["median_mfu"] == pytest.approx(0.0298) and f.steps == (2, 10)
    healthy = [0.05] + [0.45] * 9  # (its first step, the compile, is never judged)
    assert low_mfu(run(iters(range(1, 11), 2.0, 20.0, mfu=healthy)), CFG) == []


def test_eval_and_warmup_iterations_do_not_drag_the_median():
    # 40% of logged iterations are eval-inclusive with a collapsed MFU
    steps = list(range(100))
    mfu = [0.01 if s % 5 < 2 else 0.30 for s in steps]
    r = run(iters(steps, 2.0, 20.0, mfu=mfu), [ev(s, 2.0, 2.0) for s in steps if s % 5 < 2])
    assert low_mfu(r, CFG) == []


def test_over_100_percent_on_h100_is_an_error_with_correction():
    r = mfu_run(1.10, meta={"device_name": "NVIDIA H100 80GB HBM3"}, format="nanogpt")
    (f,) = implausible_mfu(r, CFG)
    assert f.code == "mfu_implausible" and f.severity == "error"
    assert f.evidence["corrected_median_mfu"] == pytest.approx(1.10 * 312 / 989)
    assert "H100" in f.message


def test_fork_constant_on_a_small_model():
    # propathee bpe shape: 30M parameters, MFU 59-98% (median ~65%)
    mfu = [0.59 + 0.39 * ((i * 7) % 10) / 10 for i in range(200)]
    r = mfu_run(mfu, meta={"model": {"n_params": 29.94e6}})
    (f,) = implausible_mfu(r, CFG)
    assert f.severity == "warning" and f.evidence["max_mfu"] == pytest.approx(max(mfu))


@pytest.mark.parametrize("mfu, meta", [
    (0.52, {"model": {"n_params": 560e6}}),   # nanochat d20 on H100
    (0.32, {"model": {"n_params": 124e6}}),   # llm.c on A100
    (0.30, {"model": {"n_params": 10e6}}),
])
def test_plausible_mfu(mfu, meta):
    assert implausible_mfu(mfu_run(mfu, meta=meta), CFG) == []


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H200", 989e12), ("NVIDIA H20", 148e12), ("NVIDIA H100 PCIe", 756e12),
    ("NVIDIA H100 80GB HBM3", 989e12), ("NVIDIA A100-PCIE-40GB", 312e12),
    ("NVIDIA GeForce RTX 4090", 165.2e12), ("Tesla T4", 65e12), ("mystery", None),
])
def test_device_peak_is_not_fooled_by_similar_names(name, peak):
    assert device_peak(name) == peak


def test_low_mfu_on_cpu_with_a_measured_peak_blames_the_calibration_not_a_gpu():
    meta = {"device": "cpu", "dtype": "float32", "peak_flops_source": "measured:cpu-matmul"}
    (f,) = low_mfu(mfu_run(0.03, meta=meta), CFG)
    assert f.severity == "info"
    assert "calibration" in f.message and "GPU's peak" not in f.message
    assert "tensor cores" not in f.message  # a CPU has none


@pytest.mark.parametrize("config, absent, present", [
    ({"dtype": "float32"}, [], ["torch.compile", "bf16", "flash attention"]),
    ({"compile": True, "dtype": "float32"}, ["torch.compile"], ["bf16"]),
    ({"compile": True, "dtype": "bfloat16"}, ["torch.compile", "bf16"], ["flash attention"]),
])
def test_low_mfu_never_advises_what_the_log_shows_is_on(config, absent, present):
    # issue #12 class 7: the config echo or command line says compile / bf16 is on already
    (f,) = low_mfu(mfu_run(0.04, meta={"config": config, "dtype": config["dtype"]}), CFG)
    for word in absent:
        assert word not in f.suggestion and word not in f.message
    for word in present:
        assert word in f.suggestion


def test_our_trainers_stdout_is_not_the_a100_constant_case():
    # gptscope's own stdout: its MFU is against its own peak (not printed), never nanoGPT's
    # A100 figure, so an implausible MFU does not advise about that constant
    meta = {"peak_flops": None, "peak_flops_source": "gptscope trainer (its peak is not "
            "printed in stdout)", "model": {"n_params": 10e6}}
    (f,) = implausible_mfu(mfu_run(0.9, meta=meta, format="nanogpt"), CFG)
    assert "A100" not in f.suggestion and f.evidence["peak_flops_used"] is None


NANOGPT_META = {"peak_flops": 312e12, "device": "cuda",
                "peak_flops_source": "table:nanoGPT train.py A100 bf16 constant"}


def test_nanogpts_a100_figure_on_an_unnamed_gpu_is_no_warning():
    """9% of an A100's peak is 18% of an A6000's: with the GPU unnamed nothing can be
    concluded, so the finding is info and says what the figure is of."""
    (f,) = low_mfu(mfu_run(0.09, meta=NANOGPT_META, format="nanogpt"), CFG)
    assert f.severity == "info"
    assert "the figure is of an A100's 312 TFLOPS" in f.message
    assert f.suggestion.startswith("Judge it against the GPU's own peak")


def test_nanogpts_a100_figure_is_judged_on_the_named_gpus_own_peak():
    v100 = {**NANOGPT_META, "device_name": "Tesla V100-SXM2-16GB"}
    # 9% of an A100 = 22% of a V100's 125 TFLOPS: not low
    assert low_mfu(mfu_run(0.09, meta=v100, format="nanogpt"), CFG) == []
    # 2% of an A100 = 5% of a V100: low on the V100 itself, a warning
    (f,) = low_mfu(mfu_run(0.02, meta=v100, format="nanogpt"), CFG)
    assert f.severity == "warning"
    assert f.evidence["median_mfu"] == pytest.approx(0.02 * 312 / device_peak(
        "Tesla V100-SXM2-16GB") * 1e12)
    assert f.evidence["logged_median_mfu"] == pytest.approx(0.02)


def test_a_file_of_two_runs_is_judged_on_its_last_run_alone():
    """Run 1 at 40% MFU, run 2 at 4%: the finding is the last run's, with its steps; the
    two runs are never pooled into one median."""
    from analyzer.run import Run
    from tests.analyzer._synth import start
    events = ([start()] + iters(range(100), 2.0, 20.0, mfu=0.40)
              + [start()] + iters(range(100), 2.0, 20.0, mfu=0.04))
    (f,) = low_mfu(Run.from_events(events, format="gptscope"), CFG)
    assert f.evidence["median_mfu"] == pytest.approx(0.04)
    assert f.message.startswith("The last run's steady-state MFU is 4.00%")
    assert f.steps[0] >= 10 and f.steps[1] == 99
    assert low_mfu(Run.from_events(events[:101], format="gptscope"), CFG) == []
