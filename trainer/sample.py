"""Generate text from a run's checkpoint."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from trainer import checkpoint as ckpt_io
from trainer.config import ConfigError
from trainer.data import tokenizer_from_meta
from trainer.model import GPT, GPTConfig


def sample(run_dir: str | Path, start: str = "\n", num_samples: int = 1,
           max_new_tokens: int = 500, temperature: float = 0.8, top_k: int | None = 200,
           seed: int = 1337, device: str = "auto") -> list[str]:
    """num_samples continuations of `start` (the prompt included), from <run_dir>/ckpt.pt.
    start may be 'FILE:path' (nanoGPT's form: the prompt is that file's text); top_k 0 or
    None samples from the whole vocabulary. Bad arguments raise ConfigError naming them."""
    top_k = _check_args(num_samples, max_new_tokens, temperature, top_k)
    torch_device = _device(device)
    prompt = _prompt(start)
    # read on the CPU, then moved: a checkpoint problem is reported as such on any device
    state = ckpt_io.load(Path(run_dir) / ckpt_io.CKPT_NAME, "cpu")
    model = GPT(GPTConfig(**state["model_args"]))
    model.load_state_dict(state["model"])
    tok = tokenizer_from_meta(state["data_meta"])
    del state
    model.to(torch_device).eval()
    stoi = getattr(tok, "stoi", None)
    if stoi is not None:  # a character vocabulary would drop unknown characters silently
        missing = sorted({c for c in prompt if c not in stoi})
        if missing:
            raise ConfigError("start", f"{len(missing)} character(s) not in this run's "
                                       f"vocabulary: {''.join(missing[:20])!r}")
    ids = tok.encode(prompt) or [0]
    torch.manual_seed(seed)
    x = torch.tensor([ids], dtype=torch.long, device=torch_device)
    out = []
    with torch.no_grad():
        for _ in range(num_samples):
            y = model.generate(x, max_new_tokens, temperature=temperature, top_k=top_k,
                               vocab_limit=tok.vocab_size)
            out.append(tok.decode(y[0].tolist()))
    return out


def _check_args(num_samples: int, max_new_tokens: int, temperature: float,
                top_k: int | None) -> int | None:
    """The arguments' own checks; returns top_k with 0 meaning 'off' (None)."""
    if num_samples < 1:
        raise ConfigError("num_samples", f"must be >= 1, got {num_samples}")
    if max_new_tokens < 0:
        raise ConfigError("max_new_tokens", f"must be >= 0, got {max_new_tokens}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ConfigError("temperature", f"must be a finite number > 0, got {temperature}")
    if top_k is not None and top_k < 0:
        raise ConfigError("top_k", f"must be >= 0 (0 turns top-k filtering off), got {top_k}")
    return top_k or None


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError("device", f"{name!r} is not a device (auto, cpu, cuda, cuda:N, "
                                    f"mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", f"{name!r} requested but CUDA is not available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device", "'mps' requested but MPS is not available")
    return device


def _prompt(start: str) -> str:
    """nanoGPT's --start=FILE:prompt.txt reads the prompt from a file."""
    if not start.startswith("FILE:"):
        return start
    path = Path(start[5:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("start", f"cannot read the prompt file {path}: "
                                   f"{getattr(e, 'strerror', None) or e}") from None
