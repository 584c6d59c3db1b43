"""Writes the safetensors reader's test files (tests/FlowDiffusion.Formats.Tests/TestData): one file mixing F32, F16,
BF16 and I64 tensors with torch's own float32 view of every float tensor as the expected values, and two pickle
checkpoints written by torch.save, as a ZIP archive and in the legacy format (before PyTorch 1.6), which the reader opens.
Run: /usr/bin/python3 tools/reference/make_safetensors_samples.py tests/FlowDiffusion.Formats.Tests/TestData"""
import json
import os
import sys

import torch

from safetensors_io import save

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(16)
tensors = {
    "weights.f32": torch.randn(2, 3, generator=g),
    "weights.f16": (torch.randn(5, generator=g) * 100).half(),
    "weights.bf16": torch.randn(2, 2, 2, generator=g).bfloat16(),
    "scalar.f32": torch.tensor(3.25),
    "empty.f32": torch.zeros(0, 4),
    "ids.i64": torch.tensor([49406, 320, 49407]),
}
save(os.path.join(out, "mixed.safetensors"), tensors, {"format": "pt", "note": "made by make_safetensors_samples.py"})
expected = {
    name: {"shape": list(t.shape), "values": t.float().flatten().tolist()}
    for name, t in tensors.items() if t.is_floating_point()
}
with open(os.path.join(out, "mixed.expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
torch.save({"state_dict": {"w": torch.ones(2)}}, os.path.join(out, "zip.ckpt"))
torch.save({"state_dict": {"w": torch.ones(2)}}, os.path.join(out, "legacy.ckpt"), _use_new_zipfile_serialization=False)
