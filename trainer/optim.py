"""AdamW with decay/no-decay parameter groups, and the warmup + cosine learning-rate schedule."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from trainer.config import OptimConfig


@dataclass
class OptimizerInfo:
    """What make_optimizer chose, for the run's header lines."""
    decay_tensors: int
    decay_params: int
    nodecay_tensors: int
    nodecay_params: int
    fused: bool


def make_optimizer(model: nn.Module, cfg: OptimConfig, device_type: str
                   ) -> tuple[torch.optim.AdamW, OptimizerInfo]:
    """Matrices and embeddings (dim >= 2) get weight decay; biases and norm gains do not."""
    params = [p for p in model.parameters() if p.requires_grad]  # tied weights appear once
    decay = [p for p in params if p.dim() >= 2]
    nodecay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": nodecay, "weight_decay": 0.0}]
    # The fused kernel is one call for all parameters. On CUDA it is the fastest; on CPU
    # (torch >= 2.4) it measured ~1.2 ms per step for the 0.8M-parameter CPU recipe against
    # ~4.2 ms for torch's default per-parameter loop there (1 thread, torch 2.13).
    fused = device_type in ("cuda", "cpu")
    try:
        opt = torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2),
                                fused=fused or None)
    except RuntimeError:  # an older torch without the fused kernel for this device
        fused = False
        opt = torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2))
    info = OptimizerInfo(len(decay), sum(p.numel() for p in decay),
                         len(nodecay), sum(p.numel() for p in nodecay), fused)
    return opt, info


def lr_at(it: int, cfg: OptimConfig) -> float:
    """Linear warmup for warmup_iters, cosine decay to min_lr at lr_decay_iters, then flat."""
    if not cfg.decay_lr:
        return cfg.learning_rate
    if it < cfg.warmup_iters:
        return cfg.learning_rate * (it + 1) / (cfg.warmup_iters + 1)
    if it >= cfg.lr_decay_iters:
        return cfg.min_lr
    ratio = (it - cfg.warmup_iters) / max(1, cfg.lr_decay_iters - cfg.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)
