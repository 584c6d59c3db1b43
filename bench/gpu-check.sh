#!/usr/bin/env bash
# Builds FlowDiffusion's GPU flavour (ONNX Runtime with CUDA, the package pinned beside the CPU one in
# Directory.Packages.props) and runs the end-to-end benchmark on an NVIDIA GPU, printing step time and images/s.
# Run by hand where a GPU exists; nothing in the tests needs one. Its last lines also time the UNet alone with its inputs
# and output kept on the device, against the engine's step (whose latents make a host round trip every step): the most
# that moving the samplers' arithmetic onto the device could win.
#
#   bench/gpu-check.sh [SIZE] [STEPS] [RUNS] [MODEL]        defaults: 512 20 5 models/tiny-sd
#
# Environment: ORT_GPU_PACKAGE (default Microsoft.ML.OnnxRuntime.Gpu.Linux; Microsoft.ML.OnnxRuntime.Gpu on Windows),
# PROVIDER_OPTIONS (model.load's provider_options, default cudnn_conv_algo_search=HEURISTIC), DEVICE_ID (default 0).
# Needs the CUDA 12 and cuDNN 9 runtime libraries ONNX Runtime 1.32's CUDA provider links against on the library path.
set -euo pipefail
cd "$(dirname "$0")/.."

size=${1:-512}
steps=${2:-20}
runs=${3:-5}
model=${4:-models/tiny-sd}
package=${ORT_GPU_PACKAGE:-Microsoft.ML.OnnxRuntime.Gpu.Linux}
options=${PROVIDER_OPTIONS:-cudnn_conv_algo_search=HEURISTIC}
device=${DEVICE_ID:-0}

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "gpu-check: nvidia-smi not found; the CUDA provider will fail to load without an NVIDIA driver" >&2
fi

# The property swaps the ONNX Runtime native package in every project (the SD pack carries it into its plugin folder).
# It builds into the usual bin/Release folders: build again without it to go back to the CPU package.
echo "building with -p:OnnxRuntimePackage=$package"
dotnet build tests/FlowDiffusion.Benchmarks -c Release -p:OnnxRuntimePackage="$package" -v quiet -nologo

# model.load fails naming the available providers if the CUDA provider cannot load (driver, CUDA or cuDNN missing).
FLOWDIFFUSION_BENCH_PROVIDER=cuda FLOWDIFFUSION_BENCH_PROVIDER_OPTIONS="device_id=$device;$options" \
  dotnet run -c Release --no-build --project tests/FlowDiffusion.Benchmarks -p:OnnxRuntimePackage="$package" -- \
  txt2img "$size" "$steps" "$runs" "$model"
