#!/usr/bin/env bash
# Hearth's GPU path (HEARTH_DEVICE=vulkan or cuda) on a machine with an NVIDIA GPU: greedy tokens checked against the CPU path,
# prompt-processing and generation speed of both, and PyTorch + transformers on the same GPU and
# the same GGUF file side by side (float32 and bfloat16). Writes hearth.json, torch.json and
# gpu.txt to OUT_DIR.
#
# Build the checker where Rust is (the GPU machine needs only the driver and NVRTC):
#   cargo build --release -p hearth-training --features vulkan \
#     --example gpu_check
# Usage: bench/gpu/run.sh CUDA_CHECK_BINARY MODEL.gguf OUT_DIR [MAX_TOKENS]
# Needs python3 with torch, transformers and gguf (0.17) for the reference run.
set -euo pipefail
bin="$1"; model="$2"; out="$3"; max_tokens="${4:-128}"
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
# NVRTC (loaded at run time by cudarc) from the CUDA toolkit or from PyTorch's wheels.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia, os; p = nvidia.__path__[0]; print(" ".join(os.path.join(p, d, "lib") for d in os.listdir(p)))' 2>/dev/null); do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
echo "== hearth: CPU vs ${HEARTH_DEVICE:-cuda:0}" >&2
status=0
"$bin" "$model" "$max_tokens" | tee "$out/hearth.json" || status=$?
echo "== pytorch + transformers" >&2
python3 "$here/torch_ref.py" "$model" "$out/hearth.json" | tee "$out/torch.json" || status=$?
exit "$status"
