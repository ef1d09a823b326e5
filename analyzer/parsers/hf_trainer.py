"""Hugging Face ``Trainer`` stdout: the dicts it prints at each logging step, tqdm bars around.

::

     37%|███▋      | 1272/3414 [12:39<23:44,  1.50it/s]{'loss': 1.178, 'grad_norm': 1.109,
         'learning_rate': 5e-05, 'epoch': 2.0}
    {'eval_loss': 1.137, 'eval_runtime': 8.652, ..., 'epoch': 2.0}
    {'train_runtime': 2279.0, 'train_samples_per_second': 2.996, ..., 'train_loss': 1.229}

(recent versions print the numbers as strings, ``{'loss': '1.178', ...}``: both are read).

Meaning: the dict's keys are mapped like TensorBoard tags (``analyzer.parsers._scalars``):
``loss``, ``learning_rate`` -> lr, ``grad_norm``, ``eval_loss`` -> val_loss; the other keys
(``epoch``, ``eval_runtime``, the final ``train_loss`` average...) are named metrics. A dict
carries no step: it is the progress bar's count (optimizer steps) when a training bar was
printed since the previous dict, else the previous step plus the previous interval (1 at
first; the logging interval when the log prints it: '--logging-steps 10', the
TrainingArguments repr's 'logging_steps=10,'), so a log whose bars were cleared counts
logging steps. The bar's rate (``it/s``, ``s/it``) gives ``dt_ms`` and its elapsed time the
event time. An eval dict belongs to the step of the dict before it. The ``train_runtime``
dict ends the run ('completed').
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from analyzer.parsers import _scalars
from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import to_float

NAME = "hf_trainer"

# '{'loss': ...}' or "{'eval_loss': ...}": the dicts the Trainer prints
_DICT = re.compile(r"\{'(?:loss|eval_[\w./-]+|train_runtime|learning_rate|grad_norm|epoch)'"
                   r"[^{}]*\}")
_PAIR = re.compile(r"'([^']{1,100})':\s*'?([-+\w.]{1,40})'?")
# ' 37%|███▋ | 1272/3414 [12:39<23:44,  1.50it/s]' (rate '?it/s' before the first step)
_BAR = re.compile(r"(\d{1,15})/(\d{1,15}) \[([\d:]{1,20})<[^,\]]{0,20},\s*([\d.]{1,20}|\?)"
                  r"(it/s|s/it)")
_BAR_LINE = re.compile(r"\s*\d+%\|")  # the training bar has no label before its percentage
# the Trainer's log_metrics() block (run_clm.py and the other example scripts print it at the
# end): '***** eval metrics *****', then '  eval_loss               =        nan' lines
_BLOCK = re.compile(r"\*{5} (train|eval|predict|test) metrics \*{5}$")
_BLOCK_ROW = re.compile(r"\s+([\w./-]{1,100})\s*=\s*(\S{1,40})$")
_ITER_KEYS = frozenset(_scalars.ITER_TARGETS)
# the logging interval as a command line or TrainingArguments' repr prints it (a whole number
# of steps; a fraction, a ratio of the total in newer versions, says nothing here)
_LOGGING_STEPS = re.compile(r"(?:--logging[_-]steps[= ]|\blogging_steps\s*[=:]\s*)"
                            r"(\d+)\b(?![.\d])")
_WINDOW = 2000  # characters before a dict searched for its progress bar (bars are ~200)
_RUNNING = "***** Running training *****"  # the Trainer's banner before its first step
_MAX_BAR_STEPS = 100_000  # bar steps kept before a first dict (a bar redrawn per step)


def detect(head: list[str]) -> float:
    """Confidence that these first lines are a Trainer's stdout: its logging dicts."""
    hits, banner = 0, False
    for line in head:
        line = line[-_WINDOW:]  # a dict ends its line; bounded work on a hostile one
        m = _DICT.search(line)
        if m and ("'epoch'" in line or "'learning_rate'" in line or "'eval_loss'" in line
                  or "'grad_norm'" in line) \
                or _BLOCK.match(line.strip()):
            hits += 1
            if hits >= 2:
                return 0.9
        elif _RUNNING in line:
            banner = True
    return 0.6 if hits or banner else 0.0


def _seconds(clock: str) -> float | None:
    """A clock in seconds: a bar's '12:39', the metrics block's '0:03:40.69'; None if it is
    not one."""
    try:
        total = 0.0
        for p in clock.split(":"):
            total = total * 60 + float(p)
    except ValueError:
        return None
    return total


def _bar_ms(bar: re.Match) -> float | None:
    """A bar's rate (``1.50it/s``, ``2.00s/it``) as ms per step; None before the first step
    ('?it/s') or at a rate of 0."""
    rate = to_float(bar.group(4))
    if rate is None or not rate > 0:
        return None
    return 1000.0 / rate if bar.group(5) == "it/s" else 1000.0 * rate


def _steps_taken(step: int | None, runtime: float | None, per_s: float | None) -> int | None:
    """The optimizer steps of the training: the last step counted, unless the Trainer's own
    train_steps_per_second x train_runtime says otherwise beyond its rounding (a log that
    printed no bar and no logging interval counts dicts, not steps: 1272 dicts of a run of
    12,721 steps at 0.822 steps/s for 15,476 s)."""
    if runtime is None or per_s is None or not per_s > 0:
        return step
    steps = runtime * per_s
    slack = runtime * 0.0005 + 1  # per_s is printed to three decimals
    if step is not None and step > 0 and abs(step - steps) <= slack:
        return step
    return max(1, round(steps))


class Parser(StdoutParser):
    NAME = NAME

    def __init__(self, run_id: str = "log", tag_map: Mapping[str, str] | None = None) -> None:
        super().__init__(run_id)
        self.tag_map = dict(tag_map or {})
        self._bars: dict[int, re.Match] = {}
        self._bar: re.Match | None = None      # training bar seen since the last dict
        self._total = 0                        # the training bar's length (the largest)
        self._step: int | None = None
        self._gap = 1
        self._end_step: int | None = None  # where the train_runtime dict said it completed
        self._block: tuple[str, dict[str, float | None]] | None = None  # a metrics block
        self._running = False  # the Trainer's '***** Running training *****' banner seen
        # (step, dt_ms, clock_s) of the training bars before any dict: the steps of a log cut
        # (or crashed) before its first logging step, emitted only if no dict ever comes
        self._bar_steps: list[tuple[int, float | None, float | None]] = []
        # a paste's first dict with no bar before it, and the first bar after it (see
        # _flush_held)
        self._held_dict: dict[str, float | None] | None = None
        self._held_bar: re.Match | None = None

    def feed(self, lines: list[str], first_lineno: int) -> list[dict[str, Any]]:
        # a '\r' progress stream leaves only its last part in the cleaned line: the bars
        # printed before a dict on the same line are read from the raw text here
        self._bars = {}
        for i, raw in enumerate(lines):
            if "it/s" in raw or "s/it" in raw:
                # the bar that counts is the last one before the dict (or the line's end): a
                # bounded window, so that a megabyte of '\r' updates costs no more than one
                end = raw.rfind("{'")
                end = len(raw) if end < 0 else end
                last = None
                for m in _BAR.finditer(raw[max(0, end - _WINDOW):end]):
                    last = m
                if last is not None:
                    self._bars[first_lineno + i] = last
        return super().feed(lines, first_lineno)

    def parse_line(self, text: str, lineno: int) -> bool:
        if self._block is not None:
            row = _BLOCK_ROW.match(text)
            if row is not None:
                key, value = row.groups()
                # the block prints runtimes as clocks: 'train_runtime = 0:03:40.69'
                self._block[1][key] = (_seconds(value) if key.endswith("_runtime")
                                       and ":" in value else to_float(value))
                return True
            self._end_block()
        block = _BLOCK.match(text.strip())
        if block is not None:
            self._block = (block.group(1), {})
            return True
        bar = self._bars.get(lineno)
        if bar is not None and not self._ended and int(bar.group(2)) >= self._total:
            # (after the run's train_runtime dict, a bar is an evaluation's)
            self._total = int(bar.group(2))
            self._bar = bar
            if self._running and self._step is None:
                self._bar_step(bar)
            if self._held_dict is not None and self._held_bar is None:
                self._held_bar = bar
            elif self._held_dict is not None:
                self._flush_held(self._held_bar)
        if _RUNNING in text:
            self._running = True
        m = _DICT.search(text)
        if m is None:
            every = _LOGGING_STEPS.search(text)
            if every is not None and int(every.group(1)) > 0 and self._step is None:
                self._gap = int(every.group(1))  # (the first dict's step too)
                return True
            return bar is not None or _BAR_LINE.match(text) is not None
        self._flush_held(None)
        values = {k: to_float(v) for k, v in _PAIR.findall(m.group(0))}
        if "train_runtime" in values:
            self._final(values)
        elif any(k.startswith("eval_") for k in values):
            self._eval(values)
        else:
            self._train(values)
        return True

    def finish(self) -> list[dict[str, Any]]:
        self._out = out = []
        self._flush_held(self._held_bar)
        self._flush_bar_steps()
        if self._block is not None:  # the log ends with the block
            self._end_block()
        return out + super().finish()

    def _end(self, status: str, error: str | None, step: int | None = None,
             wall_s: float | None = None, steps: int | None = None) -> None:
        self._flush_held(self._held_bar)
        self._flush_bar_steps()  # (a crash before the first logging step ends those steps)
        super()._end(status, error, step, wall_s=wall_s, steps=steps)

    def _read(self, text: str, lineno: int) -> None:
        if self._bar_steps and "Traceback" in text:
            self._flush_bar_steps()  # the steps the traceback ends (it needs a run to end)
        super()._read(text, lineno)

    def _eval_ms(self, values: dict[str, float | None]) -> float | None:
        """An eval's own time, its ``eval_runtime`` (seconds) in ms; None after the training
        (an evaluate() then is not in the training's runtime)."""
        runtime = values.get("eval_runtime")
        if self._ended or runtime is None or not runtime >= 0:
            return None
        return runtime * 1000.0

    def _bar_step(self, bar: re.Match) -> None:
        """A training bar before any dict: its count, the time per step its rate says and
        its elapsed clock, kept in case no dict ever comes (see _flush_bar_steps)."""
        count = int(bar.group(1))
        if count <= 0 or (self._bar_steps and count <= self._bar_steps[-1][0]) \
                or len(self._bar_steps) >= _MAX_BAR_STEPS:
            return
        self._bar_steps.append((count, _bar_ms(bar), _seconds(bar.group(3))))

    def _flush_bar_steps(self) -> None:
        """The bars' steps as iterations without a loss, for a log whose Trainer printed its
        banner and bars but no dict (an issue's paste up to an out-of-memory error at step
        9): a dict, once one comes, says the steps instead (see _train)."""
        if self._step is None and not self._ended:
            steps, self._bar_steps = self._bar_steps, []
            for count, dt, clock in steps:
                self.iteration(count, dt_ms=dt, clock_s=clock)
            if steps:
                self._step = steps[-1][0]

    def _end_block(self) -> None:
        """A log_metrics() block read whole: an eval's is one more evaluation (the metrics
        of the training block repeat the train_runtime dict printed before it)."""
        kind, values = self._block
        self._block = None
        self._bar = None  # the bar before the block is the evaluation's own
        if kind == "eval" and values and self._step is not None:
            self._eval(values)
        elif kind == "eval" and values:  # no step logged: the eval of no known step
            val = next((x for k, x in values.items() if self._target(k) == "val_loss"), None)
            self.evaluation(None, val_loss=val, eval_ms=self._eval_ms(values))
        elif kind == "train" and values.get("train_runtime") is not None and not self._ended:
            self._final(values)  # a log that prints the block but not the dict

    def _target(self, key: str) -> str:
        if key in self.tag_map:
            return self.tag_map[key]
        return _scalars.default_target(key)[0]

    def _flush_held(self, bar: re.Match | None) -> None:
        """The held first dict at ``bar``'s count. A bar redrawn after a dict shows the
        dict's step when more bars follow it before the next dict ('{loss…}', 2564/10485,
        2565/10485, '{loss…}'), or when the log ends; a lone bar between two dicts is the
        second one's (a bar printed before each dict): then the first is placed as a first
        dict without a bar is."""
        if self._held_dict is None:
            return
        values, self._held_dict, self._held_bar = self._held_dict, None, None
        keep, self._bar = self._bar, bar
        self._train(values, hold=False)
        self._bar = keep if keep is not bar else None

    def _train(self, values: dict[str, float | None], hold: bool = True) -> None:
        """A training dict: at the count of the bar printed since the last dict, else the
        last dict's step and the logging interval. A log's first dict with no bar before
        it (a paste starting at the dict) waits for the bar after it (``hold``)."""
        if hold and self._bar is None and self._step is None:
            self._held_dict = values
            return
        self._bar_steps = []  # (the dicts say the steps)
        bar, self._bar = self._bar, None
        if bar is not None:  # (a bar still at 0 has not been updated yet: the Trainer logs
            step = max(int(bar.group(1)), 1)  # after its first optimizer step at the earliest)
        else:
            step = (self._step if self._step is not None else 0) + self._gap
        if self._step is not None and step > self._step:
            self._gap = step - self._step
        self._step = step
        fields: dict[str, Any] = {}
        if bar is not None and bar.group(4) != "?":
            if (ms := _bar_ms(bar)) is not None:
                fields["dt_ms"] = ms
            # the event's time is the bar's own clock
            fields["clock_s"] = _seconds(bar.group(3))
        metrics = []
        for key, x in values.items():
            target = self._target(key)
            if target in _ITER_KEYS and target not in fields:
                fields[target] = x
            elif target == "val_loss":
                self.evaluation(step, val_loss=x)
            else:
                metrics.append((key, x))
        self.iteration(step, **fields)
        for key, x in metrics:
            self.metric(step, key, x)

    def _eval(self, values: dict[str, float | None]) -> None:
        """An eval dict: at the training bar's count when a bar came since the last dict
        (a log whose dicts are printed before their bars), else at the last dict's step."""
        step = self._past_bar(self._step if self._step is not None else 0)
        if self._ended and self._end_step is not None:  # an evaluation after the training
            step = max(step, self._end_step)
        val = None
        for key, x in values.items():
            if self._target(key) == "val_loss" and val is None:
                val = x
            else:
                self.metric(step, key, x)
        if val is not None:
            self.evaluation(step, val_loss=val, eval_ms=self._eval_ms(values))

    def _past_bar(self, step: int) -> int:
        """``step``, or the count of a training bar printed since the last dict when it went
        past it (the bar is used up)."""
        bar, self._bar = self._bar, None
        return max(step, int(bar.group(1))) if bar is not None else step

    def _final(self, values: dict[str, float | None]) -> None:
        """The train_runtime dict: the run completed, at the training bar's last count when
        it went past the last logging step ('69/69' after the dict of step 60)."""
        step = self._past_bar(self._step if self._step is not None else 0)
        for key, x in values.items():
            self.metric(step, key, x)
        runtime = values.get("train_runtime")
        wall = runtime if runtime is not None and runtime > 0 else None
        self._end("completed", None, step, wall_s=wall,
                  steps=_steps_taken(step, wall, values.get("train_steps_per_second")))
        self._end_step = step


MAPS_TAGS = True  # its Parser takes a tag_map (the CLI's --map)
