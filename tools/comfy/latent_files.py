#!/usr/bin/env python3
"""ComfyUI .latent files written by hand, independently of FlowDiffusion's safetensors code, for the LoadLatent tests.

The layout is ComfyUI's SaveLatent's: a safetensors file (8-byte little-endian header length, a JSON header padded with
spaces, then the data) with the tensor "latent_tensor" [batch, channels, height, width] holding the latents as the VAE
gives them (ComfyUI's LATENT samples, before the model's scaling factor), the empty float32 tensor
"latent_format_version_0", and "__metadata__" {"prompt": ...}. A file without the version tensor is older ComfyUI's and
holds latents x 0.18215, which ComfyUI's LoadLatent multiplies by 1 / 0.18215.

The latents are the analytic-sd test model's for a solid colour c (models/README.md): z = M (2c - 1) at every pixel,
M = 1/2 [[1,1,1],[1,-1,1],[1,1,-1],[1,-1,-1]], which its decoder maps back to c. The bad files each break one rule.

Usage: /usr/bin/python3 tools/comfy/latent_files.py tests/FlowDiffusion.Comfy.Tests/TestData/latents
"""
import json
import os
import struct
import sys

import numpy as np

M = 0.5 * np.array([[1, 1, 1], [1, -1, 1], [1, 1, -1], [1, -1, -1]], dtype=np.float64)
SIDE = 8  # a 64 x 64 image


def colour_latent(rgb, batch=1):
    z = M @ (2.0 * np.array(rgb, dtype=np.float64) - 1.0)
    return np.broadcast_to(z[None, :, None, None], (batch, 4, SIDE, SIDE)).copy()


def safetensors(tensors, metadata=None, header_length=None):
    """tensors: list of (name, dtype string, shape, raw bytes); returns the file's bytes."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    length = len(text) if header_length is None else header_length
    return struct.pack("<Q", length) + text + b"".join(t[3] for t in tensors)


def latent_file(values, dtype="F32", version=True, metadata=None):
    numpy_type = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I32": "<i4"}[dtype]
    data = np.ascontiguousarray(values).astype(numpy_type).tobytes()
    tensors = [("latent_tensor", dtype, values.shape, data)]
    if version:
        tensors.append(("latent_format_version_0", "F32", (0,), b""))
    return safetensors(tensors, {"prompt": "{}"} if metadata is None else metadata)


def main(folder):
    os.makedirs(folder, exist_ok=True)
    red = colour_latent([1, 0, 0])
    blue = colour_latent([0, 0, 1])
    files = {
        # What ComfyUI's SaveLatent writes today: float32 latents without the scaling factor, and the version tensor.
        "red_v0.latent": latent_file(red),
        # Older ComfyUI: the latents x 0.18215 and no version tensor.
        "red_legacy.latent": latent_file(red * 0.18215, version=False),
        # Half precision (ComfyUI's loader takes any floating-point type).
        "blue_f16.latent": latent_file(blue, dtype="F16"),
        # The header length says more bytes than the file has.
        "bad_header_length.latent": struct.pack("<Q", 1 << 20) + latent_file(red)[8:],
        # data_offsets past the end of the data (the file cut after its header and half the data).
        "bad_offsets.latent": latent_file(red)[: len(latent_file(red)) - 512],
        # Integer latents.
        "bad_dtype.latent": latent_file(np.zeros((1, 4, SIDE, SIDE), dtype=np.int32), dtype="I32"),
        # Three dimensions.
        "bad_shape.latent": latent_file(red[0]),
        # No latent_tensor at all.
        "bad_key.latent": safetensors([("samples", "F32", red.shape, red.astype("<f4").tobytes())], {"prompt": "{}"}),
    }
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    # The expected values, for the tests: each colour's latent per channel.
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump({"red": red[0, :, 0, 0].tolist(), "blue": blue[0, :, 0, 0].tolist()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
