"""ComfyUI's FreeU and FreeU_V2 patch (comfy_extras/nodes_freelunch.py) in torch, for sd1.unet_forward's output_patch:
before each decoder concatenation whose backbone h has model_channels x 4 or x 2 channels, the first half of h's channels
is multiplied by b (V2: by (b - 1) * m + 1, m the channel mean of h rescaled to [0, 1] per sample over its pixels) and the
skip is filtered in the Fourier domain: the fftshifted 2-D spectrum's box [H//2 - 1, H//2 + 1) x [W//2 - 1, W//2 + 1) is
multiplied by s, then the real part of the inverse transform is kept."""
import torch


def fourier_filter(x, scale):
    spectrum = torch.fft.fftshift(torch.fft.fftn(x.float(), dim=(-2, -1)), dim=(-2, -1))
    h, w = spectrum.shape[-2:]
    mask = torch.ones(spectrum.shape)
    mask[..., h // 2 - 1:h // 2 + 1, w // 2 - 1:w // 2 + 1] = scale  # a start of -1 (size 1) wraps, as Python slicing does
    return torch.fft.ifftn(torch.fft.ifftshift(spectrum * mask, dim=(-2, -1)), dim=(-2, -1)).real


def freeu(model_channels, b1, b2, s1, s2, version):
    factors = {model_channels * 4: (b1, s1), model_channels * 2: (b2, s2)}

    def patch(h, skip):
        if h.shape[1] not in factors:
            return h, skip
        b, s = factors[h.shape[1]]
        half = h.shape[1] // 2
        if version == 1:
            factor = b
        else:
            mean = h.mean(1, keepdim=True)
            flat = mean.flatten(1)
            low = flat.min(1).values[:, None, None, None]
            high = flat.max(1).values[:, None, None, None]
            factor = (b - 1) * ((mean - low) / (high - low)) + 1
        h = torch.cat([h[:, :half] * factor, h[:, half:]], dim=1)
        return h, fourier_filter(skip, s)
    return patch
