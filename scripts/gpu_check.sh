#!/usr/bin/env bash
# GPU check for the trainer, on one H100/H200-class GPU, in about 10 minutes, no network:
#   1. the GPT-2 124M benchmark (block 1024, bf16, torch.compile) on the shipped Tiny
#      Shakespeare (GPT-2 BPE): ms/iter, tokens/s, MFU against the device's bf16 peak
#      (goal: >= 45%), peak memory, compile time apart;
#   2. a short real run of the same model (events.jsonl, evals, checkpoint), summarised;
#   3. --resume of that run for 20 more steps (checkpoint read back onto the GPU, RNG states
#      restored), summarised.
#
#   scripts/gpu_check.sh              # on the GPU machine
#   scripts/gpu_check.sh --dry-run    # the same steps with a tiny model on CPU (logic check)
#
# Environment: PYTHON (default: the project's .venv made by scripts/run.sh or test.sh when no
# environment is active, else python3 on PATH), GPU_CHECK_DIR (where the runs go, created if missing;
# default a temporary directory). Each invocation makes a new run directory in it, so the
# same GPU_CHECK_DIR can be used again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${PYTHON:-}" ]]; then
    PY=$PYTHON
elif [[ -z "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" && -x .venv/bin/python3 ]]; then
    PY=$PWD/.venv/bin/python3
else
    PY=$(command -v python3 || command -v python || echo python3)
fi
OUT=${GPU_CHECK_DIR:-$(mktemp -d)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUN_ID="gpu_check-$(date +%Y%m%d-%H%M%S)-$$"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [[ "${1:-}" == "--dry-run" ]]; then
    MODE="dry run (tiny model, CPU: checks the script, not the speed)"
    BENCH=(--preset=tiny --device=cpu --steps=3 --warmup=1)
    RUN=(--preset=tiny --device=cpu --max_iters=10 --lr_decay_iters=20 --warmup_iters=2
         --eval_interval=5 --eval_iters=2 --log_interval=2)
    MORE=(--max_iters=14)
    LIMIT=120
elif [[ $# -eq 0 ]]; then
    MODE="GPU"
    "$PY" -c "import torch, sys; print('torch', torch.__version__); sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU: use --dry-run')"
    # 16 x 1024 tokens per micro-step, 8 micro-steps: 131,072 tokens per optimizer step
    SHAPE=(--preset=gpt2 --device=cuda --dtype=bfloat16 --compile=true --batch_size=16
           --gradient_accumulation_steps=8)
    BENCH=("${SHAPE[@]}" --steps=20 --warmup=5)
    # Checkpoints of the gpt2 preset are ~1.5 GB (weights + AdamW moments): two evals
    # (30 and 60) keep the check to two writes, plus one at the end of the resumed run.
    RUN=("${SHAPE[@]}" --max_iters=60 --warmup_iters=10 --lr_decay_iters=80
         --eval_interval=30 --eval_iters=10 --log_interval=10)
    MORE=(--max_iters=80)
    # A cold torch.compile of GPT-2 (training and eval graphs) can take minutes on a fresh
    # machine; each step then takes well under a second on an H100.
    LIMIT=420
else
    echo "usage: $0 [--dry-run]" >&2
    exit 2
fi

echo "== gpu_check: $MODE; runs under $OUT"

echo "== 1/3 benchmark: python -m trainer bench ${BENCH[*]}"
timeout "$LIMIT" "$PY" -m trainer bench "${BENCH[@]}" --json > "$OUT/$RUN_ID.bench.json"
"$PY" - "$OUT/$RUN_ID.bench.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))

def rate(flops):  # a CPU's measured peak is GFLOP/s: never print it as "0 TFLOP/s"
    return f"{flops / 1e12:.1f} TFLOP/s" if flops >= 1e12 else f"{flops / 1e9:.1f} GFLOP/s"

print(f"device: {r['device_name']} ({r['dtype']}, compile {r['compile']})")
print(f"compile + first step: {r['compile_s']:.1f} s (not in the figures)")
print(f"ms/iter: median {r['ms_per_iter_median']:.1f}, p90 {r['ms_per_iter_p90']:.1f} "
      f"({r['tokens_per_iter']:,} tokens/iter)")
print(f"tokens/s: {r['tokens_per_s']:,.0f}")
if r["mfu"] is None:
    print(f"MFU: unknown ({r['peak_flops_source']})")
else:
    goal = "meets" if r["mfu"] >= 0.45 else "BELOW"
    print(f"MFU: {r['mfu'] * 100:.1f}% of {rate(r['peak_flops'])} "
          f"({r['peak_flops_source']}); {goal} the 45% goal")
print(f"peak memory: {r['peak_mem_bytes'] / 2**30:.2f} GiB ({r['peak_mem_source']})")
PYEOF

summarise() {  # events.jsonl -> one or two lines; fails unless the run completed
    "$PY" - "$1" <<'PYEOF'
import json, statistics, sys
events = [json.loads(line) for line in open(sys.argv[1])]
start = max(i for i, e in enumerate(events) if e["type"] in ("run_start", "resume"))
seg = events[start:]
iters = [e for e in seg if e["type"] == "iter" and e["step_ms"] is not None]
steady = iters[1:] or iters
evals = [e for e in seg if e["type"] == "eval"]
end = seg[-1]
what = "resumed at step %d" % seg[0]["from_step"] if seg[0]["type"] == "resume" else "run"
print(f"{what}: {end['status']} after {end['steps']} steps in {end['wall_s']:.1f} s; "
      f"val loss {evals[0]['val_loss']:.3f} -> {evals[-1]['val_loss']:.3f}")
if steady:
    ms = statistics.median(e["step_ms"] for e in steady)
    mfus = [e["mfu"] for e in steady if e["mfu"] is not None]
    mfu = f"{statistics.median(mfus) * 100:.1f}%" if mfus else "unknown"
    print(f"  median step {ms:.1f} ms, median MFU {mfu} (logged iterations)")
sys.exit(0 if end["status"] == "completed" else 1)
PYEOF
}

echo "== 2/3 short real run: python -m trainer run ${RUN[*]}"
timeout "$LIMIT" "$PY" -m trainer run "${RUN[@]}" --out_dir="$OUT" --run_id="$RUN_ID" \
    > "$OUT/$RUN_ID.run.log"
grep -E "^(compile|step [0-9]+:)" "$OUT/$RUN_ID.run.log" || true
summarise "$OUT/$RUN_ID/events.jsonl"

echo "== 3/3 resume: python -m trainer run --resume $OUT/$RUN_ID ${MORE[*]}"
timeout "$LIMIT" "$PY" -m trainer run --resume="$OUT/$RUN_ID" "${MORE[@]}" \
    > "$OUT/$RUN_ID.resume.log"
grep -E "^(compile|step [0-9]+:)" "$OUT/$RUN_ID.resume.log" || true
summarise "$OUT/$RUN_ID/events.jsonl"
echo "== gpu_check: done ($OUT/$RUN_ID)"
