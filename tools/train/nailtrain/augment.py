"""Training-sample synthesis: moves the close-up crops toward what users send.

What a first trial showed (issue 5): the model missed polished nails (the training nails
are bare), missed small nails on hands photographed from afar, and took glare on fingertip
skin for nail. Each step below answers one of those, plus the usual photometric jitter:

- scale: every photo is first scaled as inference will letterbox it (long side to the
  model's input size), then by a log-uniform factor, so nails appear at the sizes the model
  will see, including much smaller than in the close-ups;
- placement: the photo is rotated and pasted at a random place on a varied background
  (gradients, noise, skin-coloured blobs as distractors, or another labelled photo); with
  some probability extra photos are pasted small (a mosaic), which gives far-away nails;
- polish: nails are recoloured with random polish colours and finishes (cream, glossy,
  metallic, glitter, dark, nude), keeping the photo's own shading;
- glare: bright soft spots are painted on the skin ring around nails, labelled background;
- photometric: brightness, contrast, saturation, white balance, gamma, blur, noise, JPEG
  artefacts, occasional greyscale.
"""
import io
import math
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from . import negatives as negatives_mod


def _frozen(a):
    """Constants below are read-only, so no caller can change them for everyone."""
    a.flags.writeable = False
    return a


MEAN = _frozen(np.array([0.485, 0.456, 0.406], dtype=np.float32))
STD = _frozen(np.array([0.229, 0.224, 0.225], dtype=np.float32))
PAD_RGB = tuple(int(round(v * 255)) for v in MEAN)  # letterbox fill: 0 after normalisation

# Default share of training samples drawn from each source. Read-only: a run that wants
# other shares passes its own mapping (train.py --weights -> synth(..., weights=...)).
SOURCE_WEIGHTS = MappingProxyType({"hands": 0.7, "closeups": 0.15, "fingers": 0.075, "fingertips": 0.075})

# zoomed_out_mosaic's scales, times the letterbox's (train.py --zoom-range's default; 3.3.0).
ZOOM_OUT_RANGE = (0.35, 0.65)

SKIN_TONES = _frozen(np.array([[233, 196, 170], [224, 172, 138], [198, 134, 100], [160, 102, 70],
                               [110, 70, 50], [250, 215, 195], [210, 160, 140]], dtype=np.float32))


def normalise(img_u8):
    """HxWx3 uint8 -> 3xHxW float32, the manifest's scale/mean/std."""
    x = img_u8.astype(np.float32) / 255.0
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def letterbox(img_u8, size):
    """Scale the long side to size, centre on a PAD_RGB canvas. Returns canvas, scale, (dx, dy)."""
    h, w = img_u8.shape[:2]
    s = size / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    im = Image.fromarray(img_u8).resize((nw, nh), Image.BILINEAR)
    canvas = Image.new("RGB", (size, size), PAD_RGB)
    dx, dy = (size - nw) // 2, (size - nh) // 2
    canvas.paste(im, (dx, dy))
    return np.asarray(canvas), s, (dx, dy, nw, nh)


# ---------------------------------------------------------------- backgrounds

def _gradient(rng, n):
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    a = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    t = (np.cos(a) * xx + np.sin(a) * yy)
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    return c0 * (1 - t[..., None]) + c1 * t[..., None]


def _blobs(rng, n):
    img = _gradient(rng, n)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    for _ in range(rng.integers(3, 12)):
        cx, cy = rng.uniform(0, n, 2)
        rx, ry = rng.uniform(n * 0.03, n * 0.3, 2)
        ang = rng.uniform(0, math.pi)
        ca, sa = math.cos(ang), math.sin(ang)
        u = ((xx - cx) * ca + (yy - cy) * sa) / rx
        v = (-(xx - cx) * sa + (yy - cy) * ca) / ry
        inside = (u * u + v * v) < 1
        r = rng.random()
        if r < 0.45:
            col = SKIN_TONES[rng.integers(len(SKIN_TONES))]
        elif r < 0.7:
            # Hard negatives: saturated polish-like colours (lipstick, caps, jewellery) with
            # a specular spot, on no finger: the model must not call colour alone a nail.
            col = np.array(_hsv_to_rgb(rng.choice([0.0, 0.97, 0.93, rng.uniform(0, 1)]), rng.uniform(0.6, 1.0),
                                       rng.uniform(0.35, 0.95))) * 255
        else:
            col = rng.uniform(0, 255, 3)
        img[inside] = col * rng.uniform(0.8, 1.1)
        if r >= 0.45 and r < 0.7:
            spot = ((xx - cx - rx * 0.3) ** 2 + (yy - cy - ry * 0.3) ** 2) < (min(rx, ry) * 0.25) ** 2
            img[spot & inside] = 245
    return img


def pick(rng, by_source, weights=SOURCE_WEIGHTS):
    """One training photo, its source drawn by weights (source -> share; the mapping's
    order fixes which draw picks which source, so keep it for a seeded run), then the photo
    within the source in proportion to its Sample.weight (see train.weigh_hard)."""
    names = [k for k in weights if by_source.get(k)]
    p = np.array([weights[k] for k in names])
    src = by_source[names[rng.choice(len(names), p=p / p.sum())]]
    w = np.array([s.weight for s in src])
    if (w == 1.0).all():  # the uniform draw, as runs before hard-example weights made it
        return src[rng.integers(len(src))]
    return src[rng.choice(len(src), p=w / w.sum())]


def photo_scale(rng, s, infer_size):
    """The scale a photo is seen at: as inference letterboxes it, times a log-uniform
    factor, with close-ups sometimes much smaller (far-away nails)."""
    base = infer_size / max(s.image.shape[:2])
    factor = math.exp(rng.uniform(math.log(0.55), math.log(1.7)))
    if s.source != "hands" and rng.random() < 0.35:
        factor *= rng.uniform(0.25, 0.6)
    return base * factor


def background(rng, n, by_source, infer_size, weights=SOURCE_WEIGHTS):
    kind = rng.random()
    if kind < 0.3:
        img = _gradient(rng, n)
    elif kind < 0.6:
        img = _blobs(rng, n)
    else:
        # Another labelled photo, drawn and scaled like the main one (a first trial
        # scaled it to cover the canvas, so 40% of samples showed close-up nails
        # 150 px wide, and the model took the back of a hand for a nail). Its nails stay
        # labelled; what it does not cover is a gradient.
        s = pick(rng, by_source, weights)
        img, lab, alpha = transform(rng, s, photo_scale(rng, s, infer_size))
        out, outl = _gradient(rng, n).astype(np.float32), np.zeros((n, n), np.float32)
        paste(out, outl, img, lab, alpha, *_place(rng, n, img, lab))
        return out, outl
    img = img + rng.normal(0, rng.uniform(0, 12), img.shape)
    return img.astype(np.float32), np.zeros((n, n), np.float32)


# ---------------------------------------------------------------- nail appearance

def _luma(img):
    return img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114


def _bbox(mask, pad):
    """The slices of mask's True pixels' bounding box grown by pad (within the image)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (slice(max(0, rows[0] - pad), rows[-1] + 1 + pad), slice(max(0, cols[0] - pad), cols[-1] + 1 + pad))


def polish(rng, img, mask):
    """Recolour the nails like a polish would, keeping the photo's own shading.

    Only the nails' bounding box changes (alpha is 0 outside the mask), so the work is
    done there: the result is what the same arithmetic over the whole photo gives, bit
    for bit (tests/test_augment.py keeps that version), at a fraction of the cost on a
    photo scaled up for training. The random draws are the same as that version's too.
    """
    if not mask.any():
        return img
    # The soft edge below is a Gaussian of sigma 0.6, which scipy truncates at 4 sigma
    # (2 pixels): 3 pixels of padding make the box's filter see what the whole photo's does.
    box = _bbox(mask, 3)
    L = _luma(img[box])
    m = mask[box]
    mean = max(8.0, float(L[m].mean()))
    r = rng.random()
    if r < 0.15:
        color = rng.uniform(0, 40, 3)                      # black / very dark
    elif r < 0.3:
        color = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.9, 1.15)  # nude
    elif r < 0.4:
        color = rng.uniform(215, 255, 3)                   # white
    else:
        h = rng.uniform(0, 1)
        s = rng.uniform(0.35, 1.0)
        v = rng.uniform(0.25, 1.0)
        color = np.array(_hsv_to_rgb(h, s, v)) * 255
    finish = rng.random()
    contrast = 1.6 if finish < 0.2 else 0.8              # metallic shades harder
    shade = np.clip((L / mean), 0.3, 2.0) ** contrast
    new = color[None, None, :] * shade[..., None]
    if finish > 0.4:                                      # glossy: keep highlights white
        hi = np.clip(L - np.percentile(L[m], 90), 0, None)[..., None] * rng.uniform(0.8, 2.0)
        new = new + hi
    if 0.2 <= finish < 0.3:                               # glitter speckles
        # Drawn for the whole photo, so the generator moves on exactly as it always has.
        speck = (rng.random(mask.shape)[box] < 0.05)[..., None] * rng.uniform(60, 160)
        new = new + speck
    soft = ndimage.gaussian_filter(m.astype(np.float32), 0.6) * m
    alpha = (soft * rng.uniform(0.75, 1.0))[..., None]
    out = img.astype(np.result_type(img, new, alpha))
    out[box] = img[box] * (1 - alpha) + np.clip(new, 0, 255) * alpha
    return out


def _hsv_to_rgb(h, s, v):
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def glare(rng, img, mask):
    """Bright soft spots on the skin right around the nails, which stay background."""
    if not mask.any():
        return img
    scale = max(img.shape[:2]) / 384
    ring = ndimage.binary_dilation(mask, iterations=max(2, int(rng.uniform(3, 14) * scale))) & ~mask
    ys, xs = np.nonzero(ring)
    if len(ys) == 0:
        return img
    img = img.astype(np.result_type(img, np.float32))  # a copy, of the type the spots' sums give
    h, w = mask.shape
    for _ in range(rng.integers(1, 5)):
        k = rng.integers(len(ys))
        rad = rng.uniform(1.5, 6.0) * scale
        # The spot is exp(-d^2 / 2 rad^2): past 10 rad it is under 1e-21 of 255 grey
        # levels, nothing in float arithmetic, so only the window within 10 rad is lit.
        r = int(math.ceil(10 * rad))
        y0, y1, x0, x1 = max(0, ys[k] - r), min(h, ys[k] + r + 1), max(0, xs[k] - r), min(w, xs[k] + r + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        spot = np.exp(-(((yy - ys[k]) ** 2 + (xx - xs[k]) ** 2) / (2 * rad * rad)))
        spot[mask[y0:y1, x0:x1]] = 0
        amp = rng.uniform(0.4, 0.9)
        win = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = win + (255 - win) * (spot * amp)[..., None]
    return img


# ---------------------------------------------------------------- geometry

def _scaled_mirrored(rng, s, scale):
    """The sample's photo and label (PIL) scaled by scale, mirrored left-right half the time."""
    h, w = s.image.shape[:2]
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    im = Image.fromarray(s.image).resize(size, Image.BILINEAR)
    lab = Image.fromarray((s.target * 255).astype(np.uint8)).resize(size, Image.BILINEAR)
    if rng.random() < 0.5:
        im, lab = im.transpose(Image.FLIP_LEFT_RIGHT), lab.transpose(Image.FLIP_LEFT_RIGHT)
    return im, lab


def transform(rng, s, scale):
    """Scale, flip and rotate one sample. Returns float image, float label and alpha."""
    im, lab = _scaled_mirrored(rng, s, scale)
    if rng.random() < 0.2:
        im, lab = im.transpose(Image.FLIP_TOP_BOTTOM), lab.transpose(Image.FLIP_TOP_BOTTOM)
    alpha = Image.new("L", im.size, 255)
    if rng.random() < 0.7:
        ang = rng.uniform(-180, 180) if rng.random() < 0.4 else rng.uniform(-30, 30)
        im = im.rotate(ang, Image.BILINEAR, expand=True)
        lab = lab.rotate(ang, Image.BILINEAR, expand=True)
        alpha = alpha.rotate(ang, Image.BILINEAR, expand=True)
    img = np.asarray(im, dtype=np.float32)
    m = np.asarray(lab) > 127
    if rng.random() < 0.5:
        img = polish(rng, img, m)
    if rng.random() < 0.35:
        img = glare(rng, img, m)
    return img, m.astype(np.float32), np.asarray(alpha, dtype=np.float32) / 255.0


def paste(canvas, label, img, lab, alpha, x0, y0):
    n = canvas.shape[0]
    h, w = img.shape[:2]
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(n, x0 + w), min(n, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    sx0, sy0 = cx0 - x0, cy0 - y0
    sl = (slice(sy0, sy0 + cy1 - cy0), slice(sx0, sx0 + cx1 - cx0))
    a = alpha[sl][..., None]
    canvas[cy0:cy1, cx0:cx1] = canvas[cy0:cy1, cx0:cx1] * (1 - a) + img[sl] * a
    hard = alpha[sl] > 0.5
    label[cy0:cy1, cx0:cx1][hard] = lab[sl][hard]


def _place(rng, n, img, lab):
    """Pick a top-left so that, most of the time, some nail lands on the canvas."""
    h, w = img.shape[:2]
    ys, xs = np.nonzero(lab > 0.5)
    # Offsets that keep the photo either fully inside the canvas or covering it.
    lo_x, hi_x = min(0, n - w), max(0, n - w)
    lo_y, hi_y = min(0, n - h), max(0, n - h)
    if len(ys) and rng.random() < 0.9:
        k = rng.integers(len(ys))
        # Clamp so that nail pixel lands on the canvas.
        lo_x, hi_x = max(lo_x, -int(xs[k])), min(hi_x, n - 1 - int(xs[k]))
        lo_y, hi_y = max(lo_y, -int(ys[k])), min(hi_y, n - 1 - int(ys[k]))
    return int(rng.integers(lo_x, max(lo_x, hi_x) + 1)), int(rng.integers(lo_y, max(lo_y, hi_y) + 1))


# ---------------------------------------------------------------- photometric

def photometric(rng, img):
    img = img * rng.uniform(0.6, 1.35)
    m = img.mean()
    img = (img - m) * rng.uniform(0.7, 1.3) + m
    g = _luma(img)[..., None]
    img = g + (img - g) * rng.uniform(0.5, 1.4)
    img = img * rng.uniform(0.88, 1.12, 3)
    img = np.clip(img, 0, 255)
    img = 255 * (img / 255) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.05:
        img = np.repeat(_luma(img)[..., None], 3, axis=2)
    if rng.random() < 0.3:
        img = img + rng.normal(0, rng.uniform(2, 8), img.shape)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    if rng.random() < 0.5:
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=int(rng.integers(30, 96)))
        out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return np.asarray(out)


# ---------------------------------------------------------------- one training sample

def clean_view(rng, s, n, infer_size):
    """One photo as inference sees it: scaled as the letterbox scales it (times a mild
    0.85-1.2), mirrored left-right half the time, on the letterbox's pad colour, an n x n
    window placed over a nail. No background, mosaic, rotation, polish or glare: the
    synthetic scenes teach what a nail is anywhere, and these keep the model fitted to the
    real photos it is judged on (YOLOX's and YOLOv8's last epochs without mosaic, for the
    same reason). Returns float image and label."""
    canvas, label = _pad_canvas(n)
    _paste_scaled(rng, s, _log_uniform(rng, 0.85, 1.2), infer_size, canvas, label)
    return canvas, label


def _pad_canvas(n):
    """An n x n canvas of the letterbox's pad colour and its empty label."""
    canvas = np.empty((n, n, 3), np.float32)
    canvas[:] = PAD_RGB
    return canvas, np.zeros((n, n), np.float32)


def _log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _paste_scaled(rng, s, zoom, infer_size, canvas, label):
    """The sample scaled as the letterbox scales it times zoom, mirrored half the time,
    pasted opaque onto canvas and label (square views, written in place) with a nail in
    view: clean_view's and zoomed_out_mosaic's one step."""
    im, lab = _scaled_mirrored(rng, s, infer_size / max(s.image.shape[:2]) * zoom)
    img = np.asarray(im, dtype=np.float32)
    lab = (np.asarray(lab) > 127).astype(np.float32)
    paste(canvas, label, img, lab, np.ones(lab.shape, np.float32), *_place(rng, canvas.shape[0], img, lab))


def zoomed_out_mosaic(rng, by_source, n, infer_size, weights=SOURCE_WEIGHTS, zoom=ZOOM_OUT_RANGE):
    """Four photos as inference would see them from further away: each scaled to the
    letterbox's scale times zoom (log-uniform), mirrored half the time, in one quarter of
    the n x n canvas on the letterbox's pad colour, a nail placed in view. No background,
    rotation, polish or glare, as clean_view.

    Why: the nails under 20 px that the model misses are real-photo nails of far-off
    hands; clean_view keeps every photo at inference scale, so the last cycles, 90% clean
    crops, almost never show a small nail as the judged photos show it. Zooming the same
    photos out turns their 30-40 px nails into 12-25 px ones, with the hand, the lighting
    and the label as they were. Returns float image and label."""
    canvas, label = _pad_canvas(n)
    half = n // 2
    for oy in (0, half):
        for ox in (0, half):
            s = pick(rng, by_source, weights)
            cell = (slice(oy, oy + half), slice(ox, ox + half))
            _paste_scaled(rng, s, _log_uniform(rng, *zoom), infer_size, canvas[cell], label[cell])
    return canvas, label


def synth(rng, by_source, n=320, infer_size=384, weights=SOURCE_WEIGHTS, negatives=None, neg_share=0.0,
          clean=0.0, zoom_out=0.0, zoom=ZOOM_OUT_RANGE):
    """One (image uint8 HxWx3, label float HxW) training pair of size n x n; photos are
    drawn from by_source (source -> samples) with the given source shares. With neg_share
    > 0, that share of the pairs are photos with no hand (negatives.sample over the
    wallpapers in `negatives`, or a generated scene) and an empty label; with clean > 0,
    that share of the others are clean_view (a photo as inference sees it) rather than a
    synthetic scene, and with zoom_out > 0 that share of the clean ones are
    zoomed_out_mosaic (four photos seen from further away, at zoom times the letterbox's
    scale). Any at 0 makes no extra random draw, so earlier seeded runs repeat."""
    if neg_share > 0 and rng.random() < neg_share:
        img = negatives_mod.sample(rng, negatives or [], n)
        return photometric(rng, img), np.zeros((n, n), np.float32)
    if clean > 0 and rng.random() < clean:
        if zoom_out > 0 and rng.random() < zoom_out:
            canvas, label = zoomed_out_mosaic(rng, by_source, n, infer_size, weights, zoom)
            return photometric(rng, canvas), label
        canvas, label = clean_view(rng, pick(rng, by_source, weights), n, infer_size)
        return photometric(rng, canvas), label
    canvas, label = background(rng, n, by_source, infer_size, weights)
    s = pick(rng, by_source, weights)
    img, lab, alpha = transform(rng, s, photo_scale(rng, s, infer_size))
    x0, y0 = _place(rng, n, img, lab)
    paste(canvas, label, img, lab, alpha, x0, y0)
    if rng.random() < 0.35:
        for _ in range(rng.integers(1, 4)):
            o = pick(rng, by_source, weights)
            f = infer_size / max(o.image.shape[:2]) * rng.uniform(0.2, 0.6)
            im2, lab2, al2 = transform(rng, o, f)
            paste(canvas, label, im2, lab2, al2, int(rng.integers(-im2.shape[1] // 2, n)),
                  int(rng.integers(-im2.shape[0] // 2, n)))
    return photometric(rng, canvas), (label > 0.5).astype(np.float32)


def small_nail_weights(label, ref_area):
    """Per-pixel loss weights that lift small nails: every pixel of a connected nail of
    area a < ref_area (crop pixels, 4-connected) weighs sqrt(ref_area / a), at most 4;
    background and larger nails weigh 1.

    BCE and Dice over a crop are sums over pixels, so a 60-pixel nail counts a tenth of a
    600-pixel one: the model learns the large nails first and the small ones (recall 0.45
    under 20 px on val hands at 3.0.0) least. The square root, not the full ratio, keeps
    a speck of mislabelled pixels from outweighing a real nail. ref_area <= 0: all ones."""
    w = np.ones(label.shape, np.float32)
    if ref_area <= 0:
        return w
    comps, n = ndimage.label(label > 0.5)
    if n == 0:
        return w
    areas = np.bincount(comps.ravel())
    per = np.minimum(4.0, np.sqrt(ref_area / np.maximum(areas, 1))).astype(np.float32)
    per = np.maximum(per, 1.0)
    per[0] = 1.0
    return per[comps]
