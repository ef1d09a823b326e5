"""The generic reader's lines: what one line of a nanoGPT-like log says, with no state.

``line_fields`` reads a training or eval line in any of the wordings forks print (``step 12 |
loss 2.5``, ``iter 5: loss 3.3, time 1.5s``, a tqdm bar's postfix, an epoch before a count,
an epoch summary, makemore's ``10000/ 200000: 2.8341``); ``epoch_step`` turns a count that
restarts each epoch into the run's step. The parser (``generic.Parser``) keeps the state.
"""
from __future__ import annotations

import re

from analyzer.parsers._text import to_float
from analyzer.parsers.generic_fields import is_timed, read_fields

# a step's counter word ('update=11': a research fork counts its optimizer updates; DeepSpeed's
# engine prints 'steps: 2 loss: 11.4175 iter time (s): 2.441 samples/sec: 6.554')
_WORD = r"(?:(?:global[ _]?)?steps?|iter(?:ation)?|it|update)"

# the step at the start of a line: 'step 12', 'step12', 'iter 12:', '12 |', 'Step 12/100', '[12]'
# (MaxText's 'completed step: 2, seconds: 5.658, …, loss: 11.689': a verb before the word)
_HEAD = re.compile(r"\s*(?:(?:completed|finished)\s+(?=step|iter))?"
                   r"(?P<eval>(?:eval(?:uation)?|val(?:idation)?)\s+(?=step|iter|\d))?"
                   r"\[?(?P<word>" + _WORD + r")?\s*[:=#]?\s*(?P<step>\d+)"
                   r"(?:\s*/\s*(?P<total>\d+))?\]?\s*(?:[|:,;]|\s)\s*(?:-\s+(?=[A-Za-z]))?"
                   r"(?P<rest>.*)$", re.IGNORECASE)  # ('Step 9910 - Loss: 0.0362, …')

# a tag before the step's counter ('2D1 update=1101/4769 stage=C … loss=2.997812',
# 'RESULT_UPDATE_PASS update=11 loss=5.58'): a fork's label for its line, capitals, digits and
# '_', never a field; only before a counter word (a bare number after capitals is no step:
# 'GPU 0 …')
# ... or a bracketed tag ('[METRICS (1 step stale)] step: 9  |  time: …  |  loss: 6.47', a JAX
# port of modded-nanogpt)
# ... or the C function that prints it (llama.cpp's 'train_opt_callback: iter=     1 sample=9/8472
# … loss=15.399460 dt=00:00:53'): snake_case with a colon, never naming an eval
_TAG = re.compile(r"\s*(?:(?=[A-Z0-9_]*[A-Z])[A-Z0-9][A-Z0-9_]*|\[[A-Za-z][\w ().-]{0,40}\]|"
                  r"(?!\w*(?:val|eval|test))[a-z][a-z0-9]*(?:_[a-z0-9]+)+:)\s+"
                  r"(?=(?i:" + _WORD + r")\s*[:=#]?\s*\d)")

# fields before the step's counter (GPT-NeoX: ' samples/sec: 1.702 | iteration        1/   55000 |
# elapsed time per iteration (ms): 18806.7 | … | lm_loss: 2.275809E+00 |'): read after it
# ... or as 'key=value,' (InternLM: 'tflops=93.48,step=9,loss=7.5025,…')
_LEAD = re.compile(r"\s*((?:[A-Za-z][\w/ .-]{0,40}:\s*[-+]?\d[\d.]*(?:[eE][-+]?\d+)?\s*\|\s*)"
                   r"{1,3}|(?:[A-Za-z][\w/.-]{0,40}=[-+]?\d[\d.]*(?:[eE][-+]?\d+)?,){1,3})"
                   r"(?=" + _WORD + r"\s*[:=#]?\s*\d)", re.IGNORECASE)

# an epoch before the step ('Ep 1 | iter 4 | step 1: loss train (curr): 1.585', litgpt): the
# finer counter after it is the step
# (pytorch/examples' word_language_model opens its line with a pipe: '| epoch   1 |   200/ 2983
# batches | lr 20.00 | ms/batch 45.20 | loss  7.64 | ppl  2081.71'; PaddleFleetX with its
# phase: '[train] epoch: 0, batch: 0, loss: 10.992407799, avg_batch_cost: 5.51734 sec, …')
_EPOCH = re.compile(r"\s*(?:\|\s*|\[train(?:ing)?\]\s*)?"
                    r"\[?(?:ep|epoch)\s*[:=#]?\s*\[?(\d+)(?:\s*/\s*(\d+))?\]?"
                    r"(?:\s*(?:[|:,;]|\s)\s*|(?=\())", re.IGNORECASE)

# the count within an epoch after it: a step counter, 'Batch 6950' (Keras-style tutorials),
# '(100/24681)' (minimind's 'Epoch:[0/19](100/24681) loss:3.5'); it may restart each epoch
# ... and the step in parentheses of Raschka's "LLMs from scratch" ('Ep 1 (Step 000005): Train
# loss 8.066, Val loss 8.332')
_IN_EPOCH = re.compile(r"\[?(?:" + _WORD + r"|batch)\s*[:=#]?\s*(\d+)(?:\s*/\s*(\d+))?\]?"
                       r"\s*(?:[|:,;]|\s)\s*|\((\d+)\s*/\s*(\d+)\)\s*|"
                       r"\((?:" + _WORD + r")\s*[:=#]?\s*(\d+)\)\s*[:,]?\s*|"
                       r"(\d+)\s*/\s*(\d+) batch(?:es)?\s*(?:[|:,;]|\s)\s*", re.IGNORECASE)

# the eval at an epoch's end in pytorch/examples' word_language_model (and the PyTorch
# transformer tutorials): '| end of epoch   1 | time: 891.63s | valid loss  5.56 | valid ppl
# 260.55' (its time is the whole epoch's, never a step's)
END_OF_EPOCH = re.compile(r"\s*(?:\|\s*)?end of epoch\s+\d+\s*\|(.*)$", re.IGNORECASE)

# a step counter: after an epoch it is the line's step; right after the line's step, a second
# counter (litgpt's optimizer 'step 1' after its 'iter 4': the first one printed advances on
# every line) is no field
_COUNTER = re.compile(r"\[?" + _WORD + r"\s*[:=#]?\s*\d+"
                      r"(?:\s*/\s*\d+)?\]?\s*(?:[|:,;]|\s)\s*", re.IGNORECASE)

# a tqdm bar whose postfix carries the step's fields ('Training:  10%|▉  | 499/5000 [06:28<57:55,
# 1.30it/s, loss=0.9962, lr=0.000300, tok/s=27851.7, dt(ms)=588.26]'): the count n is the step
# (a log line glued after the bar's ']' is no part of it: NeMo's '...][NeMo I 2024-06-17 …')
# ... and its forms without the bar's glyphs (a narrow terminal: '[Epoch 0 / Train]:   0%
# 411/788222 [28:13<880:51:13,  4.03s/it, loss=nan, …]') or without a total (an iterable of
# unknown length, Lightning's 'Epoch 0: : 7it [04:10, 35.84s/it, v_num=0, train_loss=0.793]':
# the count is then the group 'count')
BAR = re.compile(r"\s*(?:(?P<desc>[^|%]{0,60}?):?\s*)?(?:\d{1,3}%(?:\|[^|]{0,200}\|)?\s*"
                 r"(?P<n>\d+)/(?P<total>\d+)|(?P<count>\d+)it)\s*\[(?P<inside>[^\]]{0,400})\]")

# an eval's bar, or one counting something else within an epoch: no step
_BAR_NOT_STEPS = re.compile(r"epoch|val|eval|test|valid", re.IGNORECASE)
# Lightning's training bar, 'Epoch 3: 45%|...| 450/1000 [..., v_num=0, loss=3.21]' (NeMo's
# 'Epoch 0: :  65%|', 'global_step=12.00'): its count restarts each epoch, the bar's total
# being the epoch's length. Another script's epoch bar, without Lightning's fields, is left
# alone (its epoch summaries are the steps: tinystories-lm's 'epoch 1: 100%|…| 4793/4793')
# ColossalAI's '[Epoch 0 / Train]:   0%|…| 2/8614 [00:00<1:00:07,  2.39it/s, loss=nan, …]' says
# it counts training steps within the epoch, as Lightning's does
_BAR_EPOCH = re.compile(r"\s*\[?epoch\s+(\d+)(\s*/\s*train(?:ing)?\])?[\s:]*$", re.IGNORECASE)
_LIGHTNING = re.compile(r"(?:^|,)\s*(?:v_num|global_step)=")
# tqdm's rate, 'it/s' or (under one per second) 's/it': a step time when the postfix has none,
# if printed to two significant digits at least ('0.02it/s' is anything from 40 to 67 s)
_BAR_RATE = re.compile(r"(?:^|,)\s*(\d+\.?\d*)\s*(it/s|s/it)\s*(?:,|$)")

# torchtune's bar, '1|52|Loss: 2.3697006702423096:   0%|▏   | 52/25880 [00:24<3:55:01,  1.83it/s]'
# (epoch|global step|loss, then the epoch's count; a paste may cut the bar's end, or its
# 'epoch|step' before '|Loss'): the global step, else the count
_TORCHTUNE = re.compile(r"\s*(?:\d+\|(\d+))?\|Loss: ([^:|\s]+):\s+\d{1,3}%\|[^|]{0,200}\|\s*"
                        r"(\d+)/(\d+)\s*(?:\[([^\]]{0,200})\]?)?")

# PyTorch's quickstart line, 'loss: 2.298730  [   64/60000]' (and a fork's 'avg loss:
# 11.0153952  [2/300939], dt: 374.26ms, tok/sec: 5472.15'): the count in brackets is the step
_LOSS_COUNT = re.compile(r"\s*(?:(?:avg|average|mean|train|training) )?loss:\s*([-+]?\d[\d.]*"
                         r"(?:[eE][-+]?\d+)?|nan|inf)\s+\[\s*(\d+)\s*/\s*(\d+)\]\s*[,;]?\s*(.*)$",
                         re.IGNORECASE)

# gpt-2-simple (and OpenAI's gpt-2 train.py forks): '[10 | 28.79] loss=3.60 avg=3.60', the step
# and the seconds since training began (a clock: the step time is its difference)
_GPT2_SIMPLE = re.compile(r"\s*\[(\d+) \| (\d+(?:\.\d+)?)\] (loss=.*)$")

# a count within an epoch ('batch 20', 'iter 5', '20/500'): an epoch line with one is no summary
_INNER_COUNT = re.compile(r"\b(?:batch|step|iter(?:ation)?|it)\b\s*[:=#]?\s*\d|\d\s*/\s*\d",
                          re.IGNORECASE)

# minGPT's chargpt prints the time first: 'iter_dt 7797.46ms; iter 2: train loss 2.60938'
_TIME_FIRST = re.compile(r"\s*((?:iter_)?dt|time)\s*[:=]?\s*(\d[\d.]*\s*m?s)\s*;\s*(.+)$")

# makemore's lectures: 'f"{i:7d}/{max_steps:7d}: {loss.item():.4f}"' ('  10000/ 200000: 2.8341'),
# and after the loop its split losses, 'train 2.1254…' and 'val 2.1713…' (an eval block)
_COUNT_LOSS = re.compile(r"\s*(\d+)\s*/\s*(\d+):\s+([-+]?\d+\.\d+(?:[eE][-+]?\d+)?|nan|inf)$",
                         re.IGNORECASE)


# detectron2's event writer (LiBai's) opens with the time left: ' eta: 22:07:15  iteration:
# 87/18660  total_loss: 10.36  time: 4.2893 s/iter' ('eta: 1 day, 2:03:04')
_ETA = re.compile(r"\s*eta:\s*(?:\d+ days?, )?\d+(?::\d\d)+\s+(?=[A-Za-z])")


# Transformer-XL's eval line (kimiyoung's and NVIDIA's): '| Eval  12 at step    48000 | time:
# 5132.39s | valid loss  4.16 | valid ppl    64.240' (the count of evals, then the step; its
# time is the whole interval since the last eval's end, never the eval's own)
_EVAL_AT = re.compile(r"\s*\|?\s*(?:eval(?:uation)?|valid(?:ation)?)\s+\d+\s+at step\s+(\d+)\s*"
                      r"\|(?:\s*time:\s*[\d.]+\s*m?s\s*\|)?(.*)$", re.IGNORECASE)


# Hugging Face's Flax examples: 'Step... (500 | Loss: 2.31, Learning Rate: 0.0005)' and 'Step...
# (1000 | Eval Loss: 3.2 | Eval Perplexity: 24.5)'; their notebooks, per epoch: 'Train... (1/10 |
# Loss: 6.935, Learning Rate: 0.0005)', 'Eval... (1/10 | Loss: 7.108 | Perplexity: 1223.4)'
_FLAX = re.compile(r"\s*(Step|Train|Eval)\.\.\.\s*\((\d+)(?:/(\d+))?\s*\|\s*(.*?)\)?\s*$")


def line_fields(text: str) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """(step, total, fields, by_epoch) of a training or eval line, None for any other line.
    by_epoch: an epoch summary (see _epoch_line)."""
    if text.lstrip().startswith("eta:") and (eta := _ETA.match(text)) is not None:
        text = text[eta.end():]
    if "|Loss: " in text and (tune := _torchtune_bar(text)) is not None:
        return tune
    if text.lstrip().startswith("[") and (m := _GPT2_SIMPLE.match(text)) is not None:
        fields = read_fields(m.group(3))
        fields["clock_ms"] = float(m.group(2)) * 1000.0
        return int(m.group(1)), None, fields, False
    if "/" in text and (m := _LOSS_COUNT.match(text)) is not None:
        fields = read_fields(m.group(4))
        fields["loss"] = to_float(m.group(1))
        return int(m.group(2)), int(m.group(3)), fields, False
    if "... (" in text and (m := _FLAX.match(text)) is not None:
        return _step_line(int(m.group(2)), m.group(3), m.group(4), worded=True,
                          eval_line=m.group(1) == "Eval")
    if " at step " in text and (m := _EVAL_AT.match(text)) is not None:
        return _step_line(int(m.group(1)), None, m.group(2), worded=True, eval_line=True)
    count = _COUNT_LOSS.match(text)
    if count is not None:
        return int(count.group(1)), int(count.group(2)), {"loss": to_float(count.group(3))}, False
    ep = _EPOCH.match(text)
    if ep is not None and _barred(text) and (bar := _bar_line(text)) is not None:
        return bar  # Lightning's 'Epoch 0:  45%|...| 450/1000 [..., loss=3.21]'
    if ep is not None:
        inner = _IN_EPOCH.match(text, ep.end())
        if inner is None:
            return _epoch_line(ep)
        count = inner.group(1) or inner.group(3) or inner.group(5) or inner.group(6)
        total = inner.group(2) or inner.group(4) or inner.group(7)
        got = _step_line(int(count), total, text[inner.end():], worded=True)
        if got is not None:  # (the parser makes the count a step of the run: see epoch_step)
            got[2]["epoch"] = float(ep.group(1))
            if ep.group(2):
                got[2]["epochs"] = float(ep.group(2))
        return got
    tag = _TAG.match(text)
    if tag is not None:
        text = text[tag.end():]
    m = _HEAD.match(text)
    if m is None and (lead := _LEAD.match(text)) is not None:
        m = _HEAD.match(f"{text[lead.end():]} | {lead.group(1).rstrip(' |,')}")
    if m is None and _barred(text):
        return _bar_line(text)
    if m is None:
        lead = _TIME_FIRST.match(text)
        if lead is None:
            return None
        m = _HEAD.match(f"{lead.group(3)}; {lead.group(1)} {lead.group(2)}")
        if m is None:
            return None
    return _step_line(int(m.group("step")), m.group("total"), m.group("rest"),
                      worded=m.group("word") is not None, eval_line=m.group("eval") is not None)


def epoch_step(at: tuple[int, int, int, int | None] | None, epoch: int, count: int,
                total: int | None) -> tuple[int, tuple[int, int, int, int | None]]:
    """The run's step of a count within an epoch, and the state after it ``(epoch, count,
    offset, interval)``. A count that restarts as the epoch advances ('Epoch: 1, Iteration:
    0' after 'Epoch: 0, Iteration: 12000') goes on from where the epochs before it ended:
    an epoch's length when the line prints it ('(0/24681)'), else its last count plus the
    log's print interval (the log says no more). An epoch going back starts over."""
    if at is None or epoch < at[0]:
        return count, (epoch, count, 0, None)
    last_epoch, last, offset, gap = at
    if epoch > last_epoch and count <= last:
        offset += (epoch - last_epoch) * (total or last + (gap or 1))
    elif epoch == last_epoch and count > last:
        gap = count - last
    return offset + count, (epoch, count, offset, gap)


def _barred(text: str) -> bool:
    """Might the line hold a tqdm bar (see BAR)? A cheap test before the pattern."""
    return "%|" in text or "it [" in text or ("% " in text and "/" in text)


def _bar_line(text: str) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """A tqdm bar with the step's fields in its postfix (``key=value`` after the elapsed time
    and the rate): its count is the steps done (in Lightning's 'Epoch N' bar, the steps of
    that epoch). A bar within an epoch or of an eval is not. The postfix's per-step train
    loss ('reduced_train_loss', 'train_loss') is the step's, not Lightning's 'loss', a running
    mean over the last batches; tqdm's rate is the step time when nothing else times it."""
    m = BAR.match(text)
    if m is None:
        return None
    epoch = _BAR_EPOCH.match(m.group("desc") or "")
    if epoch is not None and not (epoch.group(2) or _LIGHTNING.search(m.group("inside"))):
        return None
    if epoch is None and _BAR_NOT_STEPS.search(m.group("desc") or ""):
        return None
    parts = m.group("inside").split(",")
    postfix = ", ".join(p for p in parts if "=" in p)
    got = _step_line(int(m.group("n") or m.group("count")), m.group("total"), postfix)
    if got is None or "loss" not in got[2]:
        return None
    fields = got[2]
    if "train_loss" in fields:
        fields["loss"] = fields.pop("train_loss")
    if "val_loss" in fields:  # the latest validation's, repeated until the next one
        fields["train_loss"] = None
    if fields.get("dt_ms") is None and "step_ms" not in fields:
        ms = _bar_rate(parts)
        if ms is not None:
            fields["step_ms"] = ms
    if epoch is not None:
        fields["epoch"] = float(epoch.group(1))
    return got


def _torchtune_bar(text: str) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """torchtune's training bar (see _TORCHTUNE): its step and loss, tqdm's rate the step
    time (see _bar_rate)."""
    m = _TORCHTUNE.match(text)
    loss = to_float(m.group(2)) if m is not None else None
    if loss is None:
        return None
    fields: dict[str, float | None] = {"loss": loss}
    ms = _bar_rate((m.group(5) or "").split(","))
    if ms is not None:
        fields["step_ms"] = ms
    return int(m.group(1) or m.group(3)), None, fields, False


def _bar_rate(parts: list[str]) -> float | None:
    """tqdm's rate among a bar's parts, in ms per step (see _BAR_RATE)."""
    rate = _BAR_RATE.search(",".join(p for p in parts if "=" not in p))
    if rate is None:
        return None
    digits, value = rate.group(1).replace(".", "").lstrip("0"), float(rate.group(1))
    if len(digits) < 2 or value <= 0:
        return None
    return 1000.0 * (value if rate.group(2) == "s/it" else 1.0 / value)


def _epoch_line(ep: re.Match) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """A line counted by its epoch alone: an epoch summary when it has a train loss and a val
    loss ('Epoch: 1, Train loss: 7.566, Val loss: 6.309, Epoch time = 100.710s'), the epoch
    being the step; any other epoch line (a running loss printed within the epoch, whose
    epoch number repeats) is not read."""
    if _INNER_COUNT.search(ep.string, ep.end()):
        return None  # 'Epoch 1 | batch 20 | ...': a count within the epoch, which restarts
    got = _step_line(int(ep.group(1)), ep.group(2), ep.string[ep.end():], epoch=True)
    if got is None or "loss" not in got[2] or "val_loss" not in got[2]:
        return None
    return got[0], got[1], got[2], True


def _step_line(step: int, total: str | None, rest: str, epoch: bool = False,
               worded: bool = False, eval_line: bool = False
               ) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """worded: the step was named ('step 12', 'iter 12', 'update=12'), not a bare number;
    eval_line: the line says it is an eval ('evaluation step 19 | … | val 9.54')."""
    second = _COUNTER.match(rest)
    if second is not None:  # (never a field: only its gluing to a label's text matters)
        rest = rest[second.end():]
    fields = read_fields(rest)
    if eval_line and "val_loss" not in fields and "loss" in fields:
        fields["val_loss"] = fields.pop("loss")  # an eval's one loss is its val loss
    if "loss" not in fields and "train_loss" in fields:  # the one train loss is the step's
        fields = {("loss" if k == "train_loss" else k): v for k, v in fields.items()}
    # 'epoch time' is the time of the line's unit: an epoch's on an epoch line, a step's on a
    # step line when in ms (an epoch's elapsed time on a step line would be in seconds)
    epoch_ms, epoch_s = fields.pop("epoch_ms", None), fields.pop("epoch_s", None)
    if fields.get("dt_ms") is None and (epoch_ms is not None or epoch_s is not None):
        if epoch or epoch_ms is not None:
            fields["dt_ms"] = epoch_ms if epoch_ms is not None else epoch_s
    if "loss" not in fields and "val_loss" not in fields and not (
            worded and not epoch and is_timed(fields)):
        # (a named step with its time and no loss: a format whose step lines print no loss,
        # 'step  251/1840 | time: 8,566ms | step avg: 34.13ms'; the parser decides)
        return None
    return step, int(total) if total else None, fields, False


# -- the generic reader's other lines (generic.Parser reads them with its state) --------------

# an epoch summary's training time on the line before it ('Training epoch time: 87.690s', then
# 'Validation epoch time: 13.019s' and 'Epoch: 1, Train loss: 7.566, Val loss: 6.309, Epoch
# time = 100.710s'): that epoch's training alone, its step_ms
TRAIN_TIME = re.compile(r"(?:train|training)(?: epoch)? time\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(ms|s)$",
                         re.IGNORECASE)

# an eval line with no step ('val loss 3.5919', build-nanogpt forks): run at the top of the
# step after the last one printed, whose time (one iteration to the next) includes it
STEPLESS_VAL = re.compile(r"(?:val|valid|validation|eval) loss\s*[:=]?\s*([-+]?(?:\d[\d.]*"
                           r"(?:[eE][-+]?\d+)?|nan|inf))$", re.IGNORECASE)

# a stepless test/train loss line of an eval block printed after its step's line (minGPT-style
# trainers, as makemore's 'step 500 train loss: … test loss: …' after step 500's line: 'test
# loss: 6.40', then the same as a tensor, 'test_loss:  tensor(6.3983)'): the eval of the step
# the log is at, its most precise value
STEPLESS_TEST = re.compile(r"(test|train)[ _]loss\s*[:=]?\s*(tensor\(\s*)?([-+]?(?:\d+(?:\.(\d*))?"
                            r"(?:[eE][-+]?\d+)?|nan|inf))(?(2)\s*(?:\)|,[^()]*\))|)$",
                            re.IGNORECASE)

# (its groups as STEPLESS_TEST's: split, an empty one for its tensor, value, decimals)
SPLIT_LOSS = re.compile(r"(train|val|test)\s+()([-+]?\d+(?:\.(\d*))?(?:[eE][-+]?\d+)?|nan|inf)$")

# a stepless time line under its step's line (tt-train: 'Step: 396, Loss: 1.36e+15', then
# 'Full step time 224.98 ms, cache entries: 90'); 'dataloader step time' lines after it are not
TIME_BELOW = re.compile(r"(?:[A-Za-z]+ )?(?:step|iter|iteration) time\s*[:=]?\s*"
                         r"(\d+(?:\.\d+)?)\s*(ms|s)\b(?:[,;]|$)", re.IGNORECASE)

# a trainer's own guard stopping the run ('recurrent-state explosion hard stop: health={…}'):
# the run's end when no training follows it (as a traceback's), failed with that message
GUARD_STOP = re.compile(r"(?:.*\W)?(?:hard[ -]stop|aborting training|training aborted)\b",
                         re.IGNORECASE)

# Megatron-LM's eval block: ' validation loss at iteration 1000 | lm loss value: 6.439325E+00 |
# lm loss PPL: 6.259840E+02 |', and after training ' validation loss at the end of training
# for val data | lm loss value: 8.165035E+00 | ...' (another eval, on other batches: the last
# val; its 'for test data' twin is a test loss, no val); older Megatron's '| LM loss: 4.50E+00 |'
# and GPT-NeoX's ' validation results at iteration 1000 | lm_loss value: 2.34E+00 |'; BLOOM's
# Megatron-DeepSpeed ' valid loss at iteration 45000 | lm loss value: 2.327091E+00 |'
MEGATRON_VAL = re.compile(r"valid(?:ation)? (?:loss|results) at (?:iteration\s+(\d+)|the end "
                           r"of training for (val|valid|validation) data)\s*\|\s*(?:[\w -]*?[\s_])?"
                           r"loss(?: value)?\s*:\s*"
                           r"([-+]?(?:\d[\d.]*(?:[eE][-+]?\d+)?|nan|inf))", re.IGNORECASE)

# nanoGPT's 'saving checkpoint to out'; makemore's 'test loss 0.09 is the best so far, saving
# model to out/model.pt'
CKPT = re.compile(r"(?:.*,\s*)?saving (?:checkpoint|model) to (.+)$")

# TensorFlow's hooks (Estimator, TPUEstimator, tensor2tensor, mesh-tf, BERT's pretraining): the
# LoggingTensorHook's 'loss = 0.13671875, step = 1056400 (52.297 sec)' (other tensors may sit
# between: 'loss = 2.3, learning_rate = 0.001, step = 100'), its seconds those since its last
# line, every_n_iter steps before; the NanTensorHook stopping the run, 'Model diverged with
# loss = NaN.' (at a step it does not print); the checkpoint hook's 'Saving checkpoints for
# 31622 into /x/model.ckpt.'; and Estimator.train's last line, 'Loss for final step: 0.1347.'
TF_HOOK = re.compile(r"\s*loss = ([-+]?(?:\d[\d.]*(?:[eE][-+]?\d+)?|nan|inf)), "
                     r"(?:[\w/.]+ = [^,]+, )*step = (\d+)(?: \((\d+(?:\.\d+)?) sec\))?\s*$",
                     re.IGNORECASE)
TF_NAN = re.compile(r"\s*Model diverged with loss = NaN\.?\s*$")
TF_CKPT = re.compile(r"\s*Saving checkpoints for (\d+) into (.+?)\.?\s*$")
TF_FINAL = re.compile(r"\s*Loss for final step: ")

