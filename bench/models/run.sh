#!/usr/bin/env bash
# Side-by-side model benchmark on this machine: Hearth vs llama.cpp (llama-cpp-python, same GGUF,
# same thread count) for prompt processing and generation, and Hearth vs sentence-transformers for
# embeddings at batch 1 and 32, with peak memory. Writes BENCHMARKS.md at the repository root.
#
# Usage: bench/models/run.sh [--threads N] [--venv DIR] [--out FILE]
#   --threads N   threads for every engine (default: all cores, `nproc`)
#   --venv DIR    Python virtual environment to use/create (default: /tmp/hearth-bench-venv)
#   --out FILE    report path (default: BENCHMARKS.md in the repository root)
#
# Needs: cargo, python3 with venv, a C/C++ compiler (llama-cpp-python builds llama.cpp from source
# with cmake from PyPI; 10-20 minutes on 2 cores the first time), and the models from
# scripts/fetch-models. Everything comes from crates.io and PyPI.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$script_dir/../.." && pwd)"
threads="$(nproc)"
venv="/tmp/hearth-bench-venv"
out="$repo/BENCHMARKS.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --venv) venv="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

"$repo/scripts/fetch-models"

echo "== building hearth (release)" >&2
(cd "$repo" && cargo build --release -p hearth-training --example embed_bench --example generate_bench)
# The CLI is preferred for generation; without it (say the rest of the workspace does not build)
# the runtime's own generate_bench binary stands in.
hearth_bin="$repo/target/release/hearth"
(cd "$repo" && cargo build --release -p hearth-web --bin hearth) || hearth_bin=""

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv" >&2
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c "import llama_cpp, sentence_transformers, psutil" 2>/dev/null; then
  echo "== installing llama-cpp-python (compiles llama.cpp), sentence-transformers" >&2
  "$py" -m pip install -q --upgrade pip
  "$py" -m pip install -q cmake ninja scikit-build-core psutil torch sentence-transformers
  # GGML_NATIVE would enable AMX on CPUs that report it, and llama.cpp then crashes (SIGSEGV in
  # llama_decode) on VMs that report AMX without enabling it; build for AVX2/AVX-512 instead.
  CMAKE_ARGS="-DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
    "$py" -m pip install -q llama-cpp-python \
    || echo "llama-cpp-python could not be built: its rows will say so" >&2
fi

# The builds above leave the 1-minute load average high, which bench.py would take for other
# work (and switch OpenMP to passive waiting, slowing llama.cpp): let it settle first (at most
# three minutes).
for _ in $(seq 36); do
  awk '{ exit !($1 < 1.0) }' /proc/loadavg && break
  sleep 5
done

RAYON_NUM_THREADS="$threads" "$py" "$script_dir/bench.py" \
  --repo "$repo" --threads "$threads" --out "$out" \
  --hearth "$hearth_bin" \
  --embed-bench "$repo/target/release/examples/embed_bench" \
  --generate-bench "$repo/target/release/examples/generate_bench"
echo "== wrote $out" >&2
