#!/usr/bin/env bash
# Fine-tuning the bundled dcgan-celeba (it ships its discriminator) on a small folder of new faces:
# 500 CelebA faces as black-and-white photographs, a look the model never saw. SWD (the ProGAN
# protocol's descriptors, n = 500 a side) against those 500 faces, before and after, over four
# seeds of the samples and projections; the table goes to OUT/finetune_faces.md.
# Usage: benchmarks/finetune_faces.sh [OUT]   (default runs/finetune-faces; rerunning resumes)
# Written for the fine-tuning acceptance check; it has not been run yet, and no results exist from it.
set -euo pipefail
out=${1:-runs/finetune-faces}
celeba=${GANZOO_SHARED:-../shared}/data/celeba64
ganzoo=${GANZOO:-ganzoo}
python=${PYTHON:-python}
steps=300
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

settings=(--set freeze_d=2 --set lr_g=1e-4 --set lr_d=1e-4 --set batch_size=64
          --set r1_weight=0.1 --set r1_every=16 --set checkpoint_every=100 --set sample_every=100)
if [ -f "$out/run/run.json" ]; then
    $ganzoo train dcgan -o "$out/run" --resume --no-progress
else
    $ganzoo train dcgan --init-from dcgan-celeba --data "$out/faces" -o "$out/run" --steps $steps \
        "${settings[@]}" --no-progress
fi

for seed in 0 1 2 3; do
    for model in start tuned; do
        source=$([ $model = start ] && echo dcgan-celeba || echo "$out/run")
        [ -f "$out/$model-seed$seed.json" ] || $ganzoo eval "$source" --data "$out/faces" -m swd -n 500 \
            --seed $seed -o "$out/$model-seed$seed.json" -q --no-progress
    done
done

"$python" - "$out" "$steps" "${settings[*]}" <<'PY'
import json, statistics, sys
from pathlib import Path
out, steps, settings = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
def swd(model, seed):
    return json.loads((out / f"{model}-seed{seed}.json").read_text())["results"][0]["value"]
lines = [f"`ganzoo train dcgan --init-from dcgan-celeba --data {out}/faces --steps {steps} {settings}`, "
         "then `ganzoo eval MODEL --data FACES -m swd -n 500 --seed S` (SWD x1e3, lower is better).", "",
         "| model | " + " | ".join(f"seed {s}" for s in range(4)) + " | mean ± std |", "|---|" + "---:|" * 5]
for model, name in (("start", "dcgan-celeba"), ("tuned", f"fine-tuned, {steps} steps")):
    values = [swd(model, s) for s in range(4)]
    lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values)
                 + f" | {statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} |")
(out / "finetune_faces.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
