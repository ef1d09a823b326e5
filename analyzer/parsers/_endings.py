"""How a text log says that its run ended: an interrupt, a scheduler's cancel, a process
killed by a signal, out of memory, an assertion, a CUDA or library error, a traceback. Shared
by the stdout parsers (analyzer/parsers/_stdout.py)."""
from __future__ import annotations

import re

SPLICE = re.compile(r"slurmstepd: |srun: error: ")
SLURM_CANCEL = re.compile(r"\*+ (?:JOB|STEP) \S+ ON \S+ CANCELLED AT \S+")
SIGNAL = re.compile(r"Received \d+ death signal|Received SIG[A-Z]+\b|srun: forcing job termination"
                    r"|srun: Job step aborted")
# torchrun's summary of a worker killed by a signal ('traceback : Signal 9 (SIGKILL) received
# by PID 929'): why the launch failed, more telling than its ChildFailedError
WORKER_SIGNAL = re.compile(r"Signal \d+ \(SIG[A-Z]+\) received by PID \d+")
# a shell's report of a killed job: 'script: line 14: 252049 Aborted  (core dumped) ./train'
DEATH = r"(?:Aborted|Killed|Segmentation fault|Bus error)"
# zsh's, in lower case: a job's status ('[1]    15017 bus error  python3 train_gpt2.py',
# '[1]  + 24608 abort      python -m mlx_lm.lora ...') or 'zsh: killed     python train.py'
ZSH_DEATH = r"(?:killed|abort|bus error|segmentation fault)"
SHELL_DEATH = re.compile(r"\S+: line \d+: +\d+ +" + DEATH + r"\b.*|"
                         + DEATH + r"(?: \(core dumped\))?|"
                         r"(?:\[\d+\] +(?:[+-] +)?\d+|zsh:) +" + ZSH_DEATH
                         + r"(?: \(core dumped\))? .*")
# Endings that may sit anywhere in a line (a Ctrl-C echo glues '^C' to the next output:
# '^CTraceback ...'). They end the run only if no training follows them (see finish()).
CTRL_C = "^C"
INTERRUPT = re.compile(r"\bKeyboardInterrupt\b")
# Not Triton's 'OutOfMemoryError: out of resource: triton_mm Required: 131072 Hardware
# limit:101376' while inductor autotunes: a kernel config over the shared-memory limit, which
# it skips ('Ignoring this choice.'); the run goes on
# TensorFlow's is 'ResourceExhaustedError: OOM when allocating tensor with shape[…]'
OOM = re.compile(r"\bout of memory\b|OutOfMemoryError(?!: out of resource)|\boom[-_ ]kill|"
                 r"\bInvalid buffer size: \d|ResourceExhaustedError|\bOOM when allocating\b",
                 re.IGNORECASE)  # ('Invalid buffer size': MPS cannot allocate)
KILLED = re.compile(r"(?<![A-Za-z])(?:Killed|Segmentation fault|Bus error)"
                    r"(?: \(core dumped\))?(?![A-Za-z])")
# a C assert, or glog's CHECK ('F0316 10:24:11.964540 … x.cc:86] Check failed: sequence_length
# <= 1024 (2048 vs. 1024)', the prefix stripped by clean_line): the process aborts
ASSERTION = re.compile(r"Assertion [`'].*[`'] failed\.?$|^Check failed: \S")
CUDA_ERROR = re.compile(r"\[(CUDA|CUDNN) ERROR\] at file (\S+?):?$")  # llm.c's checks
# a native library's fatal error with its message on the line: '[cuBLAS ERROR]: 13 x.cuh 216'
NATIVE_ERROR = re.compile(r"\[(?:cuBLAS|cuDNN|NCCL|CUDA|cuBLASLt) ERROR\]:?\s*\S.*|"
                          r"CUBLAS_STATUS_\w+|cudaError\w*:|an illegal memory access|"
                          # a collective that never completed (a rank hung or died): NCCL's
                          # watchdog aborts the process group, and the job with it
                          r"Watchdog caught collective operation timeout|"
                          # its older words for the same abort (an NCCL error, async mode)
                          r"we are taking the entire process down|"
                          # llm.c's checks before they exit ('Error: Token out of vocabulary
                          # at train_gpt2.cu:675', 'Error: Failed to open file … at x.c:12')
                          r"^Error: .+ at \S+\.(?:cu|cuh|c|cpp|h):\d+$|"
                          # MPI's report of a rank that exited with an error (the job aborts)
                          r"mpiexec detected that one or more processes exited with non-zero|"
                          # an exception hook's last word (OLMo's '[olmo.util:158, rank=0]
                          # Uncaught OLMoThreadError: generator thread data thread 3 failed')
                          r"(?:^|\] )Uncaught [A-Za-z_][\w.]*(?:Error|Exception)\b")
# a script's word that it went on to the end after an error it printed (a harness's 'Stage
# completed successfully' under a side task's traceback): that error killed nothing
SUCCESS = re.compile(r"\b(?:completed|finished|exited|ended|done) successfully\b|"
                     r"\bexit(?:ed with)? (?:code|status)[: ]+0\b", re.IGNORECASE)
TRACEBACK = "Traceback (most recent call last):"
# the last line of a traceback: 'ValueError: ...', 'KeyboardInterrupt', 'torch.X.ChildFailedError:'
EXCEPTION = re.compile(r"[A-Za-z_][\w.]*(?::.*)?$")


def pending_ending(t: str) -> bool:
    """A line that ends the run if no training follows it: an interrupt, an out-of-memory
    message, a process killed by a signal, anywhere in the line."""
    return bool(INTERRUPT.search(t) or OOM.search(t) or KILLED.search(t))


def ending_status(error: str) -> str:
    """'interrupted' for a stop from outside the program (Ctrl-C, a scheduler's cancel or
    time limit, a termination signal), else 'failed'."""
    if INTERRUPT.search(error) or "CANCELLED" in error or "TIME LIMIT" in error.upper() \
            or "SIGTERM" in error or "SIGINT" in error:
        return "interrupted"
    return "failed"
