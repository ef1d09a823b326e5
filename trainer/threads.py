"""CPU threading of a run, chosen from the situation before torch loads OpenMP.

OpenMP reads OMP_WAIT_POLICY and OMP_NUM_THREADS once, when torch is imported, so
``python -m trainer`` decides them first (trainer/__main__.py). Measured on a quiet 2-core
machine (nanoGPT's CPU recipe, docs/trainer.md "CPU threading"): spinning threads
(OMP_WAIT_POLICY=ACTIVE) ran at 0.83x nanoGPT's ms/iter and passive ones at 1.4x; but beside
another busy program a thread that spins on a shared core slows every step many times over.
So: torch's default thread count (one per physical core), spinning only when each thread
has a core that no other program is using, passive otherwise.
An explicit OMP_WAIT_POLICY, OMP_NUM_THREADS or --threads is always respected.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Mapping, Sequence


CHOSEN: "Plan | None" = None
"""The plan ``python -m trainer`` applied to this process (None: a library caller)."""


@dataclass(frozen=True)
class Plan:
    threads: int
    """Threads for torch's operations (OMP_NUM_THREADS)."""
    wait_policy: str
    """OMP_WAIT_POLICY: ACTIVE (spin while waiting) or PASSIVE (sleep)."""
    env: dict[str, str]
    """What to add to the environment before torch is imported (nothing the user set)."""
    line: str
    """One line for the first lines of the run."""


def choose(cores: int, physical: int, busy: float, environ: Mapping[str, str],
           threads_arg: int = 0, local_procs: int = 1) -> Plan:
    """The threading set-up (pure). cores: logical CPUs this process may use; physical: the
    physical cores among them (torch's default thread count); busy: how many of those cores
    other programs kept busy just now; threads_arg: --threads (0: not given); local_procs:
    processes of this run on this machine (torchrun's LOCAL_WORLD_SIZE)."""
    cores, physical, local_procs = max(1, cores), max(1, min(physical, cores)), max(1, local_procs)
    busy_cores = min(cores - 1, max(0, int(busy + 0.5)))
    free = cores - busy_cores  # cores no other program is using, at least 1
    share = max(1, physical // local_procs)
    user_threads = _positive_int(environ.get("OMP_NUM_THREADS", ""))
    env: dict[str, str] = {}
    if user_threads:
        threads, why_threads = user_threads, "OMP_NUM_THREADS from the environment"
    elif threads_arg > 0:
        threads, why_threads = threads_arg, "threads in the configuration"
        env["OMP_NUM_THREADS"] = str(threads)  # the OpenMP pool never grows beyond it
    else:
        # torch's default count even beside busy programs: passive threads there measured
        # 58.7 ms/iter against 66.4 for one thread (2 cores, one busy program), and a busy
        # core misread from a short sample costs little
        threads = share
        why_threads = (f"{free} of {cores} cores free" if busy_cores else
                       f"{cores} cores free") + (f", {local_procs} processes" if
                                                 local_procs > 1 else "")
        env["OMP_NUM_THREADS"] = str(threads)
    user_policy = environ.get("OMP_WAIT_POLICY", "").strip().upper()
    if user_policy:
        policy, why_policy = user_policy, "from the environment"
    elif 1 < threads <= free:
        policy, why_policy = "ACTIVE", "each thread has a free core: spinning is fastest"
    else:
        policy = "PASSIVE"
        why_policy = ("one thread: nothing to spin for" if threads <= 1 else
                      "more threads than free cores: spinning would steal their time")
    if not user_policy:
        env["OMP_WAIT_POLICY"] = policy
    line = (f"cpu threads: {threads} ({why_threads}; other programs' load {busy:.1f}), "
            f"OMP_WAIT_POLICY={policy} ({why_policy})")
    return Plan(threads, policy, env, line)


def _positive_int(text: str) -> int:
    try:
        value = int(text.split(",")[0])  # OMP_NUM_THREADS may list one count per level
    except ValueError:
        return 0
    return value if value > 0 else 0


# ---- the machine ----------------------------------------------------------------------------

def allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: Sequence[int]) -> int:
    """Distinct physical cores among the given logical CPUs (hyper-threads share one)."""
    seen = set()
    for cpu in cpus:
        topo = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        try:
            with open(f"{topo}/physical_package_id") as f1, open(f"{topo}/core_id") as f2:
                seen.add((f1.read().strip(), f2.read().strip()))
        except OSError:
            return len(cpus)
    return len(seen) or len(cpus)


def _cpu_times(cpus: Sequence[int]) -> tuple[int, int] | None:
    """(busy, total) jiffies summed over the given CPUs, from /proc/stat."""
    wanted, busy, total = {f"cpu{c}" for c in cpus}, 0, 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] in wanted:
                    values = [int(v) for v in parts[1:9]]  # user..steal
                    idle = values[3] + values[4]  # idle + iowait
                    busy, total = busy + sum(values) - idle, total + sum(values)
    except (OSError, ValueError, IndexError):
        return None
    return (busy, total) if total else None


def busy_cores(cpus: Sequence[int], window_s: float = 0.25) -> float:
    """How many of the given CPUs other programs keep busy: /proc/stat sampled over a short
    window while this process sleeps (the load average would lag by a minute). Elsewhere the
    1-minute load average stands in."""
    before = _cpu_times(cpus)
    if before is None:
        try:
            return max(0.0, os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0
    time.sleep(window_s)
    after = _cpu_times(cpus)
    if after is None or after[1] <= before[1]:
        return 0.0
    return len(cpus) * (after[0] - before[0]) / (after[1] - before[1])


def requested_threads(argv: Sequence[str]) -> int:
    """--threads of a `run`/`bench` command line, from the command line, its --config file
    or its --preset (0: not given). Read without torch; any problem is left for the real
    parsing to report."""
    from trainer import cli
    from trainer import config as C
    try:
        ns, _ = cli.build_parser().parse_known_args(list(argv))
        if getattr(ns, "threads", None) is not None:
            return int(C.parse_value("threads", ns.threads))
        toml = C.load_toml(ns.config) if getattr(ns, "config", None) else {}
        if "threads" in toml:
            return int(toml["threads"])
        name = getattr(ns, "preset", None) or toml.get("preset")
        return int(C.PRESETS.get(name, {}).get("threads", 0)) if name else 0
    except (Exception, SystemExit):
        return 0


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup") -> int | None:
    """The CPU quota of this process's container in whole CPUs, rounded up (None: no quota).
    A container limited to 2 CPUs on a 64-core host must not run 32 threads."""
    for path, parse in ((f"{root}/cpu.max", lambda t: t.split()[:2]),  # cgroup v2
                        (f"{root}/cpu/cpu.cfs_quota_us", None)):       # cgroup v1
        try:
            with open(path) as f:
                text = f.read()
            if parse is not None:
                quota, period = parse(text)
            else:
                with open(f"{root}/cpu/cpu.cfs_period_us") as f:
                    quota, period = text.strip(), f.read().strip()
            if quota in ("max", "-1"):
                return None
            return max(1, -(-int(quota) // int(period)))
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return None


def plan_for_this_process(argv: Sequence[str], environ: Mapping[str, str]) -> Plan:
    cpus = allowed_cpus()
    limit = cgroup_cpu_limit()
    cores = min(len(cpus), limit) if limit else len(cpus)
    busy = busy_cores(cpus) * cores / len(cpus)  # the same share of what we may use
    local = _positive_int(environ.get("LOCAL_WORLD_SIZE", "")) or 1
    return choose(cores, min(cores, physical_cores(cpus)), busy, environ,
                  requested_threads(argv), local)
