"""The main job: train on the embedded default dataset while the dashboard follows the run.

    python -m app.launch [--port N] [--address HOST] [--no_train] [trainer --key=value ...]

Starts ``python -m trainer run --out_dir logs ...`` and ``streamlit run app/dashboard.py``
(bound to 127.0.0.1 unless ``--address`` says otherwise) following ``logs/``, prints the URL
to open, and stops both cleanly on Ctrl-C: the trainer gets SIGINT first, so it writes its
``run_end`` event, then the dashboard is stopped. When training ends, the dashboard stays up
until Ctrl-C. Every other argument goes to the trainer (``--max_iters=500``,
``--out_dir=DIR`` also moves the dashboard's logs root).

``GPTSCOPE_TRAINER_CMD`` replaces ``python -m trainer run`` (a command line, split like a
shell would; used by the tests to stand in a tiny event writer).
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Sequence

PROJECT = Path(__file__).resolve().parents[1]
DASHBOARD = PROJECT / "app" / "dashboard.py"
DEFAULT_PORT = 8501


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """The launcher's own options; everything else is left for the trainer."""
    p = argparse.ArgumentParser(
        prog="python -m app.launch", allow_abbrev=False,
        description="Train on the embedded default dataset while the live dashboard "
                    "follows the run. Unknown options go to `python -m trainer run`.")
    p.add_argument("--port", type=int, default=None,
                   help=f"dashboard port (default: {DEFAULT_PORT}, or the next free one)")
    p.add_argument("--address", default="127.0.0.1",
                   help="address to bind the dashboard to (default 127.0.0.1: this machine "
                        "only; 0.0.0.0 shares it with the network)")
    p.add_argument("--no_train", "--no-train", action="store_true",
                   help="only start the dashboard on the logs root")
    args, rest = p.parse_known_args(argv)
    return args, rest


def out_dir(trainer_args: Sequence[str]) -> str:
    """The trainer's --out_dir (the dashboard's logs root), default 'logs'."""
    value = "logs"
    it = iter(trainer_args)
    for a in it:
        for flag in ("--out_dir", "--out-dir"):
            if a == flag:
                value = next(it, value)
            elif a.startswith(flag + "="):
                value = a.split("=", 1)[1]
    return value


def free_port(address: str, start: int = DEFAULT_PORT, tries: int = 50) -> int:
    """The first port from ``start`` that nobody listens on."""
    for port in range(start, start + tries):
        with socket.socket() as s:
            try:
                s.bind((address, port))
                return port
            except OSError:
                continue
    raise SystemExit(f"error: no free port in {start}-{start + tries - 1}")


def trainer_command(trainer_args: Sequence[str], logs: str) -> list[str]:
    custom = os.environ.get("GPTSCOPE_TRAINER_CMD")
    base = shlex.split(custom) if custom else [sys.executable, "-m", "trainer", "run"]
    has_out = any(a.split("=", 1)[0] in ("--out_dir", "--out-dir") for a in trainer_args)
    return base + ([] if has_out else ["--out_dir", logs]) + list(trainer_args)


def dashboard_command(logs: str, address: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(DASHBOARD),
            "--server.address", address, "--server.port", str(port),
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false", "--", "--logs", logs]


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> bool:
    """True once Streamlit answers its health check; False if it died or took too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen | None, sig: int, grace_s: float) -> None:
    """Send ``sig`` to a child's process group, then kill it if it has not exited."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args, trainer_args = parse_args(sys.argv[1:] if argv is None else argv)
    logs = out_dir(trainer_args)
    Path(logs).mkdir(parents=True, exist_ok=True)
    port = args.port or free_port(args.address)
    host = "127.0.0.1" if args.address in ("0.0.0.0", "") else args.address
    url = f"http://{host}:{port}"
    # Ctrl-C and `kill` both stop us cleanly (SIGINT explicitly too: a shell starts
    # background jobs with SIGINT ignored)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    dash_log = Path(logs) / ".dashboard.log"
    dashboard = trainer = None
    try:
        with open(dash_log, "ab") as log:
            # own process groups: Ctrl-C reaches only us, and we stop the children in order
            dashboard = subprocess.Popen(dashboard_command(logs, args.address, port),
                                         cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        if not wait_healthy(url, dashboard):
            print(f"error: the dashboard did not start; see {dash_log}", file=sys.stderr)
            return 1
        print(f"Dashboard: {url}   (open it in a browser; Ctrl-C stops everything)",
              flush=True)
        if not args.no_train:
            trainer = subprocess.Popen(trainer_command(trainer_args, logs),
                                       start_new_session=True)
        while True:
            if trainer is not None and trainer.poll() is not None:
                print(f"Training exited with status {trainer.returncode}; the dashboard "
                      f"stays at {url} until Ctrl-C.", flush=True)
                trainer = None
            if dashboard.poll() is not None:
                print(f"error: the dashboard stopped (status {dashboard.returncode}); "
                      f"see {dash_log}", file=sys.stderr)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this
        stop(trainer, signal.SIGINT, grace_s=15.0)  # lets the trainer write run_end
        stop(dashboard, signal.SIGTERM, grace_s=10.0)


if __name__ == "__main__":
    raise SystemExit(main())
