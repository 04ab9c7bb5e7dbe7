#!/usr/bin/env bash
# The recipe comparison behind dcgan-celeba: DCGAN-64 candidates trained on celeba64 for a
# budget of images shown to D, with SWD (EVAL_N generated and training images, fixed seed)
# logged at half and full budget. Two candidates run at once, one torch thread each (on a
# 2-core CPU that trains about 1.35x more images per second in all than one run on two
# threads). Finished candidates are skipped, interrupted ones resumed.
#   benchmarks/dcgan_celeba_recipes.sh [DATA]
#   .venv/bin/python benchmarks/recipe_table.py runs/recipes > benchmarks/results/dcgan_celeba_recipes.md
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/celeba64}
OUT=${OUT:-runs/recipes}
GANZOO=${GANZOO:-.venv/bin/ganzoo}
EVAL_N=${EVAL_N:-2048}
mkdir -p "$OUT"

# name | batch | images | settings (widths are 32 unless a candidate sets width=)
CANDIDATES=(
  "bce-b64|64|64000|--set loss=bce"
  "hinge-sn-b64|64|64000|--set loss=hinge --set spectral_norm=true"
  "hinge-sn-ttur-b64|64|64000|--set loss=hinge --set spectral_norm=true --set lr_d=4e-4 --set lr_g=1e-4"
  "bce-b128|128|64000|--set loss=bce"
  "bce-ttur-b64|64|64000|--set loss=bce --set lr_d=4e-4 --set lr_g=1e-4"
  "bce-w48-b64|64|32000|--set loss=bce --set width=48"
)

run_one() {
  local name=$1 batch=$2 images=$3 settings=$4
  local steps=$((images / batch)) dir="$OUT/$name" args
  if [ -f "$dir/checkpoints/step_$(printf %08d "$steps")/model.safetensors" ]; then
    echo "$name: done"; return
  fi
  if [ -f "$dir/run.json" ]; then
    args=(--resume)
  else
    local width=32
    if [[ $settings =~ width=([0-9]+) ]]; then
      width=${BASH_REMATCH[1]}; settings=${settings/--set width=$width/}
    fi
    # shellcheck disable=SC2206
    args=(--batch-size "$batch" --set g_width="$width" --set d_width="$width" $settings
          --set eval_metrics=swd --set eval_n="$EVAL_N" --set eval_every=$((steps / 2))
          --set checkpoint_every=$((steps / 4)) --set sample_every=$((steps / 2)))
  fi
  OMP_NUM_THREADS=1 $GANZOO train dcgan --data "$DATA" -o "$dir" --steps "$steps" "${args[@]}" \
    --no-progress > "$OUT/$name.log" 2>&1
  echo "$name: $(tail -1 "$OUT/$name.log")"
}

for ((i = 0; i < ${#CANDIDATES[@]}; i += 2)); do
  for j in $i $((i + 1)); do
    [ "$j" -lt "${#CANDIDATES[@]}" ] || continue
    IFS='|' read -r name batch images settings <<< "${CANDIDATES[$j]}"
    run_one "$name" "$batch" "$images" "$settings" &
  done
  wait
done
