"""modded-nanogpt (KellerJordan/modded-nanogpt) record logs, every era.

Lines read (after the training script's source, which records start with)::

    Running pytorch 2.4.1+cu121 compiled for CUDA 12.1      (torch version)
    Running on device_name=NVIDIA H100 80GB HBM3 with world_size=8
    |   0  NVIDIA H100 80GB HBM3   On  | ...                  (nvidia-smi: device, GPU count)
    step:0/6000 val_loss:11.0149 train_time:305ms step_avg:nanms
    step:1/6000 train_loss:11.0091 train_time:24179ms step_avg:nanms
    step:1/1480 train_time:29246ms step_avg:nanms          (Dec 2024 on: no train loss)
    step:1/4875 train_time:5.418s step_avg:5418.26ms        (track 3: seconds)

Meaning and conventions:

- ``step:N`` on a training line is printed after N optimizer steps, and the val line at
  ``step:N`` evaluates the model after those N steps: **steps are kept as printed** (a
  reader searches the log for ``step:947``), so an eval shares its step with the training
  line printed before it.
- ``train_time`` is the cumulative training time, stopped while validating, and reset to 0
  after the first 10 (compile) steps. ``step_ms`` is its difference to the previous training
  line's (the first: to the val line's at step 0) divided by the steps between the two lines
  (logs may print every Nth step), or, right after the reset, the value itself; a log that
  starts mid-run has no step time on its first line; ``dt_ms`` is null (evals are outside
  the clock), so ``eval_inclusive`` is never set.
- a log of val lines only (a grep of them, a record that prints no training line): each val
  line after step 0 also gives the iteration it follows, with no loss and the step time from
  the clock difference to the previous val line over the steps between them.
- ``step_avg`` is derived (train_time / timed steps) and ignored; ``nanms`` is not a value.
- no MFU, lr or tokens/s is printed. ``world_size`` is the printed one, else the number of
  GPUs nvidia-smi lists (records run one process per GPU).
- the val line at the last step (N = M) states the end of training: ``run_end`` completed.
"""
from __future__ import annotations

import re

from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, to_float

NAME = "modded"

# 'step:125/3250 val_loss:...'; ports pad the step and add separators: 'step: 125/3250 | ...'
# (a fork puts a comma after it: 'step:10/1000, tokens seen: …')
_STEP = re.compile(r"step:\s*(\d+)/(\d+)(?:\s+|,\s*)(?:\|\s*)?(.*)$")
# parameter-golf's trainers stop at their own wall-clock budget, by design, and say so
_STOP_EARLY = re.compile(r"stopping_early: \S+ .*\bstep:(\d+)/\d+")
_KV = re.compile(r"(\w+):\s?(\S+)")  # a fork's 'val_time: 106972ms' has a space
_TORCH = re.compile(r"Running [Pp]y[Tt]orch (\S+)")
_DEVICE = re.compile(r"Running on device_name=(.+?) with world_size=(\d+)")
_GPU_ROW = re.compile(r"\|\s+(\d+)\s+(NVIDIA .+?|Tesla .+?)\s+(?:On|Off)\s+\|")
_PARAM_DUMP = re.compile(r"[\w.]+: torch\.Size\(\[[\d, ]*\]\)")
_PARAMS = re.compile(r"\s*Total parameters: ([\d,]+)")
_HEADER = re.compile(r"=+$|Running (?:[Pp]ython|Triton)|Model parameters:|\s*(?:Non-)?[Ee]mbedding "
                     r"parameters:|nvidia-smi:|[+|][-=+| ]*[+|]$|\|.*\|$|"
                     r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} +\d+ [\d:]+ \d{4}$|"
                     r"(?:Training|Validation) DataLoader:|Compiling model|Sampling steps|"
                     r"Resetting Model|Processes:")
_INFO = re.compile(r"peak memory (?:consumption|allocated)")
# modded-nanogpt's script in a traceback frame ('File "train_gpt.py", line 41', a record's copy
# 'train_gpt_ablate.py'; build-nanogpt's is train_gpt2.py)
_SCRIPT = re.compile(r"File \"(?:[^\"]*/)?train_gpt(?:_[\w-]+)?\.py\"")


def detect(head: list[str]) -> float:
    """Confidence that these first lines are a modded-nanogpt log."""
    score = 0.0
    for raw in head:
        line = clean_line(raw)
        m = _STEP.match(line)
        if m and re.search(r"\b(?:val_loss|train_loss|train_time):", m.group(3)):
            return 0.95
        if (_TORCH.match(line) or _SCRIPT.search(line)) and score < 0.3:
            score = 0.3  # (a traceback through its script: a launch that died at start-up)
    return score


class Parser(StdoutParser):
    NAME = NAME

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._train_time: float | None = None   # last train_time of a training line, ms
        self._val_time: float | None = None     # train_time of a val line before the first
        self._train_n: int | None = None        # the printed step of those two lines
        self._val_n: int | None = None
        self._world_printed = False
        self._trained = False  # a training line was read in this segment

    def on_segment(self) -> None:
        self._train_time = self._val_time = self._train_n = self._val_n = None
        self._trained = False

    def peek_step(self, text: str) -> int | None:
        m = _STEP.match(text)
        return int(m.group(1)) if m and "val_loss" not in m.group(3) else None

    def parse_line(self, text: str, lineno: int) -> bool:
        m = _STEP.match(text)
        if m:
            return self._step(int(m.group(1)), int(m.group(2)), dict(_KV.findall(m.group(3))))
        m = _STOP_EARLY.match(text)
        if m:  # the run ended where it meant to (its time budget), not cut or failed
            self._end("completed", None, step=int(m.group(1)))
            return True
        return self._header(text)

    def _step(self, n: int, total: int, kv: dict[str, str]) -> bool:
        # short names (a parameter-golf record: 'step:1000/10000 loss:3.3139 t:91682ms
        # avg:91.7ms'): 'loss' is the train loss, 't' with a time unit the cumulative clock
        if "train_loss" not in kv and "val_loss" not in kv and "loss" in kv:
            kv["train_loss"] = kv["loss"]
        if "train_loss" not in kv and "avg_train_loss" in kv:  # a fork's mean since the last line
            kv["train_loss"] = kv["avg_train_loss"]
        if "train_time" not in kv and re.fullmatch(r"[\d.]+m?s", kv.get("t", "")):
            kv["train_time"] = kv["t"]
        train_time = _ms(kv.get("train_time"))
        self.step_total(total)  # another N: another run (see StdoutParser.step_total)
        count = to_float(kv.get("param_count"))  # a fork's val lines: 'param_count:132,475,500'
        if count and self.header.model.get("n_params") is None:
            self.header.model["n_params"] = int(count)  # before the run_start it goes into
        if "val_loss" in kv:
            if not self._trained and n > 0 and train_time is not None:
                self._val_step(n, train_time)
            elif train_time is not None:
                self._time_untimed(n, train_time)
            # a fork times its evals: 'val_time: 790ms' (the clock, train_time, stops for them)
            self.evaluation(n, val_loss=to_float(kv["val_loss"]), eval_ms=_ms(kv.get("val_time")))
            self._val_time, self._val_n = train_time, n
            if n == total:
                self.completed()
            return True
        if "train_time" not in kv and "train_loss" not in kv:
            return False
        self._data(n, "iter")  # a new segment resets the clock before the difference
        self._trained = True
        step_ms = None
        if train_time is not None:
            step_ms = self._step_ms(n, train_time)
            self._train_time, self._train_n = train_time, n
        self.iteration(n, loss=to_float(kv.get("train_loss")), step_ms=step_ms)
        return True

    def _val_step(self, n: int, train_time: float) -> None:
        """A log of val lines only (a grep, a record that prints no training line): the
        clock on each val line still times the training steps since the previous one, so the
        step the val line follows is an iteration with that step time and no loss."""
        self._data(n, "iter")
        self.iteration(n, step_ms=self._step_ms(n, train_time))

    def _time_untimed(self, n: int, train_time: float) -> None:
        """A val line's clock right after a training line of its step that had none (a
        fork's 'step:20/1000, …, avg_train_loss:nan time:182/1147s' before 'step:20/1000, …,
        val_loss:nan train_time:11.47s'): that line's step time, from the clocks of the val
        lines (the training lines print none)."""
        last = next((e for e in reversed(self._out[-3:]) if e.get("type") == "iter"), None)
        if (last is not None and last.get("step") == n and last.get("step_ms") is None
                and self._train_time is None):
            last["step_ms"] = self._step_ms(n, train_time)

    def _step_ms(self, n: int, train_time: float) -> float | None:
        """One step's time from the cumulative clock: the difference to the previous line
        divided by the steps between them (a log may print every 125th step; an interval of
        many steps is never one step's time). The clock stops for validation, so the
        difference of two lines holds training only; the first training line counts from a
        val line at step 0. Without an earlier line (a log cut mid-run) there is no step time,
        except at step 1, whose time is the clock itself."""
        if self._train_time is not None:
            prev, prev_n = self._train_time, self._train_n
        else:
            prev, prev_n = self._val_time, self._val_n
        if prev is None or prev_n is None:
            return train_time if n == 1 else None
        steps = n - prev_n
        if steps <= 0:
            return None
        if train_time >= prev:
            return (train_time - prev) / steps
        # the clock went back: reset to 0 after the first (compile) steps; only the step
        # right after the reset is known
        return train_time if steps == 1 else None

    def _header(self, text: str) -> bool:
        m = _TORCH.match(text)
        if m:
            self.header_line().torch_version = m.group(1)
            return True
        m = _DEVICE.match(text)
        if m:
            h = self.header_line()
            h.device, h.device_name, h.world_size = "cuda", m.group(1), int(m.group(2))
            self._world_printed = True
            return True
        m = _PARAMS.match(text)
        if m:
            self.header_line().model["n_params"] = int(m.group(1).replace(",", ""))
            return True
        m = _GPU_ROW.match(text)
        if m:
            h = self.header_line()
            h.device, h.device_name = "cuda", m.group(2).strip()
            if not self._world_printed:
                h.world_size = max(h.world_size or 0, int(m.group(1)) + 1)
            return True
        if _PARAM_DUMP.match(text) or _HEADER.match(text):
            # (the '====' rules of torchrun's report box after a failure are no new run's)
            if not (self.launcher_failed and text.startswith("=")):
                self.header_line()
            return True
        return bool(_INFO.match(text))


def _ms(text: str | None) -> float | None:
    """'24179ms' -> 24179.0, '5.418s' -> 5418.0, 'nanms' and '241' (cut) -> None."""
    if text is None:
        return None
    if text.endswith("ms"):
        x = to_float(text[:-2])
    elif text.endswith("s"):
        x = to_float(text[:-1])
        x = x * 1000.0 if x is not None else None
    else:
        x = None  # a number without its unit: the line was cut in this field
    return x if x is not None and x == x else None
