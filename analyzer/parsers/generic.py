"""Any nanoGPT-like stdout that no specific format reads: lines with a step and labelled numbers.

Forks print their own variants of the same facts, in their own order and punctuation::

    490 | loss 5.7543 | lr 4.900000e-05 | 8060.78ms | mfu 0.21%          (llama2.c)
    step1 | loss: 10.16 | dt: 122.74ms | tok/sec: 141k | norm: 6.50
        step    0| loss: 10.938572 | lr: 6.0000e-05 | norm: 27.0145  | dt: 3663.01ms
    step 0, loss: 10.899394989013672
    step 500: train loss 5.7373, val loss 5.9544                        (an eval)

A line counts when it starts with a step number (``step``/``iter``/``it`` or a bare number,
optionally ``N/total``) followed by fields that carry a **label** this reader knows:

- ``loss`` / ``train loss`` -> loss; ``val loss`` / ``eval loss`` / ``validation loss`` /
  ``test loss`` (and ``train loss`` beside one of them) -> an eval: a line with a train loss
  and a val loss is an eval, never the step's iteration (makemore prints
  ``step 500 train loss: 0.1003 test loss: 0.0901`` after that step's own line);
- ``lr`` / ``learning rate``; ``norm`` / ``grad norm``;
- a time with its unit (``dt: 410ms``, ``time 1.2s``, or a bare ``8060.78ms``) -> ``dt_ms``:
  forks time one iteration to the next, as nanoGPT does, so an iteration right after an eval
  is eval-inclusive; a number without a unit is no time (a line cut short);
- ``tok/s`` / ``tok/sec`` / ``tokens/s`` with ``k``/``M`` suffixes -> ``tokens_per_s``;
- ``mfu`` (a percentage, or a fraction when below 1 without ``%``) -> ``mfu``.

Also read: an epoch before the step (``Ep 1 | iter 4 | step 1: loss train (curr): 1.585``:
the first counter after it is the step); an epoch summary with a train and a val loss
(``Epoch: 1, Train loss: 7.566, Val loss: 6.309, Epoch time = 100.710s``: the epoch's eval and
iteration); ``epoch time`` in ms on a step line; a tqdm bar with the fields in its postfix
(``| 499/5000 [06:28<57:55, 1.30it/s, loss=0.9962, dt(ms)=588.26]``) and a ``Resumed from step
N`` before a bar that counts from 0 again; a stepless eval block after a step line (``test
loss: 6.40``, ``test_loss:  tensor(6.3983)``): that step's eval.

Unknown labels are ignored; a line without a step or without any loss is not a training line
(skipped and counted). The fields found are listed in ``run.stats.fields``, so that a report
can say what the reader understood. The format is reported as ``generic``.
"""
from __future__ import annotations

import math
import re

from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, to_float

NAME = "generic"

# the step at the start of a line: 'step 12', 'step12', 'iter 12:', '12 |', 'Step 12/100', '[12]'
_HEAD = re.compile(r"\s*\[?(?:(?:global[ _]?)?step|iter(?:ation)?|it)?\s*[:=#]?\s*(\d+)"
                   r"(?:\s*/\s*(\d+))?\]?\s*(?:[|:,;]|\s)\s*(.*)$", re.IGNORECASE)
# parts: 'a | b', 'a, b', 'a; b', runs of spaces, and single spaces before 'key=' ('step=10
# loss=3.2386 dt=85.28 val_loss=4.29': the key=value layout of logging-based forks), and a
# comma with no space before a labelled field ('loss: 9.52,dt:303.48ms, tokens/sec: ...'), and
# a single space between a number and the next 'label: number' (makemore's eval line 'train
# loss: 0.1003 test loss: 0.0901')
_SPLIT = re.compile(r"\s*\|\s*|,\s+|;\s*|\s{2,}|\t|\s+(?=[A-Za-z_][\w/.-]*=)|"
                    r",(?=[A-Za-z_][\w/ .-]*[:=])|(?<=\d)\s+(?=[A-Za-z][\w/.-]*"
                    r"(?: [A-Za-z][\w/.-]*)?:\s*[-+]?(?:\d|\.\d|nan|inf))")
# an epoch before the step ('Ep 1 | iter 4 | step 1: loss train (curr): 1.585', litgpt): the
# finer counter after it is the step
_EPOCH = re.compile(r"\s*\[?(?:ep|epoch)\s*[:=#]?\s*(\d+)(?:\s*/\s*(\d+))?\]?\s*(?:[|:,;]|\s)\s*",
                    re.IGNORECASE)
# an epoch summary's training time on the line before it ('Training epoch time: 87.690s', then
# 'Validation epoch time: 13.019s' and 'Epoch: 1, Train loss: 7.566, Val loss: 6.309, Epoch
# time = 100.710s'): that epoch's training alone, its step_ms
_TRAIN_TIME = re.compile(r"(?:train|training)(?: epoch)? time\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(ms|s)$",
                         re.IGNORECASE)
# a step counter: after an epoch it is the line's step; right after the line's step, a second
# counter (litgpt's optimizer 'step 1' after its 'iter 4': the first one printed advances on
# every line) is no field
_COUNTER = re.compile(r"\[?(?:(?:global[ _]?)?step|iter(?:ation)?|it)\s*[:=#]?\s*\d+"
                      r"(?:\s*/\s*\d+)?\]?\s*(?:[|:,;]|\s)\s*", re.IGNORECASE)
# a tqdm bar whose postfix carries the step's fields ('Training:  10%|▉  | 499/5000 [06:28<57:55,
# 1.30it/s, loss=0.9962, lr=0.000300, tok/s=27851.7, dt(ms)=588.26]'): the count n is the step
_BAR = re.compile(r"\s*(?:(?P<desc>[^|%]{0,60}?):?\s*)?\d{1,3}%\|[^|]{0,200}\|\s*(?P<n>\d+)/(?P<total>\d+)"
                  r"\s*\[(?P<inside>[^\]]{0,400})\]\s*$")
# a bar counting within an epoch (Lightning's 'Epoch 0: ...'), or an eval's bar: no step
_BAR_NOT_STEPS = re.compile(r"epoch|val|eval|test|valid", re.IGNORECASE)
# a relaunch that says where it resumes: 'Resumed from step 5000', 'Resuming from iter 200'
_RESUMED = re.compile(r"[^A-Za-z0-9]*resum(?:ed|ing)(?: training)? from (?:step|iter(?:ation)?) "
                      r"(\d+)\b", re.IGNORECASE)
# a time's unit in parentheses after its label ('dt(ms)=588.26'): the label's unit
_KEY_UNIT = re.compile(r"\s*\(ms\)(?=\s*[:=])", re.IGNORECASE)
# a count within an epoch ('batch 20', 'iter 5', '20/500'): an epoch line with one is no summary
_INNER_COUNT = re.compile(r"\b(?:batch|step|iter(?:ation)?|it)\b\s*[:=#]?\s*\d|\d\s*/\s*\d",
                          re.IGNORECASE)
# a qualifier in parentheses between a label and its colon ('loss train (curr): 1.585'); one
# naming an eval is kept (the part is then unread: never a train loss by mistake)
# nor a unit ('tok/s (k): 141' stays unread; a time's unit in parentheses: see _KEY_UNIT)
_QUALIFIER = re.compile(r"\s*\((?![^)]*\b(?:val|valid|validation|eval|test|dev)\b)"
                        r"(?!(?:ms|sec|secs|min|mins|hrs?)\))[A-Za-z][A-Za-z .]{1,29}\)\s*(?=[:=])",
                        re.IGNORECASE)
# minGPT's chargpt prints the time first: 'iter_dt 7797.46ms; iter 2: train loss 2.60938'
_TIME_FIRST = re.compile(r"\s*((?:iter_)?dt|time)\s*[:=]?\s*(\d[\d.]*\s*m?s)\s*;\s*(.+)$")
_PART = re.compile(r"(?P<key>[A-Za-z][A-Za-z_/ .-]*?)?\s*[:=]?\s*\(?"
                   r"(?P<num>[-+]?(?:nan|inf|\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+))"
                   r"\s*(?P<unit>.*)$", re.IGNORECASE)
_LOSS = {"loss", "lm loss"}  # the step's own loss
# a named train loss: the step's loss too, unless the line has a bare 'loss' as well (then it
# is the latest eval's train loss, which such lines repeat beside their val loss)
_TRAIN = {"train loss", "training loss", "train", "trl", "tr loss", "loss train", "train/loss"}
_VAL = re.compile(r"^(?:val|valid|validation|eval|evaluation|test|dev)(?:[ /]?loss)?$|"
                  r"^(?:loss[ /])?(?:val|valid|validation|eval)$")
_LR = {"lr", "learning rate", "lr0"}
_NORM = {"norm", "grad norm", "gnorm", "gradient norm", "grad", "grad norm total"}
_TIME = {"dt", "time", "step time", "iter time", "t", "iteration time", "time/step", "iter dt",
         "ms/iter", "ms/step", "time per iteration", "time per step"}
# the unit in the key; Megatron-style 'elapsed time per iteration (ms): 430.0'
_TIME_MS = {"dt ms", "time ms", "step ms", "step time ms", "iter ms", "time per iteration ms",
            "elapsed time per iteration ms", "time per step ms"}
_TPS = {"tok/s", "tok/sec", "tokens/s", "tokens/sec", "token/s", "token/sec", "tps",
        "tokens per second",
        "tokens per sec", "throughput", "tok per sec"}
_SCALE = {"k": 1e3, "m": 1e6, "g": 1e9}
# an eval line with no step ('val loss 3.5919', build-nanogpt forks): run at the top of the
# step after the last one printed, whose time (one iteration to the next) includes it
_STEPLESS_VAL = re.compile(r"(?:val|valid|validation|eval) loss\s*[:=]?\s*([-+]?(?:\d[\d.]*"
                           r"(?:[eE][-+]?\d+)?|nan|inf))$", re.IGNORECASE)
# a stepless test/train loss line of an eval block printed after its step's line (minGPT-style
# trainers, as makemore's 'step 500 train loss: … test loss: …' after step 500's line: 'test
# loss: 6.40', then the same as a tensor, 'test_loss:  tensor(6.3983)'): the eval of the step
# the log is at, its most precise value
_STEPLESS_TEST = re.compile(r"(test|train)[ _]loss\s*[:=]?\s*(tensor\(\s*)?([-+]?(?:\d+(?:\.(\d*))?"
                            r"(?:[eE][-+]?\d+)?|nan|inf))(?(2)\s*(?:\)|,[^()]*\))|)$",
                            re.IGNORECASE)
# a stepless time line under its step's line (tt-train: 'Step: 396, Loss: 1.36e+15', then
# 'Full step time 224.98 ms, cache entries: 90'); 'dataloader step time' lines after it are not
_TIME_BELOW = re.compile(r"(?:[A-Za-z]+ )?(?:step|iter|iteration) time\s*[:=]?\s*"
                         r"(\d+(?:\.\d+)?)\s*(ms|s)\b(?:[,;]|$)", re.IGNORECASE)
# nanoGPT's 'saving checkpoint to out'; makemore's 'test loss 0.09 is the best so far, saving
# model to out/model.pt'
_CKPT = re.compile(r"(?:.*,\s*)?saving (?:checkpoint|model) to (.+)$")


def read_fields(rest: str) -> dict[str, float | None]:
    """The labelled numbers of a line's text after its step, by schema field name (and
    'val_loss' / 'train_loss' for an eval); a field whose number is not finite is kept as
    NaN so that a NaN loss is seen."""
    out: dict[str, float | None] = {}
    parts = _SPLIT.split(_KEY_UNIT.sub("_ms", _QUALIFIER.sub("", rest.strip())))
    for i, part in enumerate(parts):
        m = _PART.match(part.strip())
        if m is None:
            continue
        key = " ".join((m.group("key") or "").lower().replace("_", " ").split()).rstrip(" :=")
        num = to_float(m.group("num"))
        unit = m.group("unit").strip().lower()
        if num is None:
            continue
        if not unit and "=" in part and i < len(parts) - 1 and key in _TIME:
            unit = "ms"  # 'dt=85.28 dtf=…': nanoGPT's ms; only the last field can be cut short
        name, value = _field(key, num, unit)
        # the first value wins, but a part that gave none ('(50.00%)' read as a time without
        # its unit) does not hide the labelled field after it
        if name is not None and out.get(name) is None:
            out[name] = value
    return out


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
    if key in _TPS or (not key and unit.startswith(("tok/s", "tokens/s", "tok/sec"))):
        return "tokens_per_s", num * _SCALE.get(unit[:1], 1.0)
    if key == "epoch time":  # the time of what the line counts (see _line_fields)
        return ("epoch_ms" if unit.startswith("ms") else "epoch_s"), _ms(num, unit)
    if key in _TIME_MS:
        return "dt_ms", num if not unit or unit.startswith("ms") else None
    if key in _TIME or not key:
        return "dt_ms", _ms(num, "ms" if key.startswith("ms/") and not unit else unit)
    return None, None


def _ms(num: float, unit: str) -> float | None:
    """A time in ms from its unit; no unit (a cut line, or a count) is no time."""
    if unit.startswith("ms"):
        return num
    if unit.startswith(("s ", "sec")) or unit == "s":
        return num * 1000.0
    return None


def _line_fields(text: str) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """(step, total, fields, by_epoch) of a training or eval line, None for any other line.
    by_epoch: an epoch summary (see _epoch_line)."""
    ep = _EPOCH.match(text)
    if ep is not None and _COUNTER.match(text, ep.end()):
        text = text[ep.end():]  # the epoch, then the step
    elif ep is not None:
        return _epoch_line(ep)
    m = _HEAD.match(text)
    if m is None and "%|" in text:
        return _bar_line(text)
    if m is None:
        lead = _TIME_FIRST.match(text)
        if lead is None:
            return None
        m = _HEAD.match(f"{lead.group(3)}; {lead.group(1)} {lead.group(2)}")
        if m is None:
            return None
    return _step_line(int(m.group(1)), m.group(2), m.group(3))


def _bar_line(text: str) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    """A tqdm bar with the step's fields in its postfix (``key=value`` after the elapsed time
    and the rate): its count is the steps done. A bar within an epoch or of an eval is not."""
    m = _BAR.match(text)
    if m is None or _BAR_NOT_STEPS.search(m.group("desc") or ""):
        return None
    postfix = ", ".join(p for p in m.group("inside").split(",") if "=" in p)
    got = _step_line(int(m.group("n")), m.group("total"), postfix)
    return None if got is None or "loss" not in got[2] else got


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


def _step_line(step: int, total: str | None, rest: str, epoch: bool = False
               ) -> tuple[int, int | None, dict[str, float | None], bool] | None:
    second = _COUNTER.match(rest)
    if second is not None:  # (never a field: only its gluing to a label's text matters)
        rest = rest[second.end():]
    fields = read_fields(rest)
    if "loss" not in fields and "train_loss" in fields:  # the one train loss is the step's
        fields = {("loss" if k == "train_loss" else k): v for k, v in fields.items()}
    # 'epoch time' is the time of the line's unit: an epoch's on an epoch line, a step's on a
    # step line when in ms (an epoch's elapsed time on a step line would be in seconds)
    epoch_ms, epoch_s = fields.pop("epoch_ms", None), fields.pop("epoch_s", None)
    if fields.get("dt_ms") is None and (epoch_ms is not None or epoch_s is not None):
        if epoch or epoch_ms is not None:
            fields["dt_ms"] = epoch_ms if epoch_ms is not None else epoch_s
    if "loss" not in fields and "val_loss" not in fields:
        return None
    return step, int(total) if total else None, fields, False


def detect(head: list[str]) -> float:
    """Confidence that these lines are a nanoGPT-like log in no specific format: kept below
    every specific format's confidence on its own lines, so it is the last resort. Eval
    lines alone count less: nanoGPT's own evals alone are nanoGPT's (0.5)."""
    hits = evals = 0
    for raw in head:
        got = _line_fields(clean_line(raw))
        if got is None:
            continue
        if "loss" in got[2] and ("val_loss" not in got[2] or "train_loss" in got[2] or got[3]):
            hits += 1  # a training line (perhaps repeating the latest eval beside its loss)
            if hits >= 3:
                return 0.55
        else:
            evals += 1
    if hits:
        return 0.25
    return 0.3 if evals >= 3 else 0.0


class Parser(StdoutParser):
    NAME = NAME
    EVAL_IN_DT = True  # forks time one iteration to the next, as nanoGPT

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._carried: tuple[float | None, float | None] | None = None  # eval on step lines
        self._trained = False  # a training line seen (else an eval line's time is a step's)
        # a step time printed on the line after its step's: once the log shows it (an
        # untimed iteration, then such a line), each untimed iteration waits for that line
        self._time_below = False
        self._untimed = False  # the last line read was an iteration without a time
        self._below: tuple[int, dict] | None = None  # the iteration waiting for its time
        self._train_ms: float | None = None  # an epoch's training time, before its summary
        # tqdm bars: a relaunch's bar counts from 0 again, its steps from the step it resumed
        # from ('Resumed from step 5000', then '499/500'): that step is added to its counts
        self._resumed_at: int | None = None  # said by the last resume line, before its bar
        self._bar_offset = 0
        self._bar_last: int | None = None  # the last bar's own count
        # an eval block's losses (see _STEPLESS_TEST): step, and per loss (value, decimals)
        self._block: tuple[int, dict[str, tuple[float | None, int]]] | None = None

    def finish(self) -> list[dict]:
        self._out = out = []
        self._flush_below(None)
        self._flush_block()
        return out + super().finish()

    def on_segment(self) -> None:
        self._carried, self._trained = None, False

    def peek_step(self, text: str) -> int | None:
        got = _line_fields(text)
        if got is None or "val_loss" in got[2] or got[3] or _BAR.match(text):
            return None  # (a bar's step depends on the resume state: see _bar_step)
        return got[0]

    def parse_line(self, text: str, lineno: int) -> bool:
        got = _line_fields(text)
        if got is None and self._time_line(text):
            return True
        if got is None and (m := _TRAIN_TIME.match(text)) is not None:
            self._train_ms = _ms(float(m.group(1)), m.group(2).lower())
            return True
        if got is None and (m := _RESUMED.match(text)) is not None and self.segment >= 0:
            self.resume_marker(None)
            self._resumed_at = int(m.group(1))
            return True
        self._untimed = False
        self._flush_below(None)
        if got is None and (m := _STEPLESS_TEST.match(text)) is not None:
            if self.last_iter_step is None or self.new_run_pending:
                return False
            self._block_loss(m)
            return True
        if got is not None:
            self._flush_block()
        if got is None:
            m = _STEPLESS_VAL.match(text)
            if m and self.last_iter_step is not None and not self.new_run_pending:
                self.evaluation(self.last_iter_step + 1, val_loss=to_float(m.group(1)))
                return True
            m = _CKPT.match(text)
            if m:  # nanoGPT's line, which forks keep (makemore's wording too)
                self.checkpoint(self.last_eval_step if self.last_eval_step is not None
                                else self.last_iter_step, m.group(1).strip())
                return True
            return False
        step, total, f, by_epoch = got
        if not by_epoch and _BAR.match(text):
            step, total = self._bar_step(step, total)
        train_ms, self._train_ms = self._train_ms, None
        if total is not None:
            self.planned_steps(total)
        for name in f:
            if name not in self.stats.fields:
                self.stats.fields.append(name)
        if by_epoch:  # an epoch summary: the epoch's eval, then the epoch as a step (its
            # time includes the eval; the training time printed before it does not: then that
            # is the step's time, and the epoch's moves the clock)
            self.evaluation(step, train_loss=f["loss"], val_loss=f["val_loss"])
            self._trained = True
            dt, clock = f.get("dt_ms"), None
            if train_ms is not None and dt is not None and math.isfinite(dt):
                dt, clock = None, self.elapsed + f["dt_ms"] / 1000.0
            self.iteration(step, loss=f["loss"], lr=f.get("lr"), grad_norm=f.get("grad_norm"),
                           dt_ms=dt, step_ms=train_ms, tokens_per_s=f.get("tokens_per_s"),
                           mfu=f.get("mfu"), clock_s=clock)
            return True
        if "val_loss" in f and "train_loss" in f and "loss" in f:
            self._carried_eval(step, f["train_loss"], f["val_loss"])
        elif "val_loss" in f:
            if not self._trained and f.get("dt_ms") is not None:
                # eval lines only, with the time per iteration since the last eval: the step
                # the eval follows is an iteration with that step time (no loss)
                self.iteration(step, step_ms=f["dt_ms"])
            self.evaluation(step, train_loss=f.get("loss"), val_loss=f["val_loss"])
            return True
        self._trained = True
        fields = dict(loss=f["loss"], lr=f.get("lr"), grad_norm=f.get("grad_norm"),
                      dt_ms=f.get("dt_ms"), tokens_per_s=f.get("tokens_per_s"), mfu=f.get("mfu"))
        self._untimed = fields["dt_ms"] is None
        if self._untimed and self._time_below:
            self._below = (step, fields)
        else:
            self.iteration(step, **fields)
        return True

    def _bar_step(self, n: int, total: int | None) -> tuple[int, int | None]:
        """The step of a bar's count n (and the total's), after a resume whose bar counts
        from 0 again: a count below the step the log said it resumed from is added to it; a
        count going back with no resume line before it is a new bar of its own."""
        if self._resumed_at is not None:
            self._bar_offset = self._resumed_at if n < self._resumed_at else 0
            self._resumed_at = None
        elif self._bar_last is not None and n < self._bar_last:
            self._bar_offset = 0
        self._bar_last = n
        off = self._bar_offset
        return n + off, (total + off if total is not None else None)

    def _block_loss(self, m: re.Match) -> None:
        """A loss of an eval block at the step the log is at: kept with its decimals, so
        that the tensor's 6.3983 wins over the same value printed as 6.40."""
        step = self.last_iter_step
        if self._block is not None and self._block[0] != step:
            self._flush_block()
        if self._block is None:
            self._block = (step, {})
        name = "val" if m.group(1).lower() == "test" else "train"
        digits = len(m.group(4) or "")
        if name not in self._block[1] or digits >= self._block[1][name][1]:
            self._block[1][name] = (to_float(m.group(3)), digits)

    def _flush_block(self) -> None:
        """The eval of an eval block, once a step line or the end comes after it (only with
        a test loss: a train loss alone is no eval)."""
        if self._block is None:
            return
        (step, losses), self._block = self._block, None
        if "val" in losses:
            self.evaluation(step, train_loss=losses.get("train", (None, 0))[0],
                            val_loss=losses["val"][0])

    def _time_line(self, text: str) -> bool:
        """A stepless step time right under an untimed iteration line: that step's time."""
        below = _TIME_BELOW.match(text)
        if below is None or (self._below is None and not self._untimed):
            return False
        self._time_below = True  # (the first such line: its step was read without it)
        self._untimed = False
        self._flush_below(_ms(float(below.group(1)), below.group(2).lower()))
        return True

    def _flush_below(self, dt_ms: float | None) -> None:
        """The iteration that waited for the line below it, with that line's time if any."""
        if self._below is not None:
            (step, fields), self._below = self._below, None
            self.iteration(step, **{**fields, "dt_ms": dt_ms})

    def _carried_eval(self, step: int, train: float | None, val: float | None) -> None:
        """A step line that repeats the latest eval's losses beside its own (wordplay's
        'loss=… train_loss=… val_loss=…'): the eval counts once, when its values change."""
        if (train, val) == self._carried:
            return
        self.evaluation(step, train_loss=train, val_loss=val)
        self._carried = (train, val)  # after the eval: a new segment it opens resets it
