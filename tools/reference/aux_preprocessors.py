"""comfyui_controlnet_aux's model-free preprocessors, restated in numpy from their definitions (test data only).

Each aux node turns the 0..1 float image into bytes by truncation (np.asarray(image * 255, uint8)), runs its annotator on
the 8-bit RGB image and returns bytes / 255. The annotators lean on OpenCV; this file restates the OpenCV operations they
use from OpenCV's documented algorithms, in the integer and float32 arithmetic OpenCV uses for 8-bit images:
- resize: INTER_AREA (downscaling: each output pixel the area-weighted mean of the source pixels it covers, float32
  sums, rounded half to even; an integer factor sums whole blocks; upscaling with INTER_AREA is bilinear with OpenCV's
  area offsets and its vectorised fixed-point rounding), INTER_CUBIC (a = -0.75, taps at (dx + 0.5)·scale − 0.5, borders replicated, coefficients in 11-bit
  fixed point), INTER_NEAREST (floor(dx·scale));
- pyrUp: the 5-tap binomial [1 4 6 4 1] / 8 per axis on the doubled grid, the top/left border reflected (101) and the
  bottom/right one replicated, (sum + 32) >> 6;
- GaussianBlur (float32, ksize 0): ksize = round(8σ + 1) | 1, normalised exp(−x²/2σ²) taps, BORDER_REFLECT_101, rows
  then columns;
- cvtColor RGB2GRAY: (9798 R + 19235 G + 3735 B + 16384) >> 15; Otsu's threshold as OpenCV computes it;
- Canny: 3×3 Sobel (borders replicated) per channel, the channel with the largest |dx| + |dy| (the first on ties),
  non-maximum suppression and 8-connected hysteresis, as FlowDiffusion's CannyEdges states them.
resize_image_with_pad (aux's util): short side to `resolution` (INTER_CUBIC up, INTER_AREA down), edge padding to
multiples of 64, the annotator on the padded image, the padding cropped off.

Run: /usr/bin/python3 tools/reference/aux_preprocessors.py tests/FlowDiffusion.Imaging.Tests/TestData/aux-preprocessors.json
     /usr/bin/python3 tools/reference/aux_preprocessors.py --check   (compares the restatements with Debian's python3-opencv)
"""
import base64
import json
import math
import sys

import numpy as np

COEF = 2048  # OpenCV's INTER_RESIZE_COEF_SCALE (11 bits)


def rint(x):
    """OpenCV's saturate_cast<uchar> of a float: round half to even, clamp."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def to_bytes(image):
    """aux's np.asarray(image * 255., dtype=np.uint8) on a float32 HWC image in 0..1 (truncation)."""
    return (np.clip(image, 0, 1).astype(np.float32) * np.float32(255)).astype(np.uint8)


def _area_table(src, dst, scale):
    """(destination, source, weight) triples of OpenCV's area decimation along one axis."""
    table = []
    for d in range(dst):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, src - f1)
        s1, s2 = math.ceil(f1), math.floor(f2)
        s2 = min(s2, src - 1)
        s1 = min(s1, s2)
        if s1 - f1 > 1e-3:
            table.append((d, s1 - 1, np.float32((s1 - f1) / cell)))
        for s in range(s1, s2):
            table.append((d, s, np.float32(1.0 / cell)))
        if f2 - s2 > 1e-3:
            table.append((d, s2, np.float32(min(min(f2 - s2, 1.0), cell) / cell)))
    return table


def _resize_area_down(src, dw, dh):
    sh, sw, _ = src.shape
    sx, sy = 1.0 / (dw / sw), 1.0 / (dh / sh)
    ix, iy = int(round(sx)), int(round(sy))
    if abs(sx - ix) < 2.2e-16 and abs(sy - iy) < 2.2e-16:
        blocks = src[:dh * iy, :dw * ix].reshape(dh, iy, dw, ix, -1).astype(np.int64).sum(axis=(1, 3))
        if ix == 2 and iy == 2:
            return ((blocks + 2) >> 2).astype(np.uint8)
        return rint(blocks.astype(np.float32) * np.float32(1.0 / (ix * iy)))
    xtab, ytab = _area_table(sw, dw, sx), _area_table(sh, dh, sy)
    rows = {}
    for d, s, a in ytab:
        rows.setdefault(d, []).append((s, a))
    out = np.zeros((dh, dw, src.shape[2]), np.uint8)
    for d, sources in rows.items():
        total = None
        for s, beta in sources:
            buf = np.zeros((dw, src.shape[2]), np.float32)
            row = src[s].astype(np.float32)
            for dx, sxx, alpha in xtab:
                buf[dx] = buf[dx] + row[sxx] * alpha
            total = buf * beta if total is None else total + buf * beta
        out[d] = rint(total)
    return out


def _linear_taps(src, dst, area):
    """OpenCV's bilinear source index and fixed-point weights per destination index (area: INTER_AREA's upscaling offsets)."""
    inv = dst / src
    scale = 1.0 / inv
    taps = []
    for d in range(dst):
        if area:
            s = math.floor(d * scale)
            f = np.float32((d + 1) - (s + 1) * inv)
            f = np.float32(0) if f <= 0 else np.float32(f - math.floor(f))
        else:
            f = np.float32((d + 0.5) * scale - 0.5)
            s = math.floor(f)
            f = np.float32(f - s)
        if s < 0:
            f, s = np.float32(0), 0
        if s >= src - 1:
            f, s = np.float32(0), src - 1
        w = [int(np.rint(np.float32((np.float32(1) - f) * COEF))), int(np.rint(np.float32(f * COEF)))]
        taps.append((s, min(s + 1, src - 1), w))
    return taps


def _resize_linear(src, dw, dh, area):
    sh, sw, _ = src.shape
    xt, yt = _linear_taps(sw, dw, area), _linear_taps(sh, dh, area)
    s = src.astype(np.int64)
    xa = np.array([t[0] for t in xt]); xb = np.array([t[1] for t in xt])
    wa = np.array([t[2][0] for t in xt])[:, None]; wb = np.array([t[2][1] for t in xt])[:, None]
    rows = s[:, xa] * wa + s[:, xb] * wb
    out = np.zeros((dh, dw, src.shape[2]), np.uint8)
    for d, (a, b, w) in enumerate(yt):
        # OpenCV's vectorised 8-bit vertical pass: each row's sum >> 4 times its weight, the high 16 bits, then >> 2 rounded.
        out[d] = np.clip(((((rows[a] >> 4) * w[0]) >> 16) + (((rows[b] >> 4) * w[1]) >> 16) + 2) >> 2, 0, 255)
    return out


def _cubic_weights(f):
    a = np.float32(-0.75)
    x = np.float32(f)
    one = np.float32(1)
    c0 = ((a * (x + one) - np.float32(5) * a) * (x + one) + np.float32(8) * a) * (x + one) - np.float32(4) * a
    c1 = ((a + np.float32(2)) * x - (a + np.float32(3))) * x * x + one
    c2 = ((a + np.float32(2)) * (one - x) - (a + np.float32(3))) * (one - x) * (one - x) + one
    c3 = one - c0 - c1 - c2
    return [int(np.rint(np.float32(c * COEF))) for c in (c0, c1, c2, c3)]


def _cubic_taps(src, dst):
    scale = 1.0 / (dst / src)
    taps = []
    for d in range(dst):
        f = np.float32((d + 0.5) * scale - 0.5)
        s = math.floor(f)
        taps.append(([min(max(s + k - 1, 0), src - 1) for k in range(4)], _cubic_weights(np.float32(f - s))))
    return taps


def _resize_cubic(src, dw, dh):
    sh, sw, _ = src.shape
    s = src.astype(np.int64)
    rows = np.zeros((sh, dw, src.shape[2]), np.int64)
    for d, (idx, w) in enumerate(_cubic_taps(sw, dw)):
        rows[:, d] = sum(s[:, i] * wk for i, wk in zip(idx, w))
    out = np.zeros((dh, dw, src.shape[2]), np.uint8)
    for d, (idx, w) in enumerate(_cubic_taps(sh, dh)):
        out[d] = np.clip((sum(rows[i] * wk for i, wk in zip(idx, w)) + (1 << 21)) >> 22, 0, 255)
    return out


def _resize_nearest(src, dw, dh):
    sh, sw, _ = src.shape
    fx, fy = 1.0 / (dw / sw), 1.0 / (dh / sh)
    xs = [min(math.floor(x * fx), sw - 1) for x in range(dw)]
    ys = [min(math.floor(y * fy), sh - 1) for y in range(dh)]
    return src[ys][:, xs]


def resize(src, dw, dh, method):
    """cv2.resize(src, (dw, dh), interpolation=method) of an 8-bit HWC image; method: area, cubic, nearest."""
    if src.shape[0] == dh and src.shape[1] == dw:
        return src.copy()
    if method == "nearest":
        return _resize_nearest(src, dw, dh)
    if method == "cubic":
        return _resize_cubic(src, dw, dh)
    if src.shape[1] >= dw and src.shape[0] >= dh:
        return _resize_area_down(src, dw, dh)
    return _resize_linear(src, dw, dh, area=True)


def pyr_up(src):
    """cv2.pyrUp of an 8-bit HWC image: twice the size."""
    s = src.astype(np.int64)

    def axis(a, n):
        # Along axis 0: even outputs x[i−1] + 6x[i] + x[i+1], odd 4(x[i] + x[i+1]); x[−1] = x[1], x[n] = x[n−1].
        before = np.concatenate([a[1:2] if n > 1 else a[0:1], a[:-1]])
        after = np.concatenate([a[1:], a[-1:]])
        out = np.empty((2 * n,) + a.shape[1:], np.int64)
        out[0::2] = before + 6 * a + after
        out[1::2] = 4 * (a + after)
        if n == 1:
            out[0] = 8 * a[0]
        return out

    h, w = s.shape[:2]
    across = axis(s.transpose(1, 0, 2), w).transpose(1, 0, 2)
    return ((axis(across, h) + 32) >> 6).astype(np.uint8)


def gaussian_taps(sigma):
    """OpenCV's float32 gaussian for ksize 0: round(8σ + 1) | 1 taps."""
    n = int(np.rint(sigma * 8 + 1)) | 1
    x = np.arange(n) - (n - 1) * 0.5
    t = np.exp(-0.5 / (sigma * sigma) * x * x)
    total = 0.0
    for v in t:  # in order, as the C# code sums
        total += float(v)
    return (t / total).astype(np.float32)


def _reflect101(i, n):
    if n == 1:
        return 0
    period = 2 * n - 2
    i = abs(i) % period
    return period - i if i >= n else i


def gaussian_blur(image, sigma):
    """cv2.GaussianBlur(float32 HWC, (0, 0), sigma): rows then columns, each sum in double then float32, reflect-101."""
    k = gaussian_taps(sigma).astype(np.float64)
    r = len(k) // 2
    h, w = image.shape[:2]
    x = image.astype(np.float32)
    acc = np.zeros(x.shape, np.float64)
    for i in range(len(k)):
        acc += k[i] * x[:, [_reflect101(c + i - r, w) for c in range(w)]].astype(np.float64)
    rows = acc.astype(np.float32)
    acc = np.zeros(x.shape, np.float64)
    for i in range(len(k)):
        acc += k[i] * rows[[_reflect101(c + i - r, h) for c in range(h)]].astype(np.float64)
    return acc.astype(np.float32)


def gray(rgb):
    """cv2.cvtColor(RGB2GRAY) of 8-bit RGB."""
    s = rgb.astype(np.int64)
    return ((s[..., 0] * 9798 + s[..., 1] * 19235 + s[..., 2] * 3735 + 16384) >> 15).astype(np.uint8)


def otsu(g):
    """OpenCV's Otsu threshold of an 8-bit image (the level maximising the between-class variance, the first on ties)."""
    h = np.bincount(g.ravel(), minlength=256).astype(np.float64)
    scale = 1.0 / g.size
    mu = sum(i * h[i] for i in range(256)) * scale
    mu1 = q1 = 0.0
    best = best_sigma = 0.0
    eps = np.finfo(np.float32).eps
    for i in range(256):
        p = h[i] * scale
        mu1 *= q1
        q1 += p
        q2 = 1.0 - q1
        if min(q1, q2) < eps or max(q1, q2) > 1.0 - eps:
            continue
        mu1 = (mu1 + i * p) / q1
        mu2 = (mu - q1 * mu1) / q2
        sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2)
        if sigma > best_sigma:
            best_sigma, best = sigma, i
    return best


def resize_with_pad(rgb, resolution):
    """aux's resize_image_with_pad with INTER_CUBIC upscaling: the padded image and the size to crop back to."""
    h, w = rgb.shape[:2]
    k = resolution / min(h, w)
    th, tw = int(np.round(h * k)), int(np.round(w * k))
    img = resize(rgb, tw, th, "cubic" if k > 1 else "area")
    ph, pw = -th % 64, -tw % 64
    return np.pad(img, [[0, ph], [0, pw], [0, 0]], mode="edge"), th, tw


def tile(rgb, iterations):
    """TilePreprocessor: sides rounded to multiples of 64 (half to even), INTER_AREA down by 2^iterations, pyrUp back."""
    h, w = rgb.shape[:2]
    h, w = int(np.round(h / 64.0)) * 64, int(np.round(w / 64.0)) * 64
    out = resize(rgb, w // 2 ** iterations, h // 2 ** iterations, "area")
    for _ in range(iterations):
        out = pyr_up(out)
    return out


def color(rgb, resolution):
    """ColorPreprocessor: short side to resolution (INTER_AREA), INTER_CUBIC down to sides // 64, INTER_NEAREST back up."""
    h, w = rgb.shape[:2]
    if h < w:
        nh, nw = resolution, int(round(w / h * resolution))
    else:
        nw, nh = resolution, int(round(h / w * resolution))
    img = resize(rgb, nw, nh, "area")
    small = resize(img, nw // 64, nh // 64, "cubic")
    return resize(small, nw, nh, "nearest")


def binary(rgb, threshold, resolution):
    """BinaryPreprocessor: grey > threshold is white (threshold 0 or 255: Otsu's level of the padded image)."""
    padded, th, tw = resize_with_pad(rgb, resolution)
    g = gray(padded)
    t = otsu(g) if threshold in (0, 255) else threshold
    out = np.where(g > t, 255, 0).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2), t


def lineart_standard(rgb, sigma, intensity_threshold, resolution):
    """LineartStandardPreprocessor: min over channels of blur − image, over the median of the values above the threshold."""
    padded, th, tw = resize_with_pad(rgb, resolution)
    x = padded.astype(np.float32)
    intensity = np.clip(np.min(gaussian_blur(x, sigma) - x, axis=2), 0, 255)
    above = intensity[intensity > intensity_threshold]
    median = np.float32(np.median(above)) if above.size else np.float32(np.nan)
    divisor = max(16, median) if not np.isnan(median) else 16
    intensity = intensity / np.float32(divisor) * np.float32(127)
    out = np.clip(intensity, 0, 255).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2)


def scribble_xdog(rgb, threshold, resolution):
    """Scribble_XDoG_Preprocessor: σ 0.5 and 5 gaussians; 255 where (2·(255 − dog)) mod 256 > threshold (uint8 arithmetic)."""
    padded, th, tw = resize_with_pad(rgb, resolution)
    x = padded.astype(np.float32)
    dog = np.clip(np.float32(255) - np.min(gaussian_blur(x, 5.0) - gaussian_blur(x, 0.5), axis=2), 0, 255).astype(np.uint8)
    doubled = ((255 - dog.astype(np.int64)) * 2) % 256
    out = np.where(doubled > threshold, 255, 0).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2)


def image_intensity(rgb, gamma, resolution):
    """ImageIntensityDetector: HSV's value (the largest channel) / 255, to the power gamma, × 255 truncated (float32)."""
    padded, th, tw = resize_with_pad(rgb, resolution)
    v = padded.max(axis=2).astype(np.float32) / np.float32(255)
    out = np.clip((v ** np.float32(gamma)) * np.float32(255), 0, 255).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2)


def resize_with_pad_area(rgb, resolution):
    """resize_image_with_pad with INTER_AREA both ways (ScribbleDetector's upscale_method)."""
    h, w = rgb.shape[:2]
    k = resolution / min(h, w)
    th, tw = int(np.round(h * k)), int(np.round(w * k))
    img = resize(rgb, tw, th, "area")
    return np.pad(img, [[0, -th % 64], [0, -tw % 64], [0, 0]], mode="edge"), th, tw


def scribble(rgb, resolution):
    """ScribblePreprocessor: 0 where the darkest channel is below 127, 255 elsewhere (INTER_AREA enlarging too)."""
    padded, th, tw = resize_with_pad_area(rgb, resolution)
    out = np.where(padded.min(axis=2) < 127, 0, 255).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2)


# OpenCV's 8-bit Lab tables (color_lab.cpp): the sRGB linearisation × 255 × 2^3 and the CIE cube root × 2^15 of Y in
# 2040ths (1.5 × 2040 entries), both rounded from double; the Y row of its sRGB→XYZ D65 matrix in 12-bit fixed point.
_LINEAR = np.rint(2040 * np.where(np.arange(256) / 255 <= 0.04045, np.arange(256) / 255 / 12.92,
                                  ((np.arange(256) / 255 + 0.055) / 1.055) ** 2.4)).astype(np.int64)
_Y = np.arange(256 * 3 // 2 * 8) / 2040
_CBRT = np.rint(32768 * np.where(_Y < 216 / 24389, _Y * 841 / 108 + 16 / 116, np.cbrt(_Y))).astype(np.int64)
_Y_ROW = [round(4096 * 0.212671), round(4096 * 0.715160), round(4096 * 0.072169)]  # R, G, B


def lightness(bgr):
    """L of cv2.cvtColor(x, COLOR_BGR2LAB) for 8-bit x, whose channels are read as B, G, R."""
    x = bgr.astype(np.int64)
    y = (_LINEAR[x[..., 2]] * _Y_ROW[0] + _LINEAR[x[..., 1]] * _Y_ROW[1] + _LINEAR[x[..., 0]] * _Y_ROW[2] + (1 << 11)) >> 12
    lscale, lshift = (116 * 255 + 50) // 100, -((16 * 255 * (1 << 15) + 50) // 100)
    return np.clip((lscale * _CBRT[y] + lshift + (1 << 14)) >> 15, 0, 255).astype(np.uint8)


def recolor(rgb, mode, gamma, resolution):
    """Recolorizer (aux) / recolor_* (the extension, resolution 0: not scaled): the level / 255 to the gamma, × 255 truncated."""
    if resolution == 0:
        padded, th, tw = rgb, rgb.shape[0], rgb.shape[1]
    else:
        padded, th, tw = resize_with_pad(rgb, resolution)
    level = padded.max(axis=2) if mode == "intensity" else lightness(padded)
    v = level.astype(np.float32) / np.float32(255)
    out = np.clip((v ** np.float32(gamma)) * np.float32(255), 0, 255).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2)


def canny(rgb, low, high, resolution):
    """CannyEdgePreprocessor: cv2.Canny of the padded 8-bit RGB image (per-pixel channel with the largest gradient)."""
    padded, th, tw = resize_with_pad(rgb, resolution)
    h, w, c = padded.shape
    p = np.pad(padded.astype(np.int64), [[1, 1], [1, 1], [0, 0]], mode="edge")
    dx = (p[:-2, 2:] - p[:-2, :-2]) + 2 * (p[1:-1, 2:] - p[1:-1, :-2]) + (p[2:, 2:] - p[2:, :-2])
    dy = (p[2:, :-2] - p[:-2, :-2]) + 2 * (p[2:, 1:-1] - p[:-2, 1:-1]) + (p[2:, 2:] - p[:-2, 2:])
    norm = np.abs(dx) + np.abs(dy)
    pick = np.zeros((h, w), np.int64)
    for k in range(1, c):
        pick = np.where(norm[..., k] > np.take_along_axis(norm, pick[..., None], 2)[..., 0], k, pick)
    gx = np.take_along_axis(dx, pick[..., None], 2)[..., 0]
    gy = np.take_along_axis(dy, pick[..., None], 2)[..., 0]
    m = np.take_along_axis(norm, pick[..., None], 2)[..., 0]
    low, high = min(low, high), max(low, high)
    tan22, tan67 = 0.41421356237309503, 2.414213562373095
    state = np.zeros((h, w), np.uint8)

    def at(y, x):
        return 0 if y < 0 or y >= h or x < 0 or x >= w else m[y, x]

    for y in range(h):
        for x in range(w):
            v = m[y, x]
            if v <= low:
                continue
            ax, ay = abs(gx[y, x]), abs(gy[y, x])
            diagonal = False
            if ay < ax * tan22:
                before, after = (y, x - 1), (y, x + 1)
            elif ay > ax * tan67:
                before, after = (y - 1, x), (y + 1, x)
            else:
                diagonal = True
                before, after = ((y - 1, x - 1), (y + 1, x + 1)) if (gx[y, x] < 0) == (gy[y, x] < 0) else ((y - 1, x + 1), (y + 1, x - 1))
            if v > at(*before) and (v > at(*after) if diagonal else v >= at(*after)):
                state[y, x] = 2 if v > high else 1
    edges = state == 2
    stack = list(zip(*np.nonzero(edges)))
    while stack:
        y, x = stack.pop()
        for yy in range(y - 1, y + 2):
            for xx in range(x - 1, x + 2):
                if 0 <= yy < h and 0 <= xx < w and state[yy, xx] == 1 and not edges[yy, xx]:
                    edges[yy, xx] = True
                    stack.append((yy, xx))
    out = np.where(edges, 255, 0).astype(np.uint8)[:th, :tw]
    return np.repeat(out[..., None], 3, axis=2)


def bilinear(mask, oh, ow):
    """torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of one [h, w] plane, in float32."""
    ih, iw = mask.shape

    def taps(i, o):
        scale = np.float32(i / o)
        src = np.maximum((np.arange(o, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5), np.float32(0))
        lo = np.minimum(np.floor(src).astype(np.int64), i - 1)
        hi = np.minimum(lo + 1, i - 1)
        f = (src - lo.astype(np.float32)).astype(np.float32)
        return lo, hi, f

    ylo, yhi, fy = taps(ih, oh)
    xlo, xhi, fx = taps(iw, ow)
    m = mask.astype(np.float32)
    top = m[ylo][:, xlo] * (1 - fx) + m[ylo][:, xhi] * fx
    bottom = m[yhi][:, xlo] * (1 - fx) + m[yhi][:, xhi] * fx
    return (top * (1 - fy)[:, None] + bottom * fy[:, None]).astype(np.float32)


def inpaint(image, mask):
    """InpaintPreprocessor: the mask resized bilinearly to the image; pixels where it is above 0.5 become −1."""
    m = bilinear(mask, image.shape[0], image.shape[1])
    out = image.astype(np.float32).copy()
    out[m > 0.5] = -1.0
    return out


def test_image():
    """An 80 × 100 RGB image with dark strokes on paper, colour patches, a gradient and seeded noise."""
    h, w = 76, 100
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(28)
    img = np.empty((h, w, 3))
    img[..., 0] = 200 + 40 * np.sin(xx / 9.0)
    img[..., 1] = 180 + 50 * np.cos(yy / 7.0)
    img[..., 2] = 150 + 0.8 * xx - 0.5 * yy
    img[(xx - 30) ** 2 + (yy - 38) ** 2 < 15 ** 2] = [210, 40, 50]
    img[10:30, 60:90] = [30, 90, 200]
    for k in range(4):
        y0 = 8 + 17 * k
        img[np.abs(yy - y0 - 0.35 * xx) < 1.2 + 0.4 * k] = [20 + 10 * k, 25, 30]
    img[np.abs(xx - 75) < 1.0] = [10, 10, 10]
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def test_mask():
    """A 19 × 25 soft 8-bit mask (bilinear resizing to the image crosses 0.5 at fractional places)."""
    yy, xx = np.mgrid[0:19, 0:25].astype(np.float64)
    return np.rint(np.clip(1.2 - np.hypot(yy - 9, xx - 14) / 7.0, 0, 1) * 255).astype(np.uint8)


def cases(rgb):
    image = rgb.astype(np.float32) / np.float32(255)
    b = to_bytes(image)
    assert np.array_equal(b, rgb)
    out = []

    def add(node, params, result, **extra):
        out.append(dict(node=node, params=params, height=result.shape[0], width=result.shape[1],
                        output=base64.b64encode(np.ascontiguousarray(result).tobytes()).decode(), **extra))

    for iterations in (1, 3):
        add("tile", {"pyrUp_iters": iterations}, tile(b, iterations))
    for resolution in (64, 128):
        add("color", {"resolution": resolution}, color(b, resolution))
    for threshold, resolution in ((100, 64), (0, 128)):
        result, used = binary(b, threshold, resolution)
        add("binary", {"bin_threshold": threshold, "resolution": resolution}, result, used_threshold=int(used))
    # The third: an even count above the threshold, so the median is the mean of the middle two.
    for sigma, level, resolution in ((6.0, 8, 64), (2.5, 2, 128), (3.0, 4, 96)):
        add("lineart_standard", {"guassian_sigma": sigma, "intensity_threshold": level, "resolution": resolution}, lineart_standard(b, sigma, level, resolution))
    for threshold, resolution in ((32, 64), (8, 128)):
        add("scribble_xdog", {"threshold": threshold, "resolution": resolution}, scribble_xdog(b, threshold, resolution))
    for gamma, resolution in ((0.45, 64), (1.7, 96)):
        add("intensity", {"gamma_correction": gamma, "resolution": resolution}, image_intensity(b, gamma, resolution))
    for low, high, resolution in ((100, 200, 64), (40, 120, 128)):
        add("canny", {"low_threshold": low, "high_threshold": high, "resolution": resolution}, canny(b, low, high, resolution))
    # Cases added later go last, so the earlier ones keep their indices; intensity at aux's default gamma (AIO_Preprocessor's).
    add("intensity", {"gamma_correction": 1.0, "resolution": 64}, image_intensity(b, 1.0, 64))
    for gamma, resolution in ((1.0, 64), (0.45, 128), (1.7, 96)):
        add("luminance", {"gamma_correction": gamma, "resolution": resolution}, recolor(b, "luminance", gamma, resolution))
    for resolution in (64, 128):
        add("scribble", {"resolution": resolution}, scribble(b, resolution))
    return out


# sd-webui-controlnet's recolor_luminance and recolor_intensity: the image's own size, the gamma slider.
RECOLORS = [("luminance", 1.0), ("luminance", 1.3), ("intensity", 0.6)]


# cv2.resize cases on the test image: area by whole blocks (2 × 2, 4 × 4), by fractions, enlarging and mixed; cubic down
# and up; nearest up.
RESIZES = [("area", 50, 38), ("area", 25, 19), ("area", 64, 48), ("area", 130, 90), ("area", 40, 100), ("cubic", 64, 48),
           ("cubic", 130, 90), ("nearest", 130, 90)]


def main(path):
    rgb = test_image()
    mask = test_mask()
    image = rgb.astype(np.float32) / np.float32(255)
    painted = inpaint(image, mask.astype(np.float32) / np.float32(255))
    data = {
        "image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
        "mask": {"height": mask.shape[0], "width": mask.shape[1], "levels": base64.b64encode(mask.tobytes()).decode()},
        "inpaint_masked": base64.b64encode((painted[..., 0] == -1).astype(np.uint8).tobytes()).decode(),
        "cases": cases(rgb),
        "recolors": [dict(mode=m, gamma=g, output=base64.b64encode(recolor(rgb, m, g, 0).tobytes()).decode()) for m, g in RECOLORS],
        "resizes": [dict(method=m, height=h, width=w, output=base64.b64encode(resize(rgb, w, h, m).tobytes()).decode())
                    for m, w, h in RESIZES],
    }
    with open(path, "w") as f:
        json.dump(data, f)
    print(f"{len(data['cases'])} cases; inpaint masks {int((painted[..., 0] == -1).sum())} pixels")
    for c in data["cases"]:
        o = np.frombuffer(base64.b64decode(c["output"]), np.uint8)
        print(c["node"], c["params"], c["height"], c["width"], "mean", round(float(o.mean()), 2), "white", int((o == 255).sum() // 3))


def check():
    """Compares each restated operation with Debian's cv2 on the test image (max byte difference, differing pixels)."""
    import cv2
    rgb = test_image()
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)
    flags = {"area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}

    def report(name, mine, theirs):
        d = np.abs(mine.astype(np.int64) - theirs.astype(np.int64))
        print(f"{name}: max {d.max()} differing {(d > 0).sum()} of {d.size}")

    for m, w, h in RESIZES:
        report(f"resize case {m} {w}x{h}", resize(rgb, w, h, m), cv2.resize(rgb, (w, h), interpolation=flags[m]))
    for src in (rgb, noise):
        for (dw, dh) in ((50, 38), (25, 19), (64, 48), (17, 13), (160, 128), (3, 2), (211, 97), (40, 200)):
            for method, flag in flags.items():
                report(f"resize {method} {src.shape[1]}x{src.shape[0]}->{dw}x{dh}", resize(src, dw, dh, method), cv2.resize(src, (dw, dh), interpolation=flag))
        report(f"pyrUp {src.shape}", pyr_up(src), cv2.pyrUp(src))
        f = src.astype(np.float32)
        for sigma in (0.5, 5.0, 6.0, 2.5):
            report(f"gaussian {sigma}", gaussian_blur(f, sigma), cv2.GaussianBlur(f, (0, 0), sigma))
            print("   float max abs", float(np.abs(gaussian_blur(f, sigma) - cv2.GaussianBlur(f, (0, 0), sigma)).max()))
        report("gray", gray(src), cv2.cvtColor(src, cv2.COLOR_RGB2GRAY))
        g = gray(src)
        print("otsu", otsu(g), cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[0])
    for low, high in ((100, 200), (40, 120)):
        padded, th, tw = resize_with_pad(rgb, 64)
        report(f"canny {low} {high}", canny(rgb, low, high, 64)[..., 0], cv2.Canny(padded, low, high)[:th, :tw])
    for iterations in (1, 3):
        h, w = rgb.shape[:2]
        h, w = int(np.round(h / 64.0)) * 64, int(np.round(w / 64.0)) * 64
        theirs = cv2.resize(rgb, (w // 2 ** iterations, h // 2 ** iterations), interpolation=cv2.INTER_AREA)
        for _ in range(iterations):
            theirs = cv2.pyrUp(theirs)
        report(f"tile {iterations}", tile(rgb, iterations), theirs)

    def cv_pad(resolution):
        h, w = rgb.shape[:2]
        k = resolution / min(h, w)
        th, tw = int(np.round(h * k)), int(np.round(w * k))
        img = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA)
        return np.pad(img, [[0, -th % 64], [0, -tw % 64], [0, 0]], mode="edge"), th, tw

    for resolution in (64, 128):
        h, w = rgb.shape[:2]
        nh, nw = (resolution, int(round(w / h * resolution))) if h < w else (int(round(h / w * resolution)), resolution)
        img = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        small = cv2.resize(img, (nw // 64, nh // 64), interpolation=cv2.INTER_CUBIC)
        report(f"color {resolution}", color(rgb, resolution), cv2.resize(small, (nw, nh), interpolation=cv2.INTER_NEAREST))
    for threshold, resolution in ((100, 64), (0, 128)):
        padded, th, tw = cv_pad(resolution)
        g = cv2.cvtColor(padded, cv2.COLOR_RGB2GRAY)
        if threshold == 0:
            _, b = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        else:
            _, b = cv2.threshold(g, threshold, 255, cv2.THRESH_BINARY_INV)
        report(f"binary {threshold} {resolution}", binary(rgb, threshold, resolution)[0][..., 0], (255 - b)[:th, :tw])
    for sigma, level, resolution in ((6.0, 8, 64), (2.5, 2, 128), (3.0, 4, 96)):
        padded, th, tw = cv_pad(resolution)
        x = padded.astype(np.float32)
        intensity = np.min(cv2.GaussianBlur(x, (0, 0), sigma) - x, axis=2).clip(0, 255)
        intensity /= max(16, np.median(intensity[intensity > level]))
        intensity *= 127
        report(f"lineart {sigma} {level} {resolution}", lineart_standard(rgb, sigma, level, resolution)[..., 0], intensity.clip(0, 255).astype(np.uint8)[:th, :tw])
    for gamma, resolution in ((0.45, 64), (1.7, 96)):
        padded, th, tw = cv_pad(resolution)
        v = cv2.cvtColor(padded, cv2.COLOR_BGR2HSV)[:, :, 2].astype(np.float32) / 255.0
        theirs = ((v ** gamma) * 255.0).clip(0, 255).astype(np.uint8)
        report(f"intensity {gamma} {resolution}", image_intensity(rgb, gamma, resolution)[..., 0], theirs[:th, :tw])
    for threshold, resolution in ((32, 64), (8, 128)):
        padded, th, tw = cv_pad(resolution)
        g1 = cv2.GaussianBlur(padded.astype(np.float32), (0, 0), 0.5)
        g2 = cv2.GaussianBlur(padded.astype(np.float32), (0, 0), 5.0)
        dog = (255 - np.min(g2 - g1, axis=2)).clip(0, 255).astype(np.uint8)
        result = np.zeros_like(dog)
        result[2 * (255 - dog) > threshold] = 255
        report(f"xdog {threshold} {resolution}", scribble_xdog(rgb, threshold, resolution)[..., 0], result[:th, :tw])
    cube = np.stack(np.meshgrid(np.arange(256), np.arange(256), np.arange(256), indexing="ij"), -1).reshape(4096, 4096, 3).astype(np.uint8)
    report("BGR2LAB L, all 2^24 colours", lightness(cube), cv2.cvtColor(cube, cv2.COLOR_BGR2LAB)[..., 0])
    for mode, gamma, resolution in [(m, g, 0) for m, g in RECOLORS] + [("luminance", 1.0, 64), ("luminance", 0.45, 128), ("luminance", 1.7, 96)]:
        padded, th, tw = (rgb, rgb.shape[0], rgb.shape[1]) if resolution == 0 else cv_pad(resolution)
        code = cv2.COLOR_BGR2LAB if mode == "luminance" else cv2.COLOR_BGR2HSV
        level = cv2.cvtColor(padded, code)[:, :, 0 if mode == "luminance" else 2].astype(np.float32) / 255.0
        theirs = ((level ** gamma) * 255.0).clip(0, 255).astype(np.uint8)
        report(f"recolor {mode} {gamma} {resolution}", recolor(rgb, mode, gamma, resolution)[..., 0], theirs[:th, :tw])
    for resolution in (64, 128):
        h, w = rgb.shape[:2]
        k = resolution / min(h, w)
        th, tw = int(np.round(h * k)), int(np.round(w * k))
        padded = np.pad(cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA), [[0, -th % 64], [0, -tw % 64], [0, 0]], mode="edge")
        theirs = np.zeros_like(padded)
        theirs[np.min(padded, axis=2) < 127] = 255
        report(f"scribble {resolution}", scribble(rgb, resolution), (255 - theirs)[:th, :tw])


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check()
    else:
        main(sys.argv[1])
