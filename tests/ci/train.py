"""Train the project's CI model with the real trainer: deterministic, and optionally broken.

    python -m tests.ci.train --out_dir DIR --run_id NAME [--bug no_causal_mask] [--key=value ...]

The configuration is CI_CONFIG (a tiny seeded model, CPU, float32) with any --key=value after
it. Before the trainer starts, torch is pinned to one thread, deterministic algorithms and
AVX2 kernels (DETERMINISTIC_ENV), so that two runs on one machine are bit-for-bit equal and
x86 machines with and without AVX-512 compute alike. ``--bug NAME`` injects a known bug into the
model by patching trainer.model in this process only (the trainer's files are not touched),
to prove that the regression check catches it.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import types
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]

# A seeded model that trains in about 3 s on one CPU core. Measured choices: with
# block_size 8 a model without a causal mask learns to copy within 100 steps (loss 0.7 vs
# 2.6); learning_rate 3e-3 keeps training non-chaotic, so that rounding differences (other
# CPU kernels, thread counts) stay near 1e-6 relative instead of growing to 5-10% as they do
# at 1e-2; x100 (0.3) plateaus near the unigram loss, 30% above the golden curve.
CI_CONFIG = ["--preset=tiny", "--device=cpu", "--dtype=float32", "--compile=false",
             "--n_layer=2", "--n_head=1", "--n_embd=64", "--block_size=8", "--batch_size=32",
             "--learning_rate=0.003", "--min_lr=0.0003", "--warmup_iters=20",
             "--max_iters=200", "--lr_decay_iters=200", "--eval_interval=25", "--eval_iters=4",
             "--seed=1337", "--threads=1",
             "--peak_tflops=1"]   # a fixed peak: else the trainer times a matmul

# Pin what makes CPU float results depend on the machine, before torch is imported: the
# instruction set of ATen's vectorised kernels and of MKL/oneDNN (an AVX-512 machine
# otherwise rounds differently from an AVX2 one), and the thread count.
DETERMINISTIC_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2",
                     "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"}


def _no_causal_mask() -> None:
    """Attention sees the whole sequence, the token to predict included: the classic
    data-leak bug. The training loss then falls far below the golden curve."""
    import torch.nn.functional as real_f

    import trainer.model

    def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kw):
        return real_f.scaled_dot_product_attention(q, k, v, None, dropout_p, False, **kw)

    shim = types.ModuleType("F_without_causal_mask")
    shim.__dict__.update(vars(real_f))
    shim.scaled_dot_product_attention = sdpa
    trainer.model.F = shim


def _check_leak() -> None:
    """The injected bug must really let position 0 see later tokens, or the test proves
    nothing (say, if the model stopped calling F.scaled_dot_product_attention)."""
    import torch

    from trainer.model import GPT, GPTConfig
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=8, block_size=4, n_layer=1, n_head=1, n_embd=8)).eval()
    a, b = torch.tensor([[1, 2, 3, 4]]), torch.tensor([[1, 2, 3, 5]])
    la, _ = model(a, a)
    lb, _ = model(b, b)
    if torch.equal(la[0, 0], lb[0, 0]):
        sys.exit("tests.ci.train: --bug no_causal_mask had no effect on trainer.model")


BUGS: dict[str, Callable[[], None]] = {"no_causal_mask": _no_causal_mask}


def start(out_dir: str | Path, run_id: str, *args: str, bug: str | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start training the CI model in a child process (into out_dir/run_id)."""
    cmd = [sys.executable, "-m", "tests.ci.train", "--out_dir", str(out_dir), "--run_id",
           run_id, *args, *(["--bug", bug] if bug else [])]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for a started run; its stdout, or RuntimeError with the end of its stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"CI training did not finish in {timeout} s: {proc.args}") from None
    if proc.returncode != 0:
        raise RuntimeError(f"CI training failed (exit {proc.returncode}): {proc.args}\n"
                           f"{err[-3000:]}")
    return out


def main(argv: list[str]) -> int:
    bug = None
    if "--bug" in argv:
        i = argv.index("--bug")
        bug, argv = argv[i + 1], argv[:i] + argv[i + 2:]
        if bug not in BUGS:
            sys.exit(f"tests.ci.train: unknown --bug {bug!r} (one of {', '.join(BUGS)})")
    if platform.machine().lower() in ("x86_64", "amd64"):
        for key, value in DETERMINISTIC_ENV.items():
            os.environ.setdefault(key, value)   # the caller may override any of them
    import torch
    # An error for any op without a deterministic implementation. (The thread count, which
    # decides how parallel reductions split their sums, is CI_CONFIG's --threads=1.)
    torch.use_deterministic_algorithms(True)
    if bug:
        BUGS[bug]()
        _check_leak()
    from trainer.cli import main as trainer_main
    return trainer_main(["run", *CI_CONFIG, *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
