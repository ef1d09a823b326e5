"""The Trainer: model, optimizer and data built from a Config, and the training loop.

Reading order: ``Trainer.__init__`` (setup) -> ``loop`` (nanoGPT's shape) -> ``train_step``
/ ``evaluate_and_checkpoint`` / ``save``. ``trainer.train.train`` wraps it into a run
(directory, sinks, signals, run_end).

Timing follows nanoGPT so that curves compare: ``dt_ms`` is the wall time of the whole
iteration, from the moment the previous one had finished on the device (on CUDA the queue is
drained at the top of each logged iteration, so work queued by earlier, unlogged iterations
is not counted) to its end, so it includes an eval or checkpoint done at its top;
``step_ms`` is the training step alone, and MFU and tokens/s come from it. Under DDP each
rank also times its own work (the step's compute before its last gradient all-reduce, which
waits for the slowest rank): the spread of those names a straggler.

Multi-process (torchrun): DistributedDataParallel, gradient accumulation divided across
ranks with ``no_sync`` on all but the last micro-step, every rank evaluating the same
batches (losses averaged, so all ranks take the same checkpoint decisions), rank 0 writing.
"""
from __future__ import annotations

import math
import signal
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from trainer import checkpoint as ckpt_io
from trainer import dist as dist_mod
from trainer import mfu as mfu_mod
from trainer import testhooks
from trainer.config import Config, ConfigError
from trainer.data import Batches, Dataset, load_dataset
from trainer.device import device_name, resolve_device
from trainer.events import EventLog
from trainer.model import GPT, GPTConfig, padded_vocab
from trainer.optim import lr_at, make_optimizer

class NonFiniteError(RuntimeError):
    """nan_policy='stop' ended the run."""


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; the loop stopped cleanly at the top of an iteration."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Trainer:
    """Everything a run needs, built without touching the disk (so that a bad config or
    dataset fails before a run directory exists)."""

    def __init__(self, cfg: Config, dist: dist_mod.DistInfo | None = None,
                 dataset: Dataset | None = None):
        self.cfg, self.dist = cfg, dist or dist_mod.DistInfo()
        self.device, self.dtype = resolve_device(cfg, self.dist.local_rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.set_float32_matmul_precision("high")  # TF32 matmuls for any fp32 work
        tc, mc = cfg.train, cfg.model
        if tc.gradient_accumulation_steps % self.dist.world_size:
            raise ConfigError("gradient_accumulation_steps", f"must be a multiple of the "
                              f"{self.dist.world_size} processes, got "
                              f"{tc.gradient_accumulation_steps}")
        self.accum = tc.gradient_accumulation_steps // self.dist.world_size
        self.tokens_per_iter = tc.batch_size * mc.block_size * tc.gradient_accumulation_steps
        self._setup_data(dataset)
        self._setup_model()
        self.n_params = self.raw_model.num_params()
        self.flops_per_iter = mfu_mod.flops_per_iter(self.n_params, mc.n_layer, mc.n_head,
                                                     mc.n_embd, mc.block_size,
                                                     self.tokens_per_iter)
        # per device: each rank does 1/world_size of the FLOPs on its own device
        self.flops_per_device = self.flops_per_iter / self.dist.world_size
        self.device_name = device_name(self.device)
        self.peak_flops, self.peak_source, self.peak_warning = mfu_mod.resolve_peak(
            self.device.type, self.device_name, cfg.system.peak_tflops)
        self.iter_num, self.best_val_loss = 0, None
        self.last_eval_step: int | None = None
        self.last_ckpt_step: int | None = None
        self.stop_signal: int | None = None
        self.bad_steps = 0
        # CPU (and MPS): the host reads each step's loss before the update, which costs
        # nothing there. CUDA: no sync per step; non-finite steps are skipped on the device
        # and checked against the nan policy at log iterations (see step_stats).
        self.sync_each_step = self.device.type != "cuda"
        self._pending: list[tuple[int, torch.Tensor]] = []
        self._last_stats: tuple[float, float] = (math.nan, math.nan)
        self._rank_marks: tuple[Any, Any] | None = None  # this rank's own work, last step
        self.hooks = testhooks.from_env()
        self.log: EventLog = EventLog("", [])
        self.run_dir = Path(".")

    def _setup_data(self, dataset: Dataset | None) -> None:
        tc, mc = self.cfg.train, self.cfg.model
        self.data = dataset or load_dataset(self.cfg.data.data)
        for split, tokens in (("train", self.data.train), ("val", self.data.val)):
            if len(tokens) <= mc.block_size:
                raise ConfigError("block_size", f"{mc.block_size} is not smaller than the "
                                  f"{split} split of {self.data.name} ({len(tokens)} tokens)")
        self.batches = Batches(self.data.train, mc.block_size, tc.batch_size, self.device,
                               tc.seed + 1000 * self.dist.rank)  # each rank its own stream
        # evals read the same batches every time (fixed seeds): evals compare across steps
        self.eval_batches = {s: Batches(getattr(self.data, s), mc.block_size, tc.batch_size,
                                        self.device, self._eval_seed(s))
                             for s in ("train", "val")}

    def _eval_seed(self, split: str) -> int:
        return self.cfg.train.seed + (1 if split == "train" else 2)

    def _setup_model(self) -> None:
        mc = self.cfg.model
        dist_mod.init(self.dist, self.device)
        torch.manual_seed(self.cfg.train.seed + self.dist.rank)  # DDP syncs rank 0's init
        self.gpt_config = GPTConfig(vocab_size=padded_vocab(self.data.vocab_size, mc.pad_vocab),
                                    block_size=mc.block_size, n_layer=mc.n_layer,
                                    n_head=mc.n_head, n_embd=mc.n_embd, dropout=mc.dropout,
                                    bias=mc.bias)
        self.raw_model = GPT(self.gpt_config).to(self.device)
        self.optimizer, self.optim_info = make_optimizer(self.raw_model, self.cfg.optim,
                                                         self.device.type)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.autocast = (nullcontext() if self.dtype == torch.float32 else
                         torch.autocast(self.device.type, dtype=self.dtype))
        # eval_model: compiled (if asked) but never DDP-wrapped; model: what training calls
        self.eval_model = (torch.compile(self.raw_model) if self.cfg.system.compile
                           else self.raw_model)
        self.model = self.eval_model
        if self.dist.enabled:
            self.model = DDP(self.eval_model, device_ids=[self.device.index]
                             if self.device.type == "cuda" else None)

    # -- state ----------------------------------------------------------------------------

    def _rng_state(self) -> dict[str, Any]:
        return {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda"
                else None,
                "batches": self.batches.pending_state()}

    def state_dict(self, rng_by_rank: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A checkpoint: only tensors and plain values, so it loads with weights_only=True.
        RNG states are kept per rank so that a resumed run draws the same data and dropout."""
        return {"format": 1, "model": self.raw_model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "model_args": self.gpt_config.to_dict(), "config": self.cfg.flat(),
                "data_meta": dict(self.data.meta), "iter_num": self.iter_num,
                "best_val_loss": self.best_val_loss, "last_eval_step": self.last_eval_step,
                "run_id": self.log.run_id, "rng": rng_by_rank or [self._rng_state()]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ours = self.gpt_config.to_dict()
        changed = [k for k in ours if k != "dropout" and ours[k] != state["model_args"].get(k)]
        if changed:
            key = changed[0]
            raise ConfigError(key, f"the checkpoint has {key}={state['model_args'].get(key)!r}"
                                   f", the config {ours[key]!r}: the model shape cannot change "
                                   f"on resume")
        self.raw_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        self.iter_num = int(state["iter_num"])
        self.best_val_loss = state.get("best_val_loss")
        self.last_eval_step = state.get("last_eval_step")
        self.last_ckpt_step = self.iter_num
        rngs = state.get("rng") or []
        if len(rngs) == self.dist.world_size:
            # RNG states must be CPU byte tensors: a checkpoint read with a GPU map_location
            # would otherwise fail here with "RNG state must be a torch.ByteTensor"
            rng = {k: v.cpu() if isinstance(v, torch.Tensor) else v
                   for k, v in rngs[self.dist.rank].items()}
            torch.set_rng_state(rng["torch"])
            if rng.get("cuda") is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"], self.device)
            self.batches.generator.set_state(rng["batches"])
        else:  # another world size: fresh, distinct streams per rank
            self.batches.generator.manual_seed(self.cfg.train.seed + 1000 * self.dist.rank
                                               + 7919 * self.iter_num)

    # -- the loop ---------------------------------------------------------------------------

    def loop(self) -> None:
        """nanoGPT's loop: eval at the top of every eval_interval-th iteration (and at
        max_iters, so a run always ends with an eval), then one optimizer step."""
        tc = self.cfg.train
        local_iter, running_mfu = 0, None
        if (self.cfg.system.compile or self.device.type == "cuda") and not tc.eval_only:
            seconds = self.warmup()
            self.log.message(f"compile + first step: {seconds:.2f} s (before iter "
                             f"{self.iter_num}; not in dt_ms, step_ms or MFU)")
        x, y = self.batches.next()
        while True:
            it = self.iter_num
            logging = it % tc.log_interval == 0
            if logging:
                # sync (CUDA, log iterations only): the steps queued since the last logged
                # iteration finish here, so they count in neither dt_ms nor step_ms
                self.sync_device()
            t_top = time.perf_counter()
            # Under DDP signal consensus is an all_reduce read by the host: every iteration
            # on CPU, only at log iterations on CUDA (all ranks agree on which those are).
            if ((not self.dist.enabled or self.sync_each_step or logging)
                    and dist_mod.any_flag(self.dist, self.stop_signal or 0, self.device)):
                self.step_stats()  # report pending non-finite steps before stopping
                raise Interrupted(self.stop_signal or signal.SIGTERM)
            evaluated = False
            if (it % tc.eval_interval == 0 or it >= tc.max_iters) and it != self.last_eval_step:
                self.step_stats()  # pending nan checks first: a stop must precede a checkpoint
                self.evaluate_and_checkpoint(it)
                evaluated = True
            if it >= tc.max_iters or tc.eval_only:
                break
            # the device is idle here: drained above, and an eval or checkpoint ends with the
            # host reading its results, so step_ms is this step alone
            t_step = time.perf_counter()
            lr = lr_at(it, self.cfg.optim)
            x, y = self.train_step(lr, x, y, time_rank=logging and self.dist.enabled)
            if logging:
                loss, norm = self.step_stats()  # CUDA: the host waits for the step here
            t_now = time.perf_counter()
            dt, step_s = t_now - t_top, t_now - t_step
            if logging:
                mfu = mfu_mod.mfu(self.flops_per_device, step_s, self.peak_flops)
                if mfu is not None and local_iter >= 5:  # nanoGPT skips warm-up iterations
                    running_mfu = mfu if running_mfu is None else 0.9 * running_mfu + 0.1 * mfu
                self.log_iter(it, loss, lr, norm, dt, step_s, evaluated, mfu, running_mfu)
            self.iter_num += 1
            local_iter += 1

    def log_iter(self, it: int, loss: float, lr: float, norm: float | None, dt: float,
                 step_s: float, evaluated: bool, mfu: float | None,
                 running_mfu: float | None) -> None:
        extra: dict[str, Any] = {}
        if self.dist.enabled:
            # One small all_gather per log iteration: each rank's own work in the step. Not
            # step_s: the gradient all-reduce makes every rank wait for the slowest, so all
            # ranks' step times come out equal. (The loss is already the ranks' mean.)
            times = [r[0] for r in dist_mod.gather(self.dist, [self.rank_work_ms()],
                                                   self.device)]
            slowest = max(range(len(times)), key=times.__getitem__)
            extra = dict(step_ms_min=min(times), step_ms_max=times[slowest],
                         slowest_rank=slowest)
        self.log.emit("iter", it, loss=loss, lr=lr, grad_norm=norm, dt_ms=dt * 1e3,
                      step_ms=step_s * 1e3, eval_inclusive=evaluated,
                      tokens_per_s=self.tokens_per_iter / step_s, mfu=mfu,
                      mfu_smoothed=running_mfu, **extra)

    def _micro_context(self, micro: int) -> Any:
        # DDP all-reduces gradients in backward; skip that on all but the last micro-step
        last = micro == self.accum - 1
        return self.model.no_sync() if self.dist.enabled and not last else nullcontext()

    def warmup(self) -> float:
        """The compile phase, before the timed loop: one forward + backward through the
        training model and one eval forward, on a batch of zeros, with the RNG states put back
        and the gradients dropped, so that training after it is the same as without it.
        Returns its seconds: torch.compile's time, plus the first step's one-off costs (CUDA
        context, cuBLAS handles, allocator)."""
        tc, mc = self.cfg.train, self.cfg.model
        idx = torch.zeros((tc.batch_size, mc.block_size), dtype=torch.long, device=self.device)
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            # the synchronised micro-step (under DDP every rank runs it: one all-reduce)
            with self._micro_context(self.accum - 1):
                with self.autocast:
                    _, loss = self.model(idx, idx)
                self.scaler.scale(loss).backward()
            self.optimizer.zero_grad(set_to_none=True)
            self.eval_model.eval()
            with torch.no_grad(), self.autocast:
                self.eval_model(idx, idx)
            self.eval_model.train()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # so that the compile time is all counted
        return time.perf_counter() - t0

    def sync_device(self) -> None:
        """Wait for the work queued on the device (CUDA); nothing to wait for elsewhere."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _mark(self) -> Any:
        if self.device.type != "cuda":
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)  # read after the next sync: no sync here
        event.record()
        return event

    def rank_work_ms(self) -> float:
        """This rank's own work in the last timed step (train_step(time_rank=True)): its
        micro-steps up to the backward of the last one, whose gradient all-reduce waits for
        the other ranks. On CUDA, call after a sync (step_stats)."""
        if self._rank_marks is None:
            return math.nan
        a, b = self._rank_marks
        return a.elapsed_time(b) if isinstance(a, torch.cuda.Event) else (b - a) * 1e3

    def train_step(self, lr: float, x: torch.Tensor, y: torch.Tensor, time_rank: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step over `accum` micro-batches; returns the next batch. Its loss
        and grad norm come from step_stats(). A non-finite step is not applied. time_rank:
        time this rank's own work (see rank_work_ms)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        start = self._mark() if time_rank else None
        if self.hooks.slow_rank == self.dist.rank:
            time.sleep(self.hooks.slow_s)  # test hook: a straggler (see trainer/testhooks.py)
        for micro in range(self.accum):
            with self._micro_context(micro):
                with self.autocast:
                    _, loss = self.model(x, y)
                    loss = loss / self.accum
                x, y = self.batches.next()  # prefetch while the GPU works on this micro-step
                if start is not None and micro == self.accum - 1:
                    self._rank_marks = (start, self._mark())
                self.scaler.scale(loss).backward()
            loss_sum += loss.detach()
        if (self.hooks.nan_loss_rank == self.dist.rank
                and self.iter_num >= self.hooks.nan_loss_from):
            loss_sum = loss_sum + math.nan  # test hook: one rank's fp16 loss overflowed
        if self.scaler.is_enabled():
            self.scaler.unscale_(self.optimizer)
        params = self.raw_model.parameters()
        clip = self.cfg.optim.grad_clip
        norm = (torch.nn.utils.clip_grad_norm_(params, clip) if clip > 0
                else _total_norm(list(params)))
        stats = torch.stack([loss_sum.float(), norm.float()])
        if self.sync_each_step:
            # CPU: the host-device "sync" is free, so the nan policy decides before the update.
            # Under DDP every rank decides on the ranks' mean (see step_stats).
            loss_f, norm_f = dist_mod.mean_tensor(self.dist, stats).tolist()
            if self.check_finite(self.iter_num, loss_f, norm_f):
                self.scaler.step(self.optimizer)
            self._last_stats = (loss_f, norm_f)
        else:
            self._step_unless_nonfinite(stats)
            self._pending.append((self.iter_num, stats))
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return x, y

    def _step_unless_nonfinite(self, stats: torch.Tensor) -> None:
        """The optimizer step, skipped on the device (no sync) when the step is not finite."""
        if self.scaler.is_enabled():
            # fp16: the GradScaler finds non-finite gradients on the device and skips itself
            self.scaler.step(self.optimizer)
            return
        bad = (~torch.isfinite(stats).all()).float()
        if self.optim_info.fused:
            # The fused AdamW kernel skips its whole update (moments, step count) where
            # found_inf is non-zero: the mechanism the GradScaler uses, here without a sync.
            self.optimizer.found_inf, self.optimizer.grad_scale = bad, None  # type: ignore
            try:
                self.optimizer.step()
            finally:
                del self.optimizer.found_inf, self.optimizer.grad_scale  # type: ignore
        elif not bad.item():  # sync: an unfused optimizer cannot skip on the device
            self.optimizer.step()

    def step_stats(self) -> tuple[float, float]:
        """(loss, grad norm) of the latest step. On CUDA this is where the host waits for
        the device (log and eval iterations only): the steps since the previous call are
        checked in order against the nan policy (anomaly events, maybe NonFiniteError)."""
        if self._pending:
            steps = [step for step, _ in self._pending]
            # Under DDP all ranks decide on the same numbers (one all_reduce per call: the
            # ranks' mean loss; a non-finite value anywhere is non-finite everywhere). With
            # fp16 the nan policy reads only the loss, and a loss that overflowed on one rank
            # would otherwise stop that rank alone and leave the others waiting forever.
            values = dist_mod.mean_tensor(
                self.dist, torch.stack([t for _, t in self._pending])).tolist()  # the sync
            self._pending.clear()
            for step, (loss, norm) in zip(steps, values):
                self.check_finite(step, loss, norm)
            self._last_stats = (values[-1][0], values[-1][1])
        return self._last_stats

    def check_finite(self, step: int, loss: float, norm: float) -> bool:
        """True when the step may be applied. Non-finite steps are skipped and reported; with
        nan_policy='stop', nan_patience of them in a row end the run. With fp16 a non-finite
        gradient is the GradScaler's business (it skips the step and lowers the scale).
        Under DDP loss and norm are the ranks' mean (train_step, step_stats), so every rank
        takes the same decision and they stop together."""
        bad_grad = not math.isfinite(norm) and not self.scaler.is_enabled()
        if math.isfinite(loss) and not bad_grad:
            self.bad_steps = 0
            return True
        self.bad_steps += 1
        tc = self.cfg.train
        stop = tc.nan_policy == "stop" and self.bad_steps >= tc.nan_patience
        kind, value = (("nonfinite_loss", loss) if not math.isfinite(loss)
                       else ("nonfinite_grad", norm))
        self.log.emit("anomaly", step, kind=kind, value=str(value),
                      action="stop" if stop else "skip")
        if stop:
            raise NonFiniteError(f"non-finite {kind.removeprefix('nonfinite_')} for "
                                 f"{self.bad_steps} consecutive steps (last at step "
                                 f"{step}; nan_policy=stop, nan_patience="
                                 f"{tc.nan_patience})")
        return False

    # -- evaluation and checkpoints ---------------------------------------------------------

    @torch.no_grad()
    def estimate_loss(self) -> dict[str, float]:
        self.eval_model.eval()
        sums = []
        for split, batches in self.eval_batches.items():
            batches.generator.manual_seed(self._eval_seed(split))
            total = torch.zeros((), device=self.device)
            for _ in range(self.cfg.train.eval_iters):
                x, y = batches.next()
                with self.autocast:
                    _, loss = self.eval_model(x, y)
                total += loss.float()
            sums.append(total)
        self.eval_model.train()
        n = self.cfg.train.eval_iters
        means = [s / n for s in torch.stack(sums).tolist()]  # one sync for the whole eval
        train, val = dist_mod.mean(self.dist, means, self.device)
        return {"train": train, "val": val}

    def evaluate_and_checkpoint(self, it: int) -> None:
        t0 = time.perf_counter()
        losses = self.estimate_loss()
        eval_ms = (time.perf_counter() - t0) * 1e3
        val = losses["val"]
        improved = math.isfinite(val) and (self.best_val_loss is None
                                           or val < self.best_val_loss)
        if improved:
            self.best_val_loss = val
        self.last_eval_step = it
        self.log.emit("eval", it, train_loss=losses["train"], val_loss=val, eval_ms=eval_ms,
                      best_val_loss=self.best_val_loss)
        if it > 0 and (improved or self.cfg.train.always_save_checkpoint):
            self.save(it, val)

    def save(self, it: int, val_loss: float | None) -> None:
        """Write ckpt.pt unless the model has gone non-finite. Every rank calls this (their
        RNG states are gathered); rank 0 writes."""
        if not all(torch.isfinite(p).all() for p in self.raw_model.parameters()):
            self.log.message(f"warning: step {it}: model weights are not finite; "
                             f"checkpoint not written")
            return
        rng_by_rank = dist_mod.gather_objects(self.dist, self._rng_state())
        self.last_ckpt_step = it
        if self.dist.is_main:
            ckpt_io.save(self.state_dict(rng_by_rank), self.run_dir / ckpt_io.CKPT_NAME)
            self.log.emit("checkpoint", it, path=ckpt_io.CKPT_NAME, val_loss=val_loss)


def _total_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if hasattr(torch.nn.utils, "get_total_norm"):  # torch >= 2.6
        return torch.nn.utils.get_total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
