"""nanochat (karpathy/nanochat) ``scripts.base_train`` and ``chat_sft``/``mid_train`` stdout.

Lines read::

    Autodetected device type: cuda           Distributed world size: 8   (a logging line)
    GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS (BF16): 9.89e+14
    Vocab size: 32,768   num_layers: 24   model_dim: 1536 (...)   num_heads: 12
    Total batch size 524,288 => gradient accumulation steps: 2
    Calculated number of iterations from target data:param ratio: 16,704
    Step 00250 | Validation bpb: 1.086329              metric 'val_bpb'
    Step 03000 | CORE metric: 0.1697                    metric 'core'
    step 00250/16704 (1.50%) | loss: 3.602910 | lrm: 1.00 | dt: 659.50ms | tok/sec: 794,972 | mfu: 49.69 | epoch: 1 | total time: 2.62m | eta: 179.6m
    step 00001 (0.00%) | loss: 5.471677 | ... | mfu: 0.00 | ...       (chat_sft: no total)
    Step 10/20 (50.00%) | loss 8.43 6.92 | lrm 1.0 | dt 4595.83ms 5930.69ms | tps 114,078 (a fork)
    Saved model parameters to: .../model_016704.pt      checkpoint
    Total training time: 179.44m                        the run completed
    Minimum validation bpb: 0.7533                      metric 'min_val_bpb' (see below)

and nanochat's ``report.md`` (``python -m nanochat.report generate``), which has no step lines:
one ``## `` section per stage, each training stage (``Base model training``, ``Midtraining``,
``Chat SFT``, ``Chat RL``) a run of its own, read from its ``- key: value`` summary lines::

    - depth: 20                                 config (the script's lowercase arguments)
    - Number of parameters: 560,988,160         the model's size (later stages: the same model)
    - Calculated number of iterations: 21,400   the stage's steps (``Number of iterations``)
    - Final validation bpb: 0.8120              metric 'val_bpb' at the last step
    - Minimum validation bpb: 0.8120            metric 'min_val_bpb' at the last step
    - Training loss: 0.5317                     an eval at the last step (train and val loss,
    - Validation loss: 1.0115                   in nats)
    - MFU %: 48.04%                             metric 'mfu_pct' (0.00 is "not measured")

A section is written when its script has finished, so each stage run is completed. The base
stage's bpb stays a metric in a report: its SFT evals are losses in nats, and a run's val
figures are never two units mixed (see below).

Meaning and conventions:

- steps are the printed numbers (the step counter's meaning changed between versions: older
  base_train prints the 0-based loop index, newer scripts the number of steps done).
- ``loss`` is what nanochat prints: a bias-corrected EMA (beta 0.9) of the training loss,
  so single-step spikes are damped; validation is reported in bits per byte: it is the
  run's eval (``val_loss`` of an eval event, with ``run.stats.val_unit = 'bpb'``) and also a
  metric (``val_bpb``); ``Validation loss`` lines of older scripts are evals in nats.
- ``Minimum validation bpb`` (printed at the end) is nanochat's own minimum over all the run's
  evals: a metric ``min_val_bpb`` at the run's last step, not an eval (it names no step, and
  an excerpt may lack the eval that reached it). Versions print 4 or 6 decimals.
- ``dt`` is the training step alone (the clock starts after any eval): ``step_ms``;
  ``dt_ms`` is null. ``tok/sec`` and ``mfu`` (percent, no sign) are per step; MFU is null
  when the peak FLOPS is unknown (nanochat then prints 0.00). ``lrm`` is an lr multiplier,
  not an lr, so ``lr`` stays null.
- ANSI colours and the ``2026-02-01 20:37:26,202 - module - LEVEL - `` logging prefix are
  removed by ``_text.clean_line``; ``[GC rankN]`` debug lines are recognised and skipped.
"""
from __future__ import annotations

import ast
import re

from analyzer.mfu_basis import NANOCHAT_CONSTANT_SOURCE
from analyzer.parsers._header import Header, device_type
from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, literal, ms, pipe_fields, to_float, to_int
from gptscope import peaks

NAME = "nanochat"

# '(x%)' is optional; a fork may write 'Step' and its own fields ('loss 8.43 6.92 | dt 4595.83ms
# 5930.69ms | tps 114,078': the first number of a field is read)
_STEP = re.compile(r"[Ss]tep (\d+)(?:/(\d+))?(?: \((\S+)%\))?\s*\|(.*)$")
# a metric line glued to the end of a step line, its newline lost ('… | epoch: 1 Step 22000 |
# Validation bpb: 1.057228'): read as the two lines
_GLUED_METRIC = re.compile(r"(?<=\S) +(Step \d+ \| [A-Z][\w ]*: \S+)$")
_LOSS = re.compile(r"(?:^|\|)\s*loss\b")  # a training loss field, not 'Validation loss'
# the usual fields in one match (the general field split is the slow path)
_STEP_FULL = re.compile(r" loss: (\S+) \| lrm: \S+ \| dt: (\S+)ms \| tok/sec: (\S+) \| mfu: (\S+)"
                        r"(?: \|.*)?$")
_OLD_STEP = re.compile(r"Step (\d+)(?:/(\d+))? \| Training loss: (\S+?)\s*\|(.*)$")
_PADDED = re.compile(r"[Ss]tep \d{5}\b")
# a step line's loss field as nanochat prints it: '| loss: 4.377713', '| Training loss: 3.2'
# (torchtune's 'Step 1 | loss:2.085 lr:2e-05 …' has the colon but not the space after it)
_LOSS_FIELD = re.compile(r"\|\s*(?:[A-Z]\w* )?loss: ")
_METRIC = re.compile(r"[Ss]tep (\d+) \| ([A-Za-z][\w /-]*?): (\S+)")
_GPU = re.compile(r"GPU: (.+?) \| Peak FLOPS \((\w+)\): (\S+)")
_CKPT = re.compile(r"Saved model parameters to: (\S+)")
_DONE = re.compile(r"Total training time: (\S+)")
_MIN_VAL = re.compile(r"Minimum validation bpb: (\S+)")
_NO_PEAK = "unknown: not in nanochat's table"  # nanochat then prints mfu 0.00
_KEYS = {  # header 'key: value' -> (where, key)
    "Vocab size": ("model", "vocab_size"), "num_layers": ("model", "n_layer"),
    "model_dim": ("model", "n_embd"), "num_heads": ("model", "n_head"),
    "max_seq_len": ("model", "block_size"), "sequence_len": ("model", "block_size"),
}
_KEYVAL = re.compile(r"([A-Za-z_][\w ]*?)\s*: ([-\d,.e+]+)(?:\s.*)?$")
_HEADER = re.compile(r"Autodetected device type|Distributed world size|COMPUTE_DTYPE|Tokens / micro"
                     r"|Total batch size|Scaling |Parameter counts|Estimated FLOPs|Calculated "
                     r"number of iterations|Total number of training tokens|Tokens : Scaling|"
                     r"Total training FLOPs|Inherited |Loading model from|Loading optimizer|"
                     r"Loaded optimizer|Building model with config|No model tag provided|"
                     r"Training mixture|Peak flops undefined|✓ |[\s█░╗╔═║╚╝]+$|head_dim|"
                     r"num_kv_heads|Vocab size")
# lines that may come at any time (so they must not start a new segment like a header)
_NOISE = re.compile(r"\[GC rank|HTTP Request: |Evaluating: |Saved (?:optimizer state|metadata)"
                    r"|Peak memory usage|Downloading https?:|Downloaded to ")


# report.md: its title, the stages that train (each a run) and a section's summary lines
_REPORT_TITLE = "# nanochat training report"
_STAGES = ("Base model training", "Midtraining", "Chat SFT", "Chat RL")
_REPORT_KV = re.compile(r"- ([^:]+): ?(.*)$")
_ARG = re.compile(r"[a-z_][a-z0-9_]*")  # a script argument ('depth'), not a result line

# header lines only nanochat's base_train prints (an excerpt may start below its first lines)
_OWN_HEADER = ("Estimated FLOPs per token:", "Tokens / micro-batch / rank:",
               "Total training FLOPs estimate:", "Tokens : Scaling params ratio:")


def detect(head: list[str]) -> float:
    """Confidence that these first lines are nanochat training output."""
    score, stage = 0.0, False
    for raw in head:
        line = clean_line(raw)
        if line == _REPORT_TITLE or stage and line.startswith("timestamp: "):
            return 0.95  # a report.md (an excerpt may start at a stage's section)
        stage = line.startswith("## ") and line[3:].strip() in _STAGES
        if _STEP.match(line) and _LOSS_FIELD.search(line) or _METRIC.match(line):
            return 0.95
        # a paste indented: nanochat's own zero-padded 'step 00500' lines alone (a fork's
        # indented 'step 1000 | loss: …' is build-nanogpt's)
        text = line.lstrip()
        if _PADDED.match(text) and (_STEP.match(text) and _LOSS_FIELD.search(text)
                                    or _METRIC.match(text)):
            return 0.95
        if line.startswith(("Autodetected device type", "COMPUTE_DTYPE") + _OWN_HEADER) or \
                (line.startswith("GPU: ") and "Peak FLOPS" in line):
            score = 0.6
    return score


class Parser(StdoutParser):
    NAME = NAME

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._val_kind: str | None = None  # 'loss' or 'bpb': what this run's evals hold
        self._report = False  # inside a report.md
        self._stage: dict[str, str] | None = None  # the summary lines of a training stage
        self._report_params: int | None = None  # the model's size, as the base stage said
        _constant_peak(self.header)

    def finish(self) -> list[dict]:
        self._out = last = []
        self._end_stage()  # the report's last training section
        return last + super().finish()

    def header_line(self) -> Header:
        return _constant_peak(super().header_line())

    def peek_step(self, text: str) -> int | None:
        m = _STEP.match(text)
        return int(m.group(1)) if m and _LOSS.search(m.group(4)) else None

    def parse_line(self, text: str, lineno: int) -> bool:
        # a log pasted indented (a notes file's code block); a traceback's indented lines
        # never get here (StdoutParser skips them)
        if self._report or text.startswith("#"):
            report = self._report_line(text)
            if report is not None:
                return report
        text = text.lstrip()
        glued = _GLUED_METRIC.search(text) if _STEP.match(text) else None
        if glued is not None:  # both lines, in their order
            head = self.parse_line(text[:glued.start()], lineno)
            return self.parse_line(glued.group(1), lineno) or head
        m = _STEP.match(text)
        if m and self._step(int(m.group(1)), m.group(2), m.group(4)):
            return True
        m = _OLD_STEP.match(text)
        if m:
            f = pipe_fields(m.group(4))
            self._total(m.group(2))
            self.iteration(int(m.group(1)), loss=to_float(m.group(3)),
                           step_ms=ms(f.get("dt")))
            return True
        m = _METRIC.match(text)
        if m:
            self._metric(int(m.group(1)), m.group(2), to_float(m.group(3)))
            return True
        m = _CKPT.match(text)
        if m:
            self.checkpoint(self.last_iter_step, m.group(1))
            return True
        if _DONE.match(text):
            self.completed()
            return True
        m = _MIN_VAL.match(text)
        if m:  # the run's best val by nanochat's count, at its end (see the module docstring)
            ends = [s for s in (self.last_iter_step, self.last_eval_step) if s is not None]
            self.metric(max(ends, default=None), "min_val_bpb", to_float(m.group(1)))
            return True
        return self._header(text) or bool(_NOISE.match(text))

    def _report_line(self, text: str) -> bool | None:
        """A line of a report.md; None: not one (the line is read as stdout)."""
        stage = text.startswith("## ") and text[3:].strip() in _STAGES
        if text == _REPORT_TITLE or stage or self._report and text.startswith("## "):
            self._end_stage()
            self._report = True
            if stage:
                self.header_line()  # after another stage's data: the next run
                self._stage = {}
            return True
        if not self._report:
            return None
        m = _REPORT_KV.match(text) if self._stage is not None else None
        if m:
            self._stage.setdefault(m.group(1).strip(), m.group(2).strip())
        return True  # the rest of a report (environment, evals, tables) is no training data

    def _end_stage(self) -> None:
        """Emit the training stage whose section just ended: a run, completed."""
        stage, self._stage = self._stage, None
        if not stage:
            return
        h = self.header
        for key, value in stage.items():
            if _ARG.fullmatch(key) and value:
                number = to_float(value.replace(",", ""))
                h.config[key] = literal(value) if number is None else (
                    int(number) if number.is_integer() else number)
        params = to_int(stage.get("Number of parameters"))
        self._report_params = params = params or self._report_params
        h.model.update({k: v for k, v in (("n_params", params),
                                         ("n_layer", to_int(stage.get("depth"))),
                                         ("block_size", to_int(stage.get("max_seq_len"))))
                        if v is not None})
        h.world_size = to_int(stage.get("DDP world size")) or h.world_size
        h.tokens_per_iter = to_int(stage.get("total_batch_size")) or h.tokens_per_iter
        steps = to_int(stage.get("Calculated number of iterations")
                       or stage.get("Number of iterations"))
        if steps is not None:
            h.max_iters = steps
        train, val = (to_float(stage.get(k)) for k in ("Training loss", "Validation loss"))
        if train is not None or val is not None:
            self._val_kind = "loss"
            self.evaluation(steps, train_loss=train, val_loss=val)
        for key, name in (("Final validation bpb", "val_bpb"),
                          ("Minimum validation bpb", "min_val_bpb")):
            if (value := to_float(stage.get(key))) is not None:
                self.metric(steps, name, value)
        mfu = to_float(stage.get("MFU %", "").rstrip("%"))
        if mfu:  # (0.00: no peak known, or no GPU)
            self.metric(steps, "mfu_pct", mfu)
        self._data(steps, "other")  # (a stage with no figures is still a run)
        self._end("completed", None, steps)

    def _total(self, total: str | None) -> None:
        self.step_total(int(total) if total else None)  # another N: another run

    def _step(self, step: int, total: str | None, rest: str) -> bool:
        m = _STEP_FULL.match(rest)
        values = [to_float(g) for g in m.groups()] if m else [None]
        if None in values:
            f = pipe_fields(rest)
            values = [f.get(k, (None, ""))[0] for k in ("loss", "dt", "tok/sec", "mfu")]
            if values[2] is None:  # a fork's name for it
                values[2] = (f.get("tps") or f.get("tok/s") or (None, ""))[0]
            if values[3] is None:  # nanochat since late 2025: 'bf16_mfu: 2.74'
                values[3] = f.get("bf16_mfu", (None, ""))[0]
            values[1] = ms(f.get("dt"))  # a number without 'ms' is a cut line
        loss, dt, tps, mfu = values
        if loss is None:
            return False
        self._total(total)
        self._data(step, "iter")  # the segment's header decides whether MFU means anything
        if mfu is None or mfu <= 0 or self.seg_header.peak_flops_source.startswith(_NO_PEAK):
            mfu = None
        self.iteration(step, loss=loss, step_ms=dt, tokens_per_s=tps,
                       mfu=mfu / 100.0 if mfu is not None else None)
        return True

    def _metric(self, step: int, name: str, value: float | None) -> None:
        key = name.strip().lower()
        # the run's val figure is the first validation kind it prints: a loss in nats (older
        # scripts), or bits per byte (the unit in run.stats.val_unit): never the two mixed
        if key in ("validation loss", "val loss") and self._val_kind in (None, "loss"):
            self._val_kind = "loss"
            self.evaluation(step, val_loss=value)
            return
        key = {"validation bpb": "val_bpb", "core metric": "core"}.get(key, key)
        if key == "val_bpb" and self._val_kind in (None, "bpb"):
            self._val_kind = self.stats.val_unit = "bpb"
            self.evaluation(step, val_loss=value)  # also kept as the metric it always was
        self.metric(step, re.sub(r"\W+", "_", key).strip("_"), value)

    def _header(self, text: str) -> bool:
        m = _GPU.match(text)
        if m:
            h = self.header_line()
            h.device, h.device_name = "cuda", m.group(1).strip()
            peak = to_float(m.group(3))
            if peak is not None and 0 < peak < float("inf"):
                h.peak_flops, h.peak_flops_source = peak, "table:nanochat"
            else:
                h.peak_flops, h.peak_flops_source = None, _NO_PEAK
            return True
        if not _HEADER.match(text) and not (self.segment < 0 and _KEYVAL.match(text)):
            return False
        h = self.header_line()
        self._header_values(text, h)
        return True

    def _header_values(self, text: str, h: Header) -> None:
        if text.startswith("Autodetected device type:"):
            h.device = device_type(text.split(":", 1)[1])
        elif text.startswith("Distributed world size:"):
            h.world_size = to_int(text.split(":", 1)[1].strip())
        # (a line may be cut anywhere: a missing value leaves the header as it was)
        elif text.startswith("Total batch size "):
            words = text.split()
            if len(words) > 3:
                h.tokens_per_iter = to_int(words[3])
        elif text.startswith("Calculated number of iterations"):
            if ":" in text:
                h.max_iters = to_int(text.rsplit(":", 1)[1].strip())
        elif text.startswith("COMPUTE_DTYPE:"):
            dtype = (text.split(":", 1)[1].split() or [""])[0].replace("torch.", "")
            h.dtype = dtype if dtype in ("float32", "bfloat16", "float16") else h.dtype
        elif text.startswith("Building model with config:"):
            self._model_config(text.split(":", 1)[1], h)
        elif text.startswith("Peak flops undefined"):
            h.peak_flops, h.peak_flops_source = None, _NO_PEAK
        elif text.startswith("Inherited "):
            key, _, value = text[len("Inherited "):].partition(" from ")[0].partition("=")
            h.config[key.strip()] = literal(value)
        elif text.strip().startswith("total") and ":" in text:
            h.model["n_params"] = to_int(text.split(":", 1)[1].strip())
        elif text.startswith("Number of parameters:"):  # older nanochat's wording
            h.model["n_params"] = to_int(text.split(":", 1)[1].strip().replace(",", ""))
        else:
            m = _KEYVAL.match(text)
            if m:
                key, value = m.group(1).strip(), to_float(m.group(2))
                h.config[key] = int(value) if value is not None and value.is_integer() else value
                where = _KEYS.get(key)
                if where is not None and value is not None:
                    h.model[where[1]] = int(value)

    def _model_config(self, raw: str, h: Header) -> None:
        try:
            cfg = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return  # not a literal, or an odd one ({[1]: 2} raises TypeError)
        if isinstance(cfg, dict):
            h.config.update({k: v for k, v in cfg.items() if isinstance(v, (int, float, str))})
            for src, dst in (("n_layer", "n_layer"), ("n_head", "n_head"), ("n_embd", "n_embd"),
                             ("vocab_size", "vocab_size"), ("sequence_len", "block_size")):
                if isinstance(cfg.get(src), int):
                    h.model[dst] = cfg[src]


def _constant_peak(h: Header) -> Header:
    """nanochat's MFU before it printed the GPU's peak ('GPU: … | Peak FLOPS (BF16)', which
    sets the header's peak when it comes) was against an H100's, whatever the device."""
    if h.peak_flops is None and h.peak_flops_source == "unknown":
        h.peak_flops, h.peak_flops_source = peaks.NANOCHAT_H100_FLOPS, NANOCHAT_CONSTANT_SOURCE
    return h
