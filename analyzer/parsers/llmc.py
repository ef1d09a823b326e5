"""llm.c (karpathy/llm.c): ``train_gpt2cu`` / ``train_gpt2`` stdout and the ``-o`` log file.

stdout of train_gpt2.cu, after a ``| Parameter | Value |`` table::

    val loss 11.007921
    step    1/19560 | loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07 | 4230.95 ms | 31.9% bf16 MFU | 123917 tok/s
    evaluating HellaSwag: 0/1256\\r...\\rHellaSwag: 2493/10042 = 0.248257
    [CUDA ERROR] at file train_gpt2.cu:265:   (message on the next line)
    total average iteration time: 4201.3 ms      (the run completed)

train_gpt2.cu of spring 2024 (and ports of it) printed the step line as::

    step    2/14124: train loss 3.324505 (acc 3.278165) (309.399994 ms, 211816.375000 tok/s)

and older versions allocate gradients and optimizer state at the first step, so their
``allocating N MiB for parameter gradients`` lines (``allocated`` in May 2024) come after the
first ``val loss``.

stdout of the CPU reference train_gpt2.c (after a ``[GPT-2]`` block)::

    step 0: train loss 5.356189 (took 1452.121000 ms)

and a C++ port of it ``val loss: 5.32553``, ``step 0 train Loss: 4.67778 (took 7666.71 ms)``,
``Number of Parameters: 124475904``.

llm.c's python train_gpt2.py prints ``step 1/50 | train loss 5.1 | norm ... | (123.45 ms | ...)``.
The ``-o`` log file: ``s:0 tel:11.0095`` (val loss), ``s:0 trl:11.0116 lr:0.000001 norm:14.96``
(train), ``s:250 eval:0.2437`` (HellaSwag); the python trainer's log file has ``trl``/``tel``
with 6 decimals and no lr/norm.

Meaning and conventions:

- **Steps are the numbers the log prints** (a reader searches for them): train_gpt2.cu and
  train_gpt2.py print ``step+1`` ("step 1/19560" after the first step), train_gpt2.c and the
  log file the 0-based step. An eval (``val loss``, HellaSwag) is numbered by the steps done
  before it: the last printed step for the 1-based stdout, the one after it for the 0-based
  forms, like the log file's ``s:N tel:``.
- the printed ms is the training step alone (the timer starts after the eval): ``step_ms``;
  ``dt_ms`` is null, so ``eval_inclusive`` is never set. ``MFU`` is per step -> ``mfu``.
- ``tokens_per_s`` is total batch size / step time when the header gives the batch size (the
  printed tok/s is a running average), else the printed value.
- ``(+nanz)`` z-scores are ignored; ``nan`` losses and norms become anomalies.
"""
from __future__ import annotations

import re

from analyzer.parsers._endings import NATIVE_ERROR, TRACEBACK
from analyzer.parsers._stdout import StdoutParser
from analyzer.parsers._text import clean_line, literal, pipe_fields, to_float, to_int

NAME = "llmc"

_STEP_CU = re.compile(r"step\s+(\d+)/(\d+) \|(.*)$")
# the whole train_gpt2cu line in one match (the general field split is the slow path)
_STEP_FULL = re.compile(r"step\s+(\d+)/(\d+) \| loss +(\S+) \([^)]*\)\| norm +(\S+) \([^)]*\)\| "
                        r"lr (\S+) \| (\S+) ms \| (\S+)% bf16 MFU \| (\S+) tok/s$")
# ports of it print 'step 0 train Loss: 4.67778 (took 7666.71 ms)' (a C++ port: no colon after
# the step, 'Loss:' capitalised with a colon)
# (a SYCL port pads: "step    0: train loss 4.677785 (took     79.346 ms: [0.008, ...])")
_STEP_C = re.compile(r"step\s+(\d+):? train loss:? (\S+) \(took\s+(\S+) ms\b", re.IGNORECASE)
# train_gpt2.cu of spring 2024: 'step    2/14124: train loss 3.32 (acc 3.27) (309.39 ms, 211816.37
# tok/s)', later with 'norm 1.23 lr 3.00e-04' for '(acc ...)'; what follows the loss may be cut
_STEP_COLON = re.compile(r"step\s+(\d+)/(\d+): train loss (\S+)(.*)$")
_PAREN_TIME = re.compile(r"\((\S+) ms(?:, (\S+) tok/s)?")
_NORM_LR = re.compile(r"\b(norm|lr) (\S+)")
_VAL = re.compile(r"val loss:? (\S+)")  # 'val loss: 5.32553' in a C++ port
_HELLA = re.compile(r"HellaSwag: (\d+)/(\d+) = (\S+)")
_LOGFILE = re.compile(r"s:(\d+) (trl|tel|eval):(\S+)(.*)$")
_TABLE = re.compile(r"\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|$")
_NUM_PARAMS = re.compile(r"num_parameters: (\d+) =>")
_KEYVAL = re.compile(r"([A-Za-z_ ]+): (\d+)$")  # train_gpt2.c's [GPT-2] block
# a port's wording of a [GPT-2] block key -> train_gpt2.c's
_KEY_ALIASES = {"Number of Parameters": "num_parameters"}
_BATCH = re.compile(r"batch_size B=(\d+) \* seq_len T=(\d+) \* num_processes=(\d+) "
                    r"and total_batch_size=(\d+)")
_DONE = re.compile(r"total average iteration time: (\S+) ms")
_HEADER = re.compile(r"\+-+\+|\[GPT-2\]|Multi-GPU support is disabled|num_parameters: \d+ =>|"
                     r"allocated \d+ MiB|allocating \d+ MiB|=> setting grad_accum_steps|"
                     r"device memory usage|memory per sequence|-> estimated maximum batch|"
                     r"padded_vocab_size|num_activations|train dataset num_batches|"
                     r"val dataset num_batches|Precision is configured|ProcessID|\| Parameter|"
                     r"WARNING: Failed to open the tokenizer|The Tokenizer is a new feature|"
                     r"Re-run `python train_gpt2.py`")
_LAZY_ALLOC = re.compile(r"allocat(?:ing|ed) \d+ MiB")  # May 2024: "allocated"
_PROGRESS = re.compile(r"evaluating HellaSwag: \d+/\d+")
_CKPT_STEP = re.compile(r"Writing checkpoint at step (\d+)")
_CKPT_FILE = re.compile(r"Writing model to (\S+)")
_TABLE_KEYS = {  # table row -> (where, key)
    "num_layers L": ("model", "n_layer"), "num_heads NH": ("model", "n_head"),
    "channels C": ("model", "n_embd"), "max_sequence_length T": ("model", "block_size"),
    "padded_vocab_size Vp": ("model", "vocab_size"), "num_layers": ("model", "n_layer"),
    "num_heads": ("model", "n_head"), "channels": ("model", "n_embd"),
    "max_seq_len": ("model", "block_size"), "vocab_size": ("model", "vocab_size"),
}
_DTYPES = {"BF16": "bfloat16", "FP16": "float16", "FP32": "float32"}


def detect(head: list[str]) -> float:
    """Confidence that these first lines are llm.c stdout or its -o log file."""
    score = 0.0
    for raw in head:
        line = clean_line(raw)
        # (train_gpt2.c's step line is its own even indented in a paste; an indented
        # 'step N/M | ...' is a fork of something else as often)
        if (_STEP_CU.match(line) and "|" in line) or _STEP_C.match(line.lstrip()) or \
                _STEP_COLON.match(line) or _LOGFILE.match(line):
            return 0.95
        line = line.lstrip()
        if "| Parameter" in line or line.startswith(("[GPT-2]", "Multi-GPU support is disabled",
                                                     "[CUDA ERROR]", "[CUDNN ERROR]",
                                                     "train_gpt2cu:")) \
                or _NUM_PARAMS.match(line):  # train_gpt2cu's 'num_parameters: N => bytes:'
            score = 0.85
    return score


class Parser(StdoutParser):
    NAME = NAME

    def __init__(self, run_id: str = "log") -> None:
        super().__init__(run_id)
        self._generating = 0   # 0: no; 1: 'generating:' seen; 2: inside the '---' block
        self._ckpt_step: int | None = None
        self._one_based = False  # stdout of train_gpt2.cu/.py: 'step N' after N steps

    def peek_step(self, text: str) -> int | None:
        m = _STEP_CU.match(text) or _STEP_C.match(text) or _STEP_COLON.match(text)
        return int(m.group(1)) if m and "loss" in text else None

    def parse_line(self, text: str, lineno: int) -> bool:
        if self._generating:
            return self._generation(text)
        text = text.lstrip()  # a paste indented in a markdown block (never a traceback's)
        if text.startswith("step"):
            return self._step(text)
        m = _LOGFILE.match(text)
        if m:
            return self._logfile(int(m.group(1)), m.group(2), m.group(3), m.group(4))
        if text.startswith("Error: "):
            # llm.c's own checks print 'Error: <what>' and exit(1) ('must forward with
            # targets before backward'; those with a file and line are native errors anyway)
            self._exception = text
            return True
        m = _VAL.match(text)
        if m:
            self.evaluation(self._eval_at(), val_loss=to_float(m.group(1)))
            self.stats.eval_steps_inferred = True
            return True
        m = _HELLA.search(text)
        if m:
            self.metric(self._eval_at(), "hellaswag", to_float(m.group(3)))
            return True
        if _PROGRESS.match(text) or "evaluating HellaSwag: ".startswith(text):
            return True  # the \r progress, or what is left of it when a log was cut
        m = _CKPT_STEP.match(text)
        if m:
            self._ckpt_step = int(m.group(1))
            return True
        m = _CKPT_FILE.match(text)
        if m:
            step = self._ckpt_step if self._ckpt_step is not None else self.last_iter_step
            self.checkpoint(step, m.group(1))
            return True
        if text.startswith("Writing state to "):
            return True
        if text == "generating:":
            self._generating = 1
            return True
        m = _DONE.match(text)
        if m:
            self.completed()
            return True
        return self._header(text)

    def _eval_at(self) -> int:
        """Evals run at the top of the step after the last printed one (a new run's first
        eval, after its header, at its step 0)."""
        if self.new_run_pending:
            return 0
        if self.last_eval_step is not None and (self.last_iter_step is None
                                                or self.last_eval_step > self.last_iter_step):
            return self.last_eval_step  # HellaSwag right after its val loss
        if self.last_iter_step is None:
            return 0
        return self.last_iter_step + (0 if self._one_based else 1)

    def _step(self, text: str) -> bool:
        m = _STEP_C.match(text)
        if m:
            step, loss, ms = to_int(m.group(1)), to_float(m.group(2)), to_float(m.group(3))
            self.iteration(step, loss=loss, step_ms=ms, tokens_per_s=self._tokens(ms, None))
            return True
        m = _STEP_FULL.match(text)
        if m:
            step, loss, norm, lr, ms, mfu, tps = (to_float(g) for g in m.group(1, 3, 4, 5, 6, 7, 8))
            if None not in (step, loss, norm, lr, ms, mfu, tps):
                return self._cu_step(int(step), int(m.group(2)), loss, lr, norm, ms, mfu, tps)
        m = _STEP_CU.match(text)
        if m is None:
            return self._colon_step(text)
        f = pipe_fields(m.group(3))
        loss = f.get("loss", f.get("train loss", (None, "")))[0]
        if loss is None:
            return False
        ms = f.get("ms", (None, ""))[0]
        mfu = next((v for k, (v, _) in f.items() if k.endswith("mfu")), None)
        printed_tps = f.get("tok/s", f.get("tok/s)", (None, "")))[0]
        return self._cu_step(int(m.group(1)), int(m.group(2)), loss, f.get("lr", (None, ""))[0],
                             f.get("norm", (None, ""))[0], ms, mfu, printed_tps)

    def _colon_step(self, text: str) -> bool:
        """The spring-2024 line (see _STEP_COLON); its '(acc X)', the loss averaged over the
        processes, is left: 'train loss' is the loss every other form prints."""
        m = _STEP_COLON.match(text)
        loss = to_float(m.group(3)) if m else None
        if loss is None:
            return False
        rest = m.group(4)
        t = _PAREN_TIME.search(rest)
        ms, tps = (to_float(t.group(1)), to_float(t.group(2))) if t else (None, None)
        f = {k: to_float(v) for k, v in _NORM_LR.findall(rest)}
        return self._cu_step(int(m.group(1)), int(m.group(2)), loss, f.get("lr"), f.get("norm"),
                             ms, None, tps)

    def _cu_step(self, shown: int, total: int, loss: float, lr: float | None,
                 norm: float | None, ms: float | None, mfu: float | None,
                 printed_tps: float | None) -> bool:
        self.step_total(total)  # another N: another run (see StdoutParser.step_total)
        self._one_based = True  # 'step 1/N' is printed after one step
        self.iteration(shown, loss=loss, lr=lr, grad_norm=norm, step_ms=ms,
                       tokens_per_s=self._tokens(ms, printed_tps),
                       mfu=mfu / 100.0 if mfu is not None and mfu >= 0 else None)
        return True

    def _tokens(self, ms: float | None, printed: float | None) -> float | None:
        tpi = self.seg_header.tokens_per_iter
        if tpi and ms and ms > 0:
            return tpi / (ms / 1000.0)
        return printed

    def _logfile(self, step: int, kind: str, value: str, rest: str) -> bool:
        x = to_float(value)
        if kind == "trl":
            extra = dict(re.findall(r"(\w+):(\S+)", rest))
            self.iteration(step, loss=x, lr=to_float(extra.get("lr")),
                           grad_norm=to_float(extra.get("norm")))
        elif kind == "tel":
            self.evaluation(step, val_loss=x)
        else:
            self.metric(step, "hellaswag", x)
        return True

    def _generation(self, text: str) -> bool:
        if NATIVE_ERROR.search(text) or text.startswith(TRACEBACK):
            self._generating = 0  # the job dies while sampling (MPI aborts it): an ending
            return False
        if text.strip() == "---":
            self._generating = 2 if self._generating == 1 else 0
        return True

    def _header(self, text: str) -> bool:
        m = _TABLE.fullmatch(text.strip())
        if m and m.group(1) != "Parameter":
            self._table_row(m.group(1), m.group(2))
            return True
        m = _NUM_PARAMS.match(text.strip())
        if m:  # train_gpt2cu: 'num_parameters: 124475904 => bytes: 248951808'
            self._table_row("num_parameters", m.group(1))
            return True
        m = _BATCH.search(text)
        if m:
            h = self.header_line()
            h.tokens_per_iter, h.world_size = int(m.group(4)), int(m.group(3))
            return True
        if self.segment >= 0 and self.last_iter_step is None and _LAZY_ALLOC.match(text):
            # older llm.c allocates gradients and optimizer state at the first backward and
            # update: after the run's first eval, before its 'step 1/N', not another header
            return True
        if _HEADER.search(text):
            h = self.header_line()
            if text.startswith("Multi-GPU support is disabled"):
                h.world_size = 1
            return True
        m = _KEYVAL.fullmatch(text.strip())
        key = _KEY_ALIASES.get(m.group(1), m.group(1)) if m else None
        if m and key in _TABLE_KEYS | {"num_parameters": 0}:
            self._table_row(key, m.group(2))
            return True
        return text.strip() == "---"

    def _table_row(self, key: str, raw: str) -> None:
        h = self.header_line()
        value = h.config[key] = literal(raw)
        where = _TABLE_KEYS.get(key)
        if where is not None:
            h.model[where[1]] = value
        elif key == "num_parameters" and isinstance(value, int):
            h.model["n_params"] = value  # the count llm.c prints (position embeddings too)
        elif key == "total batch size" and isinstance(value, int):
            h.tokens_per_iter = value
        elif key == "device":
            h.device, h.device_name = "cuda", str(value)
        elif key == "peak TFlops" and isinstance(value, (int, float)) and value > 0:
            h.peak_flops, h.peak_flops_source = value * 1e12, "table:llm.c"
        elif key == "precision":
            h.dtype = _DTYPES.get(str(value).upper())
        elif key == "num_processes" and isinstance(value, int):
            h.world_size = value
        elif key == "train_num_batches" and isinstance(value, int):
            h.max_iters = value
