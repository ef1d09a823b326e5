"""The trainer's CUDA-only paths, checked on a CPU by simulating the GPU condition (issue #16):
RNG states that arrive on the device, the checkpoint kept alive through the run, bf16 picked
on a GPU that only emulates it, and work queued by unlogged iterations counted in dt_ms."""
from __future__ import annotations

import gc
import time
import weakref

import pytest
import torch

from trainer import checkpoint as ckpt_io
from trainer import train as train_mod
from trainer.config import preset
from trainer.loop import Trainer, resolve_device
from trainer.train import train

from .conftest import read_events


class OnGPU(torch.Tensor):
    """A tensor that says it lives on a CUDA device, as torch.load(map_location='cuda')
    leaves a checkpoint's RNG states; its data is kept on the CPU and comes back with
    .cpu() / .to('cpu'). Any other operation fails loudly."""

    @staticmethod
    def __new__(cls, inner: torch.Tensor) -> "OnGPU":
        t = torch.Tensor._make_wrapper_subclass(cls, inner.shape, dtype=inner.dtype,
                                                device="cuda")
        t.inner = inner
        return t

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten._to_copy.default and kwargs.get("device") == torch.device(
                "cpu"):
            return args[0].inner.clone()
        raise RuntimeError(f"a tensor on the (simulated) GPU cannot run {func} on the CPU")


def _on_gpu(state: dict) -> dict:
    state["rng"] = [{k: OnGPU(v) if isinstance(v, torch.Tensor) else v for k, v in r.items()}
                    for r in state["rng"]]
    return state


def test_the_simulated_gpu_state_is_what_torch_refuses():
    # guard for the tests below: the RNG setters reject a state that is not on the CPU
    with pytest.raises(TypeError, match="ByteTensor"):
        torch.set_rng_state(OnGPU(torch.get_rng_state()))


def test_resume_with_rng_states_on_the_gpu(tiny, monkeypatch):
    first = train(tiny.replace(max_iters=10, lr_decay_iters=20, run_id="a"), stdout=None)
    saved = ckpt_io.load(first.run_dir / ckpt_io.CKPT_NAME)["rng"][0]
    real_load = ckpt_io.load
    # every checkpoint read comes back with its RNG states on the (simulated) GPU
    monkeypatch.setattr(ckpt_io, "load", lambda *a, **k: _on_gpu(real_load(*a, **k)))
    seen = {}

    def loop(self):  # the states the trainer restored, before it draws anything
        seen["torch"], seen["batches"] = torch.get_rng_state(), self.batches.generator.get_state()
    monkeypatch.setattr(Trainer, "loop", loop)
    result = train(tiny.replace(max_iters=20), resume_dir=first.run_dir, stdout=None)
    assert result.status == "completed"
    assert torch.equal(seen["torch"], saved["torch"])
    assert torch.equal(seen["batches"], saved["batches"])


def test_resume_reads_on_the_cpu_and_frees_the_checkpoint(tiny, monkeypatch):
    first = train(tiny.replace(max_iters=10, lr_decay_iters=20, run_id="b"), stdout=None)
    real_load, calls, refs = ckpt_io.load, [], []

    def spy(path, map_location="cpu"):
        calls.append(str(map_location))
        state = real_load(path, map_location)
        refs.append(weakref.ref(state["model"]["transformer.wte.weight"]))
        return state
    monkeypatch.setattr(train_mod.ckpt_io, "load", spy)
    alive = []
    real_loop = Trainer.loop

    def loop(self):
        gc.collect()
        alive.append(refs[0]() is not None)  # the loaded weights, a second copy of the model
        return real_loop(self)
    monkeypatch.setattr(Trainer, "loop", loop)
    result = train(tiny.replace(max_iters=20), resume_dir=first.run_dir, stdout=None)
    assert result.status == "completed" and result.steps == 20
    assert calls == ["cpu"] and alive == [False]


@pytest.mark.parametrize("capability,expected", [((7, 0), torch.float16),   # V100
                                                 ((7, 5), torch.float16),   # T4
                                                 ((8, 0), torch.bfloat16),  # A100
                                                 ((9, 0), torch.bfloat16)])  # H100
def test_auto_dtype_does_not_take_emulated_bf16(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    # torch's default answer counts emulation: True on every CUDA GPU
    monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                        lambda including_emulation=True: True if including_emulation
                        else capability >= (8, 0))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    cfg = preset("tiny").replace(device="cuda")
    assert resolve_device(cfg) == (torch.device("cuda:0"), expected)


def test_logged_dt_excludes_work_queued_by_unlogged_iterations(tiny, monkeypatch):
    """On CUDA the host queues unlogged steps and runs ahead; their work finishes while the
    next logged iteration waits. Simulated: each unlogged step leaves 40 ms of queued work
    that the device sync (sync_device) waits for."""
    queued = [0.0]
    real_step = Trainer.train_step

    def step(self, lr, x, y, time_rank=False):
        out = real_step(self, lr, x, y, time_rank)
        if self.iter_num % self.cfg.train.log_interval:
            queued[0] += 0.04
        return out

    def sync(self):
        time.sleep(queued[0])
        queued[0] = 0.0
    monkeypatch.setattr(Trainer, "train_step", step)
    monkeypatch.setattr(Trainer, "sync_device", sync)
    run = train(tiny.replace(max_iters=20, log_interval=5), stdout=None)
    logged = [e for e in read_events(run.run_dir) if e["type"] == "iter"]
    assert [e["step"] for e in logged] == [0, 5, 10, 15]
    plain = [e for e in logged if not e["eval_inclusive"]]
    assert [e["step"] for e in plain] == [5, 15]
    for e in plain:  # 4 x 40 ms were queued before each: not this iteration's time
        assert e["step_ms"] <= e["dt_ms"] < e["step_ms"] + 80, e
