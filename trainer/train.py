"""A training run: ``train(cfg)`` makes the run directory, the sinks (events.jsonl, stdout),
handles signals, drives ``trainer.loop.Trainer`` and always ends with a ``run_end`` event.

Events follow gptscope/schema.py. Under torchrun every rank trains; rank 0 alone writes.
"""
from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import torch

from trainer import checkpoint as ckpt_io
from trainer import dist as dist_mod
from trainer.config import Config, ConfigError, from_flat
from trainer.events import EventLog, JsonlSink, NullSink, Sink, StdoutSink
from trainer.loop import Interrupted, NonFiniteError, Trainer

__all__ = ["train", "RunResult", "Trainer", "NonFiniteError", "RunDirError", "find_run",
           "load_run_config", "new_run_dir"]

EVENTS_NAME, CONFIG_NAME = "events.jsonl", "config.json"


@dataclass
class RunResult:
    run_dir: Path
    status: str              # completed | failed | interrupted
    steps: int
    best_val_loss: float | None
    signum: int | None = None


# --- runs: directories, events, signals ----------------------------------------------------

def new_run_dir(out_dir: str | Path, run_id: str = "") -> Path:
    """Create logs/<run_id>: the given id, or a timestamp made unique with a suffix."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():  # mkdir would say FileExistsError: not a run_id clash
        raise ConfigError("out_dir", f"{out} is a file, not a directory for runs")
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
        result = _train(cfg, dist, resume_dir, stdout, sinks)
        dist_mod.destroy(dist, sync=True)
        return result
    finally:
        torch.set_num_threads(threads)  # a library call leaves the process as it found it
        dist_mod.destroy(dist)


def _train(cfg: Config, dist: dist_mod.DistInfo, resume_dir: str | Path | None,
           stdout: TextIO | None, sinks: list[Sink] | None) -> RunResult:
    trainer = Trainer(cfg, dist)  # a bad config or dataset fails here, before any file
    loaded: str | None = None
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        if (run_dir / ckpt_io.CKPT_NAME).exists():
            # Read onto the CPU: the RNG states must stay there, and load_state_dict copies
            # the weights and optimizer state to the device. The checkpoint is not kept (no
            # variable holds it), so its tensors are freed before training starts.
            trainer.load_state_dict(ckpt_io.load(run_dir / ckpt_io.CKPT_NAME, "cpu"))
            loaded = ckpt_io.CKPT_NAME
            _check_work_left(trainer, run_dir)
    else:
        name = new_run_dir(cfg.system.out_dir, cfg.system.run_id).name if dist.is_main else None
        run_dir = Path(cfg.system.out_dir) / dist_mod.broadcast_object(dist, name)
    trainer.run_dir = run_dir
    log_sinks: list[Sink] = [NullSink()]
    if dist.is_main:
        log_sinks = _open_sinks(run_dir, cfg, stdout) + list(sinks or [])
    trainer.log = EventLog(run_dir.name, log_sinks)
    with _signals_to(trainer):
        return _run(trainer, resumed=resume_dir is not None, checkpoint=loaded)


def _check_work_left(tr: Trainer, run_dir: Path) -> None:
    """A resumed run that already reached max_iters has nothing to train: say so and how to
    go on, before anything is written (no empty segment in its events)."""
    done, last = tr.iter_num, tr.cfg.train.max_iters
    if done >= last and not tr.cfg.train.eval_only:
        raise ConfigError("max_iters", f"{run_dir} already trained {done} iterations "
                                       f"(max_iters={last}): nothing left to train; raise it "
                                       f"to continue, e.g. --resume {run_dir} "
                                       f"--max_iters={done + max(done, 1)}")


def _open_sinks(run_dir: Path, cfg: Config, stdout: TextIO | None) -> list[Sink]:
    try:
        ckpt_io.write_json(cfg.flat(), run_dir / CONFIG_NAME)
        out: list[Sink] = [JsonlSink(run_dir / EVENTS_NAME)]
    except OSError as e:
        raise RunDirError(f"cannot write to run directory {run_dir}: {e.strerror or e}") from None
    if stdout is not None:
        out.append(StdoutSink(stdout, run_dir))
    if cfg.system.tensorboard:  # optional extra: imported only when asked for
        from trainer.tb_sink import TensorBoardSink
        out.append(TensorBoardSink(run_dir))
    return out


def _run(tr: Trainer, resumed: bool, checkpoint: str | None) -> RunResult:
    """Announce, loop, and always end with run_end (then close the sinks)."""
    t0, log = time.time(), tr.log
    status, error, signum = "completed", None, None
    try:
        _announce(tr, resumed, checkpoint)
        tr.loop()
    except Interrupted as e:
        status, signum = "interrupted", e.signum
        if tr.cfg.train.save_on_interrupt and tr.iter_num != tr.last_ckpt_step:
            try:
                tr.save(tr.iter_num, None)
            except BaseException as save_error:
                status, error = "failed", f"{type(save_error).__name__}: {save_error}"
                raise
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


def _announce(tr: Trainer, resumed: bool, checkpoint: str | None) -> None:
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
        if checkpoint is None:
            log.message(f"no checkpoint in {tr.run_dir}: starting again from iter 0")
        log.emit("resume", tr.iter_num, from_step=tr.iter_num, checkpoint=checkpoint)
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
