"""The generic reader on consoles of other stacks: llama.cpp's finetune, ColossalAI's bars, the
fp16 loss scaler's overflow lines (analyzer/parsers/generic*.py, _shared_lines.py)."""
from __future__ import annotations

import pytest

from analyzer.diagnostics import run_all
from analyzer.parsers import generic
from analyzer.parsers._banner import param_count
from analyzer.parsers.generic_fields import read_fields
from analyzer.stats import summarize
from tests.analyzer._parse_util import run


def test_llama_cpp_finetune_lines_behind_their_function_name():
    """llama.cpp's 'train_opt_callback: iter=     1 sample=9/8472 sched=0.01 loss=15.39
    dt=00:00:53 eta=15:05:22 |->': the C function's name is no field, the step time is a
    clock duration, and the '^C' the log ends with interrupted it."""
    text = ("llm_load_print_meta: model params     = 8.03 B\n"
            "main: begin training\n"
            "train_opt_callback: iter=     0 sample=1/8472 sched=0.000000 loss=0.000000 |->\n"
            + "".join(f"train_opt_callback: iter=     {i} sample={8 * i + 1}/8472 sched=0.0{i}0000"
                      f" loss={15.4 - i:.6f} dt=00:00:5{i} eta=15:05:22 |{'-' * i}>\n"
                      for i in range(1, 5))
            + "save_checkpoint_lora_file: saving to checkpoint-LATEST.gguf\n^C\n")
    r = run(generic, text)
    assert r.iters["step"].tolist() == [0, 1, 2, 3, 4]
    assert r.iters["loss"].tolist()[1:] == [14.4, 13.4, 12.4, 11.4]
    assert r.iters["dt_ms"].tolist()[1:] == [51000.0, 52000.0, 53000.0, 54000.0]
    assert r.meta["model"]["n_params"] == 8_030_000_000
    assert r.end["status"] == "interrupted"


@pytest.mark.parametrize("part, ms", [("dt=00:00:53", 53000.0), ("dt=1:02:03.5", 3723500.0),
                                      ("step time: 00:01", 1000.0)])
def test_a_step_time_printed_as_a_clock_duration(part, ms):
    assert read_fields(f"loss=2.5 {part}")["dt_ms"] == ms


def test_a_bare_time_of_day_is_no_step_time():
    assert read_fields("loss=2.5 time=14:05:22").get("dt_ms") is None


@pytest.mark.parametrize("line, n", [("llm_load_print_meta: model params     = 6.74 B", 6.74e9),
                                     ("num_parameters: 124475904(474 MB)", 124475904),
                                     ("  model_params:  24496708", 24496708)])
def test_a_parameter_count_behind_a_function_name_and_a_snake_case_label(line, n):
    assert param_count(line) == n


def test_a_function_name_before_an_eval_word_is_no_tag():
    """'val_callback: iter 5 loss 2.0' is not read as a training step of iteration 5."""
    r = run(generic, "".join(f"val_callback: iter {i} loss 2.0\n" for i in range(5)))
    assert not len(r.iters)


def test_colossalai_epoch_train_bar_with_a_glued_overflow_message():
    """'[Epoch 0 / Train]:   0%|…| 2/8614 [00:00<1:00:07,  2.39it/s, loss=nan, …][deepscale]
    OVERFLOW! Rank 0 Skipping step. Attempted loss scale: …, reducing to …': a training bar
    counting steps within the epoch, and the fp16 loss scaler halving its scale each step:
    the NaN's cause is fp16 overflow."""
    bars = []
    for n, loss in ((1, "265.25"), (2, "nan"), (3, "nan")):
        scale = 2 ** (33 - n)
        bars.append(f"[Epoch 0 / Train]:   0%|{' ' * 40}| {n}/8614 [00:0{n}<1:00:07,  2.39it/s, "
                    f"loss={loss}, lr=2.5e-05, throughput=4.98][deepscale] OVERFLOW! Rank 0 "
                    f"Skipping step. Attempted loss scale: {scale}, reducing to {scale / 2}\n")
    r = run(generic, "".join(bars))
    assert r.iters["step"].tolist() == [1, 2, 3]
    assert r.iters["loss"].tolist()[0] == 265.25
    assert r.iters["step_ms"].tolist()[0] == pytest.approx(1000 / 2.39)
    scales = r.metrics[r.metrics["name"] == "loss_scale"]
    assert scales["step"].tolist() == [1, 1, 2, 2, 3, 3]
    assert scales["value"].tolist()[:3] == [2.0 ** 32, 2.0 ** 31, 2.0 ** 31]
    cause = [f for f in run_all(r) if f.code == "spike_cause"]
    assert cause and "fp16 overflow" in cause[0].message


def test_apex_and_megatron_overflow_lines_give_the_new_scale():
    text = ("step 1 | loss 3.5\n"
            "Gradient overflow.  Skipping step, loss scaler 0 reducing loss scale to 32768.0\n"
            "step 2 | loss 3.4\nstep 3 | loss 3.3\n")
    r = run(generic, text)
    assert r.metrics[["step", "name", "value"]].values.tolist() == [[1, "loss_scale", 32768.0]]


def test_torchtitan_lines_behind_ezpz_logging_prefix():
    """ezpz's '[stamp][I][components/metrics:437:log] ' (file, line and function) before
    torchtitan's 'step:  2  loss: 14.4458  grad_norm: …  tps: 6,697  tflops: 62.15  mfu: …%'."""
    text = "".join(f"  [2025-09-11 14:09:4{s},954794][I][components/metrics:437:log] step:  {s}  "
                   f"loss: {11 - s / 10:.4f}  grad_norm:  3.2105  memory:  8.44GiB(13.20%)  "
                   f"tps: 6,697  tflops: 62.15  mfu: 20.84%\n" for s in range(1, 5))
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1, 2, 3, 4]
    assert r.iters["loss"].tolist() == [10.9, 10.8, 10.7, 10.6]
    assert r.iters["tokens_per_s"].tolist() == [6697.0] * 4


@pytest.mark.parametrize("key", ["lm-loss", "main_model_loss"])
def test_other_names_of_the_steps_loss(key):
    """BigScience's Megatron-DeepSpeed 'lm-loss: 1.244238E+01'; MaxText's 'main_model_loss'
    (multi-token prediction)."""
    assert read_fields(f"learning rate: 1.875E-05 | {key}: 1.244238E+01 |")["loss"] == 12.44238


def test_megatron_iterations_all_skipped_print_no_loss_and_are_still_read(tmp_path):
    """fp16 warm-up: every iteration skipped (learning rate 0, the loss scale halving), so
    Megatron prints no 'lm loss'; the timed iteration lines are the run, read by the generic
    reader even where another format claims the file first."""
    import analyzer
    lines = ["Killing subprocess 8864"] + [
        f" iteration        {i}/    1000 | consumed samples:         {1024 * i} | elapsed time "
        f"per iteration (ms): {150891.7 if i == 1 else 123896.3 + i:.1f} | learning rate: "
        f"0.000E+00 | global batch size:  1024 | loss scale: {2.0 ** (33 - i)} | number of "
        f"skipped iterations:   1 | number of nan iterations:   0 |" for i in range(1, 5)]
    log = tmp_path / "slurm.out"
    log.write_text("\n".join(lines) + "\n")
    r = analyzer.load(log)
    assert r.format == "generic" and r.iters["step"].tolist() == [1, 2, 3, 4]
    assert r.iters["dt_ms"].tolist()[1] == pytest.approx(123898.3)


def test_olmo_step_blocks_behind_its_host_and_module_prefix():
    """OLMo's 'stamp host:0  olmo.train:908  INFO    [step=1/739328,epoch=0]' headers (the
    epoch in the brackets), and its exception hook's CRITICAL 'Uncaught OLMoThreadError' as
    the error that ended the run."""
    block = ("2024-08-06 09:59:{:02d}.181 intern-studio-160750:0  olmo.train:908  INFO    "
             "[step={}/739328,epoch=0]\n    optim/total_grad_norm=231.7\n"
             "    train/CrossEntropyLoss={}\n    throughput/device/batches_per_second=0.0254\n")
    text = "".join(block.format(s, s, 12.18 / s) for s in range(1, 4))
    text += ("[2024-04-18 19:10:41] CRITICAL [olmo.util:158, rank=0] Uncaught OLMoThreadError: "
             "generator thread data thread 3 failed\n")
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1, 2, 3]
    assert r.iters["loss"].tolist() == pytest.approx([12.18, 6.09, 4.06])
    assert r.end["status"] == "failed" and r.end["error"].startswith("Uncaught OLMoThreadError")


def test_a_log_glued_to_html_of_an_issues_details_block():
    r = run(generic, "<details>\n<br>\n"
            + "".join(f"{'<code>' if i == 1 else ''}iter {i} step {i - 1}: loss {3.5 - i / 10:.4f},"
                      f" iter time: 167.67ms\n" for i in range(1, 5)) + "</code></details>\n")
    assert r.iters["step"].tolist()[0] == 1 and len(r.iters) == 4


def test_an_exact_parameter_count_refines_a_rounded_one_before_it():
    """makemore: 'number of parameters: 0.20M', then 'model #params: 204544'."""
    r = run(generic, "number of parameters: 0.20M\nmodel #params: 204544\n"
            + "".join(f"step {i} | loss {3 - i / 10:.4f} | step time 12.3ms\n" for i in range(4)))
    assert r.meta["model"]["n_params"] == 204544
    other = run(generic, "number of parameters: 0.20M\nembedding params: 12544\n"
                + "".join(f"step {i} | loss 3.0 | step time 12.3ms\n" for i in range(4)))
    assert other.meta["model"]["n_params"] == 200000


def test_an_error_before_torch_spawns_wrapper_exception_is_the_cause():
    """fairseq's OOM warning, then torch.multiprocessing.spawn's bare 'Exception:' whose worker
    traceback is cut: the run failed out of memory."""
    text = ("step 1 | loss 3.5\n"
            "WARNING | OOM: Ran out of memory with exception: CUDA out of memory. Tried to "
            "allocate 8.10 GiB\n"
            "Traceback (most recent call last):\n  File \"/opt/conda/bin/fairseq-train\", line 11\n"
            "Exception: \n\n-- Process 3 terminated with the following error:\n"
            "Traceback (most recent call last):\n  File \"spawn.py\", line 19, in _wrap\n")
    r = run(generic, text)
    assert r.end["status"] == "failed" and "out of memory" in r.end["error"]


def test_mlx_lm_lines_behind_metaflows_task_prefix():
    """Metaflow's 'stamp [run-id/step/task (pid N)] ' before MLX-LM's 'Iter 10: Train loss …'."""
    pre = "2025-10-30 17:04:{:02d}.375 [1761840227122170/train_model/4 (pid 79246)] "
    text = pre.format(0) + "Iter 1: Val loss 2.699, Val took 2.702s\n" + "".join(
        pre.format(i) + f"Iter {10 * i}: Train loss {2.2 - i / 10:.3f}, Learning Rate 1.000e-05,"
        f" It/sec 1.293, Tokens/sec 267.606\n" for i in range(1, 4))
    r = run(generic, text)
    assert r.iters["step"].tolist() == [10, 20, 30]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[1, 2.699]]


def test_megatron_lines_behind_a_launchers_host_and_rank():
    """'[lrdn3321:3]: [stamp] iteration 50/ 242204 | … | lm loss: …' (a Megatron run on
    Leonardo: the launcher tags each line with its node and rank)."""
    text = "".join(f"[lrdn3321:3]: [2025-03-31 05:5{i}:07] iteration {50 * i:8d}/  242204 | "
                   f"consumed samples: {50400 * i:12d} | elapsed time per iteration (ms): 1283.2 "
                   f"| learning rate: 8.0E-06 | lm loss: {6.0 - i / 10:.6E} |\n" for i in range(1, 4))
    r = run(generic, text)
    assert r.iters["step"].tolist() == [50, 100, 150]
    assert r.iters["dt_ms"].tolist() == [1283.2] * 3


def test_olmo_core_tab_separated_prefix_and_a_crash_before_any_step(tmp_path):
    """OLMo-core's logging separates stamp, host:rank, module:line and level by tabs: its
    traceback is read, and a job dying before its first step (gloo's 'Connection closed
    by peer' at an epoch's reshuffle) is a failed launch."""
    from analyzer.loader import load
    from analyzer.parsers._text import clean_line
    pre = "2025-06-16 16:58:45.345\tg3053:1\t__main__:308\tERROR\t"
    assert clean_line(pre + "Traceback (most recent call last):") == \
        "Traceback (most recent call last):"
    p = tmp_path / "olmo.log"
    p.write_text(pre.replace("__main__:308", "olmo_core.train.trainer:648")
                 + "Training failed due to:\n" + pre + "Traceback (most recent call last):\n"
                 '  File "/x/src/olmo_core/train/trainer.py", line 646, in fit\n'
                 "    self._fit_epoch()\n"
                 "RuntimeError: [gloo/transport/tcp/pair.cc:534] Connection closed by peer\n")
    r = load(p)
    assert r.end["status"] == "failed" and r.end["error"].startswith("RuntimeError: [gloo")


def test_composer_one_metric_lines_group_by_batch():
    """Composer before 0.13: '[metric][batch=N]: key: value ' one metric a line; a batch's
    lines are one step (the train cross-entropy its loss), and a NaN there is found."""
    text = "".join(f"[metric][batch={b}]: time/epoch: 0 \n"
                   f"[metric][batch={b}]: metrics/train/LanguageCrossEntropy: {loss} \n"
                   f"[metric][batch={b}]: metrics/train/Perplexity: 9.1 \n"
                   for b, loss in ((10, "2.5"), (20, "2.25"), (30, "nan")))
    assert generic.detect(text.splitlines()) > 0
    for chunk in (None, 1):
        r = run(generic, text, chunk=chunk)
        assert r.iters["step"].tolist() == [10, 20, 30]
        assert r.iters["loss"].tolist()[:2] == [2.5, 2.25]
    assert any(f.code == "nonfinite_loss" for f in run_all(r))


def test_trax_step_lines():
    """Trax's loop: 'Step N: Ran K train steps in X secs' (the step time, over the K steps),
    then 'Step N: train CrossEntropyLoss |  v' and 'eval' lines (the val loss); accuracies
    are no loss."""
    text = ("Step      1: Ran 1 train steps in 8.65 secs\n"
            "Step      1: train CrossEntropyLoss |  10.41287422\n"
            "Step      1: eval  CrossEntropyLoss |  10.41270351\n"
            "Step      1: eval          Accuracy |  0.00000000\n"
            "\n"
            "Step     10: Ran 9 train steps in 61.40 secs\n"
            "Step     10: train CrossEntropyLoss |  10.41241550\n"
            "Step     10: eval  CrossEntropyLoss |  10.41329861\n"
            "Step     10: eval          Accuracy |  0.00000000\n")
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1, 10]
    assert r.iters["loss"].tolist() == [10.41287422, 10.41241550]
    assert r.iters["step_ms"].tolist() == pytest.approx([8650.0, 61400.0 / 9])
    assert r.evals["val_loss"].tolist() == [10.41270351, 10.41329861]


def test_internlm_record_line_fields_before_the_step():
    """InternLM's 'INFO train.py:317 in record_current_batch_training_metrics -- tflops=93.48,
    step=9,loss=7.5025,…': its logger's prefix (no timestamp) and 'key=value,' fields before
    the step."""
    line = ("INFO train.py:317 in record_current_batch_training_metrics -- tflops=93.48,"
            "step={s},loss={l},tgs (tokens/gpu/second)=2104.89,lr=2.2e-06,loss_scale=65536.0,"
            "grad_norm=20.6,micro_num=4,fwd_bwd_time=6.15\n")
    text = "".join(line.format(s=s, l=8 - s / 10) for s in range(9, 12))
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.iters["step"].tolist() == [9, 10, 11]
    assert r.iters["loss"].tolist() == pytest.approx([7.1, 7.0, 6.9])
    assert r.iters["lr"].tolist() == [2.2e-06] * 3


def test_opennmt_steps_xent_loss_and_seconds_since_start():
    """OpenNMT-py: '[stamp INFO] Step N/T; acc; ppl; xent: X; lr; src/tgt tok/s;  S sec':
    the level inside the stamp's bracket, xent the loss, and the bare seconds at the end a
    clock since the training began (whole seconds, about step x the time per step): the
    step time is its difference over the steps between."""
    text = "".join(f"[2018-11-26 14:47:{s % 60:02d},759 INFO] Step {s}/50000; acc:  51.25; "
                   f"ppl:  8.43; xent: {3 - s / 10000:.2f}; lr: 0.00066; 1320/1445 tok/s;  "
                   f"{round(s * 3.7 + (s // 50) % 3)} sec\n" for s in range(5350, 5800, 50))
    r = run(generic, text)
    assert r.iters["step"].tolist() == list(range(5350, 5800, 50))
    assert r.iters["loss"].iloc[0] == float(f"{3 - 5350 / 10000:.2f}")
    assert r.iters["step_ms"].dropna().between(3600, 3800).all()
    # a step's own time that only grew a little for a few lines, to the millisecond, stays
    # the step's time
    own = "".join(f"iter {s} step 0: loss 11.01, iter time: {s / 2:.2f}ms\n"
                  for s in range(470, 476))
    assert run(generic, own).iters["dt_ms"].tolist() == [s / 2 for s in range(470, 476)]


def test_tensorflow_hook_lines():
    """TF Estimator's hooks: 'loss = X, step = N (S sec)' every 100 steps (S per step over
    the 100, absl's copy of the line no second step), 'Saving checkpoints for N into …', and
    'Loss for final step: X.' ending the run."""
    text = ""
    for i, s in enumerate(range(1000, 1400, 100)):
        line = f"loss = {2 - i / 10}, step = {s} ({40.7 + i:.3f} sec)"
        text += (f"INFO:tensorflow:{line}\n"
                 f"I0606 09:26:1{i}.654364 46912496659904 basic_session_run_hooks.py:262] {line}\n"
                 "INFO:tensorflow:global_step/sec: 2.45667\n")
    text += ("INFO:tensorflow:Saving checkpoints for 1300 into gs://b/model.ckpt.\n"
             "INFO:tensorflow:Loss for final step: 1.7.\n")
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1000, 1100, 1200, 1300]
    assert r.iters["step_ms"].tolist()[1:] == pytest.approx([417.0, 427.0, 437.0])
    assert r.checkpoints["step"].tolist() == [1300] and r.end["status"] == "completed"


def test_tensorflow_nan_hook_is_a_nonfinite_loss_at_no_step():
    """'Model diverged with loss = NaN.' (TF's NanTensorHook) names no step: the finding says
    it came after the last logged step, never at a guessed one."""
    text = ("INFO:tensorflow:loss = 1.8717, step = 31601 (182.200 sec)\n"
            "INFO:tensorflow:loss = 1.8716, step = 31701 (182.100 sec)\n"
            "ERROR:tensorflow:Model diverged with loss = NaN.\n")
    found = [f for f in run_all(run(generic, text)) if f.code == "nonfinite_loss"]
    assert len(found) == 1 and found[0].steps is None and found[0].severity == "error"
    assert "after step 31701" in found[0].message


def test_bars_without_glyphs_or_without_a_total():
    """tqdm bars in a narrow terminal ('0% 411/788222 [28:13<…, 4.03s/it, loss=nan]') and
    Lightning's over an iterable of unknown length ('Epoch 0: : 7it [04:10, 35.84s/it,
    v_num=0, train_loss=0.793]') are steps like the full bars."""
    narrow = ("[Epoch 0 / Train]:   0% 411/788222 [28:13<880:51:13,  4.03s/it, loss=nan, "
              "lr=2.5e-5, 1.8909 Tflops]\n")
    r = run(generic, narrow)
    assert r.iters["step"].tolist() == [411]
    assert r.iters["step_ms"].tolist() == pytest.approx([4030.0])
    unsized = "".join(f"Epoch 0: : {n}it [0{n}:00, 3{n}.50s/it, v_num=0, train_loss={9 - n}.5]\n"
                      for n in range(1, 6))
    assert generic.detect(unsized.splitlines()) > 0
    r = run(generic, unsized)
    assert r.iters["step"].tolist() == [1, 2, 3, 4, 5]
    assert r.iters["loss"].tolist() == [8.5, 7.5, 6.5, 5.5, 4.5]


def test_a_rate_in_steps_per_second_after_a_number():
    """'lr=1.20e-04 0.52 step/s eta=…' (a BabyLM trainer): the rate, printed as a number and
    its unit after the last field, is the step time."""
    text = "".join(f"  step {s}/12777 loss={5 - s / 1000:.4f} lr=1.20e-04 0.52 step/s eta=6.5h\n"
                   for s in range(200, 1200, 200))
    r = run(generic, text)
    assert r.iters["step_ms"].tolist() == pytest.approx([1000 / 0.52] * 5)


def test_transformer_xl_eval_at_step_line():
    """Transformer-XL's '| Eval  12 at step    48000 | time: 5132.39s | valid loss  4.16 |
    valid ppl    64.240': an eval at step 48000 (the 12 is its count); its time is the
    interval's, no step's time and no eval's."""
    text = ("| Eval  12 at step    48000 | time: 5132.39s | valid loss  4.16 | valid ppl 64.240\n"
            + "".join(f"| epoch   1 step    {s} |    200 batches | lr 0.00025 | ms/batch 1271.37 "
                      f"| loss  4.13 | ppl    62.24\n" for s in range(48200, 49000, 200))
            + "| Eval  13 at step    49000 | time: 5132.39s | loss  4.15 | ppl 63.9\n")
    r = run(generic, text)
    assert r.evals["step"].tolist() == [48000, 49000]
    assert r.evals["val_loss"].tolist() == [4.16, 4.15]
    assert r.iters["step"].tolist() == [48200, 48400, 48600, 48800]
    assert r.iters["dt_ms"].tolist() == [1271.37] * 4


def test_nemo_train_step_timing_is_the_steps_own_time():
    """NeMo's 'train_step_timing in s=1.900' times the training step alone: a one-bar excerpt
    at step 2000 has that steady step time (never a warm-up guess from the line before)."""
    text = ("Epoch 0: :   0%|          | 2000/603000 [1:04:49<324:40:55, reduced_train_loss=2.750,"
            " global_step=2e+3, consumed_samples=2.05e+6, train_step_timing in s=1.900, "
            "val_loss=2.800]\n")
    r = run(generic, text)
    assert r.iters["step_ms"].tolist() == [1900.0] and r.iters["dt_ms"].isna().all()
    assert summarize(r)["throughput"]["median_step_ms"] == 1900.0


def test_keras_epoch_lines_then_losses_on_lines_of_their_own():
    """A script printing Keras' 'Epoch 1/10' and then 'Train Loss: 6.2136' and 'Val Loss:
    5.3156' on lines of their own (behind Python logging's prefix): the epoch is the step."""
    pre = "2026-01-28 14:56:35,256 - src.training.trainer - INFO - "
    text = "".join(f"{pre}Epoch {e}/10\n{pre}Train Loss: {7 - e}.5\n{pre}Val Loss: {7 - e}.9\n"
                   f"{pre}Perplexity: 203.48\n" for e in range(1, 4))
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1, 2, 3] and r.iters["loss"].tolist() == [6.5, 5.5, 4.5]
    assert r.evals["val_loss"].tolist() == [6.9, 5.9, 4.9] and r.meta["max_iters"] == 10


def test_flax_example_lines():
    """Hugging Face's Flax examples: 'Step... (500 | Loss: 2.31, Learning Rate: 0.0005)', the
    eval 'Step... (1000 | Eval Loss: 3.2 | Eval Perplexity: 24.5)'; their notebooks' epochs:
    'Train... (1/10 | Loss: …)' and 'Eval... (1/10 | Loss: … | Perplexity: …)'."""
    steps = ("Step... (500 | Loss: 2.31, Learning Rate: 0.0005)\n"
             "Step... (1000 | Loss: 2.2, Learning Rate: 0.0004)\n"
             "Step... (1000 | Eval Loss: 3.2 | Eval Perplexity: 24.5)\n"
             "Step... (1500 | Loss: 2.1, Learning Rate: 0.0003)\n")
    assert generic.detect(steps.splitlines()) > 0
    r = run(generic, steps)
    assert r.iters["step"].tolist() == [500, 1000, 1500] and r.iters["lr"].iloc[0] == 0.0005
    assert list(zip(r.evals["step"], r.evals["val_loss"])) == [(1000, 3.2)]
    epochs = "".join(f"Train... ({e}/10 | Loss: {7 - e / 10}, Learning Rate: 0.0005)\n"
                     f"Eval... ({e}/10 | Loss: {7.5 - e / 10} | Perplexity: 1200.0)\n"
                     for e in (1, 2, 3))
    r = run(generic, epochs)
    assert r.iters["step"].tolist() == [1, 2, 3] and r.meta["max_iters"] == 10
    assert r.evals["val_loss"].tolist() == [7.4, 7.3, 7.2]


def test_torchtune_tokens_per_second_per_gpu():
    """torchtune's 'Step 3 | loss:1.8564 lr:2e-05 tokens_per_second_per_gpu:1234.5' prints
    its throughput per GPU: the tokens/s."""
    text = "".join(f"Step {s} | loss:1.{s}564 lr:2e-05 tokens_per_second_per_gpu:1234.5\n"
                   for s in range(1, 5))
    assert run(generic, text).iters["tokens_per_s"].tolist() == [1234.5] * 4
