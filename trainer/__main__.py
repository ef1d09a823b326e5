import os
import sys

# CPU threading (OMP_NUM_THREADS, OMP_WAIT_POLICY) is chosen from the situation before torch
# loads OpenMP, which reads them once: spinning threads on a free machine, fewer and passive
# ones beside busy programs (trainer/threads.py). An explicit setting always wins.
if sys.argv[1:2] in (["run"], ["bench"]):
    from trainer import threads

    threads.CHOSEN = threads.plan_for_this_process(sys.argv[1:], os.environ)
    os.environ.update(threads.CHOSEN.env)

from trainer.cli import main  # noqa: E402

status = main()
if os.environ.get("WORLD_SIZE", "1") != "1":
    # a torchrun rank whose run is over (its files closed, its process group destroyed):
    # leave without the interpreter's teardown, in which Gloo's C++ state could still abort
    # the process ('terminate called without an active exception', exit -6) after a
    # successful run -- a flake of tests/trainer/test_ddp.py, about one suite run in five
    import threading

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    if threading.active_count() == 1:
        os._exit(status)
raise SystemExit(status)
