"""How runs end, in every stdout format: interrupts, kills, scheduler limits, OOM, anywhere
in a line (issue #12, class 4)."""
from __future__ import annotations

import pytest

import analyzer
from analyzer.parsers import buildnanogpt, generic, llmc, modded, nanochat, nanogpt
from tests.analyzer._parse_util import bulk_run, run

# two training lines of each format, so that an ending has a run to end
BODIES = {
    nanogpt: "iter 0: loss 2.0000, time 10.00ms, mfu 1.00%\n"
             "iter 1: loss 1.9000, time 10.00ms, mfu 1.00%\n",
    llmc: "step    1/100 | loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07 | "
          "4230.95 ms | 31.9% bf16 MFU | 123917 tok/s\n"
          "step    2/100 | loss 10.956554 (+nanz)| norm 15.2427 (+nanz)| lr 1.71e-06 | "
          "4385.98 ms | 30.8% bf16 MFU | 119537 tok/s\n",
    buildnanogpt: "step     0 | loss: 10.955010 | lr 8.3916e-07 | norm: 15.3421 | dt: 23547.83ms"
                  " | tok/sec: 22264.81\n"
                  "step     1 | loss: 10.902707 | lr 1.6783e-06 | norm: 14.8630 | dt: 410.25ms"
                  " | tok/sec: 1277966.93\n",
    nanochat: "step 00000/100 (0.00%) | loss: 10.397165 | lrm: 1.00 | dt: 180.85ms | "
              "tok/sec: 29,001 | mfu: 1.81 | epoch: 1 | total time: 0.00m\n"
              "step 00001/100 (1.00%) | loss: 10.357717 | lrm: 1.00 | dt: 629.00ms | "
              "tok/sec: 833,525 | mfu: 52.10 | epoch: 1 | total time: 0.00m\n",
    modded: "step:1/100 train_loss:11.0091 train_time:240ms step_avg:nanms\n"
            "step:2/100 train_loss:10.9091 train_time:480ms step_avg:nanms\n",
}

ENDINGS = [
    # (tail, status, a word the error keeps)
    ("^CTraceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n",
     "interrupted", "KeyboardInterrupt"),
    ("Traceback (most recent call last):\n  File \"train.py\", line 3\nKeyboardInterrupt\n",
     "interrupted", "KeyboardInterrupt"),
    ("^C\n", "interrupted", "KeyboardInterrupt"),
    ("[1]+  Killed                  python train.py\n", "failed", "Killed"),
    ("/bin/bash: line 1: 4242 Killed python train.py\n", "failed", "Killed"),
    # zsh's own words, in lower case: a job's status line, or 'zsh: <signal>'
    ("[1]    15017 bus error  python3 train_gpt2.py\n", "failed", "bus error"),
    ("[1]  + 24608 abort      python -m mlx_lm.lora --train\n", "failed", "abort"),
    ("zsh: killed     python train.py\n", "failed", "killed"),
    # NCCL's watchdog aborting the job on a collective that never completed
    ("[rank0]:[E515 18:36:47.341808597 ProcessGroupNCCL.cpp:632] [Rank 0] Watchdog caught "
     "collective operation timeout: WorkNCCL(SeqNum=241, OpType=ALLREDUCE) ran for 600086 "
     "milliseconds before timing out.\n", "failed", "collective operation timeout"),
    ("[E ProcessGroupNCCL.cpp:460] To avoid data inconsistency, we are taking the entire "
     "process down.\n", "failed", "entire process down"),
    ("slurmstepd: error: *** JOB 123 ON node7 CANCELLED AT 2024-05-01T10:00:00 DUE TO TIME "
     "LIMIT ***\n", "interrupted", "TIME LIMIT"),
    ("srun: error: node7: task 0: Killed\n", "failed", "Killed"),
    # the scheduler's reason after the signal it sent replaces the signal's line
    ("srun: Job step aborted: Waiting up to 62 seconds for job step to finish.\n"
     "Killing subprocess 51220\nslurmstepd: error: *** STEP 1809655.0 ON r6i4n3 CANCELLED AT "
     "2021-05-24T09:50:34 DUE TO TIME LIMIT ***\n", "interrupted", "TIME LIMIT"),
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n", "failed",
     "out of memory"),
    ("RuntimeError: CUDA error: out of memory\nKilled\n", "failed", "out of memory"),
    ("val loss nan\n[cuBLAS ERROR]: 13 llmc/matmul.cuh 216\n", "failed", "cuBLAS"),
]


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
@pytest.mark.parametrize("tail,status,word", ENDINGS)
def test_ending_anywhere_in_a_line(mod, tail, status, word):
    r = run(mod, BODIES[mod] + tail)
    assert len(r.iters) == 2
    assert r.end is not None and r.end["status"] == status
    assert word.lower() in r.end["error"].lower()


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_training_after_a_message_is_not_an_ending(mod):
    # an OOM warning that the program survived (training went on) ends nothing
    lines = BODIES[mod].splitlines(keepends=True)
    r = run(mod, lines[0] + "warning: CUDA out of memory, retrying with a smaller batch\n"
            + lines[1])
    assert r.end is None and len(r.iters) == 2


def test_a_log_pasted_as_comments(tmp_path):
    # a script that shows its output as '# ' comments: read, and detected, all the same
    from analyzer import loader as load_mod
    p = tmp_path / "run.sh"
    p.write_text("#!/usr/bin/env bash\npython -m scripts.base_train --depth=4\n# Prints:\n"
                 + "".join("# " + line + "\n" for line in BODIES[nanochat].splitlines()))
    r = load_mod.load(p)
    assert r.format == "nanochat" and r.iters["step"].tolist() == [0, 1]


def test_the_command_line_gives_the_settings():
    # 'train.py config/x.py --device=cpu --compile=False': the run's device and settings
    r = run(nanogpt, "uv run train.py config/train_shakespeare_char.py --device=cpu "
                     "--compile=False --dtype float16\n" + BODIES[nanogpt])
    assert r.meta["device"] == "cpu" and r.meta["dtype"] == "float16"
    assert r.meta["config"] == {"device": "cpu", "compile": False, "dtype": "float16"}
    assert r.stats.skipped == 0


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_a_line_pasted_twice_is_a_duplicate_not_a_resume(mod):
    # issue #12 class 2: skipped and counted, one segment, never the final value twice
    first, second = BODIES[mod].splitlines()
    r = run(mod, f"{first}\n{second}\n{second}\n")
    assert len(r.iters) == 2 and r.n_segments == 1
    assert [s[1] for s in r.stats.samples] == ["duplicate"] and r.stats.skipped == 1


def test_duplicates_read_fast_and_line_by_line_agree():
    from analyzer.parsers import nanogpt as ng
    from tests.analyzer._parse_util import assert_same_run
    lines = [f"iter {i}: loss {5 - i / 100:.4f}, time 100.00ms, mfu 30.00%" for i in range(300)]
    lines.insert(200, lines[199])
    data = ("\n".join(lines) + "\n").encode()
    fast = bulk_run(ng, data)  # None: the fast reader hands such a file to feed()
    slow = run(ng, data)
    assert len(slow.iters) == 300 and slow.n_segments == 1 and slow.stats.skipped == 1
    if fast is not None:
        assert_same_run(fast, slow)


STEP_LINES = {
    nanogpt: "iter {s}: loss {l:.4f}, time 10.00ms, mfu 1.00%",
    buildnanogpt: "step {s:5d} | loss: {l:.6f} | lr 1e-4 | norm: 1.0 | dt: 100.00ms | tok/sec: 1000.0",
    llmc: "step {s:4d}/100 | loss {l:.6f} (+nanz)| norm 1.0 (+nanz)| lr 1e-4 | 100.00 ms | "
          "30.0% bf16 MFU | 1000 tok/s",
    nanochat: "step {s:05d}/00100 (1.00%) | loss: {l:.6f} | lrm: 1.00 | dt: 100.00ms | "
              "tok/sec: 1,000 | mfu: 30.00 | epoch: 1 | total time: 0.00m",
    modded: "step:{s}/100 train_loss:{l:.4f} train_time:{t}ms step_avg:100.00ms",
}


def _lines(mod, steps):
    return "".join(STEP_LINES[mod].format(s=s, l=5 - s / 100, t=100 * s) + "\n" for s in steps)


@pytest.mark.parametrize("mod", list(STEP_LINES), ids=lambda m: m.NAME)
def test_one_stray_line_out_of_order_is_skipped_not_a_resume(mod):
    # issue #12 class 2: 10, 20, 30, [5 pasted out of order], 40, 50
    r = run(mod, _lines(mod, [10, 20, 30, 5, 40, 50]))
    assert r.iters["step"].tolist() == [10, 20, 30, 40, 50] and r.n_segments == 1
    assert [s[1] for s in r.stats.samples] == ["out of order"]
    # ... and a stray last line is never the final value
    r = run(mod, _lines(mod, [10, 20, 30, 5]))
    assert r.iters["step"].tolist() == [10, 20, 30]


@pytest.mark.parametrize("mod", list(STEP_LINES), ids=lambda m: m.NAME)
def test_a_real_restart_is_still_a_new_segment(mod):
    r = run(mod, _lines(mod, [10, 20, 30, 1, 2, 3]))
    assert r.n_segments == 2 and r.stats.skipped == 0
    assert r.iters.groupby("segment")["step"].apply(list).to_dict() == {0: [10, 20, 30],
                                                                        1: [1, 2, 3]}


@pytest.mark.parametrize("insert", [(150, 40), (150, 0), (299, 10)])
def test_stray_lines_read_fast_and_line_by_line_agree(insert):
    from analyzer.parsers import nanogpt as ng
    from tests.analyzer._parse_util import assert_same_run
    lines = [STEP_LINES[nanogpt].format(s=s, l=5 - s / 1000) for s in range(300)]
    at, step = insert
    lines.insert(at, STEP_LINES[nanogpt].format(s=step, l=9.0))
    data = ("\n".join(lines) + "\n").encode()
    slow = run(ng, data)
    assert len(slow.iters) == 300 and slow.n_segments == 1
    fast = bulk_run(ng, data)
    assert fast is not None
    assert_same_run(fast, slow)


@pytest.mark.parametrize("mod, line, n", [
    (modded, "model_params:25517137", 25517137),
    (generic, "Total params: 1.5M", 1_500_000),
    (llmc, "num_parameters: 124475904 => bytes: 248951808", 124475904),
    (generic, "13443137 parameters", 13443137),                     # the count first (storch)
    (nanogpt, "size of model (intrinsic dimensions adapted): 503440", 503440),
    # PEFT's print_trainable_parameters(): the model's count is all of them
    (generic, "trainable params: 1,949,696 || all params: 6,245,533,696 || trainable%: 0.0312",
     6_245_533_696),
    (generic, "Model llama3 8B size: 8,030,261,248 total parameters", 8_030_261_248),  # torchtitan
    # Unsloth's banner after its ASCII art: the second count is the model's
    (generic, ' "-____-"     Trainable parameters = 50,462,720 of 1,150,511,104 (4.39% trained)',
     1_150_511_104),
    (modded, "Model Size:    162.20M", 162_200_000),  # a fork's report block
    # minimind's forks and rewrites, in millions
    (generic, "LLM可训练总参数量：25.830 百万", 25_830_000),
    (generic, "所加载Model可训练参数：25.830 百万", 25_830_000),
    (generic, "The total number of parameters in the YuanMeng model is: 25.830 million",
     25_830_000),
])
def test_a_parameter_count_in_any_wording(mod, line, n):
    r = run(mod, line + "\n" + (BODIES.get(mod) or "step 1 | loss 2.0\nstep 2 | loss 1.9\n"))
    assert r.meta["model"]["n_params"] == n


def test_launches_that_crash_at_start_up_are_runs_that_failed():
    """Two launches die before any step (a traceback, then the next command), the third
    trains: three runs; the failures stay with their runs, and the file's run (the last)
    has not failed."""
    from analyzer.diagnostics import run_all
    crash = ("Overriding config with config/train_shakespeare_char.py:\n"
             "Traceback (most recent call last):\n  File \"train.py\", line 106, in <module>\n"
             "{err}\nroot@host:~/nanoGPT# python3 train.py config/train_shakespeare_char.py\n")
    text = (crash.format(err="RuntimeError: Current CUDA Device does not support bfloat16.")
            + crash.format(err="KeyError: 'bfloat16'")
            + "Overriding config with config/train_shakespeare_char.py:\n"
            + "".join(f"iter {i}: loss 2.0000, time 10.00ms, mfu 1.00%\n" for i in range(5)))
    r = run(nanogpt, text)
    assert [s["kind"] for s in r.segments] == ["run_start"] * 3
    assert [s.get("end", {}).get("status") for s in r.segments] == ["failed", "failed", None]
    assert r.end is None and len(r.iters) == 5
    failed = [f for f in run_all(r) if f.code == "run_failed"]
    assert [(f.severity, f.segment) for f in failed] == [("error", 0), ("error", 1)]
    assert failed[0].message.startswith("Run 1 of 3 in this file failed with no training step")
    assert "KeyError" in failed[1].message


def test_a_traceback_that_training_goes_on_after_is_still_no_failure():
    text = ("iter 0: loss 2.0000, time 10.00ms, mfu 1.00%\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
            "ValueError: a caught and printed error\n"
            "iter 1: loss 1.9000, time 10.00ms, mfu 1.00%\n")
    r = run(nanogpt, text)
    assert r.end is None and r.n_segments == 1 and len(r.iters) == 2


def test_a_distributed_job_that_hung_before_its_first_step_failed(tmp_path):
    """A paste with only NCCL's watchdog report (no step, no script named): a training job
    that failed, read as such rather than refused as no training log."""
    from analyzer import loader as load_mod
    from analyzer.diagnostics import run_all
    p = tmp_path / "hang.log"
    p.write_text("Okay, I can repro it:\n"
                 "[rank0]:[E515 18:36:47.341808597 ProcessGroupNCCL.cpp:632] [Rank 0] Watchdog "
                 "caught collective operation timeout: WorkNCCL(SeqNum=241, OpType=ALLREDUCE) "
                 "ran for 600086 milliseconds before timing out.\n"
                 "         - [0] Timeout at collective: ALLREDUCE, #315\n")
    r = load_mod.load(p)
    assert r.end["status"] == "failed" and not len(r.iters)
    (f,) = [f for f in run_all(r) if f.code == "run_failed"]
    assert f.evidence["cause"] == "collective_timeout"



def test_a_gpt2_train_py_killed_before_its_first_step_failed(tmp_path):
    """nshepperd's gpt-2 train.py (and gpt-2-simple) start with 'dataset has N tokens' and a
    bare 'Training...': killed by the OOM killer before its first step, a failed launch rather
    than no training log."""
    from analyzer import loader as load_mod
    p = tmp_path / "issue.log"
    p.write_text("I am training the smallest GPT2.\n```\nLoading dataset...\n"
                 "dataset has 42736 tokens\nTraining...\nKilled\n\n```\n")
    r = load_mod.load(p)
    assert (r.end["status"], r.end["error"], len(r.iters)) == ("failed", "Killed", 0)
    p.write_text("Loading dataset...\nTraining the tokenizer...\nDone\n")  # no such job
    with pytest.raises(load_mod.UnknownFormat):
        load_mod.load(p)

def test_a_traceback_cut_before_its_exception_line_is_a_failure():
    # a Windows note pastes the traceback's first frame only, then closes its code fence
    head = "tokens per iteration will be: 16,384\nnumber of parameters: 10.65M\n"
    tb = ("Traceback (most recent call last):\n"
          "  File \"experiment.py\", line 697, in <module>\n    train(dataset)\n")
    for tail in ("```\n", ""):
        r = run(nanogpt, head + tb + tail)
        assert r.end["status"] == "failed" and "exception line is not in the log" in r.end["error"]
    # training after it: no failure
    r = run(nanogpt, head + tb + "iter 0: loss 2.0000, time 10.00ms, mfu 1.00%\n")
    assert r.end is None


def test_a_traceback_pasted_without_its_indentation_still_ends_the_run():
    text = ("iter_dt 0.00ms; iter 0: train loss 2.11314\n"
            "Traceback (most recent call last):\n"
            "File \"chargpt.py\", line 144, in <module>\ntrainer.run()\n"
            "File \"model.py\", line 303, in generate\n"
            "idx_next = torch.multinomial(probs, num_samples=1)\n"
            "RuntimeError: probability tensor contains either `inf`, `nan` or element < 0\n")
    r = run(generic, text)
    assert r.end["status"] == "failed" and r.end["error"].startswith("RuntimeError: probability")


def test_no_parameter_count_from_prose_or_bytes():
    from analyzer.parsers._banner import param_count
    for line in ("12 parameters were frozen", "3 parameters", "size of model: 124 MB",
                 "model vocab size: 50304", "Model size: 350M",
                 "Number of trainable parameters = 83,886,080",
                 "num decayed parameter tensors: 26, with 10,740,096 parameters"):
        assert param_count(line) is None, line


def test_parameter_counts_in_a_comment_and_in_chinese():
    from analyzer.parsers._banner import param_count
    assert param_count("# The number of parameters in the model: 1208385") == 1208385
    assert param_count("Number of model parameters: 10788929") == 10_788_929
    assert param_count("模型参数量: 30.55M**") == 30_550_000  # markdown bold after it
    assert param_count("模型参数总量: 10,738,229 (~10.65M parameters)") == 10_738_229
    assert param_count("总参数量：1.2M") == 1_200_000  # a full-width colon
    assert param_count("参数设置: 12") is None  # 'parameter settings', not a count
    assert param_count("LLM总参数量：25.830 百万") == 25_830_000  # minimind: in millions (百万)
    # minGPT logs its count in scientific notation
    assert param_count("number of parameters: 9.590272e+06") == 9_590_272
    # in a sentence about the model, or a total without a colon (litgpt)
    assert param_count("Model built with 18.86M parameters") == 18_860_000
    assert param_count("Total parameters 2,779,683,840") == 2_779_683_840
    assert param_count("model was trained with 3 parameters") is None
    # all of a model's tensors in configure_optimizers' wording (a fork prints the total
    # before its decayed / non-decayed parts, which are never the count)
    assert param_count("num parameter tensors: 62, with 356,464 parameters") == 356_464
    # ... and after another figure on the line (Megatron-DeepSpeed's throughput print)
    assert param_count("Effective Tera Flops per GPU: 41.31 and total parameters 52.005 B") \
        == 52_005_000_000
    assert param_count("we tried it and total parameters 3 here") is None
    assert param_count("model: 6.52M params (4.43M non-embedding)") == 6_520_000


def test_a_parameter_count_after_the_runs_data_is_the_runs(tmp_path):
    # a README pastes the tail of a run, then its author's line with the model's size
    text = ("step 4750: train loss 0.6312, val loss 1.6901\n"
            "iter 4750: loss 0.8000, time 30.00ms, mfu 5.00%\n"
            "iter 4760: loss 0.7900, time 30.00ms, mfu 5.00%\n\n"
            "模型参数总量: 10,738,229 (~10.65M parameters)\n")
    path = tmp_path / "train.log"
    path.write_text(text, encoding="utf-8")
    for r in (run(nanogpt, text), analyzer.load(path)):
        assert r.meta["n_params"] == 10_738_229 and len(r.iters) == 2
        assert not len(r.metrics)  # a word about the run, not a series
    # a count of its own before the data stays: the line after is another model's
    r = run(nanogpt, "number of parameters: 10.65M\n" + text)
    assert r.meta["model"]["n_params"] == 10_650_000 and "n_params" not in r.meta
    # in a result block under a rule (a parameter-golf transcript); but after a launch the
    # count is the launch's
    data = "".join(f"step:{s}/20 train_loss:{3 - s / 10:.4f} train_time:{100 * s}ms "
                   f"step_avg:100.00ms\n" for s in (1, 2, 3))
    r = run(modded, data + "=" * 44 + "\n  RESULT seed=4\n  model_params:  24496708\n")
    assert r.meta["n_params"] == 24_496_708 and len(r.iters) == 3
    r = run(modded, data + "$ torchrun --nproc_per_node=8 train_gpt.py\n"
            "model_params:24496708\n")
    assert "n_params" not in r.meta


def test_each_run_after_a_step_back_to_zero_has_its_own_parameter_count():
    # three runs of a README, each under 'size of model N', each restarting at step 0
    text = "".join(f"size of model {n}\n" + "".join(
        f"step {s}: train loss {6 - s / 1000:.4f}, val loss {6.1 - s / 1000:.4f}\n"
        for s in range(0, 3000, 1000)) for n in (1294480, 1031568, 503440))
    r = run(nanogpt, text)
    starts = [sg for sg in r.segments if sg["kind"] == "run_start"]
    assert len(starts) == 3 and r.meta["model"]["n_params"] == 503440


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_triton_out_of_resource_while_autotuning_is_no_oom(mod):
    # inductor skips a kernel config over the shared-memory limit; the run goes on
    tune = ("[rank5]:E0416 04:09:58.407000 99382 torch/_inductor/select_algorithm.py:3924] "
            "[0/3] Runtime error during autotuning: \n"
            "[rank5]:E0416 04:09:58.407000 99382 torch/_inductor/select_algorithm.py:3924] "
            "[0/3] No valid triton configs. OutOfMemoryError: out of resource: triton_mm "
            "Required: 131072 Hardware limit:101376 Reducing block sizes or `num_stages` may "
            "help.. \n"
            "[rank5]:E0416 04:09:58.407000 99382 torch/_inductor/select_algorithm.py:3924] "
            "[0/3] Ignoring this choice.\n")
    r = run(mod, tune + BODIES[mod])
    assert r.end is None and r.n_segments == 1 and len(r.iters) == 2
    # a CUDA OOM's own OutOfMemoryError still ends the run
    r = run(mod, BODIES[mod] + "torch.OutOfMemoryError: CUDA out of memory. Tried to "
            "allocate 96.00 MiB.\n")
    assert r.end["status"] == "failed"


COMPLETED = {
    modded: "step:1/2 train_loss:11.0091 train_time:240ms step_avg:nanms\n"
            "step:2/2 val_loss:10.5000 train_time:480ms step_avg:240.00ms\n",
    nanochat: BODIES[nanochat] + "Total training time: 0.02m\n",
}
CRASH = ("[rank0]: Traceback (most recent call last):\n"
         "[rank0]:   File \"/w/train_gpt.py\", line 1900, in <module>\n"
         "[rank0]: IndexError: list index out of range\n"
         "Traceback (most recent call last):\n  File \"/usr/bin/torchrun\", line 8, in <module>\n"
         "    sys.exit(main())\n"
         "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
         "============================================================\n"
         "train_gpt.py FAILED\n")


@pytest.mark.parametrize("mod", list(COMPLETED), ids=lambda m: m.NAME)
def test_a_crash_after_the_run_completed_fails_it_at_its_last_step(mod):
    # the script died in its post-training work (a final eval): the process failed; the
    # rule of the launcher's error box is no new run
    done = run(mod, COMPLETED[mod]).end
    r = run(mod, COMPLETED[mod] + CRASH)
    assert done["status"] == "completed" and r.n_segments == 1
    assert r.end["status"] == "failed" and r.end["step"] == done["step"]
    assert "IndexError" in r.end["error"]  # the exception, unprefixed
    # an error the script went on past (a side task's traceback, then its word of success)
    side = ("Traceback (most recent call last):\n  File \"agent.py\", line 9, in run\n"
            "meerkat.errors.MeerkatError: rkat-rpc process closed\n"
            "Stage completed successfully\n")
    assert run(mod, COMPLETED[mod] + side).end["status"] == "completed"


TORCHRUN_FAILED = (
    "Traceback (most recent call last):\n  File \"/usr/local/bin/torchrun\", line 7, in <module>\n"
    "    sys.exit(main())\n"
    "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
    "============================================================\n"
    "records/track_10min_16mb/train_gpt.py FAILED\n"
    "------------------------------------------------------------\n"
    "Root Cause (first observed failure):\n[0]:\n"
    "  exitcode  : -9 (pid: 929)\n"
    "  traceback : Signal 9 (SIGKILL) received by PID 929\n"
    "============================================================\n")


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_the_ranks_of_one_launch_failing_together_are_one_run(mod):
    # four ranks print their tracebacks interleaved, then torchrun reports the failure
    frame = "  File \"/home/u/lab/train_gpt_ablate.py\", line 2450, in <module>\n"
    ranks = ("Traceback (most recent call last):\n" * 3 + frame * 3 + "main()main()\n"
             + "Traceback (most recent call last):\n" + frame
             + "RuntimeErrorRuntimeErrorRuntimeError: CUDA is required: : \n"
             + "E0402 01:22:24.647000 3643887 torch/distributed/elastic/multiprocessing/api.py"
               ":984] failed (exitcode: 1) local_rank: 0 (pid: 3643914) of binary: "
               "/usr/bin/python3\n")
    r = run(mod, BODIES[mod] + ranks + TORCHRUN_FAILED)
    assert r.n_segments == 1 and len(r.iters) == 2
    assert r.end["status"] == "failed" and "CUDA is required" in r.end["error"]
    # with no exception of its own, the signal that killed the worker says more than
    # torchrun's ChildFailedError; the report box's rules are no new run
    r = run(mod, BODIES[mod] + TORCHRUN_FAILED)
    assert r.n_segments == 1 and r.end["error"] == "Signal 9 (SIGKILL) received by PID 929"


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_an_exception_python_ignored_ends_nothing(mod):
    lines = BODIES[mod].splitlines(keepends=True)
    ignored = ("Exception ignored in: <function CompiledFxGraph.__del__ at 0x76e17f702160>\n"
               "Traceback (most recent call last):\n"
               "  File \"/usr/lib/torch/_inductor/output_code.py\", line 582, in __del__\n"
               "    if self.compiled_fn_runner is not None:\n"
               "AttributeError: 'CompiledFxGraph' object has no attribute 'compiled_fn_runner'\n"
               "[rank4]:W0412 22:16:09.404000 91330 torch/_inductor/codecache.py:1021] [0/6] "
               "fx graph cache unable to load compiled graph\n")
    r = run(mod, lines[0] + ignored + lines[1] + ignored)
    assert r.end is None and r.n_segments == 1 and len(r.iters) == 2


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_a_ctrl_c_at_the_shell_prompt_after_the_run_interrupts_nothing(mod):
    r = run(mod, BODIES[mod] + "root@a552d30a9239:/workspace/parameter-golf# ^C\n"
                               "root@a552d30a9239:/workspace/parameter-golf# \n")
    assert r.end is None or r.end["status"] != "interrupted"
    assert run(mod, BODIES[mod] + "^C\n").end["status"] == "interrupted"


_STEPS = "".join(f"iter {i}: loss {3 - i / 100:.4f}, time 100.00ms, mfu 1.00%\n" for i in range(5))


@pytest.mark.parametrize("frames", [
    # IPython 8: 'Cell In[n]' and 'File …:line, in f()' frames
    "Cell In[7], line 3\n      1 for it in range(max_iters):\n----> 3     step()\n\n"
    "File /usr/lib/python3/dist-packages/torch/nn/modules/module.py:1511, in "
    "Module._wrapped_call_impl(self, *args, **kwargs)\n-> 1511 return self._call_impl(*args)\n",
    # older IPython (Colab): 'path in function()' frames, ANSI colours
    "\x1b[0;32m/tmp/ipykernel_1154/879816312.py\x1b[0m in \x1b[0;36m<cell line: 0>\x1b[0;34m()"
    "\x1b[0m\n\x1b[0;32m---> 13\x1b[0;31m step()\n\n"])
def test_an_ipython_traceback_ends_the_run_once(frames):
    # a notebook cell's output: the header names the exception; before, it ended the run
    # and its last line opened a second, empty run
    tb = ("-" * 75 + "\n\x1b[0;31mKeyboardInterrupt\x1b[0m" + " " * 25
          + "Traceback (most recent call last)\n" + frames + "\nKeyboardInterrupt: \n")
    r = run(nanogpt, _STEPS + tb)
    assert len(r.segments) == 1 and len(r.iters) == 5
    assert r.end["status"] == "interrupted" and r.end["error"] == "KeyboardInterrupt:"
    assert r.end["step"] == 4


def test_an_ipython_traceback_names_a_qualified_exception_and_a_cut_one():
    head = "OutOfMemoryError                          Traceback (most recent call last)\n"
    frames = "Cell In[3], line 9\n----> 9 loss.backward()\n"
    r = run(nanogpt, _STEPS + head + frames
            + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    assert r.end["status"] == "failed" and r.end["error"].startswith("torch.OutOfMemoryError")
    r = run(nanogpt, _STEPS + head + frames)  # the paste ends before its last line
    assert len(r.segments) == 1 and r.end["error"] == "OutOfMemoryError"


def test_a_traceback_logged_as_a_glog_warning_ends_nothing():
    # torch.compile's fallback warning prints a whole traceback, each line with glog's
    # 'W…]' prefix; before, each became a failed launch and the data a fourth run
    w = "W0728 15:54:54.664000 1326 torch/_dynamo/convert_frame.py:824] "
    warning = "".join(w + line + "\n" for line in (
        "WON'T CONVERT forward /content/nanogpt/model.py line 170", "due to: ",
        "Traceback (most recent call last):", '  File "/x/convert_frame.py", line 786, in f',
        "    result = inner_convert(", "torch._dynamo.exc.BackendCompilerFailed: backend="
        "'inductor' raised:", "ptxas fatal   : Ptx assembly aborted due to errors"))
    r = run(nanogpt, "number of parameters: 10.65M\n" + warning * 2 + _STEPS)
    assert len(r.segments) == 1 and r.end is None and len(r.iters) == 5
    assert r.meta["model"]["n_params"] == 10_650_000
    # an error-level line is still an ending
    r = run(nanogpt, _STEPS + "E0728 15:55:00.1 1326 x.py:9] Traceback (most recent call "
            "last):\nE0728 15:55:00.1 1326 x.py:9] RuntimeError: boom\n")
    assert r.end["status"] == "failed" and r.end["error"] == "RuntimeError: boom"


def _lecture(last_eval: int) -> str:
    # the 'Let's build GPT' loop: an eval every 100 steps and at max_iters - 1
    return "".join(f"step {s}: train loss {4 - s / 100:.4f}, val loss {4.1 - s / 100:.4f}\n"
                   for s in (0, 100, last_eval))


def test_a_ctrl_c_after_the_lectures_final_eval_interrupts_no_training():
    tb = ("KeyboardInterrupt                         Traceback (most recent call last)\n"
          "Cell In[5], line 2\n----> 2 print(decode(m.generate(context, 500)))\n"
          "KeyboardInterrupt: \n")
    r = run(nanogpt, _lecture(199) + "tensor([[0]])\n" + tb)
    assert r.end["status"] == "completed" and r.end["step"] == 199
    # a crash there still fails the run at its last step; an interrupt before the end is one
    r = run(nanogpt, _lecture(199) + "Traceback (most recent call last):\n"
            '  File "gpt.py", line 9, in <module>\nRuntimeError: boom\n')
    assert r.end["status"] == "failed" and r.end["step"] == 199
    r = run(nanogpt, _lecture(200) + tb)
    assert r.end["status"] == "interrupted"


def test_ranks_tracebacks_glued_together_are_no_new_launch():
    """Eight ranks' tracebacks interleaved after Ctrl-C: a code line glued to another rank's
    frame ('pretrain(…,  File "/x/pretrain_gpt.py", line 276') names a script, but it is a
    frame, not the command of a new launch: one run, interrupted at its last step."""
    text = ("step 10 | loss 2.0\nstep 20 | loss 1.9\n"
            "Traceback (most recent call last):\nTraceback (most recent call last):\n"
            '  File "/x/pretrain_gpt.py", line 276, in <module>\n'
            'pretrain(provider, model_provider,  File "/x/pretrain_gpt.py", line 276, in <module>\n'
            "KeyboardInterrupt\nKeyboardInterrupt\n"
            "[INFO] [launch.py:295:sigkill_handler] Main process received SIGTERM, exiting\n")
    r = run(generic, text)
    assert r.n_segments == 1 and r.iters["step"].tolist() == [10, 20]
    assert r.end["status"] == "interrupted" and r.end["step"] == 20


def test_tensorflows_resource_exhausted_is_an_oom_launch(tmp_path):
    """gpt-2-simple in Jupyter: IPython's traceback header names TensorFlow's OOM, and the
    paste stops there; no step was logged."""
    from analyzer import loader as load_mod
    from analyzer.diagnostics import run_all
    p = tmp_path / "oom.log"
    p.write_text("Loading dataset...\ndataset has 338025 tokens\nTraining...\n" + "-" * 75
                 + "\nResourceExhaustedError                    Traceback (most recent call "
                 "last)\n~/x/session.py in _do_call(self, fn, *args)\n")
    r = load_mod.load(p)
    assert r.end["status"] == "failed" and not len(r.iters)
    (f,) = [f for f in run_all(r) if f.code == "run_failed"]
    assert "out of memory" in f.message


def test_an_error_in_the_shutdown_a_ctrl_c_started_does_not_replace_it():
    """The ranks' KeyboardInterrupt, then DeepSpeed's launcher failing in its own
    sigkill_handler (NameError): the run was interrupted."""
    from analyzer.parsers import generic
    text = ("step 1 | loss 3.5\nstep 2 | loss 3.4\n"
            "Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
            "KeyboardInterrupt\n"
            "Traceback (most recent call last):\n  File \"/opt/conda/bin/deepspeed\", line 6\n"
            "NameError: free variable 'kill_cmd' referenced before assignment in enclosing "
            "scope\n")
    r = run(generic, text)
    assert r.end["status"] == "interrupted" and "KeyboardInterrupt" in r.end["error"]


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_a_scripts_early_stop_at_its_target_loss_completes_the_run_there(mod):
    """'Target loss achieved at step N' (a course script checking its target every step but
    logging every 100): the run completed at N, its last step, though no line logs N."""
    r = run(mod, BODIES[mod] + "\n🎉 Target loss achieved at step 3533!\nFinal loss: 0.0891\n")
    assert (r.end["status"], r.end["step"]) == ("completed", 3533)
    from analyzer.stats import summarize
    assert summarize(r)["last_step"] == 3533
    # a target named for a step before the last one read ends nothing: it is not this run's
    r = run(mod, BODIES[mod] + "target loss reached at step 0 in the previous run\n")
    assert r.end is None or r.end.get("status") != "completed"


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_each_ranks_recompile_warning_naming_a_source_line_is_no_new_launch(mod):
    """torch._dynamo's recompile-limit warning, printed by every rank before its traceback,
    names the compiled function's file and line ('(/workspace/pg/train_qat.py:175)'): a
    source location, not the command of another launch. One run, failed."""
    def rank(r: int) -> str:
        pre = f"[rank{r}]:W0428 16:57:50.753000 3324{r} torch/_dynamo/convert_frame.py:1358] [0/8]"
        return (f"{pre} torch._dynamo hit config.recompile_limit (8)\n"
                f"{pre}    function: 'forward' (/workspace/pg/train_qat.py:175)\n"
                f"[rank{r}]: Traceback (most recent call last):\n"
                f'[rank{r}]:   File "/workspace/pg/train_qat.py", line 489, in <module>\n'
                f"[rank{r}]: torch._dynamo.exc.FailOnRecompileLimitHit: recompile_limit "
                f"reached with fullgraph=True\n")
    r = run(mod, BODIES[mod] + rank(4) + rank(2) + rank(1))
    assert r.n_segments == 1 and len(r.iters) == 2
    assert r.end["status"] == "failed" and "FailOnRecompileLimitHit" in r.end["error"]


@pytest.mark.parametrize("mod", list(BODIES), ids=lambda m: m.NAME)
def test_torchruns_root_cause_names_the_signal_not_the_agents_sigterm(mod):
    """torchrun lists the workers it sent SIGTERM itself under 'Failures:' before its 'Root
    Cause': the run aborted (SIGABRT), it was not interrupted by a SIGTERM from outside."""
    report = TORCHRUN_FAILED.replace(
        "Root Cause", "Failures:\n[1]:\n  exitcode  : -15 (pid: 1005509)  (SIGTERM)\n"
        "  traceback : Signal 15 (SIGTERM) received by PID 1005509\n"
        "------------------------------------------------------------\nRoot Cause").replace(
        "-9 (pid: 929)", "-6 (pid: 929)  (SIGABRT)").replace("Signal 9 (SIGKILL)",
                                                           "Signal 6 (SIGABRT)")
    r = run(mod, BODIES[mod] + report)
    assert (r.end["status"], r.end["error"]) == ("failed", "Signal 6 (SIGABRT) received by PID 929")
    # with no root-cause block the first signal still says it
    r = run(mod, BODIES[mod] + TORCHRUN_FAILED)
    assert r.end["error"] == "Signal 9 (SIGKILL) received by PID 929"
