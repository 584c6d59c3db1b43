"""comfyui_controlnet_aux's AnyLineArtPreprocessor_aux (Anyline), restated from its published definition (test data only).

aux's node: MTEED (TEDDetector on TheMistoAI/MistoLine's Anyline/MTEED.pth, a TEED checkpoint; safe_steps 2) and
LineartStandardDetector (guassian_sigma 2, intensity_threshold 3), each through common_annotator_call at the resolution,
each map as float32 bytes / 255 over three channels; then per image:
  get_intensity_mask: channel 0 of the lineart kept where lower <= v <= upper (float32 comparisons), 0 elsewhere,
                      repeated over three channels (an H × W × 3 array);
  remove_small_objects (scikit-image, restated here): label the non-zero elements of that 3-D array with SciPy's
                      generate_binary_structure(3, connectivity) (offsets in {-1, 0, 1}^3 whose absolute values sum to at
                      most connectivity; below 1 counts as 1), count each label's elements, zero the labels with fewer
                      than min_size; the lineart is multiplied by that mask;
  combine_layers:     mask = top != 0; base · (~mask) + (1 − (1 − top)(1 − base)) · mask, float32.
The labelling here is a plain breadth-first search over the 3-D array (not FlowDiffusion's plane search × 3).

Two kinds of case: "pipeline" (the whole node on aux_preprocessors.test_image with make_teed.py's hashed weights, which
tests/Shared/TeedWeights.cs writes, as MTEED.pth) and "merge" (seeded synthetic 8-bit edge and line maps, the merge alone,
for exact float32 comparison with several bounds, sizes and connectivities). Prints how far the mutations conn4_for_8
(connectivity 2 labelled as 1), size_le (<= min_size removed), upper_exclusive (v < upper) and no_removal move them.

Run: /usr/bin/python3 tools/reference/make_anyline.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/anyline-reference.json
"""
import base64
import itertools
import json
import os
import sys
from collections import deque

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import lineart_standard, test_image  # noqa: E402
import make_teed  # noqa: E402


def structure(connectivity):
    """scipy.ndimage.generate_binary_structure(3, connectivity) as a list of non-zero offsets."""
    connectivity = max(connectivity, 1)
    return [o for o in itertools.product((-1, 0, 1), repeat=3) if o != (0, 0, 0) and sum(map(abs, o)) <= connectivity]


def remove_small_objects(ar, min_size, connectivity, mutation=None):
    """skimage.morphology.remove_small_objects on a bool array: components of fewer than min_size elements zeroed."""
    if mutation == "no_removal":
        return ar.copy()
    if mutation == "conn4_for_8" and connectivity >= 2:
        connectivity = 1
    out = ar.copy()
    labels = np.zeros(ar.shape, dtype=np.int64)
    offsets = structure(connectivity)
    shape = ar.shape
    sizes = [0]
    for start in zip(*np.nonzero(ar)):
        if labels[start]:
            continue
        label = len(sizes)
        labels[start] = label
        queue = deque([start])
        count = 0
        while queue:
            p = queue.popleft()
            count += 1
            for o in offsets:
                q = (p[0] + o[0], p[1] + o[1], p[2] + o[2])
                if all(0 <= q[i] < shape[i] for i in range(3)) and ar[q] and not labels[q]:
                    labels[q] = label
                    queue.append(q)
        sizes.append(count)
    sizes = np.array(sizes)
    too_small = sizes <= min_size if mutation == "size_le" else sizes < min_size
    too_small[0] = False
    out[too_small[labels]] = False
    return out


def merge(edges_u8, lines_u8, lower, upper, min_size, connectivity, mutation=None):
    """The float32 H × W × 3 result from two 8-bit H × W × 3 maps."""
    base = edges_u8.astype(np.float32) / 255.0
    lineart = lines_u8.astype(np.float32) / 255.0
    m = lineart[:, :, 0]
    upper_ok = (m < np.float32(upper)) if mutation == "upper_exclusive" else (m <= np.float32(upper))
    m = np.where((m >= np.float32(lower)) & upper_ok, m, np.float32(0)).astype(np.float32)
    top3 = np.repeat(m[:, :, None], 3, axis=2)
    cleaned = remove_small_objects(top3.astype(bool), min_size, connectivity, mutation)
    top = (top3 * cleaned).astype(np.float32)
    mask = top.astype(bool)
    temp = (np.float32(1) - (np.float32(1) - top) * (np.float32(1) - base)).astype(np.float32)
    result = base * (~mask) + temp * mask
    assert result.dtype == np.float32
    return result


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def report(name, out, run):
    for mutation in ("conn4_for_8", "size_le", "upper_exclusive", "no_removal"):
        diff = run(mutation) != out
        print(f"  {name}: mutation {mutation} changes {int(diff[:, :, 0].sum())} of {diff[:, :, 0].size} pixels")


def synthetic(h, w, seed):
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, 256, (h, w)).astype(np.uint8)
    on = rng.random((h, w)) < 0.3
    levels = np.array([1, 2, 50, 51, 52, 100, 152, 153, 154, 200, 254, 255], dtype=np.uint8)
    lines = np.where(on, levels[rng.integers(0, len(levels), (h, w))], 0).astype(np.uint8)
    return edges, lines


def main(path):
    import torch
    torch.set_num_threads(1)
    rgb = test_image()
    m = make_teed.model()
    pipeline = []
    for resolution, lower, upper, min_size, connectivity in ((64, 0, 1, 36, 1), (128, 0, 1, 36, 1), (128, 0.05, 0.9, 60, 2)):
        edges = make_teed.teed(m, rgb, resolution, 2)
        edges3 = np.repeat(edges[:, :, None], 3, axis=2)
        lines3 = lineart_standard(rgb, 2.0, 3, resolution)
        out = merge(edges3, lines3, lower, upper, min_size, connectivity)
        pipeline.append(dict(resolution=resolution, lower=lower, upper=upper, min_size=min_size, connectivity=connectivity,
                             height=out.shape[0], width=out.shape[1], output=b64(out[:, :, 0])))
        print("pipeline", resolution, out.shape, "lines", int((lines3[:, :, 0] > 0).sum()), "edges mean", round(float(edges.mean()), 2),
              "merged differs from edges at", int((out[:, :, 0] != edges3[:, :, 0].astype(np.float32) / 255).sum()))
        report(f"pipeline {resolution}", out, lambda mu: merge(edges3, lines3, lower, upper, min_size, connectivity, mu))
    merges = []
    h, w = 40, 52
    edges, lines = synthetic(h, w, 33)
    edges3, lines3 = (np.repeat(a[:, :, None], 3, axis=2) for a in (edges, lines))
    for lower, upper, min_size, connectivity in ((0, 1, 36, 1), (0, 1, 36, 2), (0, 1, 36, 3), (0.2, 0.6, 6, 1),
                                                 (0, 1, 1, 1), (0, 1, 15, 16384), (0.5, 0.2, 36, 1)):
        out = merge(edges3, lines3, lower, upper, min_size, connectivity)
        merges.append(dict(lower=lower, upper=upper, min_size=min_size, connectivity=connectivity, output=b64(out)))
        print("merge", lower, upper, min_size, connectivity, "screened", int((out[:, :, 0] != edges3[:, :, 0].astype(np.float32) / 255).sum()))
        report(f"merge {lower} {upper} {min_size} {connectivity}", out, lambda mu: merge(edges3, lines3, lower, upper, min_size, connectivity, mu))
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": b64(rgb)},
            "pipeline": pipeline,
            "maps": {"height": h, "width": w, "edges": b64(edges), "lines": b64(lines)},
            "merge": merges}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1])
