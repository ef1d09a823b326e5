"""How fast the analyzer reads and follows big logs. Prints figures; asserts nothing.

    python benchmarks/jsonl_bench.py                 # 1,000,000 iter events, ~300 MB a layout
    python benchmarks/jsonl_bench.py --events 100000 --baselines --summary

1. Generates an events.jsonl of N ``iter`` events (plus a run_start and an eval every 250
   steps) in the writer's layout (gptscope.schema key order, the digits the trainer writes),
   the same events in the other LAYOUTS another writer may use (json.dumps defaults, keys
   shuffled, extra fields, odd whitespace, ints for floats, nulls), and, if the nanoGPT
   parser is there, a nanoGPT stdout log of N ``iter`` lines.
2. Times ``analyzer.load`` into DataFrames, each in a fresh process so that its peak memory
   (VmHWM, the peak resident set) is its own, the layouts taking turns round after round
   (a change in the machine's load hits all alike); prints the best round of each: wall and
   CPU time (all threads), the ratio to the compact layout, and the peak memory above the
   interpreter with pandas imported. ``--summary`` also times ``python -m analyzer summary``
   end to end per layout; ``--baselines`` times plain line reading, a json.loads loop and
   pyarrow.json on the compact file.
3. Follows the compact file with a Follower: the catch-up read, then 1,000 lines appended to
   the N-line file and read by ``poll()``, and the up-to-date Run from ``.run``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gptscope.schema import OPTIONAL, dumps, field_names, make_event  # noqa: E402
from trainer.events import round_field  # noqa: E402  (stdlib only: no torch needed)

RUN_ID = "shakespeare-char-2026-07-01"


def iter_lines(first: int, n: int, seed: int = 0):
    """iter event lines, exactly as dumps(make_event(...)) writes them, but built from a
    template: generating a million events through make_event alone takes a minute."""
    rng = random.Random(seed + first)
    keys = [k for k in field_names("iter")[5:] if k not in OPTIONAL]
    assert keys[:3] == ["loss", "lr", "grad_norm"]  # the template follows the schema order
    head = f'{{"type":"iter","v":1,"run_id":"{RUN_ID}",'
    for i in range(first, first + n):
        dt = 120.0 + rng.random() * 5
        values = dict(loss=4.0 * 0.99999 ** i + rng.random() * 0.1, lr=6e-4 * rng.random(),
                      grad_norm=rng.random() * 2, dt_ms=dt, step_ms=dt - 0.5,
                      eval_inclusive=i % 250 == 0, tokens_per_s=16384 / dt * 1000,
                      mfu=0.4 + rng.random() * 0.01, mfu_smoothed=0.4 + rng.random() * 0.01)
        # the digits the trainer writes (trainer.events.round_field), not full float64 reprs
        values = {k: round_field(k, v) for k, v in values.items()}
        time_ = round(1.7e9 + i * 0.12 + rng.random(), 3)
        yield i, values, head + f'"time":{time_!r},"step":{i},' + \
            ",".join(f'"{k}":{_json(values[k])}' for k in keys) + "}\n"


def _json(value: float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


def eval_line(step: int) -> str:
    return dumps(make_event("eval", RUN_ID, step, 1.7e9 + step * 0.12, train_loss=3.0,
                            val_loss=3.1, eval_ms=1500.0, best_val_loss=3.1)) + "\n"


def _shuffled(ev: dict, rng: random.Random) -> str:
    items = list(ev.items())
    rng.shuffle(items)
    return json.dumps(dict(items))


def _nulls(ev: dict, rng: random.Random) -> str:
    if ev["type"] == "iter":
        ev = {**ev, **{k: None for k in ("loss", "grad_norm", "mfu") if rng.random() < 0.1}}
    return json.dumps(ev, separators=(",", ":"))


def _ints(ev: dict, rng: random.Random) -> str:
    ints = {k: int(v) for k, v in ev.items()
            if k in ("time", "dt_ms", "step_ms", "tokens_per_s") and isinstance(v, float)}
    return json.dumps({**ev, **ints})


# other writers' layouts of the same (valid) events: json.dumps defaults (", ", ": "), keys
# in another order on every line, unknown fields (nested too), odd whitespace, ints where
# floats are expected, nulls
LAYOUTS = {
    "json.dumps": lambda ev, rng: json.dumps(ev),
    "shuffled": _shuffled,
    "extra": lambda ev, rng: json.dumps({"host": "node-3", **ev, "loss_scale": 65536.0,
                                         "tags": {"a": [1, "x,y"]}}, separators=(",", ":")),
    "pretty": lambda ev, rng: "{ " + json.dumps(ev, separators=(" , ", " : "))[1:-1] + " }\t",
    "ints": _ints,
    "nulls": _nulls,
}


def write_jsonl(path: Path, first: int, n: int, mode: str = "w", layout: str = "compact"
                ) -> None:
    """The events in the trainer's layout, or in one of LAYOUTS (decoded and written
    again: slower)."""
    rng = random.Random(first)
    with open(path, mode) as f:
        if first == 0:
            f.write(dumps(make_event(
                "run_start", RUN_ID, 0, 1.7e9, config={"batch_size": 64}, model={"n_layer": 6},
                tokens_per_iter=16384, max_iters=n, device="cuda", device_name="NVIDIA H100",
                dtype="bfloat16", world_size=1, peak_flops=989e12,
                peak_flops_source="table:H100", torch_version="2.13.0",
                source="gptscope")) + "\n")
        for i, values, line in iter_lines(first, n):
            if i < first + 3:  # the template writes what the schema's writer writes
                time_ = json.loads(line)["time"]
                assert line == dumps(make_event("iter", RUN_ID, i, time_, **values)) + "\n"
            lines = [line] + ([eval_line(i)] if i % 250 == 0 else [])
            if layout != "compact":
                lines = [LAYOUTS[layout](json.loads(x), rng) + "\n" for x in lines]
            f.writelines(lines)


def write_nanogpt(path: Path, first: int, n: int, mode: str = "w") -> None:
    rng = random.Random(first)
    with open(path, mode) as f:
        if first == 0:
            f.write("tokens per iteration will be: 16,384\nnumber of parameters: 10.65M\n")
        for i in range(first, first + n):
            if i % 250 == 0:
                f.write(f"step {i}: train loss {3 + rng.random():.4f}, "
                        f"val loss {3.1 + rng.random():.4f}\n")
            f.write(f"iter {i}: loss {4 * 0.99999 ** i:.4f}, time {120 + rng.random() * 5:.2f}ms,"
                    f" mfu {40 + rng.random():.2f}%\n")


_CHILD = r"""
import json, resource, sys, time
import analyzer
from analyzer import parsers
parsers.parsers()  # import every parser module (and pandas, pyarrow) before timing

def peak_mb():  # VmHWM starts afresh at exec; ru_maxrss would include the parent's
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

before = peak_mb()
t, cpu = time.perf_counter(), time.process_time()
run = analyzer.load(sys.argv[1])
s, cpu = time.perf_counter() - t, time.process_time() - cpu
print(json.dumps({"s": s, "cpu": cpu, "rows": len(run.iters), "lines": run.stats.lines,
                  "base_mb": before, "peak_mb": peak_mb()}))
"""


def timed_load(path: Path, repeat: int) -> dict:
    """Best of ``repeat`` fresh processes (peak memory of that best one)."""
    return timed_loads({"": path}, repeat)[""]


def timed_loads(paths: dict[str, Path], repeat: int) -> dict[str, dict]:
    """Each file's best of ``repeat`` fresh processes, the files taking turns."""
    runs: dict[str, list[dict]] = {name: [] for name in paths}
    for _ in range(repeat):
        for name, path in paths.items():
            out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], check=True,
                                 capture_output=True, text=True, cwd=ROOT).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    return {name: min(r, key=lambda x: x["s"]) for name, r in runs.items()}


def timed_summaries(paths: dict[str, Path], repeat: int) -> dict[str, tuple[float, float]]:
    """(wall, CPU) of ``python -m analyzer summary FILE``, best of ``repeat``, in turns."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for name, path in paths.items():
            before = os.times()
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "analyzer", "summary", str(path)],
                           check=True, capture_output=True, cwd=ROOT)
            wall = time.perf_counter() - t
            after = os.times()
            cpu = (after.children_user - before.children_user
                   + after.children_system - before.children_system)
            best[name] = min(best.get(name, (wall, cpu)), (wall, cpu))
    return best


def layout_table(paths: dict[str, Path], repeat: int, summary: bool) -> None:
    """Load (and summary) time per layout, and its ratio to the compact layout's."""
    loads = timed_loads(paths, repeat)
    sums = timed_summaries(paths, repeat) if summary else {}
    base = loads["compact"]["s"]
    print(f"{'layout':11s} {'MB':>5s} {'load s':>7s} {'CPU s':>6s} {'ratio':>6s} "
          f"{'peak MB':>8s}" + (f" {'summary s':>10s} {'CPU s':>6s}" if summary else ""))
    for name, r in loads.items():
        mb = paths[name].stat().st_size / 1e6
        row = (f"{name:11s} {mb:5.0f} {r['s']:7.2f} {r['cpu']:6.2f} {r['s'] / base:6.2f} "
               f"{r['peak_mb'] - r['base_mb']:8.0f}")
        if summary:
            row += f" {sums[name][0]:10.2f} {sums[name][1]:6.2f}"
        print(row + ("" if r["rows"] == loads["compact"]["rows"] else "  ROWS DIFFER"))


def follow_append(path: Path, append, n: int, times: int = 5) -> dict:
    """Catch-up time, then the median time of poll() (and of .run) for 1,000 new lines."""
    from analyzer import Follower
    size = path.stat().st_size
    try:
        return _follow_append(path, append, n, times)
    finally:
        os.truncate(path, size)  # the file as generated, for --no-generate


def _follow_append(path: Path, append, n: int, times: int) -> dict:
    from analyzer import Follower, parsers
    parsers.parsers()  # imports outside the timings
    f = Follower(path)
    t = time.perf_counter()
    f.poll()
    catch_up = time.perf_counter() - t
    polls, cpus, runs = [], [], []
    for k in range(times):
        append(path, n + k * 1000, 1000, "a")
        t, cpu = time.perf_counter(), time.process_time()
        up = f.poll()
        polls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - cpu)
        assert len(up.new_events) >= 1000
        t = time.perf_counter()
        run = f.run
        runs.append(time.perf_counter() - t)
    assert len(run.iters) == n + times * 1000
    return {"catch_up_s": catch_up, "poll_ms": statistics.median(polls) * 1e3,
            "poll_cpu_ms": statistics.median(cpus) * 1e3, "run_ms": statistics.median(runs) * 1e3}


def baselines(path: Path) -> None:
    def timeit(name: str, fn) -> None:
        t = time.perf_counter()
        fn()
        print(f"  {name:34s} {time.perf_counter() - t:7.2f} s")

    def read_lines():
        with open(path, "rb") as f:
            for _ in f:
                pass

    def json_loop():
        with open(path, "rb") as f:
            rows = [json.loads(line) for line in f]
        import pandas as pd
        pd.DataFrame([r for r in rows if r["type"] == "iter"])

    def pyarrow_json():
        import pyarrow.json as pj
        pj.read_json(path).to_pandas()

    print("baselines on the same file:")
    timeit("read the lines (no parsing)", read_lines)
    timeit("json.loads loop + DataFrame", json_loop)
    timeit("pyarrow.json.read_json + to_pandas", pyarrow_json)


def report(name: str, path: Path, r: dict) -> None:
    mb = path.stat().st_size / 1e6
    print(f"{name}: {r['lines']:,} lines, {mb:,.0f} MB -> {r['rows']:,} iter rows in "
          f"{r['s']:.2f} s (CPU {r['cpu']:.2f} s, all threads) = "
          f"{r['lines'] / r['s'] / 1e6:.2f} M lines/s, {mb / r['s']:.0f} MB/s; "
          f"peak RSS {r['peak_mb']:.0f} MB ({r['peak_mb'] - r['base_mb']:.0f} MB above "
          f"{r['base_mb']:.0f} MB after imports)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="iter events per file")
    ap.add_argument("--dir", type=Path, help="where to write the files (default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=3, help="timed loads per file (best kept)")
    ap.add_argument("--no-generate", action="store_true",
                    help="reuse the files already in --dir")
    ap.add_argument("--baselines", action="store_true",
                    help="also time line reading, json.loads and pyarrow.json")
    ap.add_argument("--summary", action="store_true",
                    help="also time `python -m analyzer summary` end to end per layout")
    ap.add_argument("--layouts", default=",".join(LAYOUTS),
                    help="the other layouts to generate and time (comma-separated; '' none)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.dir or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
        t = time.perf_counter()
        jl = d / "events.jsonl"
        paths = {"compact": jl}
        paths.update({name: d / f"events.{name}.jsonl" for name in
                      filter(None, args.layouts.split(","))})
        if not args.no_generate:
            for name, path in paths.items():
                write_jsonl(path, 0, args.events, layout=name)
            print(f"generated {len(paths)} layouts in {d} in {time.perf_counter() - t:.1f} s")
        print(f"load average before timing: {os.getloadavg()[0]:.1f}")
        layout_table(paths, args.repeat, args.summary)
        print(f"load average after timing: {os.getloadavg()[0]:.1f}")
        if args.baselines:
            baselines(jl)
        f = follow_append(jl, write_jsonl, args.events)
        print(f"follow events.jsonl: catch-up {f['catch_up_s']:.2f} s; 1,000 lines appended "
              f"to {args.events:,}: poll {f['poll_ms']:.1f} ms (CPU {f['poll_cpu_ms']:.1f} ms),"
              f" .run {f['run_ms']:.1f} ms")
        try:
            import analyzer.parsers.nanogpt  # noqa: F401
        except ImportError:
            print("nanoGPT parser not there: skipped")
            return
        ng = d / "train.log"
        if not args.no_generate:
            write_nanogpt(ng, 0, args.events)
        report("load nanoGPT train.log", ng, timed_load(ng, args.repeat))
        f = follow_append(ng, write_nanogpt, args.events)
        print(f"follow nanoGPT train.log: catch-up {f['catch_up_s']:.2f} s; 1,000 lines "
              f"appended to {args.events:,}: poll {f['poll_ms']:.1f} ms "
              f"(CPU {f['poll_cpu_ms']:.1f} ms), .run {f['run_ms']:.1f} ms")


if __name__ == "__main__":
    main()
