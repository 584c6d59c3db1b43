"""What the LyCORIS reference scripts share: DoRA's weight decomposition as ComfyUI applies a dora_scale beside any
algorithm, restated from the definition."""
import torch

EPS = torch.finfo(torch.float32).eps


def decompose(w, delta, dora, strength):
    """W' = W + delta; norm per output row of W (dora [out, 1]) or per input column of W' over the other axes
    (dora [1, in]), plus float32 eps; W'' = W' * dora / norm; W + s*(W'' - W)."""
    updated = w + delta
    if dora.shape[0] == w.shape[0]:
        norm = w.reshape(w.shape[0], -1).norm(dim=1).reshape(w.shape[0], *[1] * (w.dim() - 1))
    else:
        norm = updated.transpose(0, 1).reshape(w.shape[1], -1).norm(dim=1).reshape(1, w.shape[1], *[1] * (w.dim() - 2))
    renormalised = updated * (dora.reshape(norm.shape) / (norm + EPS))
    return w + strength * (renormalised - w)
