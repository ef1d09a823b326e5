"""Which device and dtype a run uses, and what the device is called (for its peak FLOP/s)."""
from __future__ import annotations

import platform
from pathlib import Path

import torch

from trainer.config import Config, ConfigError

__all__ = ["resolve_device", "native_bf16", "device_name"]

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(cfg: Config, local_rank: int = 0) -> tuple[torch.device, torch.dtype]:
    name, dtype = cfg.system.device, cfg.system.dtype
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"{name!r} requested but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device", "'mps' requested but MPS is not available")
    if name == "cuda":
        name = f"cuda:{local_rank}"  # one GPU per torchrun process
    device = torch.device(name)
    if dtype == "auto":
        if device.type == "cuda":
            dtype = "bfloat16" if native_bf16(device) else "float16"
        else:
            dtype = "float32"
    if dtype == "float16" and device.type != "cuda":
        raise ConfigError("dtype", "float16 needs CUDA (its GradScaler); use bfloat16 or "
                                   "float32 here")
    return device, _DTYPES[dtype]


def native_bf16(device: torch.device) -> bool:
    """bf16 in hardware. torch.cuda.is_bf16_supported() also counts emulation, which runs
    V100/T4 (compute capability < 8) far slower than fp16 + GradScaler."""
    if torch.version.hip:  # ROCm: the Instinct parts torch supports have bf16
        return torch.cuda.is_bf16_supported()
    return torch.cuda.get_device_capability(device)[0] >= 8


def device_name(device: torch.device) -> str | None:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or platform.machine() or None
    return device.type
