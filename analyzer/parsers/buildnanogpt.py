"""build-nanogpt ``train_gpt2.py`` (karpathy/build-nanogpt): its stdout and its ``log.txt``.

stdout::

    total desired batch size: 524288
    => calculated gradient accumulation steps: 2
    validation loss: 10.9522                      eval at the top of the next step
    HellaSwag accuracy: 2497/10042=0.2487         metric 'hellaswag', same step
    rank 1 sample 0: Hello, I'm a language model, ...   (text may run over several lines)
    step     0 | loss: 10.955010 | lr 8.3916e-07 | norm: 15.3421 | dt: 23547.83ms | tok/sec: 22264.81

log.txt (written by the master rank)::

    0 val 10.9310        0 hella 0.2413        0 train 10.934416

Meaning: steps are 0-based in both. ``dt`` is measured from the top of one step to the end
of it, *including* the eval, HellaSwag and sampling done at the top of that step, so a step
that follows a ``validation loss`` line is ``eval_inclusive``; ``step_ms`` is null.
``tok/sec`` is that step's own throughput (all ranks). The log file has the loss only.
The world size is not printed (default 1). A stderr file with only torchrun/slurm lines is
read too (no iterations; a cancelled job gives an 'interrupted' run_end).
"""
from __future__ import annotations

import re

from analyzer.parsers._header import device_type
from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import (clean_line, ms, pipe_fields, spaced_exponent, to_float,
                                    to_int, unitless_ms)

NAME = "buildnanogpt"

# a retyped log may write 'Step 19060 | ...' (detection trusts only the printed lowercase)
_STEP = re.compile(r"[Ss]tep\s+(\d+) \|(.*)$")
_STD_STEP = re.compile(r"step\s+\d+ \|")
# the usual line in one match (the general field split is the slow path)
_STEP_FULL = re.compile(r"step\s+\d+ \| loss: (\S+) \| lr (\S+) \| norm: (\S+) \| dt: (\S+)ms \| "
                        r"tok/sec: (\S+)$")
# 'validation loss: 10.9522'; a fork's 'Validation loss 10.9535' (capital, no colon)
_VAL = re.compile(r"validation loss:?\s+(\S+)", re.IGNORECASE)
# a fork names the step its evals ran at: 'Evaluating HellaSwag at step 49...'
_AT_STEP = re.compile(r"Evaluating \w+ at step (\d+)")
_HELLA = re.compile(r"HellaSwag accuracy: (\d+)/(\d+)\s*=\s*(\S+)")
_SAMPLE = re.compile(r"rank (\d+) sample (\d+): ")
_LOGFILE = re.compile(r"(\d+) (train|val|hella) (\S+)$")
_BATCH = re.compile(r"total desired batch size: ([\d,]+)")
_ACCUM = re.compile(r"=> calculated gradient accumulation steps: (\d+)")
_DEVICE = re.compile(r"using device: (\S+)")
_HEADER = re.compile(r"found \d+ shards for split|num (?:non-)?decayed parameter tensors|"
                     r"using fused AdamW|loaded \d+ tokens|1 epoch = |I am GPU|"
                     r"Setting OMP_NUM_THREADS|\*{5,}$|using ddp|ddp_rank")


def detect(head: list[str]) -> float:
    """Confidence that these first lines are build-nanogpt stdout or its log.txt. The header
    alone is not the end of the look: a standard step line after it outweighs the lines of
    another format that a retyped tail may show ('Step 19060 | loss: ...' reads as nanochat's)."""
    logfile = other = 0
    header = False
    for raw in head:
        line = clean_line(raw)
        if _STD_STEP.match(line) and "loss:" in line and "tok/sec" in line:
            return 0.95
        if _LOGFILE.fullmatch(line):
            logfile += 1
        elif line.strip():
            other += 1
        header = header or bool(_BATCH.match(line) or _ACCUM.match(line))
    if header:
        return 0.8
    if logfile >= 2 and other == 0:
        return 0.9
    text = "\n".join(head)
    if "OMP_NUM_THREADS" in text or "torch.distributed.elastic" in text:
        return 0.25  # a torchrun stderr file: nothing but how the job ended
    return 0.0


class Parser(StdoutParser):
    NAME = NAME
    EVAL_IN_DT = True

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._in_sample = False
        # a validation loss waits one line: a fork may say next which step it ran at
        self._val: float | None = None
        self._pending = False
        self._said_step: int | None = None  # 'Evaluating ... at step N' since the last step
        # an excerpt that opens on an eval (no header, no step yet): the eval ran at the top
        # of the first step printed after it, which says its number
        self._early: list[tuple[str, float | None]] = []

    def on_segment(self) -> None:
        self._said_step = None

    def finish(self) -> list[dict]:
        self._out = out = []
        self._flush_val()
        self._flush_early(0)
        return out + super().finish()

    def peek_step(self, text: str) -> int | None:
        m = _STEP.match(text)
        return int(m.group(1)) if m and "loss" in m.group(2) else None

    def parse_line(self, text: str, lineno: int) -> bool:
        m = _AT_STEP.match(text)
        if m:
            self._said_step = int(m.group(1))
        self._flush_val()
        if m:
            return True
        m = _STEP.match(text)
        if m:
            return self._step(int(m.group(1)), m.group(2))
        m = _LOGFILE.fullmatch(text)
        if m:
            self._logfile(int(m.group(1)), m.group(2), to_float(m.group(3)))
            return True
        sample = self._in_sample
        self._in_sample = False
        m = _VAL.match(text)
        if m:
            self._val, self._pending = to_float(m.group(1)), True
            return True
        m = _HELLA.match(text)
        if m:
            if self._opens_on_eval():
                self._early.append(("hellaswag", to_float(m.group(3))))
            else:
                self.metric(self._eval_at(), "hellaswag", to_float(m.group(3)))
            return True
        if _SAMPLE.match(text):
            self._in_sample = True
            return True
        if self._header(text):
            return True
        if sample and not text.startswith("Traceback"):
            self._in_sample = True  # the sample's text went on over a newline
            return True
        return False

    def _flush_val(self) -> None:
        if self._pending:
            self._pending = False
            if self._opens_on_eval():
                self._early.append(("val", self._val))
            else:
                self.evaluation(self._eval_at(), val_loss=self._val)

    def _opens_on_eval(self) -> bool:
        """No step, header or 'at step N' yet: the log is an excerpt that opens mid-run."""
        return (self.last_iter_step is None and self.segment < 0 and self._said_step is None
                and not self._header_seen)

    def _flush_early(self, step: int) -> None:
        """The evals an excerpt opened on, at ``step`` (the first step printed after them)."""
        early, self._early = self._early, []
        for kind, value in early:
            if kind == "val":
                self.evaluation(step, val_loss=value)
            else:
                self.metric(step, kind, value)

    def _eval_at(self) -> int:
        return self._said_step if self._said_step is not None else self._next_step()

    def _next_step(self) -> int:
        """Evals run at the top of the step after the last printed one (a new run's first
        eval, after its header, at its step 0)."""
        if self.last_iter_step is None or self.new_run_pending:
            return 0
        return self.last_iter_step + 1

    def _step(self, step: int, rest: str) -> bool:
        self._said_step = None
        if self._early:
            self._flush_early(step)
        m = _STEP_FULL.match(f"step {step} |{rest}")
        values = [to_float(g) for g in m.groups()] if m else [None]
        if None not in values:
            loss, lr, norm, dt, tps = values
            self._in_sample = False
            self.iteration(step, loss=loss, lr=lr, grad_norm=norm, dt_ms=dt, tokens_per_s=tps)
            return True
        f = pipe_fields(rest)
        loss = f.get("loss", (None, ""))[0]
        if loss is None:
            return False
        self._in_sample = False
        tps = f.get("tok/sec", (None, ""))[0]
        dt = f.get("dt")
        dt_ms = ms(dt)
        if dt_ms is None and dt is not None and not dt[1].strip():
            # 'dt: 12701.84 | tok/sec: ...': no unit, yet not cut short (a field follows)
            dt_ms = unitless_ms(dt[0], self.header.tokens_per_iter, tps)
        self.iteration(step, loss=loss, lr=spaced_exponent(f.get("lr")),
                       grad_norm=f.get("norm", (None, ""))[0], dt_ms=dt_ms, tokens_per_s=tps)
        return True

    def _logfile(self, step: int, kind: str, value: float | None) -> None:
        if kind == "train":
            self.iteration(step, loss=value)
        elif kind == "val":
            self.evaluation(step, val_loss=value)
        else:
            self.metric(step, "hellaswag", value)

    def _header(self, text: str) -> bool:
        m = _BATCH.match(text)
        if m:
            self.header_line().tokens_per_iter = to_int(m.group(1))
            return True
        m = _ACCUM.match(text)
        if m:
            self.header_line().config["grad_accum_steps"] = int(m.group(1))
            return True
        m = _DEVICE.match(text)
        if m:
            self.header_line().device = device_type(m.group(1))
            return True
        if _HEADER.match(text.strip()):
            self.header_line()
            return True
        return False
