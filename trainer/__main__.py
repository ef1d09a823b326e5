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

raise SystemExit(main())
