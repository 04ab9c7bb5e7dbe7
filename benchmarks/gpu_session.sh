#!/usr/bin/env bash
# One prepared run for a machine with a CUDA GPU (the project's device tool, or any GPU box):
# the GPU tests, then `ganzoo bench` on CUDA with a batch sweep for DCGAN-64 (the issue's 4x
# target at batch 128, the best images/s at any batch and the share of the bf16 peak), fp32
# and bf16 (+ compile), then every architecture at its defaults. Results go to $OUT (default
# benchmarks/results/gpu). Not yet run: no GPU was lent to the session that wrote it.
#
#   OUT=/tmp/out bash benchmarks/gpu_session.sh
set -uo pipefail
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
PY=${PYTHON:-python}
$PY -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 || true
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
$PY -m pytest -q tests/test_cuda.py >"$OUT/test_cuda.log" 2>&1; echo "test_cuda rc=$?" >>"$OUT/status.txt"
bench() { local name=$1; shift; $PY -m ganzoo bench "$@" --no-pretrained --out-dir "$OUT/$name" \
          >"$OUT/$name.out" 2>"$OUT/$name.err"; echo "$name rc=$?" >>"$OUT/status.txt"; }
bench dcgan-fp32 dcgan --device cuda -b 128 --repeats 5 --block-seconds 1 --set ema=0 --set precision=fp32 --set channels_last=off --set optimizer_impl=foreach
bench dcgan-bf16 dcgan --device cuda -b 64,128,256,512,1024,2048 --repeats 5 --block-seconds 1 --set ema=0 --set precision=bf16
bench dcgan-bf16-compiled dcgan --device cuda -b 128,512,2048 --repeats 5 --block-seconds 1 --set ema=0 --set precision=bf16 --set compile=max-autotune
bench dcgan-bf16-graphs dcgan --device cuda -b 128,512 --repeats 5 --block-seconds 1 --set ema=0 --set precision=bf16 --set compile=reduce-overhead
bench all-defaults --device cuda --repeats 5
$PY -m ganzoo bench --device cuda --out-dir "$OUT/sampling" --no-memory --repeats 1 --steps 1 \
    >"$OUT/sampling.out" 2>"$OUT/sampling.err"; echo "sampling rc=$?" >>"$OUT/status.txt"
cat "$OUT/status.txt"
