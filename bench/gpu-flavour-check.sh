#!/usr/bin/env bash
# Proves the GPU flavour on a machine WITHOUT a GPU (opt-in; not part of `dotnet test`): builds the CLI and the SD pack
# with -p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.Gpu.Linux (pinned in Directory.Packages.props to the CPU package's
# version) in a scratch copy of the working tree, then
#   1. checks that the pack carries the CUDA provider library,
#   2. runs txt2img on models/tiny-sd through that build on the CPU provider (an image comes out),
#   3. runs it with provider cuda and checks that it fails cleanly: exit code 1 (a failed run, not a crash) and the
#      ExecutionProviderNotAvailableException message that names the provider and why it could not load.
#
#   bench/gpu-flavour-check.sh            needs ~1.2 GB of disk (the 246 MB package, unpacked, and two copies of its
#                                         native libraries) and ~5-10 min; the scratch copy is deleted at the end.
#
# Why opt-in: the GPU package is 246 MB to download and 550 MB unpacked, and its 330 MB of native libraries land in
# every build output that carries ONNX Runtime; CI's disk and its 90 minutes (the suite takes 12-19) cannot carry that on
# every run. Run it when ONNX Runtime's version, the provider code or the packaging changes. bench/gpu-check.sh is the
# check for a machine WITH an NVIDIA GPU (step time, images/s).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
package=${ORT_GPU_PACKAGE:-Microsoft.ML.OnnxRuntime.Gpu.Linux}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fd-gpu-flavour.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# A copy of the working tree (tracked and untracked, not ignored files), so the GPU build never replaces the CPU build's
# plugins/ and bin/ folders of the checkout.
mkdir -p "$scratch/repo"
(cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$scratch/repo"
cd "$scratch/repo"

echo "gpu-flavour: building engine/FlowDiffusion.Cli with -p:OnnxRuntimePackage=$package"
dotnet build engine/FlowDiffusion.Cli -c Release -p:OnnxRuntimePackage="$package" -v quiet -nologo
cli=(dotnet engine/FlowDiffusion.Cli/bin/Release/net10.0/flowdiffusion.dll)

pack=plugins/FlowDiffusion.Nodes.StableDiffusion
cuda_lib=$(find "$pack" -name 'libonnxruntime_providers_cuda.so' | head -1)
if [[ -z "$cuda_lib" ]]; then
  echo "gpu-flavour: FAIL: $pack has no libonnxruntime_providers_cuda.so; the property did not swap the package" >&2
  exit 1
fi
echo "gpu-flavour: ok: the SD pack carries $(basename "$cuda_lib") ($(du -h "$cuda_lib" | cut -f1))"

# The shipped txt2img workflow with model.load's provider taken from an input.
sed -e 's/^inputs:$/inputs:\n  provider: { type: string, default: cpu }/' -e 's/^      path: \$model$/      path: $model\n      provider: $provider/' \
  workflows/txt2img.yaml > "$scratch/txt2img-provider.yaml"
grep -q 'provider: \$provider' "$scratch/txt2img-provider.yaml"
# The optimised-model store of this check stays in the scratch folder.
export FLOWDIFFUSION_ORT_CACHE="$scratch/ort-cache"
common=(--set model=models/tiny-sd --set steps=2 --set width=64 --set height=64 --set seed=1)

"${cli[@]}" run "$scratch/txt2img-provider.yaml" "${common[@]}" --set provider=cpu --out "$scratch/cpu" --json > "$scratch/cpu.json"
if ! grep -q '"status": *"completed"' "$scratch/cpu.json" || [[ -z "$(find "$scratch/cpu" -name '*.png')" ]]; then
  echo "gpu-flavour: FAIL: tiny-sd on the CPU provider did not complete:" >&2
  cat "$scratch/cpu.json" >&2
  exit 1
fi
echo "gpu-flavour: ok: tiny-sd txt2img on the CPU provider of the GPU build wrote $(find "$scratch/cpu" -name '*.png' | head -1 | xargs basename)"

set +e
"${cli[@]}" run "$scratch/txt2img-provider.yaml" "${common[@]}" --set provider=cuda --out "$scratch/cuda" > "$scratch/cuda.out" 2>&1
code=$?
set -e
if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
  echo "gpu-flavour: this machine has a GPU (exit code $code with cuda); run bench/gpu-check.sh for the GPU itself"
  exit 0
fi
if [[ $code -ne 1 ]] || ! grep -q "Execution provider 'cuda' is in the installed ONNX Runtime" "$scratch/cuda.out"; then
  echo "gpu-flavour: FAIL: provider cuda without a GPU: exit code $code (expected 1, a failed run) and output:" >&2
  cat "$scratch/cuda.out" >&2
  exit 1
fi
echo "gpu-flavour: ok: provider cuda without a GPU fails the run (exit code 1) with:"
grep -m1 "Execution provider 'cuda'" "$scratch/cuda.out" | cut -c1-400
echo "gpu-flavour: passed"
