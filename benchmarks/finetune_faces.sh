#!/usr/bin/env bash
# Fine-tuning the bundled dcgan-celeba (it ships its discriminator) on a small folder of new faces:
# 500 CelebA faces as black-and-white photographs, a look the model never saw. Two fine-tunes of
# 300 steps, the whole discriminator trained (freeze_d=0) and its first two blocks frozen
# (FreezeD, freeze_d=2); SWD (the ProGAN protocol's descriptors, n = 500 a side) against those
# 500 faces before and after, over four seeds of the samples and projections, with the per-level
# figures; the table goes to OUT/finetune_faces.md.
# Usage: benchmarks/finetune_faces.sh [OUT]   (default runs/finetune-faces; rerunning resumes)
set -euo pipefail
out=${1:-runs/finetune-faces}
celeba=${GANZOO_SHARED:-../shared}/data/celeba64
ganzoo=${GANZOO:-ganzoo}
python=${PYTHON:-python}
steps=300
freezes=(0 2)
mkdir -p "$out"

if [ ! -d "$out/faces" ]; then  # every 88th face of the sorted folder, grey (kept RGB, as the model is)
    "$python" - "$celeba" "$out/faces" <<'PY'
import sys
from pathlib import Path
from PIL import Image
source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir()
for path in sorted(source.glob("*.jpg"))[::88][:500]:
    Image.open(path).convert("L").convert("RGB").save(target / f"{path.stem}.png")
PY
fi

settings=(--set lr_g=1e-4 --set lr_d=1e-4 --set batch_size=64 --set r1_weight=0.1 --set r1_every=16
          --set checkpoint_every=100 --set sample_every=100)
for freeze in "${freezes[@]}"; do
    run=$out/run-freeze_d$freeze
    if [ -f "$run/run.json" ]; then
        $ganzoo train dcgan -o "$run" --resume --no-progress
    else
        $ganzoo train dcgan --init-from dcgan-celeba --data "$out/faces" -o "$run" --steps $steps \
            --set freeze_d="$freeze" "${settings[@]}" --no-progress
    fi
done

for seed in 0 1 2 3; do
    for model in start "${freezes[@]/#/freeze_d}"; do
        source=$([ "$model" = start ] && echo dcgan-celeba || echo "$out/run-$model")
        [ -f "$out/$model-seed$seed.json" ] || $ganzoo eval "$source" --data "$out/faces" -m swd -n 500 \
            --seed $seed -o "$out/$model-seed$seed.json" -q --no-progress
    done
done

"$python" - "$out" "$steps" "${settings[*]}" "${freezes[@]}" <<'PY'
import json, statistics, sys
from pathlib import Path
out, steps, settings, freezes = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
def result(model, seed):
    return json.loads((out / f"{model}-seed{seed}.json").read_text())["results"][0]
def cell(values):
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
lines = [f"`ganzoo train dcgan --init-from dcgan-celeba --data {out}/faces --steps {steps} "
         f"--set freeze_d=K {settings}`, then `ganzoo eval MODEL --data FACES -m swd -n 500 --seed S` "
         "for seeds 0-3 (SWD x1e3 on 500 images a side, lower is better; levels 64/32/16 px).", "",
         "| model | " + " | ".join(f"seed {s}" for s in range(4))
         + " | mean ± std | level 64 | level 32 | level 16 |", "|---|" + "---:|" * 8]
models = [("start", "dcgan-celeba (start)")] + [(f"freeze_d{k}", f"fine-tuned {steps} steps, freeze_d={k}")
                                                for k in freezes]
for model, name in models:
    results = [result(model, s) for s in range(4)]
    levels = [cell([r["details"][f"swd_{size}"] for r in results]) for size in (64, 32, 16)]
    lines.append(f"| {name} | " + " | ".join(f"{r['value']:.2f}" for r in results)
                 + f" | {cell([r['value'] for r in results])} | " + " | ".join(levels) + " |")
(out / "finetune_faces.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
