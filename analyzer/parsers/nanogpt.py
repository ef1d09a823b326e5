"""nanoGPT ``train.py`` stdout (karpathy/nanoGPT and its forks), every version.

Lines read::

    iter 250: loss 1.9636, time 1155.43ms, mfu 0.33%          current format
    iter 1631: loss 4.0863, time 561.94ms                      before Feb 2023 (no mfu)
    iter 5: loss 3.3399, time 18371.47ms, lr:0.0003 , mfu: 3.06%   forks add fields
    step 250: train loss 1.9657, val loss 2.0649               eval (before iteration 250)
    saving checkpoint to out-shakespeare-char
    Overriding config with config/x.py:  + the file echoed;  Overriding: key = value
    ==== CONFIG VALUES ====  key: value lines  ====             a fork's config dump
    tokens per iteration will be: 16,384    found vocab_size = 65 (...)
    number of parameters: 10.65M            Initializing a new model from scratch
    Resuming training from out              (a resume: a new segment)

Meaning of the numbers (documented facts of train.py):

- ``time`` is ``dt_ms``: wall time from the previous iteration, so the iteration right after
  an eval (``step N:`` then ``iter N:``) includes the eval and the checkpoint save:
  ``eval_inclusive`` is set on it. ``step_ms`` is never printed (null).
- the printed ``mfu`` is nanoGPT's *running* MFU (0.9 old + 0.1 new, against a hard-coded
  A100 bf16 peak of 312 TFLOPS) -> ``mfu_smoothed``; ``-100.00%`` means "not measured yet"
  (the first 5 iterations) -> null. The per-step ``mfu`` is derived: the first measured line
  of a segment is the EMA's seed, i.e. exactly that step's MFU, and per-step MFU is inversely
  proportional to dt, so ``mfu = mfu_first * dt_first / dt``.
- ``tokens_per_s`` = tokens per iteration (header) / dt; null without that header line.
- DDP prints the header once per rank: the repeats merge, and the number of ``tokens per
  iteration`` lines before the first iteration gives ``world_size``.
- device and dtype come from the config echo when printed, else null (not known).
"""
from __future__ import annotations

import re
from typing import Any

from analyzer.parsers._header import Header, device_type
from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import literal, to_float, to_int
from analyzer.run import RunBuilder
from gptscope import peaks

NAME = "nanogpt"

# Lenient on the numbers (parsed with float()/int() afterwards), strict on the words, so
# that the vectorised reader in _fast.py reads exactly the same lines the same way.
_ITER = re.compile(r"iter (\S+): loss ([^,\s]+),? ?(.*)$")
_TIME = re.compile(r"\btime (\S+?)(ms|s)\b")  # (a fork prints seconds: 'time 40.45s')
# a line cut short ends in a number without its unit ('time 13'): that field is dropped
_ITER_STD = re.compile(r"iter (\d+): loss (\S+), time ([\d.]+)ms, mfu (-?[\d.]+)%$")  # one match
_LR = re.compile(r"\blr[:=]?\s*([^\s,%]+)")
_MFU = re.compile(r"\bmfu[:=]?\s*(\S+)%")
# the eval: 'step 250: train loss 1.9657, val loss 2.0649', and as forks print it: padded,
# indented (a markdown code block), 'Step', fields between ('train perplexity 3.04, '), no
# train loss ('Step 200: val loss 4.13'), more after ('; best val loss to now: …', ', val bpb
# 2.17, ms/iter 496.84')
# (pasted as a string: a quote may open the line and close it after the number, 'val loss
# 5.6153"'); the step in brackets and a colon after 'val loss' ('Step [ 500]: train loss
# 2.1740, val loss: 2.2213', a copy of the lecture's gpt.py); a unit after a loss ('step 250:
# train loss 2.5833 BPC, val loss 2.7931 BPC', a fork reporting bits per character)
_EVAL = re.compile(r"\s*[\"'`]?[Ss]tep +\[? *(\d+)\]?: +(?:train loss ([^,;\s]+)(?: [A-Za-z]{1,8})?,"
                   r"(?: [^,;:]*,)*? )?"
                   r"val loss:? ([^,;\s\"'`]+)(.*)$")
# an eval line's time per iteration since the previous eval ('ms/iter 496.84', 'time 412ms')
_EVAL_TIME = re.compile(r"\b(?:ms/iter|ms/step)[:=]?\s*([\d.]+)|\btime[:=]?\s*([\d.]+)ms")
# a throughput forks print instead of a time: '137.4k tok/s'
_TPS = re.compile(r"\b([\d.]+)\s*([kKM]?)\s*tok(?:ens)?/s(?:ec)?\b")
_TPS_SCALE = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6}
# an iteration line glued to the previous output ('…, FP8: Trueiter 120: loss 5.6387, …')
_GLUED = re.compile(r"(?<=\S)iter \d+: loss ")
# eval lines joined into one ('step 0: train loss 4.2207, val loss 4.2290, step 500: train loss
# 1.7598, val loss 1.9107, …': a log kept in a string, its line breaks lost): where each starts
_JOINED_EVAL = re.compile(r"[Ss]tep +\d+: +(?:train loss [^,;\s]+, )?val loss \S")
_CKPT = re.compile(r"saving checkpoint to (.+)$")
# a fork's eval with no step ('eval: train loss 3.0947, val loss 3.0770', an Intel trainer):
# nanoGPT's eval runs at the top of the iteration printed next, which it is given
_EVAL_STEPLESS = re.compile(r"eval: +train loss ([^,;\s]+), val loss ([^,;\s]+)$")
# a fork's closing word on its best val ('Training complete. Best model saved at: x.pth with
# val loss 1.4881', 'Best val loss: 1.48'): the run's minimum, its eval perhaps not in the log
_STATED_BEST = re.compile(r"(?:.*\W)?[Bb]est\b.*?\bval(?:idation)? loss(?: of| is|:|=)?\s*"
                          r"(\d+\.\d+)\.?$")
_TOKENS = re.compile(r"tokens per iteration will be: ([\d,]+)")
_VOCAB = re.compile(r"(?:found vocab_size = |defaulting to vocab_size of GPT-2 to )(\d+)")
# train.py's 'number of parameters: 10.65M'; ng-video-lecture's gpt.py (the lecture nanoGPT
# grew from, whose eval lines it shares) prints the bare count in millions, '10.788929 M
# parameters', and so do the forks of it that people paste
_PARAMS = re.compile(r"\s*[\"'`]?(?:number of parameters: ([\d.]+)M|([\d.]+) M parameters$)")
_OVERRIDE_FILE = re.compile(r"Overriding config with (.+?):?$")
_OVERRIDE = re.compile(r"Overriding: (\w+) = (.*)$")
_ASSIGN = re.compile(r"(\w+)\s*=\s*(.+)$")
_DUMP_START = re.compile(r"=+ ?CONFIG VALUES ?=+$")
_DUMP_LINE = re.compile(r"(\w+): (.*)$")
_IMPORT = re.compile(r"(?:import \w|from [\w.]+ import )")
_RESUME = re.compile(r"Resuming training from (.+?)(?: at iter \d+)?$")
# gptscope's own trainer prints nanoGPT's lines, and says how the run ended
_OUR_END = re.compile(r"run (completed|failed|interrupted) after (\S+) iterations in \S+s"
                      r"(?:: (.*))?$")
_OUR_START = re.compile(r"run \S+: events in (.+)$")
_OUR_ANOMALY = re.compile(r"warning: step (\d+): non-finite (loss|grad) \((\S+)\), action: (\w+)$")
_OUR_INFO = re.compile(r"compile \+ first step: |no checkpoint in |warning: step \d+: model "
                       r"weights are not finite")
# gptscope's peak is its own (a table entry or a measured calibration), not printed in stdout
OUR_PEAK_SOURCE = "gptscope trainer (its peak is not printed in stdout)"
_HEADER = re.compile(r"Initializing a new model from scratch|Initializing from OpenAI GPT-2 "
                     r"weights|loading weights from pretrained gpt|forcing vocab_size=|"
                     r"overriding dropout rate|num (?:non-)?decayed parameter tensors|"
                     r"using fused AdamW|compiling the model|Multiple GPUs? detected")
_DTYPES = ("float32", "bfloat16", "float16")
# train.py's estimate_mfu divides by an A100's bf16 peak, whatever the device.
PEAK_FLOPS = peaks.NANOGPT_A100_FLOPS  # the one copy lives in gptscope/peaks.py
PEAK_SOURCE = "table:nanoGPT train.py A100 bf16 constant"


def detect(head: list[str]) -> float:
    """Confidence that these first lines are nanoGPT train.py output."""
    from analyzer.parsers._text import clean_line
    score = 0.0
    for raw in head:
        line = clean_line(raw).lstrip()  # (a paste may be indented)
        m = _ITER.match(line)
        if m and to_int(m.group(1)) is not None:
            return 0.95
        if _EVAL.match(line) or _TOKENS.match(line) or _OVERRIDE_FILE.match(line) \
                or _PARAMS.match(line) or len(_JOINED_EVAL.findall(line)) > 1:
            # nanoGPT's eval and header lines, which forks keep while printing their own
            # iteration lines (then the generic reader, more confident, reads them)
            score = 0.5
    return score


class Parser(StdoutParser):
    NAME = NAME
    EVAL_IN_DT = True

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._config_mode: str | None = None   # 'file' (python echo) or 'dump' (key: value)
        self._mfu_c: float | None = None       # mfu * dt of the segment's first measured line
        self._sentinel = False                 # 'mfu -100.00%' seen in this segment
        self._last_val: float | None = None
        self._ours = False                     # gptscope's own stdout (see _our_mfu)
        self._pending: tuple[str, str] | None = None  # a config value still open: key, text
        self._seg_first: int | None = None     # first step of the segment (ours)
        self._ema_started = False              # running MFU printed yet (ours)
        self._timed_evals = False              # eval lines only, with their step time
        self._stepless: tuple[float | None, float | None] | None = None  # its losses
        _nanogpt_header(self.header)

    @property
    def mfu_dt(self) -> float | None:
        """MFU x time (ms) of the segment's first measured line: a later line's per-step MFU
        is this divided by its time (None until a line measured it)."""
        return self._mfu_c

    @property
    def gptscope_stdout(self) -> bool:
        """The log is gptscope's own stdout (its MFU lines are read per line, _our_mfu)."""
        return self._ours

    def on_segment(self) -> None:
        self._mfu_c = self._seg_first = None
        self._sentinel = False
        self._ema_started = False

    def header_line(self) -> Header:
        return _nanogpt_header(super().header_line())

    def peek_step(self, text: str) -> int | None:
        text = text.lstrip()
        m = _ITER.match(text) if text.startswith("iter ") else None
        return to_int(m.group(1)) if m else None

    def parse_line(self, text: str, lineno: int) -> bool:
        if self._config_mode is not None:
            if self._config_line(text):
                return True
            self._config_mode = None
        # a log pasted indented (a code block inside a markdown list item); a traceback's
        # indented lines never get here (StdoutParser skips them)
        text = text.lstrip()
        m = _GLUED.search(text)
        if m is not None:  # both lines are read, the one before and the glued one
            first = self.parse_line(text[:m.start()], lineno)
            return self.parse_line(text[m.start():], lineno) or first
        starts = [j.start() for j in _JOINED_EVAL.finditer(text)] if "val loss" in text else []
        if len(starts) > 1:  # each eval on its own (what comes before the first is no data)
            for a, b in zip(starts, starts[1:] + [len(text)]):
                self.parse_line(text[a:b].rstrip(" ,;"), lineno)
            return True
        if text.startswith("iter "):
            return self._iter(text)
        m = _EVAL.match(text)
        if m:
            self._eval(int(m.group(1)), m)
            return True
        m = _EVAL_STEPLESS.match(text)
        if m:
            self._flush_stepless_eval(None)  # (two in a row: the first at the step after)
            self._stepless = (to_float(m.group(1)), to_float(m.group(2)))
            return True
        m = _CKPT.match(text)
        if m:
            self._flush_stepless_eval(None)
            step = self.last_eval_step if self.last_eval_step is not None else self.last_iter_step
            self.checkpoint(step, m.group(1).strip(), self._last_val)
            return True
        m = _STATED_BEST.match(text)
        if m and to_float(m.group(1)) is not None:  # the run's best val, maybe not printed
            self.metric(self.last_eval_step, "min_val_loss", to_float(m.group(1)))
            return True
        return self._ours_line(text) or self._header(text)

    def _flush_stepless_eval(self, step: int | None) -> None:
        """The stepless eval waiting for its step: ``step`` (the iteration printed after
        it), or with none (a checkpoint, another eval, the end), the step after the last
        iteration."""
        if self._stepless is None:
            return
        (train, val), self._stepless = self._stepless, None
        if step is None:
            step = self.last_iter_step + 1 if self.last_iter_step is not None else 0
        self._last_val = val
        self.evaluation(step, train_loss=train, val_loss=val)

    def finish(self) -> list[dict[str, Any]]:
        self._flush_stepless_eval(None)
        held, self._out = self._out, []
        return held + super().finish()

    def _eval(self, step: int, m: re.Match) -> None:
        mt = _EVAL_TIME.search(m.group(4))
        if mt is not None and (self.last_iter_step is None or self._timed_evals):
            # eval lines only, each with the time per iteration since the eval before: the
            # step the eval follows is an iteration with that step time (and no loss)
            self._timed_evals = True
            self.iteration(step, step_ms=to_float(mt.group(1) or mt.group(2)))
        self._last_val = to_float(m.group(3))
        self.evaluation(step, train_loss=to_float(m.group(2)), val_loss=self._last_val)

    def _ours_line(self, text: str) -> bool:
        """gptscope's own stdout lines: the events file, anomalies, how the run ended."""
        m = _OUR_END.match(text)
        if m:
            self._end(m.group(1), m.group(3), step=to_int(m.group(2)))
            return True
        m = _OUR_ANOMALY.match(text)
        if m:
            step, kind = int(m.group(1)), f"nonfinite_{m.group(2)}"
            self.anomaly(step, kind, m.group(3), m.group(4))
            return True
        if _OUR_START.match(text):
            # the MFU our trainer prints is its own (see _our_mfu), against its own peak
            self._ours = True
            h = self.header_line()
            h.peak_flops, h.peak_flops_source = None, OUR_PEAK_SOURCE
            return True
        return bool(_OUR_INFO.match(text))

    def _iter(self, text: str) -> bool:
        m = _ITER_STD.match(text)
        if m:  # the common line: what the general reading below gives, in one match
            step, loss, dt, mfu_pct = (to_int(m.group(1)), to_float(m.group(2)),
                                       to_float(m.group(3)), to_float(m.group(4)))
            lr = tps = None
        else:
            m = _ITER.match(text)
            step = to_int(m.group(1)) if m else None
            rest = m.group(3) if m else ""
            mt = _TIME.search(rest)
            loss = to_float(m.group(2)) if m else None
            dt = to_float(mt.group(1)) if mt else None
            if dt is not None and mt.group(2) == "s":
                dt *= 1000.0
            mm, ml = _MFU.search(rest), _LR.search(rest)
            mfu_pct = to_float(mm.group(1)) if mm else None
            lr = to_float(ml.group(1)) if ml else None
            tps = _tokens_per_s(rest)
        if step is None or loss is None:
            return False
        self._flush_stepless_eval(step)
        self._data(step, "iter")  # opens a new segment first, if this step starts one
        self._timed_evals = False  # iteration lines: they give the step times
        measured = mfu_pct is not None and mfu_pct >= 0
        tpi = self.seg_header.tokens_per_iter
        timed = dt is not None and dt > 0
        if self._ours:
            mfu, smoothed = self._our_mfu(step, mfu_pct if measured else None)
        else:
            # the first value after the '-100.00%' lines is that step's own MFU (nanoGPT seeds
            # its running MFU with it): MFU x time is then the same for every step. A log
            # that starts mid-run prints a running average first, maybe on an eval's long
            # dt (89 s against 0.8 s: a 100x MFU), so without the sentinel there is no
            # per-step MFU, only the printed running one
            self._sentinel = self._sentinel or (mfu_pct is not None and mfu_pct < 0)
            if measured and self._mfu_c is None and dt is not None and self._sentinel:
                self._mfu_c = (mfu_pct / 100.0) * dt
            mfu = self._mfu_c / dt if self._mfu_c is not None and timed else None
            smoothed = mfu_pct / 100.0 if measured else None
        self.iteration(
            step, loss=loss, lr=lr, dt_ms=dt,
            tokens_per_s=tpi / (dt / 1000.0) if tpi is not None and tpi > 0 and timed else tps,
            mfu=mfu, mfu_smoothed=smoothed)
        return True

    def _our_mfu(self, step: int, pct: float | None) -> tuple[float | None, float | None]:
        """(per-step MFU, running MFU) of a gptscope stdout line. Our trainer prints each
        step's own MFU for the first 5 iterations of a segment, then nanoGPT's running MFU
        seeded with that step's. Its MFU is measured on the training step alone, while the
        printed time runs from one iteration to the next (batch fetch, logging, evals): the
        per-step MFU of later lines cannot be derived from that time, so it stays unknown
        and the running MFU stands for it (as in the events' summary, within noise)."""
        if self._seg_first is None:
            self._seg_first = step
        if pct is None:
            return None, None
        value = pct / 100.0
        if not self._ema_started:
            self._ema_started = step - self._seg_first >= 5
            return value, (value if self._ema_started else None)
        return None, value

    def _header(self, text: str) -> bool:
        m = _TOKENS.match(text)
        if m:
            h = self.header_line()
            h.tokens_per_iter = to_int(m.group(1))
            h.world_size = (h.world_size or 0) + 1  # once per DDP rank
            return True
        m = _RESUME.match(text)
        if m:
            self.resume_marker(m.group(1).strip())
            return True
        m = _OVERRIDE_FILE.match(text)
        if m:
            self.header_line()
            self._config_mode = "file"
            return True
        if _DUMP_START.match(text):
            self.header_line()
            self._config_mode = "dump"
            return True
        m = _OVERRIDE.match(text)
        if m:
            self._set_config(m.group(1), m.group(2))
            return True
        m = _VOCAB.match(text)
        if m:
            self.header_line().model["vocab_size"] = int(m.group(1))
            return True
        m = _PARAMS.match(text)
        if m:
            millions = to_float(m.group(1) or m.group(2))
            if millions is None:
                return False  # '1.2.3 M parameters': not a count
            self.header_line().model["n_params"] = round(millions * 1e6)
            return True
        if _HEADER.match(text):
            self.header_line()
            return True
        return False

    def _config_line(self, text: str) -> bool:
        if self._config_mode == "dump":
            if set(text.strip()) == {"="}:
                self._config_mode = None
                return True
            m = _DUMP_LINE.match(text)
        else:
            stripped = text.strip()
            if self._pending is not None and text.startswith(("iter ", "step ")):
                self._pending = None  # a value never closed: the log goes on, not the echo
                return False
            if self._pending is not None:  # a value over several lines: until it closes
                key, raw = self._pending
                raw += " " + stripped
                if _balanced(raw):
                    self._pending = None
                    self._set_config(key, raw)
                else:
                    self._pending = (key, raw)
                return True
            if stripped.startswith("#") or _IMPORT.match(stripped):
                return True  # comments, and the imports a config file may start with
            m = _ASSIGN.match(text)
            if m is not None and not _balanced(m.group(2).split(" #", 1)[0]):
                self._pending = (m.group(1), m.group(2).split(" #", 1)[0])
                return True
        if m is None:
            return False
        self._set_config(m.group(1), m.group(2))
        return True

    def _set_config(self, key: str, raw: str) -> None:
        h = self.header_line()
        value = h.config[key] = literal(raw)
        if key in ("n_layer", "n_head", "n_embd", "block_size", "bias"):
            h.model[key] = value
        elif key == "max_iters" and isinstance(value, int):
            h.max_iters = value
        elif key == "device":
            h.device = device_type(value)
        elif key == "dtype" and value in _DTYPES:
            h.dtype = value


def _tokens_per_s(rest: str) -> float | None:
    """A printed throughput ('137.4k tok/s'), for forks that print no time."""
    m = _TPS.search(rest)
    x = to_float(m.group(1)) if m else None
    return x * _TPS_SCALE[m.group(2)] if x is not None else None


def _balanced(text: str) -> bool:
    """Whether a config value's brackets are closed (a list or dict may span lines)."""
    depth = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
    return depth <= 0


def _nanogpt_header(h: Header) -> Header:
    if h.peak_flops is None:
        h.peak_flops, h.peak_flops_source = PEAK_FLOPS, PEAK_SOURCE
    return h


def read_bulk(builder: RunBuilder, data: Any, *, run_id: str, first_lineno: int = 1,
              final: bool = True) -> Parser | None:
    """The bulk hook (analyzer/parsers/__init__.py): the whole lines of ``data`` into
    ``builder``, vectorised (nanogpt_columns.py), with the same result as feeding them to
    ``Parser(run_id)`` (and with ``final``, the text after the last newline and finish()).
    Returns that Parser, sharing ``builder.stats``, to feed the lines that follow; None
    (nothing added) when the file does not fit the vectorised reader."""
    from analyzer.parsers.nanogpt_columns import read_into
    return read_into(builder, data, Parser(run_id), first_lineno, final)
