"""llm.c: train_gpt2cu / train_gpt2 stdout and the -o log file, with their failure modes."""
from __future__ import annotations

import math
import re

import pytest

from analyzer.parsers import llmc
from tests.analyzer._parse_util import assert_same_run, events, of_type, real_names, run

TABLE = """\
+-----------------------+----------------------------------------------------+
| Parameter             | Value                                              |
+-----------------------+----------------------------------------------------+
| total batch size      | 524288                                             |
| device                | NVIDIA A100-PCIE-40GB                              |
| peak TFlops           | 312.0                                              |
| precision             | BF16                                               |
| max_sequence_length T | 1024                                               |
| padded_vocab_size Vp  | 50304                                              |
| num_layers L          | 12                                                 |
| num_heads NH          | 12                                                 |
| channels C            | 768                                                |
| num_parameters        | 124475904                                          |
| train_num_batches     | 19560                                              |
| num_processes         | 1                                                  |
+-----------------------+----------------------------------------------------+
allocated 237 MiB for model parameters
---
WARNING: Failed to open the tokenizer file gpt2_tokenizer.bin
The Tokenizer is a new feature added April 14 2024.
---
"""
STEPS = """\
val loss 11.007921
step    1/19560 | loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07 | 4230.95 ms | 31.9% bf16 MFU | 123917 tok/s
step    2/19560 | loss 10.956554 (+nanz)| norm 15.2427 (+nanz)| lr 1.71e-06 | 4385.98 ms | 30.8% bf16 MFU | 119537 tok/s
val loss 10.5
evaluating HellaSwag: 0/1256\revaluating HellaSwag: 10/1256\rHellaSwag: 2493/10042 = 0.248257
step    3/19560 | loss     nan (+nanz)| norm    nan (+nanz)| lr 2.57e-06 | 4401.95 ms | 30.7% bf16 MFU | 119315 tok/s
"""


def test_stdout_steps_are_the_printed_ones():
    # 'step 1/N' is printed after one step: the number a reader searches for (issue #12)
    evs = events(llmc, TABLE + STEPS)
    it = of_type(evs, "iter")
    assert [i["step"] for i in it] == [1, 2, 3]
    first = it[0]
    assert (first["loss"], first["grad_norm"], first["lr"], first["step_ms"], first["dt_ms"]) == \
        (11.009662, 15.0789, 8.57e-07, 4230.95, None)
    assert first["mfu"] == pytest.approx(0.319) and not first["eval_inclusive"]
    # tokens/s per step from the table's total batch size (the printed one is an average)
    assert first["tokens_per_s"] == pytest.approx(524288 / 4.23095)
    assert it[2]["loss"] is None and it[2]["grad_norm"] is None
    assert [(a["step"], a["kind"]) for a in of_type(evs, "anomaly")] == [
        (3, "nonfinite_loss"), (3, "nonfinite_grad")]
    # an eval is numbered by the steps done before it: the last printed step
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 11.007921),
                                                                            (2, 10.5)]
    assert [(m["step"], m["name"], m["value"]) for m in of_type(evs, "metric")] == [
        (2, "hellaswag", 0.248257)]


def test_config_table():
    r = run(llmc, TABLE + STEPS)
    m = r.meta
    assert m["model"] == dict(n_layer=12, n_head=12, n_embd=768, block_size=1024,
                              vocab_size=50304, bias=None, n_params=124475904)  # as printed
    assert (m["tokens_per_iter"], m["max_iters"], m["device"], m["device_name"], m["dtype"],
            m["world_size"], m["peak_flops"], m["peak_flops_source"]) == (
        524288, 19560, "cuda", "NVIDIA A100-PCIE-40GB", "bfloat16", 1, 312e12, "table:llm.c")
    assert m["config"]["train_num_batches"] == 19560
    assert r.stats.skipped == 0  # the tokenizer warning is a known llm.c header line


@pytest.mark.parametrize("tail, status, error", [
    # (an 'allocating' line after a step is another run's header: see the lazy allocations)
    ("[CUDA ERROR] at file train_gpt2.cu:265:\nout of memory\n", "failed",
     "CUDA ERROR at train_gpt2.cu:265: out of memory"),
    ("[CUDA ERROR] at file train_gpt2.cu:754:\n", "failed", "CUDA ERROR at train_gpt2.cu:754"),
    ("train_gpt2cu: train_gpt2.cu:1518: int main(int, char**): Assertion `total_batch_size % "
     "tokens_per_fwdbwd == 0' failed.\n/var/spool/slurmd/job1/slurm_script: line 14: 252049 "
     "Aborted                 (core dumped) ./train_gpt2cu -i x\n", "failed",
     "train_gpt2cu: train_gpt2.cu:1518: int main(int, char**): Assertion `total_batch_size % "
     "tokens_per_fwdbwd == 0' failed."),
    ("step    4/19560 | loss     nan (+nanz)|slurmstepd: error: *** JOB 11672255 ON g084 "
     "CANCELLED AT 2024-10-10T02:20:29 DUE TO TIME LIMIT ***\n", "interrupted",
     "slurmstepd: error: *** JOB 11672255 ON g084 CANCELLED AT 2024-10-10T02:20:29 DUE TO "
     "TIME LIMIT ***"),
    ("total average iteration time: 4201.300000 ms\n", "completed", None),
])
def test_endings(tail, status, error):
    r = run(llmc, TABLE + STEPS + tail)
    assert r.end["status"] == status and r.end["error"] == error
    assert len(r.end and r.meta) and r.meta["model"]["n_layer"] == 12


def test_spliced_step_line_keeps_its_values():
    r = run(llmc, STEPS + "step    4/19560 | loss     nan (+nanz)| norm    nan (slurmstepd: "
                          "error: *** JOB 11679031 ON g002 CANCELLED AT 2024-10-11T13:44:45 ***\n")
    last = r.iters.iloc[-1]
    assert last["step"] == 4 and math.isnan(last["loss"]) and math.isnan(last["step_ms"])
    assert r.end["status"] == "interrupted" and r.stats.skipped == 0


def test_cpu_reference_format_and_generation_block():
    text = ("[GPT-2]\nmax_seq_len: 1024\nvocab_size: 50257\nnum_layers: 12\nnum_heads: 12\n"
            "channels: 768\nnum_parameters: 124439808\ntrain dataset num_batches: 1192\n"
            "val loss 5.252026\nstep 0: train loss 5.356189 (took 1452.121000 ms)\n"
            "step 1: train loss 4.301069 (took 1288.673000 ms)\n... (trunctated) ...\n"
            "step 39: train loss 3.970751 (took 1323.779000 ms)\nval loss 4.107781\n"
            "generating:\n---\nCome Running Away,\nstep 5: not a step\n---\n")
    r = run(llmc, text)
    assert r.iters["step"].tolist() == [0, 1, 39]
    assert r.iters["step_ms"].tolist() == [1452.121, 1288.673, 1323.779]
    assert r.evals["step"].tolist() == [0, 40]
    assert r.meta["model"]["n_params"] == 124439808  # the count llm.c prints
    assert [s[1] for s in r.stats.samples] == ["elision"]


def test_a_cpp_port_of_the_cpu_reference():
    """'val loss: X', 'step N train Loss: X (took T ms)' and 'Number of Parameters: N': the
    same facts as train_gpt2.c's lines, in a C++ port's wording."""
    text = ("[GPT-2]:\nmax_seq_len: 1024\nnum_layers: 12\nNumber of Parameters: 124475904\n"
            "TensorContext Layout\ntrain dataset num_batches: 1192\nval loss: 5.32553\n"
            "step 0 train Loss: 4.67778 (took 7666.71 ms)\n"
            "step 1 train Loss: 5.19158 (took 7368.44 ms)\n... (omitted)\n"
            "step 39 train Loss: 3.90174 (took 7558.28 ms)\nval loss: 4.29154\n")
    assert llmc.detect(text.splitlines()) >= 0.9
    r = run(llmc, text)
    assert r.iters[["step", "loss", "step_ms"]].values.tolist() == [
        [0, 4.67778, 7666.71], [1, 5.19158, 7368.44], [39, 3.90174, 7558.28]]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[0, 5.32553], [40, 4.29154]]
    assert r.meta["model"]["n_params"] == 124475904


@pytest.mark.parametrize("text, rows", [
    ("s:0 tel:11.0095\ns:0 trl:11.0116 lr:0.000001 norm:14.96\ns:1 trl:10.9586 lr:0.000002 "
     "norm:15.18\ns:250 tel:6.1565\ns:250 eval:0.2437\n",
     [(0, 11.0116, 1e-06, 14.96), (1, 10.9586, 2e-06, 15.18)]),
    ("s:0 tel:10.968871\ns:0 trl:10.965596\ns:1 trl:10.814037\n",     # the python trainer
     [(0, 10.965596, None, None), (1, 10.814037, None, None)]),
])
def test_log_file(text, rows):
    evs = events(llmc, text)
    assert [(i["step"], i["loss"], i["lr"], i["grad_norm"]) for i in of_type(evs, "iter")] == rows
    assert of_type(evs, "eval")[0]["step"] == 0
    for m in of_type(evs, "metric"):
        assert (m["step"], m["name"]) == (250, "hellaswag")


def test_python_trainer_stdout():
    text = "step    1/50 | train loss 5.270009 | norm 30.5 | lr 1.00e-04 | (1022.84 ms | 500 tok/s)"
    it = of_type(events(llmc, text), "iter")
    assert (it[0]["step"], it[0]["loss"], it[0]["grad_norm"], it[0]["step_ms"]) == \
        (1, 5.270009, 30.5, 1022.84)


@pytest.mark.parametrize("chunk", [1, 4])
def test_chunks(chunk):
    text = TABLE + STEPS + "[CUDA ERROR] at file train_gpt2.cu:754:\nmisaligned address\n"
    assert_same_run(run(llmc, text), run(llmc, text, chunk=chunk))


def test_detect():
    assert llmc.detect(STEPS.splitlines()) > 0.9
    assert llmc.detect(["s:0 tel:11.0095"]) > 0.9
    assert llmc.detect(TABLE.splitlines()[:4]) > 0.8
    assert llmc.detect(["iter 0: loss 4.2, time 1.0ms, mfu 1.00%"]) == 0
    assert llmc.detect(["step 00001/16704 (0.01%) | loss: 10.7 | lrm: 1.00 | dt: 629.00ms"]) < 0.5


# --------------------------------------------------------------------- the real logs
def _lines(path):
    return path.read_text(errors="replace").splitlines()


@pytest.fixture(scope="module")
def files(real_logs):
    return real_logs("llmc", minimum=13)


@pytest.mark.parametrize("name", real_names("llmc", "*.log"))
def test_real_log_loads_with_independent_counts(files, name):
    path = files[name]
    r = run(llmc, path.read_bytes())
    lines = _lines(path)
    if any(x.startswith("s:") for x in lines):
        counts = [sum(" trl:" in x for x in lines), sum(" tel:" in x for x in lines),
                  sum(" eval:" in x for x in lines)]
    else:
        counts = [sum(bool(re.match(r"step\s+\d+(/\d+ \|| *: train loss)", x)) for x in lines),
                  sum(x.startswith("val loss ") for x in lines),
                  sum(bool(re.search(r"HellaSwag: \d+/\d+ = ", x)) for x in lines)]
    assert [len(r.iters), len(r.evals), len(r.metrics)] == counts
    assert not any(s[1].startswith("parser error") for s in r.stats.samples)
    assert r.n_segments == 1


@pytest.mark.parametrize("name, status", [
    ("hector-11672072-cuda-oom-at-startup.log", "failed"),
    ("hector-11678978-cuda-misaligned-address.log", "failed"),
    ("hector-11673594-assert-abort.log", "failed"),
    ("hector-11672255-nan-timelimit-cancel-midline.log", "interrupted"),
    ("hector-11679031-nan-cancelled-tail40.log", "interrupted"),
    ("hector-11672114-healthy-truncated-at-hellaswag.log", "interrupted"),
    ("hector-11685414-full-run-a100.log", None),    # cut off: no statement of an end
    ("siddanth-log124M-main.log", None),
])
def test_endings_of_real_logs(files, name, status):
    r = run(llmc, files[name].read_bytes())
    assert (r.end or {}).get("status") == status


@pytest.mark.parametrize("name", ["hector-11672255-nan-timelimit-cancel-midline.log",
                                  "hector-11679010-nan-from-step1-short.log",
                                  "hector-11679031-nan-head330.log"])
def test_nan_from_the_first_step(files, name):
    lines = _lines(files[name])
    first_nan = next(int(x.split()[1].split("/")[0]) for x in lines
                     if x.startswith("step ") and "loss     nan" in x)
    r = run(llmc, files[name].read_bytes())
    assert first_nan == 1 and r.iters["step"].iloc[0] == 1
    assert r.iters["loss"].isna().all()   # never finite: a setup problem, not a divergence
    assert (r.anomalies["kind"] == "nonfinite_loss").sum() == len(r.iters)
    assert r.evals["val_loss"].isna().all()


def test_full_run(files):
    r = run(llmc, files["hector-11685414-full-run-a100.log"].read_bytes())
    assert len(r.iters) == 19560 and r.iters["step"].iloc[-1] == 19560
    assert r.evals["step"].iloc[-1] == 19560 and r.evals["val_loss"].iloc[-1] == 3.264775
    assert r.metrics["value"].iloc[0] == 0.248257
    assert r.checkpoints["step"].tolist() == [5000, 10000, 15000]
    assert r.checkpoints["path"].iloc[0] == "log124M/model_00005000.bin"
    assert r.iters["mfu"].median() == pytest.approx(0.32, abs=0.01)


def test_first_val_of_a_second_run_in_the_file_is_its_step_0():
    # two train_gpt2cu runs in one file: the second run's table, then its first 'val loss'
    # (before its 'step 1/N'): that run's eval at step 0, never one more step of the first
    evs = events(llmc, TABLE + STEPS + TABLE + STEPS)
    assert [e["type"] for e in evs if e["type"] in ("run_start", "resume")] == ["run_start"] * 2
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (0, 11.007921), (2, 10.5), (0, 11.007921), (2, 10.5)]


def test_another_step_total_is_another_run():
    # a report pasting llm.c's baseline (step i/1765) and then its own best run (step i/10),
    # prose between and no header: two runs, not a resume of the first at step 1
    line = ("step    {i}/{n} | loss 11.032000 (+nanz)| norm 22.1541 (+nanz)| lr 8.57e-07 | "
            "2679.79 ms | 40.7% bf16 MFU | 195645 tok/s\n")
    text = ("The baseline is llm.c\n" + "".join(line.format(i=i, n=1765) for i in (1, 2, 3))
            + "and our current best run\n" + "".join(line.format(i=i, n=10) for i in (1, 2, 3)))
    evs = events(llmc, text)
    starts = [e for e in evs if e["type"] in ("run_start", "resume")]
    assert [(e["type"], e["step"], e["max_iters"]) for e in starts] == [
        ("run_start", 1, 1765), ("run_start", 1, 10)]
    # the same total after a step back is still a resume (a restart from a checkpoint: its
    # step times differ; the same line again to the digit is a console redraw)
    text = "".join(line.format(i=i, n=1765) for i in (1, 2, 3)) + "".join(
        line.format(i=i, n=1765).replace("2679.79 ms", "2701.30 ms") for i in (2, 3))
    assert [e["type"] for e in events(llmc, text) if e["type"] in ("run_start", "resume")] == [
        "run_start", "resume"]


def test_lazy_allocations_after_the_first_eval_are_not_a_new_run():
    # older train_gpt2cu allocates gradients and optimizer state at the first backward and
    # update: their 'allocating' lines come after the first 'val loss', before 'step 1/N'
    # (realworld blog-gpt2-1558m: read as 2 runs, the last without its val)
    text = ("num_parameters: 1557686400 => bytes: 3115372800\n"
            "allocated 2971 MiB for model parameters\n"
            "allocating 40409 MiB for activations\nval loss 11.129390\n"
            "allocating 2971 MiB for parameter gradients\n"
            "allocating 742 MiB for AdamW optimizer state m\n"
            "allocating 742 MiB for master copy of params\n" + STEPS.split("\n", 1)[1])
    evs = events(llmc, text)
    assert [e["type"] for e in evs if e["type"] in ("run_start", "resume")] == ["run_start"]
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (0, 11.129390), (2, 10.5)]
    assert [i["step"] for i in of_type(evs, "iter")] == [1, 2, 3]
    # after a step, the same line belongs to the header of the next run
    text = TABLE + STEPS + "allocating 237 MiB for parameter gradients\n" + STEPS
    assert [e["type"] for e in events(llmc, text)
            if e["type"] in ("run_start", "resume")] == ["run_start"] * 2


def test_mid_2024_step_line_with_acc_and_parenthesised_time():
    # train_gpt2.cu of spring 2024 (and its AMD port): '(acc X)' is the loss averaged over
    # the processes; the loss read is the printed 'train loss', like the other forms
    text = (TABLE + "step    1/14124: train loss 2.412066 (acc 2.374867) (407.426697 ms, "
            "160853.468750 tok/s)\nstep    2/14124: train loss 3.324505 (acc 3.278165) "
            "(309.399994 ms, 211816.375000 tok/s)\nval loss 3.1\n"
            "step    3/14124: train loss 2.373110 (311.514404 ms, 211079 tok/s)\n"
            "step    4/14124: train loss 2.189030 norm 1.2345 lr 3.00e-04 (311.05 ms, "
            "210944 tok/s)\n")
    assert llmc.detect(text.splitlines()[-2:]) > 0.9
    it = of_type(events(llmc, text), "iter")
    assert [(i["step"], i["loss"], i["step_ms"], i["grad_norm"], i["lr"]) for i in it] == [
        (1, 2.412066, 407.426697, None, None), (2, 3.324505, 309.399994, None, None),
        (3, 2.373110, 311.514404, None, None), (4, 2.189030, 311.05, 1.2345, 3e-04)]
    assert it[1]["tokens_per_s"] == pytest.approx(524288 / 0.309399994)  # the table's batch
    assert of_type(events(llmc, text), "eval")[0]["step"] == 2
    assert llmc.Parser().peek_step(text.splitlines()[-1]) == 4


def test_a_run_opened_by_its_first_eval_takes_n_from_the_step_line_after():
    # llm.c prints 'val loss' before 'step 1/N': that eval opens the run, whose run_start
    # must still say the N the step line states (the forecast needs it)
    text = ("val loss 11.006021\n"
            "step    1/21479 | loss 11.007906 (+nanz)| norm 16.3235 (+nanz)| lr 2.86e-06 | "
            "2734.72 ms | -100.0% bf16 MFU | 167751 tok/s\n")
    for chunk in (None, 1):  # all lines in one batch, and line by line (the follower)
        evs = events(llmc, text, chunk)
        assert [e["max_iters"] for e in evs if e["type"] == "run_start"] == [None]
        assert [(e["name"], e["value"]) for e in evs if e["type"] == "metric"] == [
            ("max_iters", 21479.0)]
        assert run(llmc, text, chunk).metrics.empty  # taken into meta, not a metric series
    assert run(llmc, text).meta["max_iters"] == 21479


def test_lazy_allocations_in_the_past_tense_are_no_new_run():
    # May-2024 train_gpt2cu says 'allocated N MiB for parameter gradients' after the first
    # val loss: still the header of the same run, not a new run at step 1
    text = ("num_parameters: 124475904 => bytes: 248951808\n"
            "allocated 237 MiB for model parameters\nval loss 2.388124\n"
            "allocated 237 MiB for parameter gradients\n"
            "allocated 474 MiB for AdamW optimizer state m\n"
            "step    1/28248: train loss 2.386457 (acc 2.386457) (780.998657 ms, 41956.5 tok/s)\n"
            "step    2/28248: train loss 3.283106 (acc 3.283106) (215.723007 ms, 151898.4 tok/s)\n")
    r = run(llmc, text)
    assert r.n_segments == 1 and r.meta["model"]["n_params"] == 124475904
    assert r.evals["val_loss"].tolist() == [2.388124]


def test_a_ports_padded_step_and_timing_list():
    # llm.sycl: 'step    0: train loss 4.677785 (took     79.346 ms: [ 0.008, 19.071, ...])'
    text = ("val loss 5.325533\n" + "".join(
        f"step {s:4d}: train loss {4.6 - s / 100:.6f} (took {78 + s / 10:10.3f} ms: "
        f"[     0.008,     19.071,      0.009,     57.550,      2.707])\n" for s in range(3)))
    assert llmc.detect(text.splitlines()) >= 0.9
    r = run(llmc, text)
    assert r.iters["step"].tolist() == [0, 1, 2]
    assert r.iters["step_ms"].tolist() == [78.0, 78.1, 78.2]


def test_the_job_dying_while_sampling_fails_the_run():
    """llm.c's own check exits ('Error: Token out of vocabulary at train_gpt2.cu:675', before
    the buffered val line) during sampling, and MPI aborts the job: its report is no sample."""
    text = ("step    1/2 | loss 7.0 (+nanz)| norm 1.0 (+nanz)| lr 3.00e-04 | 114.76 ms | "
            "36.8% bf16 MFU | 142929 tok/s\n"
            "step    2/2 | loss 6.9 (+nanz)| norm 1.0 (+nanz)| lr 3.00e-04 | 114.50 ms | "
            "36.9% bf16 MFU | 142943 tok/s\n"
            "Error: Token out of vocabulary at train_gpt2.cu:675\n"
            "val loss 6.471338\ngenerating:\n---\n" + "-" * 74 + "\n"
            "Primary job  terminated normally, but 1 process returned\n"
            "a non-zero exit code. Per user-direction, the job has been aborted.\n"
            "mpiexec detected that one or more processes exited with non-zero status, thus "
            "causing\nthe job to be terminated. The first process to do so was:\n")
    r = run(llmc, text)
    assert r.end["status"] == "failed" and r.end["step"] == 2
    assert "mpiexec" in r.end["error"]


def test_a_cpu_run_pasted_indented_that_dies_on_llmcs_own_error():
    """llm.c issue 81: train_gpt2's output indented two spaces in a markdown block, its
    step 0, then its own check's 'Error: ...' (it exits): llm.c, failed at step 0."""
    fmt = llmc
    text = ("```yaml\n  [GPT-2]\n  max_seq_len: 1024\n  num_parameters: 124439808\n"
            "  val loss 5.252006\n  step 0: train loss 5.356172 (took 26772.736942 ms)\n"
            "  Error: must forward with targets before backward\n```\n")
    assert fmt.detect(text.splitlines()) == 0.95
    r = run(fmt, text)
    assert list(r.iters["step"]) == [0] and list(r.evals["val_loss"]) == [5.252006]
    assert (r.end["status"], r.end["step"]) == ("failed", 0)
    assert r.end["error"] == "Error: must forward with targets before backward"


def test_a_cudnn_error_before_the_first_step_names_cudnn():
    """llm.c issue 492: train_gpt2cu's header, then cuDNN's check with its text on the
    next line, before any step."""
    fmt = llmc
    text = ("num_parameters: 124475904 => bytes: 248951808\n"
            "allocated 237 MiB for model parameters\n"
            "[CUDNN ERROR] at file cudnn_att.cpp:141:\n"
            "[cudnn_frontend] Error: No execution plans built successfully.\n")
    assert fmt.detect(text.splitlines()) == 0.85
    r = run(fmt, text)
    assert r.end["status"] == "failed"
    assert r.end["error"].startswith("CUDNN ERROR at cudnn_att.cpp:141: [cudnn_frontend]")
