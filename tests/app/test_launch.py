"""python -m app.launch: trainer + dashboard together, stopped cleanly by Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from app import launch


def test_own_options_and_trainer_overrides_are_split():
    args, rest = launch.parse_args(["--port", "9000", "--max_iters=50", "--address=0.0.0.0",
                                    "--n_layer", "2"])
    assert (args.port, args.address, args.no_train) == (9000, "0.0.0.0", False)
    assert rest == ["--max_iters=50", "--n_layer", "2"]
    args, rest = launch.parse_args([])
    assert (args.port, args.address) == (None, "127.0.0.1")   # localhost unless asked


@pytest.mark.parametrize("argv, want", [
    ([], "logs"), (["--out_dir=runs"], "runs"), (["--out_dir", "a/b"], "a/b"),
    (["--out-dir=x", "--max_iters=3"], "x")])
def test_out_dir_is_the_logs_root(argv, want):
    assert launch.out_dir(argv) == want


def test_commands(monkeypatch):
    monkeypatch.delenv("GPTSCOPE_TRAINER_CMD", raising=False)
    assert launch.trainer_command(["--max_iters=5"], "logs") == [
        sys.executable, "-m", "trainer", "run", "--out_dir", "logs", "--max_iters=5"]
    assert launch.trainer_command(["--out_dir=x"], "x")[-1] == "--out_dir=x"
    monkeypatch.setenv("GPTSCOPE_TRAINER_CMD", "python fake.py --flag")
    assert launch.trainer_command([], "L") == ["python", "fake.py", "--flag", "--out_dir", "L"]
    dash = launch.dashboard_command("L", "127.0.0.1", 8555)
    text = " ".join(dash)
    assert "--server.address 127.0.0.1" in text and "--server.port 8555" in text
    assert "--server.headless true" in text and "--server.fileWatcherType none" in text
    assert dash[-3:] == ["--", "--logs", "L"]


def test_free_port_skips_a_taken_one():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert launch.free_port("127.0.0.1", start=taken) != taken


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_launch_trains_serves_and_stops_on_ctrl_c(tmp_path, repo_root):
    logs = tmp_path / "logs"
    env = dict(os.environ, PYTHONUNBUFFERED="1", GPTSCOPE_TRAINER_CMD=" ".join(
        [sys.executable, str(repo_root / "tests" / "app" / "_fake_trainer.py")]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # started with SIGINT ignored, as a shell starts a background job: Ctrl-C must still work
    proc = subprocess.Popen([sys.executable, "-m", "app.launch", "--port", str(port),
                             f"--out_dir={logs}", "--max_iters=7"], cwd=repo_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        line = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        assert line.startswith(f"Dashboard: {url}"), line
        assert _health(url)
        events = logs / "fake-run" / "events.jsonl"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (events.exists()
                                                   and events.stat().st_size > 500):
            time.sleep(0.1)
        assert "--max_iters=7" in (logs / "fake-run" / "args").read_text()
        trainer_pid = int((logs / "fake-run" / "pid").read_text())
        proc.send_signal(signal.SIGINT)                      # Ctrl-C
        assert proc.wait(timeout=40) == 0
        assert '"status":"interrupted"' in events.read_text()  # the trainer stopped first
        assert not _health(url)                               # the dashboard is gone
        with pytest.raises(ProcessLookupError):
            os.kill(trainer_pid, 0)
    finally:
        if proc.poll() is None:   # a failed assertion: still stop the children cleanly
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
