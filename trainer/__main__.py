import os

# OpenMP threads that spin while waiting made the CPU recipe 5-10x slower whenever another
# program used a core (measured on the 2-core CI machine: 330-770 ms/iter spinning, 60-75 ms
# with PASSIVE). It must be set before torch loads OpenMP; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from trainer.cli import main  # noqa: E402

raise SystemExit(main())
