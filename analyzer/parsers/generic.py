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
loss: 6.40``, ``test_loss:  tensor(6.3983)``): that step's eval; a fork's tag before an
``update`` counter (``2D1 update=1101/4769 stage=C … loss=2.997812``: the tag is no field, the
update the step) and its guard's ``hard stop`` line (the run's end if no training follows);
``evaluation step 19 | … | val 9.541013``: an eval (its one loss is the val loss).

Step lines with a time and no loss (``step  251/1840 | time: 8,566ms | step avg: 34.13ms``)
are loss-less iterations, unless the log's step lines print a loss (then they are skipped).
Beside a running ``step avg``, a plain ``time`` is the cumulative clock: the step time is its
difference to the previous line's over the steps between, never the clock. A timed line with
a train and a val loss (litgpt's ``loss train: 2.846, val: 2.861 | iter time: 112.20 ms``) is
held until the next: the same val beside another train loss shows the log repeats its latest
val on training lines (each line an iteration, the val one eval); otherwise it is an eval.

Unknown labels are ignored; a line without a step or any loss is skipped and counted. The
fields found are listed in ``run.stats.fields``. The format is reported as ``generic``; the
other line shapes it reads are in generic_lines.py (see docs/parsers.md).
"""
from __future__ import annotations

import math
import re

from analyzer.parsers._shared_lines import RESUMED
from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, to_float
from analyzer.parsers.generic_blocks import block_field, block_header, metric_line
from analyzer.parsers.generic_clock import Clocks
from analyzer.parsers.generic_steps import StepRecords
from analyzer.parsers.generic_keras import epoch_line, epoch_loss, headerless_line, progress_line
from analyzer.parsers.generic_fields import fill_repeat, ms_of, read_fields, train_and_val
from analyzer.parsers.generic_lines import (BAR, CKPT, END_OF_EPOCH, GUARD_STOP, MEGATRON_VAL,
                                            SPLIT_LOSS, STEPLESS_TEST, STEPLESS_VAL, TF_HOOK,
                                            TIME_BELOW, TRAIN_TIME, epoch_step, line_fields)
from analyzer.parsers.generic_table import header_roles, is_rule, row_values

NAME = "generic"


def _same(a: float | None, b: float | None) -> bool:
    """The same printed value (NaN as NaN), both present."""
    return a is not None and b is not None and (a == b or (math.isnan(a) and math.isnan(b)))


def detect(head: list[str]) -> float:
    """Confidence that these lines are a nanoGPT-like log in no specific format: kept below
    every specific format's confidence on its own lines, so it is the last resort. Eval
    lines alone count less (nanoGPT's own evals alone are nanoGPT's, 0.5), and two of them
    are enough (a course's 'step: 100, train loss: 6.863, val loss: 6.944' every 100 of 200
    steps)."""
    hits = evals = rows = timed = 0
    roles = None  # a table's columns (see generic_table)
    in_block = False  # under a step block's header (generic_blocks)
    keras = False  # an 'Epoch 3/25' line seen (generic_keras)
    for raw in head:
        text = clean_line(raw)
        if in_block and (field := block_field(text)) is not None:
            hits += field[0] == "loss"
            if hits >= 3:
                return 0.55
            continue
        in_block = block_header(text) is not None
        if (metric := metric_line(text)) is not None:
            hits += metric[1][0] == "loss"
            continue
        if "loss = " in text and TF_HOOK.match(text):
            hits += 1
            continue
        if (keras and (k := progress_line(text)) is not None and "loss" in k
                or not keras and headerless_line(text) is not None):
            hits += 1  # a Keras epoch's summary line (generic_keras)
            if hits >= 3:
                return 0.55
            continue
        if keras and (loss := epoch_loss(text)) is not None:
            hits += loss[0] == "loss"  # an epoch's train loss alone on its line
            if hits >= 3:
                return 0.55
            continue
        keras = keras or epoch_line(text) is not None
        got = line_fields(text)
        if got is None and roles is not None and row_values(text, roles) is not None:
            rows += 1
            if rows >= 3:
                return 0.55
        elif got is None:
            roles = header_roles(text) or roles
        if got is None:
            continue
        if "loss" in got[2] and ("val_loss" not in got[2] or "train_loss" in got[2] or got[3]):
            hits += 1  # a training line (perhaps repeating the latest eval beside its loss)
            if hits >= 3:
                return 0.55
        elif "val_loss" in got[2]:
            evals += 1
        else:  # a named step with its time and no loss (Megatron's skipped iterations)
            timed += 1
    if hits or rows or timed >= 3:
        return 0.25
    return 0.3 if evals >= 3 else 0.2 if evals == 2 else 0.0


class Parser(Clocks, StepRecords, StdoutParser):
    NAME = NAME
    EVAL_IN_DT = True  # forks time one iteration to the next, as nanoGPT

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._carried: tuple[float | None, float | None] | None = None  # eval on step lines
        self._repeated = False  # (its values seen again on a line after their eval)
        self._trained = False  # a training line seen (else an eval line's time is a step's)
        # a step time printed on the line after its step's: once the log shows it (an
        # untimed iteration, then such a line), each untimed iteration waits for that line
        self._time_below = False
        self._untimed = False  # the last line read was an iteration without a time
        self._below: tuple[int, dict] | None = None  # the iteration waiting for its time
        self._untimed_loss: float | None = None  # that iteration's loss (see _second_line)
        self._epochs: tuple[int, int, int, int | None] | None = None  # see epoch_step
        self._table: list[str | None] | None = None  # a table's columns (generic_table)
        self._train_ms: float | None = None  # an epoch's training time, before its summary
        # tqdm bars: a relaunch's bar counts from 0 again, its steps from the step it resumed
        # from ('Resumed from step 5000', then '499/500'): that step is added to its counts
        self._resumed_at: int | None = None  # said by the last resume line, before its bar
        self._bar_offset = 0
        self._bar_last: int | None = None  # the last bar's own count
        # an eval block's losses (see STEPLESS_TEST): step, and per loss (value, decimals)
        self._block: tuple[int, dict[str, tuple[float | None, int]]] | None = None
        # a cumulative clock beside a step average: (step, clock ms) of the last line timed
        self._clock: tuple[int, float] | None = None
        self._clocked = False  # the log's 'time' beside its step average is a clock
        self._grown: list[tuple[int, float]] = []  # step times that only grew (see Clocks)
        self._lossy = False  # a step line with a loss seen: loss-less ones are then no steps
        # a timed line with a train and a val loss (litgpt: 'iter 3050700 step 610140 | loss
        # train: 2.846, val: 2.861 | iter time: 112.20 ms'): an eval, or a training line that
        # repeats the latest val beside its loss; the next such line decides (its val the
        # same, its train loss not: they carry it), and once decided, the log does
        self._pending: tuple[int, dict[str, float | None]] | None = None
        self._carries_val = False
        # a log that times nothing but stamps its lines (Python logging's asctime): the
        # (step, seconds) of the last stamped training line; whether an eval or checkpoint
        # came since (that interval is no training step's); whether the stamps stood still
        # while steps advanced (output stamped when a buffer was flushed: they time nothing)
        self._stamp: tuple[int, float] | None = None
        self._stamp_read: tuple[int, float] | None = None  # the line's, kept after it
        self._stamp_dirty = False
        self._stamps_off = False
        # a step block being read (generic_blocks): step, planned steps, the header's raw
        # line (its timestamp), the fields so far
        self._block_step: tuple[int, int | None, str, dict[str, float | None]] | None = None
        self._keras_epoch: tuple[int, int] | None = None  # Keras' 'Epoch 3/25' (generic_keras)

    def finish(self) -> list[dict]:
        self._out = out = []
        self._flush_step_block()
        self._flush_below(None)
        self._flush_block()
        self._flush_pending()
        return out + super().finish()

    def on_segment(self) -> None:
        self._carried, self._repeated, self._trained, self._clock = None, False, False, None
        self._stamp, self._stamp_dirty = None, False

    def evaluation(self, step: int | None, **losses: float | None) -> None:
        self._stamp_dirty = True
        super().evaluation(step, **losses)

    def checkpoint(self, step: int | None, path: str, val_loss: float | None = None) -> None:
        self._stamp_dirty = True
        super().checkpoint(step, path, val_loss)

    def _fields(self, text: str, keep: bool = True
                ) -> tuple[int, int | None, dict[str, float | None], bool] | None:
        """line_fields, a count within an epoch made the run's step (``keep``: remember
        where the epochs are)."""
        got = line_fields(text)
        if got is None or "epoch" not in got[2]:
            return got
        step, epochs = epoch_step(self._epochs, int(got[2].pop("epoch")), got[0], got[1])
        if keep:
            self._epochs = epochs
        n_epochs, total = got[2].pop("epochs", None), got[1]  # (the count's total: an epoch's)
        return step, total * int(n_epochs) if total and n_epochs else total, got[2], got[3]

    def peek_step(self, text: str) -> int | None:
        got = self._fields(text, keep=False)
        if got is None or "val_loss" in got[2] or got[3] or BAR.match(text):
            return None  # (a bar's step depends on the resume state: see _bar_step)
        if "loss" not in got[2] and self._lossy:
            return None  # (skipped: see parse_line)
        return got[0]

    def parse_line(self, text: str, lineno: int) -> bool:
        if (metric := metric_line(text)) is not None:
            return self._metric_line(*metric)
        if self._block_step is not None:
            field = block_field(text)
            if field is not None:
                if field[0] and field[0] not in self._block_step[3]:
                    self._block_step[3][field[0]] = field[1]
                return True
            self._flush_step_block()
        header = block_header(text)
        if header is not None:
            self._block_step = (*header, self.raw_line, {})
            return True
        if ("loss = " in text or "Saving checkpoints for" in text
                or "Loss for final step" in text) and self._tf_hook(text):
            return True
        if (epoch := epoch_line(text)) is not None:
            self._keras_epoch = epoch
            return True
        if self._keras_epoch is not None and (k := progress_line(text)) is not None:
            self._keras_progress(k)
            return True
        if self._keras_epoch is not None and (loss := epoch_loss(text)) is not None:
            return self._epoch_loss(*loss)
        if self._keras_epoch is None and (k := headerless_line(text)) is not None:
            seconds = k.get("epoch_s")  # (a finished fit's seconds move the clock)
            self._trained = True
            self.iteration(int(k["count"]), loss=k["loss"], lr=k.get("lr"),
                           step_ms=k["step_ms"],
                           clock_s=self.elapsed + seconds if seconds is not None else None)
            return True
        got = self._fields(text)
        if got is not None and self._second_line(got):
            return True
        if got is None and self._table_line(text):
            return True
        if self._pending is not None and (got is None or not train_and_val(got[2])):
            self._flush_pending()
        if got is None and self._time_line(text):
            return True
        if got is None and (m := MEGATRON_VAL.search(text)) is not None:
            return self._megatron_val(m)
        if got is None and (m := TRAIN_TIME.match(text)) is not None:
            self._train_ms = ms_of(float(m.group(1)), m.group(2).lower())
            return True
        if got is None and (m := RESUMED.search(text)) is not None and self.segment >= 0:
            self.resume_marker(None)
            self._resumed_at = int(m.group(1))
            return True
        self._untimed = False
        self._flush_below(None)
        if got is None and (m := STEPLESS_TEST.match(text) or SPLIT_LOSS.match(text)):
            if self.last_iter_step is None or self.new_run_pending:
                return False
            self._block_loss(m.group(1), m.group(3), m.group(4))
            return True
        if got is not None:
            self._flush_block()
        if got is None:
            m = STEPLESS_VAL.match(text)
            if m and self.last_iter_step is not None and not self.new_run_pending:
                self.evaluation(self.last_iter_step + 1, val_loss=to_float(m.group(1)))
                return True
            m = END_OF_EPOCH.match(text)
            if m and self.last_iter_step is not None and not self.new_run_pending:
                val = read_fields(m.group(1)).get("val_loss")
                if val is not None:  # after the epoch's last printed batch
                    self.evaluation(self.last_iter_step, val_loss=val)
                    return True
            if self.last_iter_step is not None and GUARD_STOP.match(text):
                self._exception = text.strip()  # (cleared if training goes on after it)
                return True
            m = CKPT.match(text)
            if m:  # nanoGPT's line, which forks keep (makemore's wording too)
                self.checkpoint(self.last_eval_step if self.last_eval_step is not None
                                else self.last_iter_step, m.group(1).strip())
                return True
            return False
        step, total, f, by_epoch = got
        if not by_epoch and BAR.match(text):
            step, total = self._bar_step(step, total)
        if "loss" not in f and "val_loss" not in f and self._lossy:
            return False  # a step line without a loss where steps print one: not a step
        train_ms, self._train_ms = self._train_ms, None
        if total is not None:
            self.planned_steps(total)
        if "clock_ms" in f or self._grown_clock(step, f):
            f = self._clock_or_time(step, f)
        for name in f:
            if name not in self.stats.fields and name not in ("clock_ms", "step_avg_ms",
                                                              "eval_ms"):
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
        if train_and_val(f):
            return self._val_beside(step, f)
        if "val_loss" in f and "train_loss" in f and "loss" in f:
            self._carried_eval(step, f["train_loss"], f["val_loss"])
        elif "val_loss" in f:
            self._eval_line(step, f)
            return True
        self._train_line(step, f)
        return True

    def _train_line(self, step: int, f: dict[str, float | None]) -> None:
        """A training line: its iteration (waiting for a time printed below it, if the log
        does that). A line without a loss (its step and time only) is a loss-less one."""
        self._trained = True
        self._lossy = self._lossy or "loss" in f
        fields = dict(loss=f.get("loss"), lr=f.get("lr"), grad_norm=f.get("grad_norm"),
                      dt_ms=f.get("dt_ms"), tokens_per_s=f.get("tokens_per_s"), mfu=f.get("mfu"))
        if f.get("step_ms") is not None:
            fields["step_ms"] = f["step_ms"]
        elif fields["dt_ms"] is None and "clock_ms" not in f:
            fields["step_ms"] = self._stamp_ms(step)
        if fill_repeat(self._out, step, fields):
            return
        self._untimed = fields["dt_ms"] is None and "clock_ms" not in f
        self._untimed_loss = fields["loss"]
        stamp, self._stamp_read = self._stamp_read, None
        if self._untimed and self._time_below:
            self._below = (step, fields)
        else:
            self.iteration(step, **fields)
        if stamp is not None:  # (after the iteration: a segment it opens starts afresh)
            self._stamp = stamp

    def _eval_line(self, step: int, f: dict[str, float | None]) -> None:
        if not self._trained and (f.get("dt_ms") is not None or f.get("step_ms") is not None):
            # eval lines only, with the time per iteration since the last eval: the step
            # the eval follows is an iteration with that step time (no loss)
            self.iteration(step, step_ms=f["dt_ms"] if f.get("dt_ms") is not None
                           else f["step_ms"])
        self.evaluation(step, train_loss=f.get("loss"), val_loss=f["val_loss"],
                        eval_ms=f.get("eval_ms"))

    def _val_beside(self, step: int, f: dict[str, float | None]) -> bool:
        """A timed line with a train loss and a val loss (see _pending)."""
        held = self._pending
        if not self._carries_val and held is not None:
            same_val = held[1]["val_loss"] == f["val_loss"]
            if step > held[0] and same_val and held[1]["loss"] != f["loss"]:
                self._carries_val = True  # (the held line is the first of them)
            else:
                self._flush_pending()
        if not self._carries_val:
            self._pending = (step, f)
            return True
        self._flush_pending()
        self._train_line(step, f)
        self._carried_eval(step, None, f["val_loss"])
        return True

    def _flush_pending(self) -> None:
        """The held train-and-val line: an eval, unless the log carries its val (then a
        training line with the latest val beside it)."""
        if self._pending is None:
            return
        (step, f), self._pending = self._pending, None
        if self._carries_val:
            self._train_line(step, f)
            self._carried_eval(step, None, f["val_loss"])
        else:
            self._eval_line(step, f)

    def _megatron_val(self, m: re.Match) -> bool:
        """Megatron's validation line (see MEGATRON_VAL): an eval at its iteration, or the
        end-of-training eval at the last step (a second eval there, never a repeat of the
        loop's last one)."""
        if m.group(1) is not None:
            self.evaluation(int(m.group(1)), val_loss=to_float(m.group(3)))
            return True
        if self.last_iter_step is None:
            return False
        self._eval_step = None  # (evaluation() drops a same-step eval printed again)
        self.evaluation(self.last_iter_step, val_loss=to_float(m.group(3)))
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

    def _block_loss(self, split: str, value: str, decimals: str | None) -> None:
        """A loss of an eval block at the step the log is at: kept with its decimals, so
        that the tensor's 6.3983 wins over the same value printed as 6.40."""
        step = self.last_iter_step
        if self._block is not None and self._block[0] != step:
            self._flush_block()
        if self._block is None:
            self._block = (step, {})
        name = "train" if split.lower() == "train" else "val"
        digits = len(decimals or "")
        if name not in self._block[1] or digits >= self._block[1][name][1]:
            self._block[1][name] = (to_float(value), digits)

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
        below = TIME_BELOW.match(text)
        if below is None or (self._below is None and not self._untimed):
            return False
        self._time_below = True  # (the first such line: its step was read without it)
        self._untimed = False
        self._flush_below(ms_of(float(below.group(1)), below.group(2).lower()))
        return True

    def _second_line(self, got: tuple[int, int | None, dict[str, float | None], bool]) -> bool:
        """A step's second line, timed, right under its untimed first with the same loss
        ('step : 3, loss: 8.91', then 'step : 3 | loss: 8.91 | dt: 176.75 ms'): one step, with
        the second line's values. The first such pair teaches the parser to hold each untimed
        line for its second (as for a time printed below: that first step keeps no time)."""
        step, _, f, by_epoch = got
        if by_epoch or f.get("dt_ms") is None or "val_loss" in f or "clock_ms" in f:
            return False
        if self._below is not None and self._below[0] == step and _same(self._below[1]["loss"],
                                                                         f.get("loss")):
            first, self._below = self._below[1], None
            self._untimed = False
            self.iteration(step, **{**first, **{k: v for k, v in f.items()
                                                      if k in first and v is not None}})
            return True
        if self._untimed and self.last_iter_step == step and _same(self._untimed_loss,
                                                                   f.get("loss")):
            self._time_below, self._untimed = True, False
            return True
        return False

    def _table_line(self, text: str) -> bool:
        """A table's header, its markdown rule, or one of its rows: a row with a val loss is
        an eval, and one with a train loss an iteration, at the row's step."""
        if self._table is not None and is_rule(text):
            return True
        row = row_values(text, self._table) if self._table is not None else None
        if row is None:
            roles = header_roles(text)
            if roles is not None:
                self._table = roles
            return roles is not None
        step, values = row
        if "val_loss" in values:
            self.evaluation(step, train_loss=values.get("loss"), val_loss=values["val_loss"])
        if "loss" in values:
            self._trained = True
            self.iteration(step, loss=values["loss"], lr=values.get("lr"))
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
            self._repeated = True
            return
        # repeated values change on the line after their eval, which ran since the line
        # before (wordplay: at step 100, seen at step=110); values that change on every
        # line are each line's own eval (a notebook's 'estimated validation loss')
        last = self.last_iter_step
        at = last if self._repeated and last is not None and last < step else step
        self.evaluation(at, train_loss=train, val_loss=val)
        self._carried = (train, val)  # after the eval: a new segment it opens resets it
