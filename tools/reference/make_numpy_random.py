"""Writes numpy's own draws for the generators FlowDiffusion restates (NumpySeedSequence, NumpyPcg64, NumpyRandomState):
SeedSequence(seed).generate_state(8), 1000 doubles of np.random.default_rng(seed).random() and of uniform(0, 1), and 1000
of np.random.seed(seed); np.random.uniform(0, 1), each double as its 64 bits in hex.
Run: /usr/bin/python3 tools/reference/make_numpy_random.py tests/FlowDiffusion.Diffusion.Tests/TestData/noise/numpy-random.json"""
import json
import sys

import numpy as np

COUNT = 1000


def bits(values):
    return values.astype("<f8").view("<u8").tolist()


out = {"numpy": np.__version__, "default_rng": [], "legacy": []}
for seed in [1, 2, 42, 123456789, 2**32 - 1, 2**32, 2**63 + 12345, 2**64 - 1]:
    rng = np.random.default_rng(seed)
    random = rng.random(COUNT)
    uniform = rng.uniform(low=0, high=1, size=(10, 10, 1)).ravel()  # continues the same stream, as make_noise_disk draws
    out["default_rng"].append({
        "seed": str(seed),
        "state32": np.random.SeedSequence(seed).generate_state(8).tolist(),
        "random": ["%016x" % b for b in bits(random)],
        "uniform": ["%016x" % b for b in bits(uniform)],
    })
for seed in [0, 1, 84, 2**31, 2**32 - 1]:
    np.random.seed(seed)
    draws = np.random.uniform(low=0, high=1, size=COUNT)
    out["legacy"].append({"seed": seed, "uniform": ["%016x" % b for b in bits(draws)]})
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
print(np.__version__, len(out["default_rng"]), len(out["legacy"]))
