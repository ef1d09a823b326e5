"""Training configuration: one small frozen dataclass per component, composed into Config.

Each field carries a docstring (the string literal under it); ``field_docs`` reads them with
``ast`` so that ``--help`` and docs/trainer.md show the same words as the code. Field names are
unique across sections, so the command line and TOML files can use flat nanoGPT-style keys
(``--max_iters=2000``); TOML files may also group keys in ``[model]``, ``[optim]``... tables.

Configuration is data: values are parsed by type, never executed.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import math
import re
import sys
import textwrap
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as the tomli package (pyproject: python_version<'3.11')
    import tomli as tomllib


class ConfigError(ValueError):
    """A configuration value is wrong; ``field`` names it (or the file, for file errors)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class ModelConfig:
    n_layer: int = 4
    """Number of transformer blocks."""
    n_head: int = 4
    """Attention heads per block; must divide n_embd."""
    n_embd: int = 128
    """Width of the residual stream (embedding size)."""
    block_size: int = 64
    """Context length in tokens."""
    dropout: float = 0.0
    """Dropout probability in attention, MLP and embeddings (0 for pre-training)."""
    bias: bool = False
    """Bias in Linear and LayerNorm layers (True as in GPT-2; False is a bit better and faster)."""
    pad_vocab: bool = True
    """Pad vocabularies larger than 256 tokens up to a multiple of 64 (GPT-2: 50257 -> 50304)
    for faster matmuls; character vocabularies are left as they are."""

    def validate(self) -> None:
        _positive(self, "n_layer", "n_head", "n_embd", "block_size")
        if self.n_embd % self.n_head:
            raise ConfigError("n_head", f"must divide n_embd={self.n_embd}, got {self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("dropout", f"must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class DataConfig:
    data: str = "shakespeare_char"
    """Training data: 'shakespeare_char' or 'shakespeare' (the embedded Tiny Shakespeare by
    character or by GPT-2 BPE), or a directory written by `python -m trainer prepare`."""

    def validate(self) -> None:
        if not self.data:
            raise ConfigError("data", "must name a dataset or a directory")


@dataclass(frozen=True)
class OptimConfig:
    learning_rate: float = 1e-3
    """Peak learning rate of AdamW."""
    min_lr: float = 1e-4
    """Learning rate at the end of the cosine decay (about learning_rate / 10)."""
    weight_decay: float = 0.1
    """AdamW weight decay, applied to matrices and embeddings only (not biases or norms)."""
    beta1: float = 0.9
    """AdamW beta1."""
    beta2: float = 0.99
    """AdamW beta2 (0.99 for small data; 0.95 for GPT-2 scale)."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this value; 0 disables clipping (the norm is still
    logged)."""
    decay_lr: bool = True
    """Use linear warmup then cosine decay; False keeps learning_rate constant."""
    warmup_iters: int = 100
    """Iterations of linear learning-rate warmup."""
    lr_decay_iters: int = 2000
    """Iteration where the cosine decay reaches min_lr (about max_iters)."""

    def validate(self) -> None:
        _positive(self, "learning_rate")
        _non_negative(self, "min_lr", "weight_decay", "grad_clip", "warmup_iters",
                      "lr_decay_iters")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(name, f"must be in [0, 1), got {getattr(self, name)}")
        if self.min_lr > self.learning_rate:
            raise ConfigError("min_lr", f"must not exceed learning_rate={self.learning_rate}, "
                                        f"got {self.min_lr}")
        if self.decay_lr and self.lr_decay_iters < self.warmup_iters:
            raise ConfigError("lr_decay_iters", f"must be >= warmup_iters={self.warmup_iters}, "
                                                f"got {self.lr_decay_iters}")


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 12
    """Sequences per micro-batch (per process)."""
    gradient_accumulation_steps: int = 1
    """Micro-batches per optimizer step, in total over all processes."""
    max_iters: int = 2000
    """Optimizer steps to train for; the run ends with an eval at this iteration."""
    eval_interval: int = 250
    """Evaluate (and maybe checkpoint) every this many iterations."""
    eval_iters: int = 20
    """Batches per split in each evaluation."""
    eval_only: bool = False
    """Evaluate once at the start and exit."""
    log_interval: int = 1
    """Write an iter event (and stdout line) every this many iterations."""
    always_save_checkpoint: bool = False
    """Checkpoint at every eval; False saves only when the val loss improves."""
    save_on_interrupt: bool = True
    """On SIGTERM/SIGINT write a final checkpoint before exiting (when the model is finite)."""
    nan_policy: str = "stop"
    """What to do with a non-finite loss or gradient: the update is always skipped; 'stop'
    ends the run after nan_patience consecutive such steps, 'skip' keeps going."""
    nan_patience: int = 3
    """Consecutive non-finite steps tolerated before nan_policy='stop' ends the run."""
    seed: int = 1337
    """Random seed (initialisation, batches, dropout)."""

    def validate(self) -> None:
        _positive(self, "batch_size", "gradient_accumulation_steps", "eval_interval",
                  "eval_iters", "log_interval", "nan_patience")
        _non_negative(self, "max_iters", "seed")
        _choice(self, "nan_policy", ("stop", "skip"))


@dataclass(frozen=True)
class SystemConfig:
    device: str = "auto"
    """Device: 'auto' (cuda when available, else cpu), 'cpu', 'cuda', 'cuda:N' or 'mps'."""
    dtype: str = "auto"
    """Compute dtype: 'auto' (bfloat16 on CUDA where supported, float16 on older GPUs,
    float32 on CPU), 'float32', 'bfloat16' or 'float16'."""
    compile: bool = False
    """Compile the model with torch.compile (worth it on GPU; slower to start)."""
    threads: int = 0
    """CPU threads for torch operations; 0 keeps torch's default (one per physical core).
    Tiny models run faster on 1, and so does a CPU that other programs are busy on."""
    peak_tflops: float = 0.0
    """Peak dense TFLOP/s per device for MFU; 0 looks the device up (GPU) or measures it
    (CPU)."""
    out_dir: str = "logs"
    """Directory that holds one sub-directory per run."""
    run_id: str = ""
    """Name of the run directory; empty makes a timestamp-based one."""
    tensorboard: bool = False
    """Also write the run's scalars as a TensorBoard event file in the run directory
    (needs pip install 'gptscope[tensorboard]')."""

    def validate(self) -> None:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError("device", f"must be auto, cpu, cuda, cuda:N or mps, "
                                        f"got {self.device!r}")
        _choice(self, "dtype", ("auto", "float32", "bfloat16", "float16"))
        _non_negative(self, "peak_tflops", "threads")
        if self.run_id and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.run_id):
            raise ConfigError("run_id", f"use letters, digits, '.', '_' and '-', "
                                        f"got {self.run_id!r}")


SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "optim": OptimConfig,
                             "train": TrainConfig, "system": SystemConfig}


@dataclass(frozen=True)
class Config:
    """The whole training configuration; ``flat()`` gives it as nanoGPT-style keys."""
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    system: SystemConfig = SystemConfig()

    def flat(self) -> dict[str, Any]:
        return {f.name: getattr(getattr(self, s), f.name)
                for s, cls in SECTIONS.items() for f in fields(cls)}

    def replace(self, **flat: Any) -> "Config":
        """A copy with some flat keys changed (values already typed); unknown keys raise."""
        for key in flat:
            if key not in FIELD_SECTION:
                raise ConfigError(key, "unknown config key" + did_you_mean(key))
        parts = {}
        for s in SECTIONS:
            changes = {k: v for k, v in flat.items() if FIELD_SECTION[k] == s}
            parts[s] = dataclasses.replace(getattr(self, s), **changes)
        return Config(**parts)

    def validate(self) -> "Config":
        for s in SECTIONS:
            getattr(self, s).validate()
        return self


FIELD_SECTION: dict[str, str] = {f.name: s for s, cls in SECTIONS.items() for f in fields(cls)}
FIELD_TYPES: dict[str, str] = {f.name: str(f.type) for cls in SECTIONS.values()
                               for f in fields(cls)}

# Presets are plain flat overrides of the defaults (which are nanoGPT's CPU recipe).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    # nanoGPT's config/train_shakespeare_char.py: the baby GPT for one GPU.
    "shakespeare-char": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2,
                             batch_size=64, max_iters=5000, lr_decay_iters=5000,
                             eval_iters=200, log_interval=10, compile=True),
    # GPT-2 small (124M) shape with nanoGPT's train_gpt2.py optimiser settings, on the embedded
    # text tokenized with GPT-2 BPE (bring a bigger corpus with `prepare` + --data for real use).
    "gpt2": dict(data="shakespeare", n_layer=12, n_head=12, n_embd=768, block_size=1024,
                 batch_size=12, gradient_accumulation_steps=40, learning_rate=6e-4,
                 min_lr=6e-5, beta2=0.95, warmup_iters=2000, max_iters=600000,
                 lr_decay_iters=600000, eval_interval=1000, eval_iters=200, log_interval=10,
                 always_save_checkpoint=True, compile=True),
    # A model small enough for tests and smoke checks: seconds on a CPU.
    "tiny": dict(n_layer=2, n_head=2, n_embd=16, block_size=32, batch_size=8, max_iters=50,
                 lr_decay_iters=50, warmup_iters=5, eval_interval=25, eval_iters=4, threads=1),
}


def default_preset(cuda_available: bool) -> str:
    return "shakespeare-char" if cuda_available else "cpu"


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return Config().replace(**PRESETS[name])


def fit_world_size(cfg: Config, world_size: int) -> Config:
    """gradient_accumulation_steps counts micro-batches over all processes, so under torchrun
    it must be a multiple of their number. For a value the user did not give (the default or
    a preset's), the caller rounds it up to the next multiple here: at least one micro-step per
    process. The global batch then grows with the processes, as in data parallelism; the run
    prints it (global_batch_line). A value the user gave is never changed: Trainer refuses one
    that does not divide."""
    steps = cfg.train.gradient_accumulation_steps
    if world_size <= 1 or steps % world_size == 0:
        return cfg
    return cfg.replace(gradient_accumulation_steps=-(-steps // world_size) * world_size)


def global_batch_line(cfg: Config, world_size: int, default_steps: int | None = None) -> str:
    """One line for the first lines of a multi-process run: what one optimizer step holds."""
    tc, block = cfg.train, cfg.model.block_size
    steps = tc.gradient_accumulation_steps
    seqs = tc.batch_size * steps
    line = (f"global batch: {seqs:,} sequences of {block} tokens = {tc.batch_size} per "
            f"micro-batch x {steps // world_size} micro-step(s) x {world_size} processes "
            f"(gradient_accumulation_steps={steps}")
    if default_steps is not None and default_steps != steps:
        line += f": the default {default_steps} rounded up to a multiple of the processes"
    return line + ")"


# --- field documentation -------------------------------------------------------------------

@functools.cache
def field_docs() -> dict[str, str]:
    """Every field's docstring (the string literal under it), by flat field name."""
    docs: dict[str, str] = {}
    for cls in SECTIONS.values():
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):  # no source (frozen app): fall back to no help text
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


# --- parsing values: from the command line (strings) and TOML (typed) ---------------------

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_value(key: str, text: str) -> Any:
    """Turn a command-line string into the field's type; errors name the field."""
    key = normalize_key(key)
    if key not in FIELD_TYPES:
        raise ConfigError(key, "unknown config key" + did_you_mean(key))
    kind = FIELD_TYPES[key]
    try:
        if kind == "bool":
            low = text.strip().lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
    except ValueError:
        raise ConfigError(key, f"expected {_KIND_WORDS[kind]}, got {text!r}") from None
    return text


_KIND_WORDS = {"bool": "true or false", "int": "an integer", "float": "a finite number",
               "str": "a string"}


def check_typed(key: str, value: Any, where: str = "") -> Any:
    """Check a value that already has a type (TOML, JSON); ints are accepted for floats."""
    key = normalize_key(key)
    if key not in FIELD_TYPES:
        raise ConfigError(f"{where}{key}", "unknown config key" + did_you_mean(key))
    kind = FIELD_TYPES[key]
    ok = {"bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool),
          # TOML has inf and nan; like the command line, a config holds finite numbers
          "float": (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and _finite(value)),
          "str": isinstance(value, str)}[kind]
    if not ok:
        raise ConfigError(f"{where}{key}", f"expected {_KIND_WORDS[kind]}, got {value!r}")
    return float(value) if kind == "float" else value


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond any float
        return False


def normalize_key(key: str) -> str:
    return key.strip().lstrip("-").replace("-", "_")


PYTHON_CONFIG_HINT = ("Python config files are not executed; put the values in a TOML file "
                      "and pass --config FILE.toml")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Flat, typed overrides from a TOML file: top-level keys or [section] tables. A
    ``preset = "..."`` key is returned as is (the caller applies it first)."""
    path = Path(path)
    if path.suffix == ".py":  # nanoGPT's config/*.py: refused before it is even read
        raise ConfigError(str(path), PYTHON_CONFIG_HINT)
    try:
        with open(path, "rb") as f:
            data = f.read()
        raw = tomllib.loads(data.decode("utf-8"))
    except OSError as e:
        raise ConfigError(str(path), f"cannot read config file ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        if _is_python(data):  # parsed only (ast), never run
            raise ConfigError(str(path), f"this is Python, not TOML: {PYTHON_CONFIG_HINT}"
                              ) from None
        raise ConfigError(str(path), f"invalid TOML: {e}") from None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in SECTIONS and isinstance(value, dict):
            for k, v in value.items():
                out[normalize_key(k)] = check_typed(k, v, f"{path}: [{key}] ")
        elif key == "preset":
            out["preset"] = str(value)
        else:
            out[normalize_key(key)] = check_typed(key, value, f"{path}: ")
    return out


def _is_python(data: bytes) -> bool:
    """Whether a file that is not valid TOML is a Python module (nanoGPT's configs are)."""
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        return False
    return True


def from_flat(values: dict[str, Any], base: Config | None = None) -> Config:
    """A Config from a flat dict of typed values (config.json, checkpoint metadata)."""
    typed = {k: check_typed(k, v) for k, v in values.items()}
    return (base or Config()).replace(**typed)


def did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, list(FIELD_TYPES), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _positive(obj: Any, *names: str) -> None:
    for name in names:
        if not getattr(obj, name) > 0:
            raise ConfigError(name, f"must be > 0, got {getattr(obj, name)}")


def _non_negative(obj: Any, *names: str) -> None:
    for name in names:
        if getattr(obj, name) < 0:
            raise ConfigError(name, f"must be >= 0, got {getattr(obj, name)}")


def _choice(obj: Any, name: str, choices: tuple[str, ...]) -> None:
    if getattr(obj, name) not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}; "
                                f"got {getattr(obj, name)!r}")
