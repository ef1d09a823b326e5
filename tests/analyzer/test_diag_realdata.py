"""Diagnostics on the real third-party logs: they find what SOURCES.md describes, and they
stay quiet on healthy runs.

Every expected number below was read off the log files by eye (and counted with grep in the
test where it is a count), not produced by the code under test.
"""
from __future__ import annotations

import functools
import importlib

import pytest

from analyzer.diagnostics import run_all
from analyzer.loader import load


@functools.lru_cache(maxsize=None)
def _findings(path):
    return tuple(run_all(load(path)))  # diagnostics never modify a run: safe to share


def findings_of(realdata, name: str, parser: str = "nanogpt"):
    importlib.import_module(f"analyzer.parsers.{parser}")  # a missing parser fails
    return list(_findings(realdata / name))


def by_code(findings, code):
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, f"expected one {code}, got {[f.format() for f in findings]}"
    return hits[0]


def grep_count(path, needle: str) -> int:
    return sum(needle in line for line in path.read_text(errors="replace").splitlines())


# --- NaN / Inf -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, first, last_step, last_loss", [
    # 'iter 420: loss 3.5023' then 'iter 425: loss nan' to the end (iter 450)
    ("nanogpt/chenzihua-termux-cpu-nan-at-425.log", 425, 420, 3.5023),
    # 'iter 100: loss 4.8292' then 'iter 110: loss nan' to the end (iter 180)
    ("nanogpt/minlora-readme-fp16-nan.log", 110, 100, 4.8292),
])
def test_nan_onset(realdata, name, first, last_step, last_loss):
    f = by_code(findings_of(realdata, name), "nonfinite_loss")
    assert f.severity == "error"
    e = f.evidence
    assert (e["first_nonfinite_step"], e["last_finite_step"]) == (first, last_step)
    assert e["last_finite_loss"] == pytest.approx(last_loss)
    assert e["persisted"] is True


def test_nanochat_sft_nan(realdata):
    # 'step 00008 ... loss: 8.991203' then 'loss: nan' on every later step line
    name = "nanochat/pr657-chat_sft-gtx1660-ansi.log"
    f = by_code(findings_of(realdata, name, "nanochat"), "nonfinite_loss")
    assert f.evidence["last_finite_loss"] == pytest.approx(8.991203)
    assert f.evidence["nonfinite_iters"] == grep_count(realdata / name, "loss: nan")
    assert f.evidence["persisted"] is True


@pytest.mark.parametrize("name", [
    "llmc/hector-11679010-nan-from-step1-short.log",       # 'val loss nan', loss nan from 1
    "llmc/hector-11672255-nan-timelimit-cancel-midline.log",
    "llmc/hector-11679031-nan-head330.log",
])
def test_llmc_runs_that_never_had_a_finite_loss(realdata, name):
    f = by_code(findings_of(realdata, name, "llmc"), "nonfinite_loss")
    assert f.severity == "error"
    assert f.evidence["last_finite_loss"] is None and f.evidence["first_nonfinite_step"] <= 1
    assert "never trained" in f.message


def test_llmc_nan_tail_does_not_pretend_to_know_the_onset(realdata):
    # the last 40 lines of a 16256-step NaN run: the onset is before the excerpt
    f = by_code(findings_of(realdata, "llmc/hector-11679031-nan-cancelled-tail40.log",
                            "llmc"), "nonfinite_loss")
    assert f.evidence["first_nonfinite_step"] > 16000
    assert "never trained" not in f.message


# --- eval-induced timing spikes ---------------------------------------------------------------

@pytest.mark.parametrize("name, parser, eval_lines_needle, eval_ms, normal_ms", [
    # eval-step iterations ~1160 ms vs ~18 ms; evals at 0, 500, ..., 3000
    ("nanogpt/wilcoooo-shakespeare-char-tiny-cuda.log", "nanogpt", "step ", (1150, 1180),
     (16, 22)),
    # ~89 s vs ~0.77 s; evals at 0, 250, ..., 2250
    # (costly: 115x a step and ~30% of the wall time, a warning: see the test below)
    ("nanogpt/macmini-m4-mps-warnings-evalspike-overfit-excerpt.log", "nanogpt", "step ",
     (88_000, 91_000), (740, 800)),
    # ~10.5 s vs 1.44 s; evals at 0, 100, ..., 400
    ("nanogpt/chenzihua-termux-cpu-nan-at-425.log", "nanogpt", "step ", (10_400, 10_600),
     (1_430, 1_460)),
    # eval every 5 iterations: 37-68 s vs ~21 s
    ("nanogpt/nanochatgpt-readme-colab-evalevery5-adamw.log", "nanogpt", "step ",
     (37_000, 69_000), (20_500, 21_500)),
    # build-nanogpt: eval + HellaSwag + sampling every 250 steps, 18-25 s vs ~415 ms
    ("build-nanogpt/agndm-1epoch-4gpu-stdout.log", "buildnanogpt", "validation loss:",
     (18_000, 25_000), (405, 425)),
])
def test_eval_spikes_are_explained(realdata, name, parser, eval_lines_needle, eval_ms,
                                   normal_ms):
    f = by_code(findings_of(realdata, name, parser), "eval_spikes")
    # severity follows magnitude (issue #12 class 6): 100x a step or 25% of the wall time
    assert f.severity == ("warning" if "macmini" in name else "info")
    # every eval but the one at the first iteration (that one is warm-up)
    assert f.evidence["eval_iters"] == grep_count(realdata / name, eval_lines_needle) - 1
    assert eval_ms[0] <= f.evidence["median_eval_dt_ms"] <= eval_ms[1]
    assert normal_ms[0] <= f.evidence["median_step_ms"] <= normal_ms[1]
    assert 0 < f.evidence["eval_overhead_frac"] < 1


# --- overfitting ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, best_step, best_val, last_val", [
    # val 1.4702 (1500), 1.4741, 1.4681 (2000, the minimum), 1.4862, 1.4930 (2500)
    ("nanogpt/propathee-shakespeare-char-configdump-overfit-excerpt.log", 2000, 1.4681,
     1.4930),
    # val minimum 4.8898 at step 300, then up to 8.40 while train falls to 0.15
    ("nanogpt/propathee-shakespeare-bpe-wandb-severe-overfit-excerpt.log", 300, 4.8898,
     8.3986),
    # val minimum 1.4723 at 1750, then 1.4811, 1.4883
    ("nanogpt/macmini-m4-mps-warnings-evalspike-overfit-excerpt.log", 1750, 1.4723, 1.4883),
    # val 0.6678 at 500, then 0.8286 ... 1.0410 while train goes to 0.04
    ("nanogpt/loranano-mitos-slowattn-warnings-strong-overfit-excerpt.log", 500, 0.6678,
     1.0410),
])
def test_overfitting(realdata, name, best_step, best_val, last_val):
    f = by_code(findings_of(realdata, name), "overfitting")
    assert f.evidence["best_step"] == best_step
    assert f.evidence["best_val_loss"] == pytest.approx(best_val)
    assert f.evidence["last_val_loss"] == pytest.approx(last_val)
    assert f.evidence["gap_last"] > f.evidence["gap_at_best"]
    assert f"step {best_step}" in f.suggestion


# --- loss explosion, MFU ------------------------------------------------------------------------

def test_fp32_loss_explosion(realdata):
    # 'iter 100: loss 4.8186', 'iter 110: loss 270.3931', ... 'iter 180: loss 31.0113'
    f = by_code(findings_of(realdata, "nanogpt/minlora-readme-fp32-loss-explosion.log"),
                "loss_divergence")
    assert f.severity == "error" and f.steps == (110, 180)
    assert f.evidence["peak_loss"] == pytest.approx(270.3931)


def test_fork_peak_constant_gives_implausible_mfu(realdata):
    # a 29.94M-parameter model printing mfu up to 98.84%
    f = by_code(findings_of(
        realdata, "nanogpt/propathee-shakespeare-bpe-wandb-severe-overfit-excerpt.log"),
        "mfu_implausible")
    assert f.evidence["max_printed_mfu"] == pytest.approx(0.9884)
    assert "98.84%" in f.message


# --- healthy runs: no crying wolf ---------------------------------------------------------------

QUIET = [
    ("nanogpt/wilcoooo-shakespeare-char-tiny-cuda.log", "nanogpt"),
    ("nanogpt/cn-readme-shakespeare-char-first100.log", "nanogpt"),
    ("nanogpt/cn-readme-hongloumeng-char-elided.log", "nanogpt"),
    ("llmc/hector-11685414-full-run-a100.log", "llmc"),
    ("llmc/siddanth-log124M-main.log", "llmc"),
    ("llmc/modded-record-2024-10-13-llmc-main.log", "llmc"),
    ("build-nanogpt/agndm-1epoch-4gpu-stdout.log", "buildnanogpt"),
    ("build-nanogpt/agndm-bigger-logfile.txt", "buildnanogpt"),
    ("modded-nanogpt/2024-10-09-soap-train_gpt2.log", "modded"),
    ("modded-nanogpt/2024-10-10-muon-train_loss-format.log", "modded"),
    ("modded-nanogpt/2024-10-20-scaleup1b.log", "modded"),
    ("modded-nanogpt/2024-12-10-mfutweaks-no-train_loss.log", "modded"),
    ("modded-nanogpt/2025-12-31-track2-medium.log", "modded"),
    ("modded-nanogpt/2026-04-30-track3-adamh-seconds-format.log", "modded"),
    ("modded-nanogpt/2026-07-17-fp8downproj-latest.log", "modded"),
    ("nanochat/pr492-speedrun-d24-base_train-8xH100.log", "nanochat"),
]
ALARMS = {"overfitting", "nonfinite_loss", "loss_spike", "loss_divergence", "loss_plateau",
          "mfu_implausible", "straggler_rank", "timing_spikes"}


@pytest.mark.parametrize("name, parser", QUIET)
def test_healthy_runs_raise_no_alarm(realdata, name, parser):
    findings = findings_of(realdata, name, parser)
    loud = [f.format() for f in findings if f.severity != "info"]
    assert loud == [], loud
    assert not ALARMS & {f.code for f in findings if f.code != "timing_spikes"}


def test_healthy_run_cut_by_the_scheduler(realdata):
    # losses fine, but the job ends with 'slurmstepd: ... CANCELLED ... DUE TO TIME LIMIT ***'
    findings = findings_of(realdata, "llmc/hector-11672114-healthy-truncated-at-hellaswag.log",
                           "llmc")
    f = by_code(findings, "run_interrupted")
    assert f.severity == "warning" and "TIME LIMIT" in f.message
    assert [g.code for g in findings if g.severity != "info"] == ["run_interrupted"]


@pytest.mark.parametrize("name, needle", [
    ("llmc/hector-11672072-cuda-oom-at-startup.log", "out of memory"),
    ("llmc/hector-11678978-cuda-misaligned-address.log", "misaligned address"),
    ("llmc/hector-11673594-assert-abort.log", "Assertion"),
])
def test_crashed_runs(realdata, name, needle):
    f = by_code(findings_of(realdata, name, "llmc"), "run_failed")
    assert f.severity == "error" and needle in f.message


def test_wilcoooo_val_keeps_falling_so_no_overfitting(realdata):
    # val 4.1802, 2.2526, 2.0501, 1.9239, 1.8749, 1.8403, 1.8115: a healthy run
    codes = {f.code for f in findings_of(realdata,
                                         "nanogpt/wilcoooo-shakespeare-char-tiny-cuda.log")}
    assert codes <= {"eval_spikes", "low_mfu"}


def test_soap_preconditioner_cost_is_periodic_info(realdata):
    # SOAP record: train_time jumps by ~1.3 s every 10 steps (21, 31, ...) against ~255 ms
    f = by_code(findings_of(realdata, "modded-nanogpt/2024-10-09-soap-train_gpt2.log",
                            "modded"), "timing_spikes")
    assert f.severity == "info" and f.evidence["periodic_every"] == 10
