#!/usr/bin/env bash
# The committed `ganzoo compare` results (benchmarks/results/compare_*.md), run on this CPU.
# Usage: benchmarks/compare_cpu.sh [OUT_ROOT]   (default runs/compare; rerunning resumes)
set -euo pipefail
out=${1:-runs/compare}
data=${GANZOO_SHARED:-../shared}/data
ganzoo=${GANZOO:-ganzoo}
w32=g_width=32,d_width=32

# MNIST at 32x32: unconditional DCGAN with four losses, and the MLP GAN; classifier-FD.
$ganzoo compare dcgan:bce,$w32 dcgan:hinge,$w32 dcgan:lsgan,$w32 dcgan:wgan-gp,$w32 mlp:bce \
    --data "$data/mnist" --set image_size=32 --set batch_size=64 --budget 100k -m classifier-fd --eval-n 2000 --seeds 3 \
    -o "$out/mnist"

# MNIST at 32x32: the conditional GAN with four losses; classifier-FD and TSTR.
$ganzoo compare cgan:bce,$w32 cgan:hinge,$w32 cgan:lsgan,$w32 cgan:wgan-gp,$w32 \
    --data "$data/mnist" --set image_size=32 --set batch_size=64 --budget 100k -m classifier-fd,tstr --eval-n 2000 --seeds 3 \
    -o "$out/mnist-cgan"

# CelebA 64x64: DCGAN with three losses at a short budget; SWD.
$ganzoo compare dcgan:bce,$w32 dcgan:hinge,spectral_norm=true,$w32 dcgan:lsgan,$w32 \
    --data "$data/celeba64" --budget 40k -m swd --eval-n 2048 --seeds 2 \
    -o "$out/celeba64"
