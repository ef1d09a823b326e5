"""The training loop: build everything from a Config, train, evaluate, checkpoint, and emit
events (see gptscope/schema.py) to sinks.

Reading order: ``train`` (the library entry point) -> ``Trainer.__init__`` (setup) ->
``Trainer.loop`` (the loop, nanoGPT's shape) -> ``train_step`` / ``evaluate`` / ``save``.

Timing follows nanoGPT so that curves compare: ``dt_ms`` is the wall time since the previous
iteration ended, so it includes an eval or checkpoint done at the top of this iteration;
``step_ms`` is the training step alone, and MFU and tokens/s come from it.
"""
from __future__ import annotations

import math
import os
import platform
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import torch

from trainer import checkpoint as ckpt_io
from trainer import dist as dist_mod
from trainer import mfu as mfu_mod
from trainer.config import Config, ConfigError, from_flat
from trainer.data import Batches, Dataset, load_dataset
from trainer.events import EventLog, JsonlSink, NullSink, Sink, StdoutSink
from trainer.model import GPT, GPTConfig, padded_vocab
from trainer.optim import lr_at, make_optimizer

EVENTS_NAME, CONFIG_NAME = "events.jsonl", "config.json"
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class NonFiniteError(RuntimeError):
    """nan_policy='stop' ended the run."""


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; the loop stopped cleanly at the top of an iteration."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class RunResult:
    run_dir: Path
    status: str              # completed | failed | interrupted
    steps: int
    best_val_loss: float | None
    signum: int | None = None


# --- devices -------------------------------------------------------------------------------

def resolve_device(cfg: Config) -> tuple[torch.device, torch.dtype]:
    name, dtype = cfg.system.device, cfg.system.dtype
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"{name!r} requested but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device", "'mps' requested but MPS is not available")
    device = torch.device(name)
    if dtype == "auto":
        if device.type == "cuda":
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            dtype = "float32"
    if dtype == "float16" and device.type != "cuda":
        raise ConfigError("dtype", "float16 needs CUDA (its GradScaler); use bfloat16 or "
                                   "float32 here")
    return device, _DTYPES[dtype]


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


# --- the trainer ---------------------------------------------------------------------------

class Trainer:
    """Everything a run needs, built without touching the disk (so that a bad config or
    dataset fails before a run directory exists)."""

    def __init__(self, cfg: Config, dist: dist_mod.DistInfo | None = None,
                 dataset: Dataset | None = None):
        self.cfg, self.dist = cfg, dist or dist_mod.DistInfo()
        if self.dist.world_size > 1:
            raise ConfigError("world_size", "multi-process training is not supported yet")
        self.device, self.dtype = resolve_device(cfg)
        tc, mc = cfg.train, cfg.model
        self.data = dataset or load_dataset(cfg.data.data)
        for split, tokens in (("train", self.data.train), ("val", self.data.val)):
            if len(tokens) <= mc.block_size:
                raise ConfigError("block_size", f"{mc.block_size} is not smaller than the "
                                  f"{split} split of {self.data.name} ({len(tokens)} tokens)")
        torch.manual_seed(tc.seed + self.dist.rank)
        if self.device.type == "cuda":
            torch.set_float32_matmul_precision("high")  # TF32 matmuls for any fp32 work
        self.gpt_config = GPTConfig(vocab_size=padded_vocab(self.data.vocab_size, mc.pad_vocab),
                                    block_size=mc.block_size, n_layer=mc.n_layer,
                                    n_head=mc.n_head, n_embd=mc.n_embd, dropout=mc.dropout,
                                    bias=mc.bias)
        self.raw_model = GPT(self.gpt_config).to(self.device)
        self.optimizer, self.optim_info = make_optimizer(self.raw_model, cfg.optim,
                                                         self.device.type)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.autocast = (nullcontext() if self.dtype == torch.float32 else
                         torch.autocast(self.device.type, dtype=self.dtype))
        self.model = torch.compile(self.raw_model) if cfg.system.compile else self.raw_model
        self.accum = tc.gradient_accumulation_steps
        self.tokens_per_iter = tc.batch_size * mc.block_size * self.accum
        self.n_params = self.raw_model.num_params()
        self.flops_per_iter = mfu_mod.flops_per_iter(self.n_params, mc.n_layer, mc.n_head,
                                                     mc.n_embd, mc.block_size,
                                                     self.tokens_per_iter)
        self.device_name = device_name(self.device)
        self.peak_flops, self.peak_source, self.peak_warning = mfu_mod.resolve_peak(
            self.device.type, self.device_name, cfg.system.peak_tflops)
        seed = tc.seed + 1000 * self.dist.rank
        self.batches = Batches(self.data.train, mc.block_size, tc.batch_size, self.device, seed)
        # evals read the same batches every time (fixed seeds): evals compare across steps
        self.eval_batches = {s: Batches(getattr(self.data, s), mc.block_size, tc.batch_size,
                                        self.device, tc.seed + 1 + i)
                             for i, s in enumerate(("train", "val"))}
        self.iter_num, self.best_val_loss = 0, None
        self.last_eval_step: int | None = None
        self.last_ckpt_step: int | None = None
        self.stop_signal: int | None = None
        self.log: EventLog = EventLog("", [])
        self.run_dir = Path(".")

    # -- state ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A checkpoint: only tensors and plain values, so it loads with weights_only=True."""
        cuda_rng = torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []
        return {"format": 1, "model": self.raw_model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "model_args": self.gpt_config.to_dict(), "config": self.cfg.flat(),
                "data_meta": dict(self.data.meta), "iter_num": self.iter_num,
                "best_val_loss": self.best_val_loss, "last_eval_step": self.last_eval_step,
                "run_id": self.log.run_id,
                "rng": {"torch": torch.get_rng_state(), "cuda": cuda_rng,
                        "batches": self.batches.pending_state()}}

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
        rng = state.get("rng") or {}
        if rng.get("torch") is not None:
            torch.set_rng_state(rng["torch"])
        if rng.get("cuda") and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(rng["cuda"])
        if rng.get("batches") is not None:
            self.batches.generator.set_state(rng["batches"])

    # -- the loop ---------------------------------------------------------------------------

    def loop(self) -> None:
        """nanoGPT's loop: eval at the top of every eval_interval-th iteration (and at
        max_iters, so a run always ends with an eval), then one optimizer step."""
        tc = self.cfg.train
        local_iter, running_mfu = 0, None
        x, y = self.batches.next()
        t_prev = time.perf_counter()
        while True:
            if self.stop_signal is not None:
                raise Interrupted(self.stop_signal)
            it = self.iter_num
            evaluated = False
            if (it % tc.eval_interval == 0 or it >= tc.max_iters) and it != self.last_eval_step:
                self.evaluate_and_checkpoint(it)
                evaluated = True
            if it >= tc.max_iters or tc.eval_only:
                break
            logging = it % tc.log_interval == 0
            if logging and self.device.type == "cuda":
                torch.cuda.synchronize()  # (log iterations only) so step_ms is this step alone
            t_step = time.perf_counter()
            lr = lr_at(it, self.cfg.optim)
            loss, norm, x, y = self.train_step(lr, x, y)
            t_now = time.perf_counter()
            dt, step_s, t_prev = t_now - t_prev, t_now - t_step, t_now
            if logging:
                mfu = mfu_mod.mfu(self.flops_per_iter, step_s, self.peak_flops)
                if mfu is not None and local_iter >= 5:  # nanoGPT skips warm-up iterations
                    running_mfu = mfu if running_mfu is None else 0.9 * running_mfu + 0.1 * mfu
                self.log.emit("iter", it, loss=loss, lr=lr, grad_norm=norm, dt_ms=dt * 1e3,
                              step_ms=step_s * 1e3, eval_inclusive=evaluated,
                              tokens_per_s=self.tokens_per_iter / step_s, mfu=mfu,
                              mfu_smoothed=running_mfu)
            self.iter_num += 1
            local_iter += 1

    def train_step(self, lr: float, x: torch.Tensor, y: torch.Tensor
                   ) -> tuple[float, float | None, torch.Tensor, torch.Tensor]:
        """One optimizer step over `accum` micro-batches; returns (mean loss, grad norm before
        clipping, next batch). A non-finite step is not applied (see check_finite)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for _ in range(self.accum):
            with self.autocast:
                _, loss = self.model(x, y)
                loss = loss / self.accum
            x, y = self.batches.next()  # prefetch while the GPU works on this micro-step
            self.scaler.scale(loss).backward()
            loss_sum += loss.detach()
        if self.scaler.is_enabled():
            self.scaler.unscale_(self.optimizer)
        params = self.raw_model.parameters()
        clip = self.cfg.optim.grad_clip
        norm = (torch.nn.utils.clip_grad_norm_(params, clip) if clip > 0
                else _total_norm(list(params)))
        # The one host-device sync of a step: the nan policy must decide before the update.
        loss_f, norm_f = torch.stack([loss_sum.float(), norm.float()]).tolist()
        if self.check_finite(loss_f, norm_f):
            self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_f, norm_f, x, y

    def check_finite(self, loss: float, norm: float) -> bool:
        """True when the step may be applied. Non-finite steps are skipped and reported; with
        nan_policy='stop', nan_patience of them in a row end the run. With fp16 a non-finite
        gradient is the GradScaler's business (it skips the step and lowers the scale)."""
        bad_grad = not math.isfinite(norm) and not self.scaler.is_enabled()
        if math.isfinite(loss) and not bad_grad:
            self._bad_steps = 0
            return True
        self._bad_steps = getattr(self, "_bad_steps", 0) + 1
        tc = self.cfg.train
        stop = tc.nan_policy == "stop" and self._bad_steps >= tc.nan_patience
        kind, value = (("nonfinite_loss", loss) if not math.isfinite(loss)
                       else ("nonfinite_grad", norm))
        self.log.emit("anomaly", self.iter_num, kind=kind, value=str(value),
                      action="stop" if stop else "skip")
        if stop:
            raise NonFiniteError(f"non-finite {kind.removeprefix('nonfinite_')} for "
                                 f"{self._bad_steps} consecutive steps (last at step "
                                 f"{self.iter_num}; nan_policy=stop, nan_patience="
                                 f"{tc.nan_patience})")
        return False

    # -- evaluation and checkpoints ---------------------------------------------------------

    @torch.no_grad()
    def estimate_loss(self) -> dict[str, float]:
        self.model.eval()
        out = {}
        for split, batches in self.eval_batches.items():
            batches.generator.manual_seed(self.cfg.train.seed + 1 + len(out))
            total = torch.zeros((), device=self.device)
            for _ in range(self.cfg.train.eval_iters):
                x, y = batches.next()
                with self.autocast:
                    _, loss = self.model(x, y)
                total += loss.float()
            out[split] = total.item() / self.cfg.train.eval_iters  # one sync per split
        self.model.train()
        return out

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
        """Write ckpt.pt (main process only) unless the model has gone non-finite."""
        if not self.dist.is_main:
            return
        if not all(torch.isfinite(p).all() for p in self.raw_model.parameters()):
            self.log.message(f"warning: step {it}: model weights are not finite; "
                             f"checkpoint not written")
            return
        ckpt_io.save(self.state_dict(), self.run_dir / ckpt_io.CKPT_NAME)
        self.last_ckpt_step = it
        self.log.emit("checkpoint", it, path=ckpt_io.CKPT_NAME, val_loss=val_loss)


def _total_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if hasattr(torch.nn.utils, "get_total_norm"):  # torch >= 2.6
        return torch.nn.utils.get_total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


# --- runs: directories, events, signals ----------------------------------------------------

def new_run_dir(out_dir: str | Path, run_id: str = "") -> Path:
    """Create logs/<run_id>: the given id, or a timestamp made unique with a suffix."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if run_id:
            path = out / run_id
            path.mkdir()
            return path
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for n in range(1000):
            path = out / (stamp if n == 0 else f"{stamp}-{n}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
    except FileExistsError:
        raise ConfigError("run_id", f"{out / run_id} already exists (use --resume to "
                                    f"continue it)") from None
    except OSError as e:
        raise RunDirError(f"cannot create a run directory in {out}: {e.strerror}") from None
    raise RunDirError(f"cannot find a free run directory name in {out}")


class RunDirError(OSError):
    """The logs directory cannot be written."""


def find_run(spec: str, out_dir: str | Path) -> Path:
    """--resume argument: a run directory, or 'latest' (newest run under out_dir)."""
    if spec == "latest":
        runs = [p for p in Path(out_dir).glob("*") if (p / CONFIG_NAME).is_file()]
        if not runs:
            raise RunDirError(f"no run to resume in {out_dir}")
        return max(runs, key=lambda p: (p / CONFIG_NAME).stat().st_mtime)
    path = Path(spec)
    if not (path / CONFIG_NAME).is_file():
        raise RunDirError(f"{path}: not a run directory (no {CONFIG_NAME})")
    return path


def load_run_config(run_dir: str | Path) -> Config:
    import json
    path = Path(run_dir) / CONFIG_NAME
    try:
        return from_flat(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise ConfigError(str(path), f"cannot read the run's config ({e})") from None


_SYS_STDOUT: Any = object()  # "sys.stdout as it is when train() is called"


def train(cfg: Config, resume_dir: str | Path | None = None,
          stdout: TextIO | None = _SYS_STDOUT, sinks: list[Sink] | None = None) -> RunResult:
    """Train according to cfg (already validated), in a new run directory or continuing
    resume_dir. Events go to <run_dir>/events.jsonl, nanoGPT lines to stdout (default:
    sys.stdout; None: quiet) and any extra sinks. Raises after recording run_end 'failed'
    when something breaks."""
    if stdout is _SYS_STDOUT:
        stdout = sys.stdout
    dist = dist_mod.from_env()
    threads = torch.get_num_threads()
    if cfg.system.threads > 0:
        torch.set_num_threads(cfg.system.threads)
    try:
        return _train(cfg, dist, resume_dir, stdout, sinks)
    finally:
        torch.set_num_threads(threads)  # a library call leaves the process as it found it


def _train(cfg: Config, dist: dist_mod.DistInfo, resume_dir: str | Path | None,
           stdout: TextIO | None, sinks: list[Sink] | None) -> RunResult:
    trainer = Trainer(cfg, dist)
    state = None
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        if (run_dir / ckpt_io.CKPT_NAME).exists():
            state = ckpt_io.load(run_dir / ckpt_io.CKPT_NAME, trainer.device)
            trainer.load_state_dict(state)
    else:
        run_dir = new_run_dir(cfg.system.out_dir, cfg.system.run_id) if dist.is_main else None
    trainer.run_dir = run_dir
    main_sinks: list[Sink] = []
    if dist.is_main:
        try:
            ckpt_io.write_json(cfg.flat(), run_dir / CONFIG_NAME)
            main_sinks.append(JsonlSink(run_dir / EVENTS_NAME))
        except OSError as e:
            raise RunDirError(f"cannot write to run directory {run_dir}: "
                              f"{e.strerror or e}") from None
        if stdout is not None:
            main_sinks.append(StdoutSink(stdout, run_dir))
    trainer.log = EventLog(run_dir.name, (main_sinks + list(sinks or [])) if dist.is_main
                           else [NullSink()])
    with _signals_to(trainer):
        return _run(trainer, resumed=resume_dir is not None, state=state)


def _run(tr: Trainer, resumed: bool, state: dict[str, Any] | None) -> RunResult:
    """Announce, loop, and always end with run_end (then close the sinks)."""
    t0, log = time.time(), tr.log
    status, error, signum = "completed", None, None
    try:
        _announce(tr, resumed, state)
        tr.loop()
    except Interrupted as e:
        status, signum = "interrupted", e.signum
        if tr.cfg.train.save_on_interrupt and tr.iter_num != tr.last_ckpt_step:
            tr.save(tr.iter_num, None)
    except KeyboardInterrupt:
        status, signum = "interrupted", signal.SIGINT
        raise
    except BaseException as e:
        status, error = "failed", f"{type(e).__name__}: {e}"
        raise
    finally:
        try:
            log.emit("run_end", tr.iter_num, status=status, error=error, steps=tr.iter_num,
                     wall_s=time.time() - t0)
        finally:
            log.close()
    return RunResult(tr.run_dir, status, tr.iter_num, tr.best_val_loss, signum)


def _announce(tr: Trainer, resumed: bool, state: dict[str, Any] | None) -> None:
    info, log = tr.optim_info, tr.log
    if tr.peak_warning:
        log.message(f"warning: {tr.peak_warning}")
    log.message(f"tokens per iteration will be: {tr.tokens_per_iter:,}")
    log.message(f"found vocab_size = {tr.data.vocab_size} (inside {tr.data.name})")
    log.message(f"number of parameters: {tr.n_params / 1e6:.2f}M")
    log.message(f"num decayed parameter tensors: {info.decay_tensors}, with "
                f"{info.decay_params:,} parameters")
    log.message(f"num non-decayed parameter tensors: {info.nodecay_tensors}, with "
                f"{info.nodecay_params:,} parameters")
    log.message(f"using fused AdamW: {info.fused}")
    if resumed:
        if state is None:
            log.message(f"no checkpoint in {tr.run_dir}: starting again from iter 0")
        log.emit("resume", tr.iter_num, from_step=tr.iter_num,
                 checkpoint=ckpt_io.CKPT_NAME if state is not None else None)
        return
    mc = tr.gpt_config
    log.emit("run_start", 0, config=tr.cfg.flat(),
             model={"n_layer": mc.n_layer, "n_head": mc.n_head, "n_embd": mc.n_embd,
                    "block_size": mc.block_size, "vocab_size": mc.vocab_size,
                    "bias": mc.bias, "n_params": tr.n_params},
             tokens_per_iter=tr.tokens_per_iter, max_iters=tr.cfg.train.max_iters,
             device=tr.device.type, device_name=tr.device_name,
             dtype=str(tr.dtype).removeprefix("torch."), world_size=tr.dist.world_size,
             peak_flops=tr.peak_flops, peak_flops_source=tr.peak_source,
             torch_version=torch.__version__, source="gptscope")
    log.message(f"run {tr.log.run_id}: events in {tr.run_dir / EVENTS_NAME}")


class _signals_to:
    """SIGTERM/SIGINT ask the trainer to stop at the top of the next iteration (checkpoint,
    run_end 'interrupted', clean exit). A second SIGINT interrupts at once."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.trainer.stop_signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.trainer.stop_signal = signum

    def __enter__(self) -> "_signals_to":
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.old[sig] = signal.signal(sig, self._handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self.old.items():
            signal.signal(sig, old)
