"""The generic reader's fields: a step line's labelled numbers by schema field name
(analyzer/parsers/generic.py reads the step and decides what the line is)."""
from __future__ import annotations

import math
import re

from analyzer.parsers._text import to_float

# parts: 'a | b', 'a, b', 'a; b', runs of spaces, and single spaces before 'key=' ('step=10
# loss=3.2386 dt=85.28 val_loss=4.29': the key=value layout of logging-based forks), and a
# comma with no space before a labelled field ('loss: 9.52,dt:303.48ms, tokens/sec: ...'), and
# a single space between a number and the next 'label: number' (makemore's eval line 'train
# loss: 0.1003 test loss: 0.0901'), and a single space before a rate printed as a number and
# its unit ('lr=1.2e-04 0.52 step/s', a BabyLM trainer); never the spaces after a label (a
# padded value, 'Loss: 9.457475' under 'Loss: 10.955374', pytorch/examples' 'loss  7.64' of a
# '{:5.2f}')
_SPLIT = re.compile(r"\s*\|\s*|,\s+|;\s*|(?<![:=\sA-Za-z])\s{2,}|"
                    r"(?<=[A-Za-z])\s{2,}(?![-+]?(?:\d|\.\d))|\t|\s+(?=[A-Za-z_][\w/.-]*=)|"
                    r",(?=[A-Za-z_][\w/ .-]*[:=])|(?<=\d)\s+(?=[A-Za-z][\w/.-]*"
                    r"(?: [A-Za-z][\w/.-]*)?:\s*[-+]?(?:\d|\.\d|nan|inf))|"
                    r"(?<=\d)\s+(?=\d*\.?\d+\s*(?:steps?|its?|iters?)/s(?:ec)?\b)")
# a time's unit in parentheses after its label ('dt(ms)=588.26', Megatron's 'elapsed time per
# iteration (s): 7.2310'), or after 'in' (NeMo's 'train_step_timing in s=14.60'): the label's
# unit
_KEY_UNIT = re.compile(r"\s*\((ms|s|sec|secs)\)(?=\s*[:=])|\s+in\s+(ms|s)(?=\s*[:=])",
                       re.IGNORECASE)
# a qualifier in parentheses between a label and its colon ('loss train (curr): 1.585'); one
# naming an eval is kept (the part is then unread: never a train loss by mistake)
# nor a unit ('tok/s (k): 141' stays unread; a time's unit in parentheses: see _KEY_UNIT)
_QUALIFIER = re.compile(r"\s*\((?![^)]*\b(?:val|valid|validation|eval|test|dev)\b)"
                        r"(?!(?:ms|sec|secs|min|mins|hrs?)\))[A-Za-z][A-Za-z .]{1,29}\)\s*(?=[:=])",
                        re.IGNORECASE)
_PART = re.compile(r"(?P<key>[A-Za-z][A-Za-z_/ .-]*?)?\s*[:=]?\s*\(?"
                   r"(?P<num>[-+]?(?:nan|inf|\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+))"
                   r"\s*(?P<unit>.*)$", re.IGNORECASE)
_LOSS = {"loss", "lm loss", "lm-loss", "last seen loss", "main model loss",  # the step's own
         "total loss",  # (detectron2's event writer: LiBai's 'total_loss: 10.36')
         "xent"}  # (OpenNMT-py's training cross-entropy: 'acc:  51.25; ppl:  8.43; xent: 2.13')
# loss (BigScience's Megatron-DeepSpeed printed 'lm-loss: 1.244238E+01'; MaxText with
# multi-token prediction 'main_model_loss: 11.550')
# a printed tensor's value, and a dict printed whole after its label (a notebook's
# 'iter 0 losses {'train': tensor(4.7305), 'val': tensor(4.7241)}')
_TENSOR = re.compile(r"tensor\(\s*([-+]?[\d.]+(?:e[-+]?\d+)?|nan|inf)(?:,[^()]*)?\)")
_DICT = re.compile(r"[A-Za-z_ ]*[:=]?\s*\{([^{}]*)\}\s*$")
# a named train loss: the step's loss too, unless the line has a bare 'loss' as well (then it
# is the latest eval's train loss, which such lines repeat beside their val loss)
_TRAIN = {"train loss", "training loss", "train", "trl", "tr loss", "loss train", "train/loss",
          "reduced train loss", "train loss step"}  # (NeMo's, Lightning's per-step value)
_VAL = re.compile(r"^(?:val|valid|validation|eval|evaluation|test|dev)(?:[ /]?loss)?$|"
                  r"^(?:loss[ /])?(?:val|valid|validation|eval)$")
_LR = {"lr", "learning rate", "lr0"}
_NORM = {"norm", "grad norm", "gnorm", "gradient norm", "grad", "grad norm total"}
_TIME = {"dt", "time", "step time", "iter time", "t", "iteration time", "time/step", "iter dt",
         "ms/iter", "ms/step", "ms/batch", "time per iteration", "time per step", "time/batch",
         "batch cost", "avg batch cost"}  # (PaddleNLP's 'avg_batch_cost: 2.10704 sec')
# labels whose unitless number is seconds: char-rnn's 'time/batch = 0.025' (TensorFlow port;
# the Lua original prints the 's')
_TIME_S = {"time/batch"}
# the unit in the key; Megatron-style 'elapsed time per iteration (ms): 430.0'
_TIME_MS = {"dt ms", "time ms", "step ms", "step time ms", "iter ms", "iter time ms",
            "time per iteration ms", "elapsed time per iteration ms", "time per step ms"}
# the field each label with its unit fills: dt_ms, but NeMo's 'train_step_timing in s=14.60'
# is the training step's own time (its timer leaves the validation out), never one since the
# line before
_MS_LABELS = {**dict.fromkeys(_TIME_MS, "dt_ms"), "train step timing ms": "step_ms"}
# a running average of the step time ('step avg: 34.13ms', modded-nanogpt's ports): beside it,
# a plain 'time' may be the cumulative clock ('time: 8,566ms', grows step after step), never
# one step's time; the parser tells (generic.Parser._clock_or_time) and takes the clock's
# differences (generic.Parser._clock_step)
_STEP_AVG = {"step avg", "step avg ms", "avg step", "avg step time", "step time avg",
             "avg step ms", "average step time"}
_CLOCK = {"time", "train time", "training time", "elapsed", "elapsed time", "total time",
          "wall", "wall time", "wallclock", "time ms", "train time ms", "elapsed ms"}
_TPS = {"tok/s", "tok/sec", "tokens/s", "tokens/sec", "token/s", "token/sec", "tps",
        "tokens per second", "tokens/s/device", "tokens/sec/device",  # (MaxText: per chip)
        "tokens per sec", "tok per sec",
        "tokens per second per gpu"}  # (torchtune's 'tokens_per_second_per_gpu:1234.5')
# a step's time as a clock duration ('dt=00:00:53', llama.cpp's finetune; '1:02:03.5'): only
# under a step time's own label (a bare 'time=14:05:22' may be the time of day)
_HMS = re.compile(r"(dt|step time|iter time|iteration time|time per (?:step|iteration))\s*[:=]\s*"
                  r"(?:(\d+):)?([0-5]?\d):([0-5]\d(?:\.\d+)?)$", re.IGNORECASE)
_SCALE = {"k": 1e3, "m": 1e6, "g": 1e9}
_HUMAN = {"K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}  # a number printed with its suffix alone
# an eval's own duration, printed on its line (MLX's 'Iter 20: Val loss 0.930, Val took
# 60.917s'): the eval event's eval_ms, which the costly-eval check weighs against training
_EVAL_TIME = {"val took", "eval took", "validation took", "valid took", "evaluation took",
              "val time", "eval time", "validation time", "evaluation time"}
# a cumulative clock by its name ('elapsed time: 6.56 min', a Colab project's lines every 10
# steps): the clock_ms the step time is taken from (its differences), only with a unit
_ELAPSED = {"elapsed time", "time elapsed", "elapsed", "wall time", "wallclock"}
_MINUTES = {"min": 60_000.0, "mins": 60_000.0, "minutes": 60_000.0, "m": 60_000.0,
            "h": 3_600_000.0, "hours": 3_600_000.0, "hr": 3_600_000.0}
# iterations per second over the lines' window (MLX's 'It/sec 2.027'): the step time is its
# inverse, the training step's alone (MLX times its evals apart: 'Val took 0.034s')
_ITS = {"it/sec", "it/s", "its/sec", "iter/s", "iter/sec", "iters/sec", "iters/s",
        "iterations/sec", "iterations/s", "iterations per second", "steps/s", "steps/sec",
        "steps per second", "step/s", "step/sec"}


def read_fields(rest: str) -> dict[str, float | None]:
    """The labelled numbers of a line's text after its step, by schema field name (and
    'val_loss' / 'train_loss' for an eval); a field whose number is not finite is kept as
    NaN so that a NaN loss is seen."""
    out: dict[str, float | None] = {}
    dt_key, guessed = None, False
    if "tensor(" in rest:  # printed tensors: 'loss: tensor(2.3016, device='cuda:0')'
        rest = _TENSOR.sub(r"\1", rest)
    if "{" in rest and (d := _DICT.match(rest)) is not None:  # "losses {'train': 4.73, …}"
        rest = d.group(1).replace("'", "").replace('"', "")
    parts = _SPLIT.split(_KEY_UNIT.sub(_unit_suffix, _QUALIFIER.sub("", rest.strip())))
    for i, part in enumerate(parts):
        if ":" in part and (hms := _HMS.match(part.strip())) is not None:
            h, mnt, sec = hms.group(2, 3, 4)
            if out.get("dt_ms") is None:
                out["dt_ms"] = ((int(h or 0) * 60 + int(mnt)) * 60 + float(sec)) * 1000.0
                dt_key = hms.group(1).lower()
            continue
        m = _PART.match(part.strip())
        if m is None:
            continue
        key = " ".join((m.group("key") or "").lower().replace("_", " ").split()).rstrip(" :=")
        key = key[len("estimated "):] if key.startswith("estimated ") else key  # (an eval's)
        num = to_float(m.group("num"))
        unit = m.group("unit").strip()
        if num is not None and unit in _HUMAN:  # nanotron's '4.71K', '43.2K'
            num, unit = num * _HUMAN[unit], ""
        unit = unit.lower()
        if num is None:
            continue
        if not unit and "=" in part and i < len(parts) - 1 and key in _TIME:
            unit = "ms"  # 'dt=85.28 dtf=…': nanoGPT's ms; only the last field can be cut short
            guessed = True
        name, value = _field(key, num, unit)
        # the first value wins, but a part that gave none ('(50.00%)' read as a time without
        # its unit) does not hide the labelled field after it
        if name is not None and out.get(name) is None:
            out[name] = value
            dt_key = key if name == "dt_ms" else dt_key
    if "step_avg_ms" in out and out.get("dt_ms") is not None and dt_key in _CLOCK:
        out["clock_ms"] = out.pop("dt_ms")  # perhaps a clock, beside its running average
    if guessed and out.get("dt_ms") is not None and 0 < out["dt_ms"] < 0.5:
        # a unitless dt under half a millisecond is no training step's time in ms: it is in
        # seconds ('dt=0.0206855 dtf=0.020356', wordplay since 2025; 'dt=85.28' before)
        out["dt_ms"] *= 1000.0
    return out


def _unit_suffix(m: re.Match) -> str:
    return "_ms" if (m.group(1) or m.group(2)).lower() == "ms" else "_s"


def _field(key: str, num: float, unit: str) -> tuple[str | None, float | None]:
    if key in _LOSS:
        return "loss", num
    if key in _TRAIN:
        return "train_loss", num
    if _VAL.match(key):
        return "val_loss", num
    if key in _LR:
        return "lr", num
    if key in _NORM:
        return "grad_norm", num
    if key == "mfu" or (not key and "mfu" in unit):
        return "mfu", num / 100.0 if "%" in unit or num > 1 else num
    # a bare 'throughput' is tokens/s only with that unit (NeMo's 'throughput=0.108' counts
    # samples per second)
    if key in _TPS or (key in ("", "throughput") and unit.startswith(("tok/s", "tokens/s",
                                                                       "tok/sec"))):
        return "tokens_per_s", num * _SCALE.get(unit[:1], 1.0)
    if key in _ITS or (not key and unit in _ITS):  # ('0.52 step/s': the unit alone)
        return ("step_ms", 1000.0 / num) if num > 0 else (None, None)
    if key in _EVAL_TIME:
        return "eval_ms", ms_of(num, unit)
    if key in _ELAPSED:
        word = (unit.split() or [""])[0]
        return "clock_ms", (num * _MINUTES[word] if word in _MINUTES else ms_of(num, unit))
    if key in _STEP_AVG:
        return "step_avg_ms", num if key.endswith("ms") and not unit else ms_of(num, unit)
    if key == "epoch time":  # the time of what the line counts (see generic_lines._step_line)
        return ("epoch_ms" if unit.startswith("ms") else "epoch_s"), ms_of(num, unit)
    if key in _MS_LABELS:
        return _MS_LABELS[key], num if not unit or unit.startswith("ms") else None
    if key.endswith(" s") and key[:-2] + " ms" in _MS_LABELS:  # the same labels in seconds
        return _MS_LABELS[key[:-2] + " ms"], num * 1000.0 if not unit else None
    if key in ("seconds", "secs", "sec"):  # the label is the unit (MaxText's 'seconds: 5.658')
        return "dt_ms", num * 1000.0 if not unit else None
    if key in _TIME or not key:
        if not unit:
            unit = "ms" if key.startswith("ms/") else "s" if key in _TIME_S else unit
        return "dt_ms", ms_of(num, unit)
    return None, None



def ms_of(num: float, unit: str) -> float | None:
    """A time in ms from its unit; no unit (a cut line, or a count) is no time."""
    if unit.startswith("ms"):
        return num
    if unit.startswith(("s ", "sec", "s/")) or unit == "s":  # ('4.2893 s/iter': LiBai)
        return num * 1000.0
    return None


def train_and_val(fields: dict[str, float | None]) -> bool:
    """A timed line with a train loss and a val loss and nothing else naming an eval (see
    generic.Parser._pending)."""
    return ("loss" in fields and "val_loss" in fields and "train_loss" not in fields
            and fields.get("dt_ms") is not None)


def is_timed(fields: dict[str, float | None]) -> bool:
    """Does a line carry a time of its step (a per-step time, or a cumulative clock)?"""
    dt = fields.get("dt_ms")
    return (dt is not None and math.isfinite(dt)) or fields.get("clock_ms") is not None


def fill_repeat(out: list[dict], step: int, fields: dict[str, float | None]) -> bool:
    """A training line of the step whose iteration event was the last one out (metrics
    aside): the same step printed again, by another logger (DeepSpeed's 'steps: 2 loss:
    11.4175 iter time (s): 2.441' beside GPT-NeoX's 'iteration 2/ 2140 | … | lm_loss: …') or
    by another rank, with the same loss as far as both print it. It fills what the first
    line left empty; True when it was one."""
    last = next((e for e in reversed(out[-4:]) if e.get("type") != "metric"), None)
    if last is None or last.get("type") != "iter" or last.get("step") != step:
        return False
    a, b = last.get("loss"), fields.get("loss")
    if a is not None and b is not None and not math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4):
        return False  # another loss at the same step: another run's line (a restart)
    for key, value in fields.items():
        if value is not None and last.get(key) is None:
            last[key] = value
    return True
