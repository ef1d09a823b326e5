"""CPU threading chosen from the situation (trainer/threads.py): spinning threads on a free
machine, fewer passive ones beside busy programs, an explicit setting always respected."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer import threads as T

ROOT = Path(__file__).resolve().parents[2]


def test_a_free_machine_gets_a_spinning_thread_per_core():
    plan = T.choose(cores=2, physical=2, busy=0.1, environ={})
    assert (plan.threads, plan.wait_policy) == (2, "ACTIVE")
    assert plan.env == {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}
    assert plan.line == ("cpu threads: 2 (2 cores free; other programs' load 0.1), "
                         "OMP_WAIT_POLICY=ACTIVE (each thread has a free core: spinning is "
                         "fastest)")


@pytest.mark.parametrize("cores,physical,busy,threads,policy", [
    (2, 2, 1.0, 2, "PASSIVE"),    # beside one busy program: passive threads, no spinning
    (2, 2, 0.6, 2, "PASSIVE"),    # most of a core taken counts as taken
    (2, 2, 0.4, 2, "ACTIVE"),     # a light, passing load does not
    (2, 2, 5.0, 2, "PASSIVE"),
    (4, 4, 2.0, 4, "PASSIVE"),
    (16, 8, 1.0, 8, "ACTIVE"),    # hyper-threads: torch's default, one per physical core,
    (16, 8, 7.0, 8, "ACTIVE"),    # each with a free core
    (16, 8, 12.0, 8, "PASSIVE"),  # more threads than free cores
    (1, 1, 0.0, 1, "PASSIVE"),    # one thread: nothing to spin for
])
def test_spinning_only_when_every_thread_has_a_free_core(cores, physical, busy, threads, policy):
    plan = T.choose(cores=cores, physical=physical, busy=busy, environ={})
    assert (plan.threads, plan.wait_policy) == (threads, policy)
    assert plan.env == {"OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": policy}


def test_an_explicit_setting_is_always_respected():
    plan = T.choose(2, 2, 0.0, {"OMP_WAIT_POLICY": "passive"})
    assert (plan.threads, plan.wait_policy, plan.env) == (2, "PASSIVE",
                                                          {"OMP_NUM_THREADS": "2"})
    assert "OMP_WAIT_POLICY=PASSIVE (from the environment)" in plan.line
    plan = T.choose(2, 2, 0.0, {"OMP_NUM_THREADS": "4"})  # more than the cores: no spinning
    assert (plan.threads, plan.wait_policy, plan.env) == (4, "PASSIVE",
                                                          {"OMP_WAIT_POLICY": "PASSIVE"})
    assert plan.line.startswith("cpu threads: 4 (OMP_NUM_THREADS from the environment;")
    plan = T.choose(2, 2, 1.0, {}, threads_arg=2)  # --threads=2 beside a busy program
    assert (plan.threads, plan.wait_policy) == (2, "PASSIVE")
    assert plan.env["OMP_NUM_THREADS"] == "2"  # the OpenMP pool never grows beyond it
    plan = T.choose(8, 8, 0.0, {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "ACTIVE"})
    assert (plan.threads, plan.wait_policy, plan.env) == (1, "ACTIVE", {})
    assert T.choose(2, 2, 0.0, {"OMP_NUM_THREADS": "junk"}).threads == 2  # ignored


def test_processes_of_one_run_share_the_cores():
    plan = T.choose(16, 8, 0.0, {}, local_procs=4)
    assert (plan.threads, plan.wait_policy) == (2, "ACTIVE")
    assert "4 processes" in plan.line
    assert T.choose(2, 2, 0.0, {}, local_procs=2).threads == 1


def test_requested_threads_from_the_command_line_config_or_preset(tmp_path):
    assert T.requested_threads(["run"]) == 0
    assert T.requested_threads(["run", "--threads=3"]) == 3
    assert T.requested_threads(["bench", "--threads", "2", "--steps=5"]) == 2
    assert T.requested_threads(["run", "--preset=tiny"]) == 1  # the tiny preset's threads=1
    toml = tmp_path / "c.toml"
    toml.write_text("threads = 5\n")
    assert T.requested_threads(["run", f"--config={toml}"]) == 5
    toml.write_text('preset = "tiny"\n')
    assert T.requested_threads(["run", f"--config={toml}"]) == 1
    # anything wrong is left for the real parsing to report
    assert T.requested_threads(["run", "--threads=two"]) == 0
    assert T.requested_threads(["run", f"--config={tmp_path / 'missing.toml'}"]) == 0


def test_machine_readings_are_sane():
    cpus = T.allowed_cpus()
    assert cpus and 1 <= T.physical_cores(cpus) <= len(cpus)
    assert 0.0 <= T.busy_cores(cpus, window_s=0.05) <= len(cpus) + 0.01


def test_python_m_trainer_applies_and_prints_the_plan(tmp_path):
    """The plan reaches torch (its thread count) and the first lines; an explicit
    OMP_WAIT_POLICY is kept."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    env.update(PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run([sys.executable, "-m", "trainer", "bench", "--preset=tiny",
                           "--threads=0", "--steps=1", "--warmup=0", "--json"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = proc.stderr.splitlines()[0]
    assert line.startswith("cpu threads: ") and line.endswith(
        "OMP_WAIT_POLICY=PASSIVE (from the environment)"), line
    chosen = int(line.split()[2])
    assert json.loads(proc.stdout)["threads"] == chosen


def test_a_container_cpu_quota_caps_the_cores(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("max 100000\n")
    assert T.cgroup_cpu_limit(str(v2)) is None
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert T.cgroup_cpu_limit(str(v2)) == 2  # 1.5 CPUs: 2 threads at most
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert T.cgroup_cpu_limit(str(v1)) == 4
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert T.cgroup_cpu_limit(str(v1)) is None
    assert T.cgroup_cpu_limit(str(tmp_path / "none")) is None
