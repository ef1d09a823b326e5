"""Keep freed memory in the process for the command's lifetime (glibc only).

A summary of a 1M-line log allocates and frees ~0.5 GB of column arrays and parse
temporaries. glibc hands freed blocks above its mmap threshold, and the free top of its heap,
back to the kernel, so the next array of that size faults in fresh zeroed pages. On a
virtual machine whose host reclaims freed guest memory (firecracker, here) those faults cost
0.1-0.5 s of system time per run, and most of the spread between runs of the same command.
Raising the two thresholds lets malloc reuse the blocks instead. A command lives for one job,
so holding its peak until exit costs nothing; the library and the dashboard (long-lived,
inside other programs) leave the allocator alone.
"""
from __future__ import annotations

import ctypes
import gc
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20   # glibc's maximum on 64-bit: bigger blocks are still mapped
TRIM_THRESHOLD = 1 << 30    # free heap top kept up to 1 GiB


def keep_freed_memory() -> bool:
    """Set the thresholds; True if this is glibc and it took them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has it as a no-op, others lack it)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def skip_cyclic_gc(argv: list[str]) -> bool:
    """Turn Python's cyclic garbage collector off for a one-shot command (every verb but
    ``watch``, which runs until stopped); True if it did.

    Why: importing pandas, numpy and pyarrow creates ~250,000 long-lived objects, and the
    collector walks them ~170 times while they load (28 ms of the 0.55 s summary of a
    1M-line log, on Python 3.11) to free nothing. The command's own tables are numpy
    arrays, freed by reference counting the moment they are dropped; a cycle left over
    lives until the process exits a second later."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in (None, "watch"):
        return False
    gc.disable()
    return True
