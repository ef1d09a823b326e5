"""Generate text from a run's checkpoint."""
from __future__ import annotations

from pathlib import Path

import torch

from trainer import checkpoint as ckpt_io
from trainer.data import tokenizer_from_meta
from trainer.model import GPT, GPTConfig


def sample(run_dir: str | Path, start: str = "\n", num_samples: int = 1,
           max_new_tokens: int = 500, temperature: float = 0.8, top_k: int | None = 200,
           seed: int = 1337, device: str = "auto") -> list[str]:
    """num_samples continuations of `start` (the prompt included), from <run_dir>/ckpt.pt."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    state = ckpt_io.load(Path(run_dir) / ckpt_io.CKPT_NAME, device)
    model = GPT(GPTConfig(**state["model_args"]))
    model.load_state_dict(state["model"])
    model.to(device).eval()
    tok = tokenizer_from_meta(state["data_meta"])
    ids = tok.encode(start) or [0]
    torch.manual_seed(seed)
    x = torch.tensor([ids], dtype=torch.long, device=device)
    out = []
    for _ in range(num_samples):
        y = model.generate(x, max_new_tokens, temperature=temperature, top_k=top_k,
                           vocab_limit=tok.vocab_size)
        out.append(tok.decode(y[0].tolist()))
    return out
