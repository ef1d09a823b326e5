#!/usr/bin/env bash
# GPU check for the trainer, on one H100/H200-class GPU, in under 5 minutes, no network:
#   1. the GPT-2 124M benchmark (block 1024, bf16, torch.compile) on the shipped Tiny
#      Shakespeare (GPT-2 BPE): ms/iter, tokens/s, MFU against the device's bf16 peak
#      (goal: >= 45%), peak memory, compile time apart;
#   2. a short real run of the same model (events.jsonl, evals, checkpoint), summarised.
#
#   scripts/gpu_check.sh              # on the GPU machine
#   scripts/gpu_check.sh --dry-run    # the same steps with a tiny model on CPU (logic check)
#
# Environment: PYTHON (default python), GPU_CHECK_DIR (where the run goes; default a
# temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${GPU_CHECK_DIR:-$(mktemp -d)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [[ "${1:-}" == "--dry-run" ]]; then
    MODE="dry run (tiny model, CPU: checks the script, not the speed)"
    BENCH=(--preset=tiny --device=cpu --steps=3 --warmup=1)
    RUN=(--preset=tiny --device=cpu --max_iters=10 --lr_decay_iters=10 --warmup_iters=2
         --eval_interval=5 --eval_iters=2 --log_interval=2)
    LIMIT=120
elif [[ $# -eq 0 ]]; then
    MODE="GPU"
    "$PY" -c "import torch, sys; print('torch', torch.__version__); sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU: use --dry-run')"
    # 16 x 1024 tokens per micro-step, 8 micro-steps: 131,072 tokens per optimizer step
    SHAPE=(--preset=gpt2 --device=cuda --dtype=bfloat16 --compile=true --batch_size=16
           --gradient_accumulation_steps=8)
    BENCH=("${SHAPE[@]}" --steps=20 --warmup=5)
    RUN=("${SHAPE[@]}" --max_iters=60 --warmup_iters=10 --lr_decay_iters=60
         --eval_interval=30 --eval_iters=10 --log_interval=10)
    LIMIT=140
else
    echo "usage: $0 [--dry-run]" >&2
    exit 2
fi

echo "== gpu_check: $MODE; run directory under $OUT"

echo "== 1/2 benchmark: python -m trainer bench ${BENCH[*]}"
timeout "$LIMIT" "$PY" -m trainer bench "${BENCH[@]}" --json > "$OUT/bench.json"
"$PY" - "$OUT/bench.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"device: {r['device_name']} ({r['dtype']}, compile {r['compile']})")
print(f"compile + first step: {r['compile_s']:.1f} s (not in the figures)")
print(f"ms/iter: median {r['ms_per_iter_median']:.1f}, p90 {r['ms_per_iter_p90']:.1f} "
      f"({r['tokens_per_iter']:,} tokens/iter)")
print(f"tokens/s: {r['tokens_per_s']:,.0f}")
if r["mfu"] is None:
    print("MFU: unknown (device not in the peak table)")
else:
    goal = "meets" if r["mfu"] >= 0.45 else "BELOW"
    print(f"MFU: {r['mfu'] * 100:.1f}% of {r['peak_flops'] / 1e12:.0f} TFLOP/s "
          f"({r['peak_flops_source']}); {goal} the 45% goal")
print(f"peak memory: {r['peak_mem_bytes'] / 2**30:.2f} GiB ({r['peak_mem_source']})")
PYEOF

echo "== 2/2 short real run: python -m trainer run ${RUN[*]}"
timeout "$LIMIT" "$PY" -m trainer run "${RUN[@]}" --out_dir="$OUT" --run_id=gpu_check \
    > "$OUT/run.log"
grep -E "^(compile|step [0-9]+:)" "$OUT/run.log" || true
"$PY" - "$OUT/gpu_check/events.jsonl" <<'PYEOF'
import json, statistics, sys
events = [json.loads(line) for line in open(sys.argv[1])]
iters = [e for e in events if e["type"] == "iter" and e["step_ms"] is not None]
steady = iters[1:] or iters
evals = [e for e in events if e["type"] == "eval"]
end = events[-1]
print(f"run: {end['status']} after {end['steps']} steps in {end['wall_s']:.1f} s; "
      f"val loss {evals[0]['val_loss']:.3f} -> {evals[-1]['val_loss']:.3f}")
ms = statistics.median(e["step_ms"] for e in steady)
mfus = [e["mfu"] for e in steady if e["mfu"] is not None]
mfu = f"{statistics.median(mfus) * 100:.1f}%" if mfus else "unknown"
print(f"run: median step {ms:.1f} ms, median MFU {mfu} (logged iterations)")
sys.exit(0 if end["status"] == "completed" else 1)
PYEOF
echo "== gpu_check: done"
