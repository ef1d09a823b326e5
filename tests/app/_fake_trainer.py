"""A stand-in for `python -m trainer run` in launcher tests: writes events until SIGINT.

    python tests/app/_fake_trainer.py --out_dir DIR [--anything=ignored ...]
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gptscope.schema import dumps, make_event  # noqa: E402
from tests.app import _runs as R  # noqa: E402


def main() -> int:
    args = sys.argv[1:]
    out = Path(next(a.split("=", 1)[1] for a in args if a.startswith("--out_dir="))
               if "--out_dir" not in args else args[args.index("--out_dir") + 1])
    run = out / "fake-run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "pid").write_text(str(os.getpid()))
    (run / "args").write_text("\n".join(args))
    path = run / "events.jsonl"
    stop = []
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    with open(path, "a") as f:
        f.write(dumps(R.start("fake-run", time=time.time())) + "\n")
        step = 0
        while not stop:
            f.write(dumps(R.it("fake-run", step, 3.0, time=time.time())) + "\n")
            f.flush()
            step += 1
            time.sleep(0.1)
        f.write(dumps(make_event("run_end", "fake-run", step, time.time(),
                                 status="interrupted", error=None, steps=step,
                                 wall_s=None)) + "\n")
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
