"""Writes the PyTorch checkpoint reader's test files (tests/FlowDiffusion.Formats.Tests/TestData/torch) with torch.save,
and beside each readable one the tensors torch itself loads back from it (torch.load), as JSON: dtype, shape, values.
- mixed.ckpt: a Lightning-style checkpoint (state_dict, global_step, an optimizer-like entry and an object of a class
  the reader does not know) whose state dict mixes F32, F16, BF16, F64, I64, I32, U8 and BOOL tensors, a row viewed at
  a storage offset, a weight tied to another, an nn.Parameter, a scalar and an empty tensor; pickle protocol 2.
- mixed-p4.pt: the same state dict alone, pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL).
- mixed-zip64.ckpt: mixed.ckpt's entries rewritten by hand in ZIP64 form (the records torch writes past 4 GiB);
  Python's zipfile and torch.load both read it back before it is kept.
- mixed-legacy.ckpt: mixed.ckpt's checkpoint in the legacy format (torch.save before PyTorch 1.6: five pickles, then the
  storages' element counts and bytes).
- embedding.pt: AUTOMATIC1111's textual inversion layout (string_to_token, string_to_param, name, step).
- upscaler.pth: Real-ESRGAN's {params, params_ema} layout (params_ema is the one read).
- transposed.pt, quantized.pt: a non-contiguous and a quantized tensor, which the reader refuses by name.
- payload.pt: a pickle whose only object is a call to os.system, which must never run.
Run: /usr/bin/python3 tools/reference/make_torch_checkpoints.py tests/FlowDiffusion.Formats.Tests/TestData/torch"""
import json
import os
import struct
import sys
import zipfile
import zlib

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(24)
names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64",
         torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def flat(prefix, value, into):
    if isinstance(value, torch.Tensor):
        into[prefix] = value
    elif isinstance(value, dict):
        for k, v in value.items():
            flat(f"{prefix}.{k}" if prefix else str(k), v, into)


def expect(path, state):
    """torch.load's view of the file, flattened as the reader names tensors."""
    tensors = {}
    flat("", state, tensors)
    data = {}
    for name, t in tensors.items():
        t = t.detach()
        values = t.float().flatten().tolist() if t.is_floating_point() else t.to(torch.int64).flatten().tolist()
        data[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "values": values}
    with open(path + ".expected.json", "w") as f:
        json.dump(data, f, indent=0)


class Unknown:
    """A class the reader has never heard of; its instance must stay an inert record."""
    def __init__(self):
        self.best = 0.5


class Payload:
    def __reduce__(self):
        return (os.system, ("echo payload ran > /tmp/flowdiffusion-payload-ran",))


matrix = torch.randn(4, 3, generator=g)
shared = torch.randn(5, generator=g)
state = {
    "model.weight": torch.randn(2, 3, generator=g),
    "model.half": (torch.randn(6, generator=g) * 10).half(),
    "model.bf16": torch.randn(2, 2, generator=g).bfloat16(),
    "model.double": torch.randn(3, generator=g).double(),
    "model.ids": torch.tensor([[49406, 320, 49407]]),
    "model.int32": torch.tensor([-7, 0, 2147483647], dtype=torch.int32),
    "model.bytes": torch.tensor([0, 200, 255], dtype=torch.uint8),
    "model.mask": torch.tensor([True, False, True]),
    "model.row": matrix[2],
    "model.matrix": matrix,
    "model.tied_a": shared,
    "model.tied_b": shared,
    "model.param": torch.nn.Parameter(torch.randn(3, generator=g)),
    "model.scalar": torch.tensor(2.5),
    "model.empty": torch.zeros(0, 4),
    "model.nested": {"inner": torch.arange(4, dtype=torch.float32)},
}
checkpoint = {"state_dict": state, "global_step": 7, "epoch": 1, "optimizer_states": [{"lr": 1e-4}], "callbacks": Unknown()}
torch.save(checkpoint, os.path.join(out, "mixed.ckpt"))
expect(os.path.join(out, "mixed.ckpt"), torch.load(os.path.join(out, "mixed.ckpt"))["state_dict"])
torch.save(checkpoint, os.path.join(out, "mixed-legacy.ckpt"), _use_new_zipfile_serialization=False)
legacy = torch.load(os.path.join(out, "mixed-legacy.ckpt"))["state_dict"]
assert all(torch.equal(legacy[k], v) for k, v in state.items() if isinstance(v, torch.Tensor))
torch.save(state, os.path.join(out, "mixed-p4.pt"), pickle_protocol=4)
expect(os.path.join(out, "mixed-p4.pt"), torch.load(os.path.join(out, "mixed-p4.pt")))


def zip64(source, target):
    """Rewrites an archive with ZIP64 local, central and end records (every 32-bit size and offset field 0xFFFFFFFF)."""
    with zipfile.ZipFile(source) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    body = bytearray()
    central = bytearray()
    for name, data in entries:
        encoded = name.encode()
        offset = len(body)
        crc = zlib.crc32(data)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        pad = (64 - (offset + 30 + len(encoded) + len(local_extra) + 4) % 64) % 64
        local_extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # torch's alignment padding field
        body += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(local_extra))
        body += encoded + local_extra + data
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(encoded), len(central_extra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += encoded + central_extra
    start = len(body)
    record_at = start + len(central)
    tail = struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), start)
    tail += struct.pack("<IIQI", 0x07064b50, 0, record_at, 1)
    tail += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(target, "wb") as f:
        f.write(body + central + tail)


zip64(os.path.join(out, "mixed.ckpt"), os.path.join(out, "mixed-zip64.ckpt"))
with zipfile.ZipFile(os.path.join(out, "mixed-zip64.ckpt")) as z:
    assert z.testzip() is None
reloaded = torch.load(os.path.join(out, "mixed-zip64.ckpt"))["state_dict"]
assert all(torch.equal(reloaded[k], v) for k, v in state.items() if isinstance(v, torch.Tensor))

embedding = {"string_to_token": {"*": 265}, "string_to_param": {"*": torch.randn(2, 8, generator=g)}, "name": "tiny-style",
             "step": 500, "sd_checkpoint": "abc123", "sd_checkpoint_name": "tiny"}
torch.save(embedding, os.path.join(out, "embedding.pt"))
expect(os.path.join(out, "embedding.pt"), {"string_to_param": torch.load(os.path.join(out, "embedding.pt"))["string_to_param"]})

upscaler = {"params": {"conv_first.weight": torch.randn(2, 3, 1, 1, generator=g)},
            "params_ema": {"conv_first.weight": torch.randn(2, 3, 1, 1, generator=g)}}
torch.save(upscaler, os.path.join(out, "upscaler.pth"))
expect(os.path.join(out, "upscaler.pth"), torch.load(os.path.join(out, "upscaler.pth"))["params_ema"])

torch.save({"ok": torch.ones(2), "weight.t": torch.randn(2, 3, generator=g).t()}, os.path.join(out, "transposed.pt"))
torch.save({"ok": torch.ones(2), "q": torch.quantize_per_tensor(torch.randn(3, generator=g), 0.1, 0, torch.qint8)},
           os.path.join(out, "quantized.pt"))
torch.save(Payload(), os.path.join(out, "payload.pt"))
