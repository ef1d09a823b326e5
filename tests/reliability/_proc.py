"""Real trainer processes for the fault tests: start, wait for a moment, inspect the files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from gptscope.schema import validate

ROOT = Path(__file__).resolve().parents[2]
HOOKS = Path(__file__).resolve().parent / "hooks"   # sitecustomize.py: fault injection

# A tiny model that trains fast on a CPU, checkpointing at every eval (every 4 iterations).
TINY = ["--preset=tiny", "--device=cpu", "--eval_interval=4", "--eval_iters=2",
        "--always_save_checkpoint=true", "--lr_decay_iters=400", "--warmup_iters=5"]


class Trainer:
    """``python -m trainer run ...`` in a subprocess; its stdout/stderr go to files (a pipe
    nobody reads would block the trainer once full, and a blocked process is not what a
    random kill should hit)."""

    def __init__(self, workdir: Path, args: list[str], faults: dict | None = None,
                 name: str = "trainer"):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOOKS), str(ROOT)]),
               "PYTHONUNBUFFERED": "1"}
        env.pop("GPTSCOPE_FAULTS", None)
        if faults:
            env["GPTSCOPE_FAULTS"] = json.dumps(faults)
        self.out_path, self.err_path = workdir / f"{name}.out", workdir / f"{name}.err"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "trainer", "run", *args],
                                         cwd=workdir, env=env, stdout=out, stderr=err)
        self.started = time.monotonic()

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self, sig: int = 9) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(60)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def __enter__(self) -> "Trainer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.kill()  # never leave a process running, whatever the test did


def wait_until(cond: Callable[[], bool], tr: Trainer, timeout: float = 120,
               poll: float = 0.01) -> None:
    """Poll ``cond`` until true; fail if the trainer exits or time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if tr.proc.poll() is not None:
            raise AssertionError(f"the trainer exited ({tr.proc.returncode}) before the "
                                 f"moment came: {tr.stderr[-2000:]}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s")


def count(path: Path, needle: bytes) -> int:
    try:
        return path.read_bytes().count(needle)
    except FileNotFoundError:
        return 0


def read_file_events(path: Path) -> tuple[list[dict], list[int], bytes]:
    """(events, line numbers of unreadable lines, text after the last newline)."""
    data = path.read_bytes()
    body, sep, tail = data.rpartition(b"\n")
    events, bad = [], []
    for lineno, line in enumerate(body.split(b"\n") if sep else [], 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            bad.append(lineno)
            continue
        if validate(ev):
            bad.append(lineno)
        else:
            events.append(ev)
    return events, bad, tail
