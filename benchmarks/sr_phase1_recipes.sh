#!/usr/bin/env bash
# The phase-1 (SRResNet) recipe comparison behind srresnet-x4: candidates trained on BSDS200 for
# the same CPU time (one torch thread each; steps set from each candidate's measured seconds per
# step), with PSNR on Set5 (the `sr` metric, BasicSR's protocol) logged at half and full budget.
# Candidates run one after the other; finished ones are skipped, interrupted ones resumed.
#   benchmarks/sr_phase1_recipes.sh [TRAIN_DATA] [SET5]
#   .venv/bin/python benchmarks/recipe_table.py runs/sr-recipes --metric sr \
#       --parts psnr_rgb,ssim_y > benchmarks/results/srresnet_recipes.md
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/sr/BSDS200-train}
SET5=${2:-../shared/data/sr/Set5/x4}
OUT=${OUT:-runs/sr-recipes}
GANZOO=${GANZOO:-.venv/bin/ganzoo}
mkdir -p "$OUT"

# name | steps | settings. Steps give each about 8 minutes on one thread of the CPU named in the
# results: 16 blocks x 64 at 96 px 2.28 s/step, at 64 px 0.97 s/step; 8 x 32 at 96 px 0.56 s/step.
CANDIDATES=(
  "mse-1e-4-b16w64-c96|210|--set pixel_loss=mse --set lr_g=1e-4"
  "l1-2e-4-b16w64-c96|210|--set pixel_loss=l1 --set lr_g=2e-4"
  "l1-2e-4-b16w64-c64|490|--set pixel_loss=l1 --set lr_g=2e-4 --set hr_crop=64"
  "l1-2e-4-b8w32-c96|850|--set pixel_loss=l1 --set lr_g=2e-4 --set blocks=8 --set width=32"
)

for candidate in "${CANDIDATES[@]}"; do
  IFS='|' read -r name steps settings <<< "$candidate"
  dir="$OUT/$name"
  if [ -f "$dir/checkpoints/step_$(printf %08d "$steps")/model.safetensors" ]; then
    echo "$name: done"; continue
  fi
  if [ -f "$dir/run.json" ]; then
    args=(--resume)
  else
    # shellcheck disable=SC2206
    args=($settings --set eval_metrics=sr --set eval_data="$SET5" --set eval_every=$((steps / 2))
          --set checkpoint_every=$((steps / 2)) --set keep_best=sr --set sample_every=$((steps / 2)))
  fi
  OMP_NUM_THREADS=1 $GANZOO train srgan --data "$DATA" -o "$dir" --steps "$steps" "${args[@]}" \
    --no-progress > "$OUT/$name.log" 2>&1
  echo "$name: $(tail -1 "$OUT/$name.log")"
done
