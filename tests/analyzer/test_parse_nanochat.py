"""nanochat base_train / chat_sft stdout: step lines, bpb and CORE metrics, ANSI logging."""
from __future__ import annotations

import pytest

from analyzer.parsers import nanochat
from tests.analyzer._parse_util import assert_same_run, events, of_type, real_names, run

BASE = """\
Autodetected device type: cuda
2026-02-01 20:37:26,202 - nanochat.common - \x1b[32m\x1b[1mINFO\x1b[0m - Distributed world size: 8
GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS (BF16): 9.89e+14
Warning: wandb initialization failed (api_key not configured (no-tty)), logging disabled.
Vocab size: 32,768
num_layers: 24
model_dim: 1536 (base: 1536, nudge: +0)
num_heads: 12
Total batch size 524,288 => gradient accumulation steps: 2
Parameter counts:
wte                     : 50,331,648
total                   : 1,384,124,976
Calculated number of iterations from target data:param ratio: 16,704
Step 00000 | Validation bpb: 3.167584
step 00000/16704 (0.00%) | loss: 10.397165 | lrm: 1.00 | dt: 18077.85ms | tok/sec: 29,001 | mfu: 1.81 | epoch: 1 | total time: 0.00m
[GC rank3] gen2: 11.9ms collected 28 objects
step 00001/16704 (0.01%) | loss: 10.757717 | lrm: 1.00 | dt: 629.00ms | tok/sec: 833,525 | mfu: 52.10 | epoch: 1 | total time: 0.00m | eta: 183.2m
Step 00002 | CORE metric: 0.1697
Evaluating: bigbench_operators (10-shot, type: language_modeling)... accuracy: 0.1714 | time: 0.49s
2026-02-02 00:09:58,013 - nanochat.checkpoint_manager - \x1b[32m\x1b[1mINFO\x1b[0m - Saved model parameters to: /root/.cache/nanochat/base_checkpoints/d24/model_000002.pt
Peak memory usage: 62389.67MiB
Total training time: 179.44m
Minimum validation bpb: 0.753336
"""


def test_base_train():
    evs = events(nanochat, BASE)
    it = of_type(evs, "iter")
    assert [(i["step"], i["loss"], i["step_ms"], i["dt_ms"], i["tokens_per_s"]) for i in it] == [
        (0, 10.397165, 18077.85, None, 29001.0), (1, 10.757717, 629.0, None, 833525.0)]
    assert it[1]["mfu"] == pytest.approx(0.521) and it[1]["lr"] is None
    assert [(m["step"], m["name"], m["value"]) for m in of_type(evs, "metric")] == [
        (0, "val_bpb", 3.167584), (2, "core", 0.1697), (1, "min_val_bpb", 0.753336)]
    assert [(c["step"], c["path"]) for c in of_type(evs, "checkpoint")] == [
        (1, "/root/.cache/nanochat/base_checkpoints/d24/model_000002.pt")]
    assert of_type(evs, "run_end")[0]["status"] == "completed"
    r = run(nanochat, BASE)
    m = r.meta
    assert (m["device"], m["device_name"], m["world_size"], m["peak_flops"], m["tokens_per_iter"],
            m["max_iters"]) == ("cuda", "NVIDIA H100 80GB HBM3", 8, 9.89e14, 524288, 16704)
    assert m["model"]["n_layer"] == 24 and m["model"]["n_embd"] == 1536
    assert m["model"]["vocab_size"] == 32768 and m["model"]["n_params"] == 1_384_124_976
    assert [s[1] for s in r.stats.samples] == ["warning"]


SFT = """\
2026-03-16 22:57:30,775 - nanochat.common - \x1b[33m\x1b[1mWARNING\x1b[0m - Peak flops undefined for: NVIDIA GeForce GTX 1660 SUPER, MFU will show as 0%
2026-03-16 22:57:30,922 - nanochat.checkpoint_manager - \x1b[32m\x1b[1mINFO\x1b[0m - Building model with config: {'sequence_len': 128, 'vocab_size': 32768, 'n_layer': 2, 'n_head': 1, 'n_kv_head': 1, 'n_embd': 128, 'window_pattern': 'SSSL'}
Autodetected device type: cuda
COMPUTE_DTYPE: torch.float32 (auto-detected: CUDA SM 75 (pre-Ampere, bf16 not supported, using fp32))
GPU: NVIDIA GeForce GTX 1660 SUPER | Peak FLOPS (BF16): inf
Inherited total_batch_size=128 from pretrained checkpoint
Total batch size 128 => gradient accumulation steps: 1
Step 00000 | Validation bpb: 3.3084
step 00001 (0.00%) | loss: 5.471677 | lrm: 1.00 | dt: 1142.98ms | tok/sec: 111 | mfu: 0.00 | epoch: 1 | total time: 0.00m
step 00009 (0.00%) | loss: nan | lrm: 1.00 | dt: 5.20ms | tok/sec: 24,595 | mfu: 0.00 | epoch: 1 | total time: 0.00m
Step 00100 | Validation loss: 2.5
"""


def test_chat_sft():
    evs = events(nanochat, SFT)
    it = of_type(evs, "iter")
    assert [(i["step"], i["loss"], i["mfu"]) for i in it] == [(1, 5.471677, None), (9, None, None)]
    assert [a["kind"] for a in of_type(evs, "anomaly")] == ["nonfinite_loss"]
    # the first validation kind is the run's eval (bpb here); a later loss stays a metric
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(0, 3.3084)]
    assert ("validation_loss", 2.5) in [(m["name"], m["value"]) for m in of_type(evs, "metric")]
    r = run(nanochat, SFT)
    assert r.meta["peak_flops"] is None and r.meta["peak_flops_source"].startswith("unknown")
    assert r.meta["dtype"] == "float32" and r.meta["model"]["block_size"] == 128
    assert r.meta["config"]["total_batch_size"] == 128 and r.meta["tokens_per_iter"] == 128
    assert r.stats.skipped == 0


@pytest.mark.parametrize("chunk", [1, 4])
def test_chunks(chunk):
    assert_same_run(run(nanochat, BASE), run(nanochat, BASE, chunk=chunk))


def test_detect():
    assert nanochat.detect(BASE.splitlines()) > 0.9
    assert nanochat.detect(SFT.splitlines()) > 0.9
    assert nanochat.detect(["step     0 | loss: 10.9 | lr 8e-07 | norm: 15.3 | dt: 23.8ms"]) == 0
    assert nanochat.detect(["step:1/6000 train_loss:11.0091 train_time:24179ms"]) == 0
    # torchtune's old console: a capital 'Step N |', but 'loss:2.08' without nanochat's space
    assert nanochat.detect(["Step 1 | loss:2.085338592529297 lr:2e-05 "
                            "tokens_per_second_per_gpu:57.828881833956174"]) == 0
    assert nanochat.detect(["Step 10/20 | Training loss: 3.2104 | lrm: 1.0"]) > 0.9


# --------------------------------------------------------------------- the real logs
@pytest.fixture(scope="module")
def files(real_logs):
    return real_logs("nanochat", minimum=3)


@pytest.mark.parametrize("name", real_names("nanochat", "*.log"))
def test_real_log_loads_with_independent_counts(files, name):
    path = files[name]
    lines = path.read_text(errors="replace").splitlines()
    r = run(nanochat, path.read_bytes())
    n_iter = sum(x.startswith("step ") and "| loss:" in x for x in lines)
    n_metric = sum(x.startswith("Step ") and " | " in x or x.startswith("Minimum validation bpb")
                   for x in lines)
    n_bpb = sum(x.startswith("Step ") and "Validation bpb" in x for x in lines)
    # val bpb is nanochat's eval (issue #12 class 11), and stays a metric too
    assert (len(r.iters), len(r.metrics), len(r.evals)) == (n_iter, n_metric, n_bpb)
    assert r.stats.val_unit == ("bpb" if n_bpb else None)
    assert r.n_segments == 1 and r.iters["step"].is_monotonic_increasing
    first = next(x for x in lines if x.startswith("step "))
    assert r.iters["loss"].iloc[0] == float(first.split("loss: ")[1].split()[0])
    assert r.stats.skipped <= 2   # warnings only


def test_full_base_train(files):
    r = run(nanochat, files["pr492-speedrun-d24-base_train-8xH100.log"].read_bytes())
    assert len(r.iters) == 16704 and r.iters["step"].iloc[-1] == 16703
    bpb = r.metrics[r.metrics["name"] == "val_bpb"]
    assert bpb["step"].iloc[-1] == 16704 and bpb["value"].iloc[-1] == 0.753336
    assert r.metrics.loc[r.metrics["name"] == "core", "value"].iloc[-1] == 0.2633
    assert r.end["status"] == "completed" and len(r.checkpoints) == 1
    assert r.iters["mfu"].median() == pytest.approx(0.50, abs=0.02)


def test_sft_nan_onset(files):
    r = run(nanochat, files["pr657-chat_sft-gtx1660-ansi.log"].read_bytes())
    assert r.iters.loc[r.iters["loss"].isna(), "step"].iloc[0] == 9
    assert r.iters["mfu"].isna().all()          # peak FLOPS unknown: 0.00 is not a value
    assert r.meta["device_name"] == "NVIDIA GeForce GTX 1660 SUPER"


def test_val_bpb_is_the_eval_with_its_unit_and_steps_without_percent():
    # issue #12 class 11: the summary shows nanochat's val bpb as final/best val, in bpb
    from analyzer.stats import summarize
    text = ("Step 00000 | Validation bpb: 0.2982\nstep 00001 | loss: 13.070236 | lrm: 1.00\n"
            "step 00150 | Validation bpb: 1.7252\nstep 00401 | loss:  6.900375 | lrm: 1.00\n")
    r = run(nanochat, text)
    assert r.iters["step"].tolist() == [1, 401]
    s = summarize(r)
    assert (s["final_val_loss"], s["best_val_loss"], s["best_val_step"], s["val_unit"]) == (
        1.7252, 0.2982, 0, "bpb")


def test_a_forks_step_line_in_its_own_layout():
    # 'Step', a field without its colon holding two numbers (the first is read), 'tps'
    text = ("Step 10/20 (50.00%) | loss 8.4396105774602503 6.9269 | lrm 1.0 | dt 4595.83ms "
            "5930.69ms | tps 114,078 | mem 12.241 GB | shard 0 | time 00:01:17 | eta 00:00:59\n"
            "Step 11/20 (55.00%) | loss nan nan | lrm 1.0 | dt 4097.53ms 5062.09ms | "
            "tps 127,952 | mem 16.377 GB | shard 0 | time 00:01:04 | eta 00:00:50\n")
    r = run(nanochat, text)
    assert r.iters["step"].tolist() == [10, 11] and r.stats.skipped == 0
    assert r.iters["loss"].tolist()[0] == 8.4396105774602503
    assert r.iters["step_ms"].tolist() == [4595.83, 4097.53]
    assert r.iters["tokens_per_s"].tolist() == [114078.0, 127952.0]
    assert r.anomalies["step"].tolist() == [11]
    # nanochat's own lines that start with 'Step' are not training lines
    r = run(nanochat, "Step 00250 | Validation bpb: 1.086329\nStep 00250 | CORE metric: 0.17\n")
    assert len(r.iters) == 0 and r.evals["val_loss"].tolist() == [1.086329]


def test_another_step_total_is_another_run():
    # two runs pasted one after the other without their headers: 'step i/20' then 'step i/10'
    # is another run, not a resume at step 1; with each run's first eval before it, that
    # eval opens the run (no run of one eval)
    line = ("step {i:05d}/{n:05d} ({p:.2f}%) | loss: 7.5 | lrm: 1.00 | dt: 4512.59ms | "
            "tok/sec: 116,183 | mfu: 73.01 | epoch: 1 | total time: 0.00m\n")
    one = "".join(line.format(i=i, n=20, p=i * 5) for i in (1, 2, 3))
    two = "".join(line.format(i=i, n=10, p=i * 10) for i in (1, 2, 3))
    kinds = lambda text: [(e["type"], e["step"]) for e in events(nanochat, text)  # noqa: E731
                          if e["type"] in ("run_start", "resume")]
    assert kinds(one + two) == [("run_start", 1), ("run_start", 1)]
    val = "Step 00000 | Validation bpb: {}\n"
    assert kinds(val.format(3.1) + one + val.format(3.2) + two) == [("run_start", 0),
                                                                     ("run_start", 0)]
    # the same total after a step back: a resume (its step times differ; the very same
    # lines again are a console redraw)
    again = (line.format(i=2, n=20, p=10) + line.format(i=3, n=20, p=15)).replace(
        "4512.59ms", "4498.02ms")
    assert kinds(one + again) == [("run_start", 1), ("resume", 2)]


def test_minimum_validation_bpb_is_nanochats_own_best():
    # the last lines of base_train state the minimum over every eval of the run; an excerpt
    # (realworld t600 notes) may hold only the last eval, above that minimum: the stated best
    # is read as it is printed, at the end of the run, and is no eval of its own
    text = ("step 09999/10000 (99.99%) | loss: 5.757840 | lrm: 0.05 | dt: 83.47ms | "
            "tok/sec: 6,134 | bf16_mfu: 0.00 | epoch: 1 | total time: 13.84m | eta: 0.0m\n"
            "Step 10000 | Validation bpb: 1.946162\nPeak memory usage: 611.95MiB\n"
            "Total training time: 13.84m\nMinimum validation bpb: 1.944503\n")
    r = run(nanochat, text)
    assert r.evals["val_loss"].tolist() == [1.946162] and r.stats.skipped == 0
    assert list(zip(r.metrics["step"], r.metrics["name"], r.metrics["value"])) == [
        (10000, "val_bpb", 1.946162), (10000, "min_val_bpb", 1.944503)]
    assert r.end["status"] == "completed" and r.n_segments == 1


def test_a_ports_val_loss_lines_and_tok_per_s():
    """A JAX port prints 'Step N | Val loss: X (best: Y)' and 'tok/s': an eval in loss
    units and the tokens/s field."""
    text = ("step 19900/20000 (99.5%) | loss: 3.8105 | lr_mult: 0.010 | dt: 129ms | "
            "tok/s: 63,493 | eta: 0.2m\n"
            "Step 20000 | Val loss: 3.8809 (best: 3.8809)\n")
    evs = events(nanochat, text)
    (it,) = of_type(evs, "iter")
    assert (it["step"], it["loss"], it["step_ms"], it["tokens_per_s"]) == (19900, 3.8105,
                                                                            129.0, 63493.0)
    assert [(e["step"], e["val_loss"]) for e in of_type(evs, "eval")] == [(20000, 3.8809)]


def test_older_nanochats_number_of_parameters_line():
    r = run(nanochat, "Number of parameters: 1,879,048,192\n"
                      "step 00004/71680 (0.01%) | loss: 8.813754 | lrm: 1.00 | dt: 1571.88ms | "
                      "tok/sec: 83,385 | mfu: 50.92 | total time: 0.03m\n")
    assert r.meta["model"]["n_params"] == 1_879_048_192


def test_a_run_opened_by_its_first_eval_takes_n_from_the_step_line_after():
    text = ("Step 00000 | Validation bpb: 3.169725\n"
            "step 00000/00500 (0.00%) | loss: 10.397340 | lrm: 0.03 | dt: 26087.22ms | "
            "tok/sec: 10,048 | bf16_mfu: 0.00 | epoch: 1 | total time: 0.00m\n")
    assert run(nanochat, text).meta["max_iters"] == 500


def test_an_excerpt_of_the_header_alone_is_detected_and_its_crash_read():
    # a resume that ran out of memory in its first backward: nanochat's header (without its
    # first lines), then the traceback; no step line at all
    text = ("Tokens / micro-batch / rank: 2 x 2048 = 4,096\nParameter counts:\n"
            "total                   : 910,691,760\n"
            "Estimated FLOPs per token: 3.199226e+09\n"
            "Traceback (most recent call last):\n  File \"base_train.py\", line 471, in <module>\n"
            "    loss.backward()\nRuntimeError: CUDA driver error: out of memory\n")
    assert nanochat.detect(text.splitlines()) >= 0.6
    r = run(nanochat, text)
    assert r.end["status"] == "failed" and "out of memory" in r.end["error"]
    assert r.meta["model"]["n_params"] == 910691760


def test_a_log_pasted_indented():
    # a notes file's code block: every line indented two spaces, trailing spaces too
    text = "".join("  " + line + "  \n" for line in BASE.splitlines())
    assert nanochat.detect(text.splitlines()) > 0.9
    r, plain = run(nanochat, text), run(nanochat, BASE)
    assert r.iters["loss"].tolist() == plain.iters["loss"].tolist()
    assert r.evals["val_loss"].tolist() == plain.evals["val_loss"].tolist()


def test_a_val_line_glued_to_the_end_of_the_last_step_line_is_read():
    # a Windows console lost the newline before the final eval
    steps = "".join(f"step {s:05d}/22000 ({s / 220:.2f}%) | loss: 3.4{s % 7} | lrm: 0.06 | "
                    f"dt: 448.95ms | tok/sec: 36,493 | bf16_mfu: 0.00 | epoch: 1\n"
                    for s in (21700, 21800))
    text = (steps + "step 21900/22000 (99.55%) | loss: 3.477977 | lrm: 0.06 | dt: 448.95ms | "
            "tok/sec: 36,493 | bf16_mfu: 0.00 | epoch: 1 Step 22000 | Validation bpb: 1.057228\n")
    r = run(nanochat, text)
    assert list(r.iters["step"]) == [21700, 21800, 21900]
    assert (int(r.evals["step"].iloc[-1]), r.evals["val_loss"].iloc[-1]) == (22000, 1.057228)
    assert r.stats.skipped == 0


def test_bf16_mfu_is_the_mfu():
    """nanochat since late 2025 prints 'bf16_mfu: 2.74' (and a fork adds fields after it)."""
    text = ("step 00001/01980 (0.05%) | loss: 10.395864 | lrm: 0.05 | dt: 433.35ms | "
            "tok/sec: 302,459 | bf16_mfu: 2.74 | epoch: 1 pq: 0 rg: 2 | total time: 0.00m\n"
            "step 00002/01980 (0.10%) | loss: 10.393162 | lrm: 0.07 | dt: 429.64ms | "
            "tok/sec: 305,075 | bf16_mfu: 2.77 | epoch: 1 pq: 0 rg: 3 | total time: 0.01m\n")
    it = of_type(events(nanochat, text), "iter")
    assert [i["mfu"] for i in it] == pytest.approx([0.0274, 0.0277])
    assert [i["step_ms"] for i in it] == [433.35, 429.64]


REPORT = """\
# nanochat training report

Generated: 2025-11-11 09:15:44

## Environment

### Hardware
- GPUs: 8x NVIDIA H100 80GB HBM3

## Base model training
timestamp: 2025-11-11 12:19:38

- run: dummy
- depth: 20
- max_seq_len: 2048
- total_batch_size: 524,288
- Number of parameters: 560,988,160
- Calculated number of iterations: 21,400
- DDP world size: 8
- Minimum validation bpb: 0.8120
- Final validation bpb: 0.8125
- MFU %: 48.04%
- Total training time: 172.57m


## Base model evaluation
timestamp: 2025-11-11 12:23:59

- Model: base_model (step 21400)
- CORE metric: 0.1910

## Midtraining
timestamp: 2025-11-11 12:34:01

- Number of iterations: 809
- Minimum validation bpb: 0.3953

## Chat SFT
timestamp: 2025-11-11 12:44:16

- source: mid
- Number of iterations: 701
- Training loss: 0.5317
- Validation loss: 1.0115

## Summary

| Metric          | BASE     | MID      | SFT      | RL       |
|-----------------|----------|----------|----------|----------|
| CORE            | 0.1910   | -        | -        | -        |

Total wall clock time: 3h35m
"""


def test_a_report_md_reads_each_training_stage_as_a_completed_run():
    # report.md has no step lines: each stage's summary is read at its last step, and the
    # base stage's bpb stays a metric (the SFT's val loss is in nats: one unit per run's evals)
    assert nanochat.detect(REPORT.splitlines()) == 0.95
    assert nanochat.detect(REPORT.splitlines()[10:]) == 0.95  # an excerpt from a stage on
    evs = events(nanochat, REPORT)
    starts = of_type(evs, "run_start")
    assert [(s["step"], s["max_iters"], s["model"].get("n_params")) for s in starts] == [
        (21400, 21400, 560_988_160), (809, 809, 560_988_160), (701, 701, 560_988_160)]
    base = starts[0]
    assert (base["world_size"], base["tokens_per_iter"], base["model"]["n_layer"],
            base["config"]["run"], base["config"]["depth"]) == (8, 524288, 20, "dummy", 20)
    assert [(m["step"], m["name"], m["value"]) for m in of_type(evs, "metric")] == [
        (21400, "val_bpb", 0.8125), (21400, "min_val_bpb", 0.812), (21400, "mfu_pct", 48.04),
        (809, "min_val_bpb", 0.3953)]
    assert [(e["step"], e["train_loss"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (701, 0.5317, 1.0115)]
    assert [(e["step"], e["status"]) for e in of_type(evs, "run_end")] == [
        (21400, "completed"), (809, "completed"), (701, "completed")]
    r = run(nanochat, REPORT)
    assert r.stats.skipped == 0 and r.stats.val_unit is None
