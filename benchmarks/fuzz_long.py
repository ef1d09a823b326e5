"""Fuzz every parser and the events readers for longer than CI does; print how many examples
ran. Asserts what the tests assert (a failure prints hypothesis' smallest failing input).

    python benchmarks/fuzz_long.py                   # profile 'long': 10x the CI examples
    python benchmarks/fuzz_long.py --profile ci      # exactly what CI runs, to count it
    python benchmarks/fuzz_long.py --examples 20000  # per property (x its scale)

Runs tests/analyzer/test_fuzz_parsers.py and tests/analyzer/test_fuzz_jsonl.py through
pytest in this process with $GPTSCOPE_FUZZ_PROFILE set (tests/reliability/fuzzing.py), then
prints the examples each property ran, the original events recovered from logs with
garbage mixed in, and the time taken. The CI profile is derandomized (the same examples on
every run); the long profile draws new ones each time.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["tests/analyzer/test_fuzz_parsers.py", "tests/analyzer/test_fuzz_jsonl.py"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", choices=["ci", "long"], default="long")
    p.add_argument("--examples", type=int, default=None,
                   help="examples per property before its scale (default: the profile's)")
    p.add_argument("-k", default=None, help="only the properties matching (pytest -k)")
    args = p.parse_args()
    os.environ["GPTSCOPE_FUZZ_PROFILE"] = args.profile
    if args.examples:
        os.environ["GPTSCOPE_FUZZ_EXAMPLES"] = str(args.examples)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import pytest

    from tests.reliability import fuzzing  # after the environment is set: it reads it
    t0 = time.perf_counter()
    argv = [*FILES, "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"]
    code = pytest.main(argv + (["-k", args.k] if args.k else []))
    seconds = time.perf_counter() - t0
    counts = fuzzing.COUNTS
    print(f"\nprofile {args.profile}: {fuzzing.EXAMPLES[args.profile]} examples per property "
          f"(x scale), {seconds:.0f} s")
    width = max((len(k) for k in counts), default=10)
    for key in sorted(counts):
        print(f"  {key:<{width}}  {counts[key]:>9,}")
    examples = sum(v for k, v in counts.items() if k != "events recovered"
                   and k not in ("load/error", "load/run", "jsonl/recover/binary-head")
                   and not k.startswith("parsers/cut-lines"))
    cut = sum(v for k, v in counts.items() if k.startswith("parsers/cut-lines"))
    print(f"examples run: {examples:,} (random) + {cut:,} cut real lines (exhaustive); "
          f"original events recovered from logs with garbage: "
          f"{counts['events recovered']:,}; pytest exit status {int(code)}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
