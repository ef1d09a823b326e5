"""fairseq-train's console (facebookresearch/fairseq: its language models, RoBERTa, MoE LMs).

Lines read, in each of fairseq's ``--log-format`` styles (a logger's ``stamp | LEVEL | name |``
before them, from fairseq 0.10 on)::

    | train_inner | {"epoch": 1, "update": 0.001, "loss": "16.446", ..., "num_updates": "2",
                     "lr": "4e-05", "gnorm": "19.777", "train_wall": "57", "wall": "161"}
    | valid | {"epoch": 1, "valid_loss": "17.953", ..., "valid_num_updates": "10"}
    | train_inner | epoch 001:     10 / 1000 loss=9.812, ppl=899.1, ..., num_updates=10, ...
    | epoch 180:    543 / 546 loss=1.753, ppl=3.37, ..., num_updates=98132, ..., wall=490568,
                     train_wall=450575                  (before 0.10: no logger, cumulative)
    | epoch 001 | valid on 'valid' subset | loss 4.190 | ppl 18.25 | num_updates 1000
    num. model params: 13,110,865,920 (num. trained: 13,110,865,920)
    NOTE: gradient overflow detected, ignoring gradient, setting loss scale to: 2.0
    Stopping training due to num_updates: 10 >= max_update: 10 / done training in 798.6 s

Meaning and conventions:

- the step is ``num_updates`` (optimizer updates over all epochs), never the count within the
  epoch; ``loss`` is printed in bits (base 2), kept as printed, as its ``ppl`` (2**loss).
- ``train_wall`` is the seconds spent in training steps: over the logging interval since 0.10
  (its meters are reset at each log), cumulative before. It is read as cumulative when it
  holds more than the wall clock moved since the line before; the step time (``step_ms``,
  evals and checkpoints left out) is it over the updates of the interval. ``wall`` (the
  cumulative clock) is the event's time. A log's first line has no interval: no step time.
- the epoch summaries (``train | {...}``, ``| epoch 180 | loss 1.753 | ...``) repeat the
  interval lines' figures as averages: not read as steps, unless the log has no interval
  lines (a paste of the summaries alone: then each is its epoch's last update).
- the fp16 scaler's overflow notes become ``loss_scale`` metrics (see _shared_lines).
"""
from __future__ import annotations

import json
import re
from typing import Any

from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, to_float
from analyzer.run import as_step

NAME = "fairseq"

# the logger's name, when clean_line left it: 'train_inner | ' (a line without its stamp, '|
# train_inner | ') ... ('| epoch 180 | loss ...' before 0.10 is no logger's)
_LOGGER = re.compile(r"\|?\s*((?!epoch\b)[\w.]+)\s*\|\s*")
_JSON = re.compile(r"\{\"epoch\": .*\}\s*$")
# 'epoch 001:     10 / 1000 loss=9.812, ppl=899.1, ...' (simple and tqdm-less formats)
_INNER = re.compile(r"\|?\s*epoch (\d+):\s+(\d+) / (\d+) (\w+=.*)$")
_KV = re.compile(r"(\w+)=([^,\s]+)")
# '| epoch 001 | valid on 'valid' subset | loss 4.190 | ppl 18.25 | num_updates 1000 | ...'
_VALID = re.compile(r"\|?\s*epoch (\d+) \| valid on '[^']*' subset \| (.*)$")
_PIPE_KV = re.compile(r"(\w+) ([-+\w.]+)")
# '| epoch 043 | loss 2837.172 | ppl inf | wps 22040 | ... | num_updates 39302 | ...'
_SUMMARY = re.compile(r"\|?\s*epoch (\d+) \| (loss .*\bnum_updates .*)$")
_PARAMS = re.compile(r"num\. model params: ([\d,]+)")
_STOP = re.compile(r"Stopping training due to num_updates: (\d+) >= max_update")
_DONE = re.compile(r"done training in [\d.]+ seconds")


def detect(head: list[str]) -> float:
    """Confidence that these first lines are fairseq-train's output."""
    score = 0.0
    for raw in head:
        line = clean_line(raw)
        body = _body(line)
        if _JSON.match(body) and ('"num_updates"' in body or '"valid_loss"' in body):
            return 0.95
        m = _INNER.match(body)
        if m and "num_updates=" in m.group(4) or _SUMMARY.match(body):
            return 0.95
        if "fairseq_cli.train" in raw or "fairseq.trainer" in raw:
            score = 0.5  # its header: another reader may read the steps better
    return score


def _body(line: str) -> str:
    """The line after fairseq's logger name."""
    m = _LOGGER.match(line)
    return line[m.end():] if m else line


class Parser(StdoutParser):
    NAME = NAME
    EVAL_IN_DT = False  # (its step time is train_wall's: evals are outside it)

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._prev: tuple[int, float | None, float | None] | None = None  # updates, walls
        self._intervals = False  # an interval line seen (then summaries are no steps)

    def on_segment(self) -> None:
        self._prev = None

    def parse_line(self, text: str, lineno: int) -> bool:
        logger = _LOGGER.match(text)
        name, body = (logger.group(1), text[logger.end():]) if logger else ("", text)
        if _JSON.match(body):
            return self._json(name, body)
        m = _INNER.match(body)
        if m:
            values = {k: to_float(v) for k, v in _KV.findall(m.group(4))}
            self._intervals = True
            return self._train(values)
        m = _VALID.match(body)
        if m:  # ('valid_loss 8.30118' in some versions)
            values = {k: to_float(v) for k, v in _PIPE_KV.findall(m.group(2))}
            loss = values.get("loss", values.get("valid_loss"))
            return self._valid(loss, values.get("num_updates"))
        m = _SUMMARY.match(body)
        if m and not self._intervals:
            return self._train({k: to_float(v) for k, v in _PIPE_KV.findall(m.group(2))})
        m = _PARAMS.search(body)
        if m:
            self.header_line().model["n_params"] = int(m.group(1).replace(",", ""))
            return True
        m = _STOP.search(body)
        if m:  # it stops at max_update, which the last interval line may not have reached
            self._end("completed", None, max(int(m.group(1)), self.last_iter_step or 0))
            return True
        if _DONE.search(body):
            if not self._ended:
                self.completed()
            return True
        if body.startswith("| epoch ") or name in ("train", "fairseq_cli.train"):
            return True  # the epoch's summary, the trainer's setup lines
        return False

    def _json(self, name: str, body: str) -> bool:
        try:
            values = {k: to_float(v) if isinstance(v, str) else v
                      for k, v in json.loads(body).items()}
        except (ValueError, AttributeError):
            return False
        if "valid_loss" in values or name.startswith("valid"):
            return self._valid(values.get("valid_loss"), values.get("valid_num_updates"))
        if name == "train" or "train_loss" in values:
            return True  # the epoch summary: averages of the lines before
        self._intervals = True
        return self._train(values)

    def _train(self, values: dict[str, Any]) -> bool:
        step = as_step(values.get("num_updates"))
        if step is None:
            return False
        wall, train_wall = _num(values.get("wall")), _num(values.get("train_wall"))
        step_ms = None
        if self._prev is not None and step > self._prev[0] and train_wall is not None:
            n, moved = step - self._prev[0], _moved(wall, self._prev[1])
            prev_train = self._prev[2]
            if moved is not None and prev_train is not None and train_wall > moved + 1:
                step_ms = 1000.0 * (train_wall - prev_train) / n  # cumulative (before 0.10)
            else:
                step_ms = 1000.0 * train_wall / n
        self.iteration(step, loss=_num(values.get("loss")), lr=_num(values.get("lr")),
                       grad_norm=_num(values.get("gnorm")), step_ms=step_ms, clock_s=wall)
        self._prev = (step, wall, train_wall)  # (after: a new segment forgets the one before)
        return True

    def _valid(self, loss: Any, updates: Any) -> bool:
        """A validation's loss, at its num_updates (else the last step's); False without."""
        if _num(loss) is None:
            return False
        step = as_step(updates)
        step = self.last_iter_step if step is None else step
        self.evaluation(step, val_loss=_num(loss))
        return True


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) else None


def _moved(wall: float | None, before: float | None) -> float | None:
    return wall - before if wall is not None and before is not None else None
