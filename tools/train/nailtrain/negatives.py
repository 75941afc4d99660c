"""Photos with no hand: training images whose mask is empty, and the no-hand validation set.

Why: a model that has only seen nails on hands calls anything nail-coloured and oval a
nail: a ladybird, a sunset's sun, a meadow (issue 35). Two kinds of negatives:

- wallpapers from Debian's packages (gnome-backgrounds, sway-backgrounds,
  plasma-workspace-wallpapers: landscapes, skies, abstract art). mate-backgrounds and
  ukui-wallpapers are left alone: they are kept for independent checks (DEVELOPERS.md).
  Each wallpaper's group (its name, light and dark variants together) falls in val or
  train by the SHA-256 of the name, so the no-hand val photos are never trained on.
- generated scenes (scene()): skies, sunsets, meadows, walls and tables, with nail-like
  objects on them (red and pink ovals with a highlight, ladybirds, caps, cups, stickers).

Both are used as whole training images with empty masks (augment.synth), not only as
pasted backgrounds.
"""
import glob
import hashlib
import math
import os
import re

import numpy as np
from PIL import Image

WALLPAPER_DIRS = ("/usr/share/backgrounds", "/usr/share/wallpapers")
# Kept for independent checks: never trained or tuned on.
EXCLUDED = ("mate", "ukui")
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
VAL_SHARE = 0.25


def group_of(path):
    """The wallpaper a file belongs to: Plasma's <Name>/contents/..., else the file's stem
    without its light/dark or day/night suffix."""
    parts = path.split(os.sep)
    if "wallpapers" in parts and "contents" in parts:
        return parts[parts.index("contents") - 1]
    stem = os.path.splitext(os.path.basename(path))[0]
    stem = re.sub(r"_\d+x\d+(_Portrait)?$", "", stem)
    return re.sub(r"[-_](l|d|day|night|light|dark|morning|evening)$", "", stem)


def split_of(group):
    return "val" if hashlib.sha256(group.encode()).digest()[0] < VAL_SHARE * 256 else "train"


def find(split, dirs=WALLPAPER_DIRS):
    """Wallpaper files of one split (train or val), sorted. A wallpaper shipped at many
    resolutions counts once (its largest file in each folder, per group); Plasma's preview
    screenshots are skipped (a wallpaper with a desktop drawn on it)."""
    best = {}
    for d in dirs:
        for p in sorted(glob.glob(os.path.join(d, "**", "*"), recursive=True)):
            low = p.lower()
            if not low.endswith(EXTENSIONS) or any(x in low for x in EXCLUDED) or "screenshot" in low:
                continue
            g = group_of(p)
            if split_of(g) != split:
                continue
            key = (os.path.dirname(p), g, os.path.basename(p) if "backgrounds" in p.split(os.sep) and
                   not re.search(r"\d+x\d+", p) else "")
            if key not in best or os.path.getsize(p) > os.path.getsize(best[key]):
                best[key] = p
    return sorted(best.values())


def load(split, max_side=640, dirs=WALLPAPER_DIRS):
    """The split's wallpapers as RGB uint8 arrays, long side at most max_side."""
    out = []
    for p in find(split, dirs):
        im = Image.open(p)
        im.draft("RGB", (max_side, max_side))
        im = im.convert("RGB")
        s = max_side / max(im.size)
        if s < 1:
            im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.BILINEAR)
        out.append(np.asarray(im))
    return out


# ---------------------------------------------------------------- generated scenes

def _vertical(n, top, bottom, curve=1.0):
    t = (np.arange(n, dtype=np.float32) / max(1, n - 1)) ** curve
    col = top[None] * (1 - t[:, None]) + bottom[None] * t[:, None]
    return np.repeat(col[:, None, :], n, axis=1)


def _noise(rng, n, scale):
    """Smooth value noise in [0, 1] (bilinear upsampling of a coarse random grid)."""
    k = max(2, n // scale)
    g = Image.fromarray((rng.random((k, k)) * 255).astype(np.uint8)).resize((n, n), Image.BICUBIC)
    return np.asarray(g, np.float32) / 255


def _ellipse(n, cx, cy, rx, ry, ang):
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    ca, sa = math.cos(ang), math.sin(ang)
    u = ((xx - cx) * ca + (yy - cy) * sa) / max(rx, 1e-3)
    v = (-(xx - cx) * sa + (yy - cy) * ca) / max(ry, 1e-3)
    return u * u + v * v


def nail_like(rng, img):
    """Paints 1-6 nail-like things that are not nails: glossy red/pink/nude ovals with a
    highlight (caps, sweets, stickers), ladybirds (red with black spots), cups (a
    rectangle under an ellipse rim)."""
    n = img.shape[0]
    for _ in range(rng.integers(1, 7)):
        kind = rng.random()
        cx, cy = rng.uniform(0, n, 2)
        r = rng.uniform(n * 0.02, n * 0.12)
        hue_rgb = np.array([[200, 20, 40], [230, 90, 120], [150, 20, 50], [225, 170, 150], [245, 200, 190],
                            [250, 120, 60], [120, 30, 120]], np.float32)[rng.integers(7)]
        if kind < 0.5:
            d = _ellipse(n, cx, cy, r, r * rng.uniform(0.5, 1.0), rng.uniform(0, math.pi))
            shade = np.clip(1.1 - 0.35 * d, 0, 1.2)[..., None]
            img[d < 1] = (hue_rgb * shade)[d < 1]
            h = _ellipse(n, cx - r * 0.3, cy - r * 0.3, r * 0.25, r * 0.12, rng.uniform(0, math.pi))
            img[h < 1] = 245
        elif kind < 0.75:  # ladybird
            d = _ellipse(n, cx, cy, r, r * 0.8, rng.uniform(0, math.pi))
            img[d < 1] = np.array([205, 25, 20], np.float32)
            for _ in range(rng.integers(2, 7)):
                sx, sy = cx + rng.uniform(-0.6, 0.6) * r, cy + rng.uniform(-0.5, 0.5) * r
                s = _ellipse(n, sx, sy, r * 0.15, r * 0.15, 0)
                img[(s < 1) & (d < 1)] = 15
            head = _ellipse(n, cx + r, cy, r * 0.35, r * 0.35, 0)
            img[head < 1] = 15
        else:  # cup: body and rim
            w, h = r * 1.2, r * 1.6
            yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
            body = (np.abs(xx - cx) < w) & (yy > cy) & (yy < cy + h)
            img[body] = hue_rgb * rng.uniform(0.7, 1.0)
            rim = _ellipse(n, cx, cy, w, w * 0.3, 0)
            img[rim < 1] = hue_rgb * 0.6
    return img


def scene(rng, n):
    """A generated no-hand scene, float32 n x n x 3 in [0, 255]."""
    kind = rng.random()
    if kind < 0.25:  # sky with a horizon and a sunset sun
        top = np.array([rng.uniform(20, 120), rng.uniform(40, 140), rng.uniform(120, 230)], np.float32)
        bottom = np.array([rng.uniform(200, 255), rng.uniform(100, 200), rng.uniform(40, 160)], np.float32)
        img = _vertical(n, top, bottom, rng.uniform(0.5, 2.0))
        sun = _ellipse(n, rng.uniform(0, n), rng.uniform(n * 0.2, n * 0.8), *(2 * [rng.uniform(n * 0.03, n * 0.12)]), 0)
        glow = np.exp(-sun * 0.3)[..., None]
        img = img * (1 - glow) + np.array([255, 200, 120], np.float32) * glow
        hz = int(rng.uniform(0.55, 0.9) * n)
        img[hz:] = img[hz:] * rng.uniform(0.2, 0.5)
    elif kind < 0.5:  # meadow: textured greens/yellows, flowers, sky above
        img = _vertical(n, np.array([120, 170, 230], np.float32), np.array([200, 220, 240], np.float32))
        hz = int(rng.uniform(0.0, 0.5) * n)
        tex = _noise(rng, n, rng.integers(4, 24))[..., None]
        grass = np.array([60, 120, 40], np.float32) * (0.6 + 0.8 * tex)
        grass = grass + np.array([40, 30, 0], np.float32) * rng.random()
        img[hz:] = grass[hz:]
        for _ in range(rng.integers(0, 40)):
            fx, fy = rng.uniform(0, n), rng.uniform(hz, n)
            f = _ellipse(n, fx, fy, *(2 * [rng.uniform(1.5, n * 0.02)]), 0)
            img[f < 1] = rng.choice([[230, 40, 60], [250, 250, 240], [250, 210, 40], [200, 120, 200]])
    elif kind < 0.75:  # wall or table: a flat colour with grain and soft light
        base = rng.uniform(60, 240, 3).astype(np.float32)
        tex = _noise(rng, n, rng.integers(2, 60))[..., None]
        img = base * (0.85 + 0.3 * tex)
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
        light = 1 + 0.3 * np.cos(rng.uniform(0, 6.3) + 3 * xx + 2 * yy)
        img = img * light[..., None]
    else:  # abstract: big soft colour fields, as many wallpapers are
        img = np.zeros((n, n, 3), np.float32)
        for c in range(3):
            img[..., c] = 255 * _noise(rng, n, rng.integers(1, 4) * n // 8 + 2)
    if rng.random() < 0.6:
        img = nail_like(rng, img)
    return np.clip(img, 0, 255).astype(np.float32)


def crop(rng, photo, n):
    """A random n x n crop of a wallpaper scaled so its short side is 1 to 3 crops
    (photos arrive at many sizes; a crop shows a bit or much of the scene), float32."""
    h, w = photo.shape[:2]
    s = n * rng.uniform(1.0, 3.0) / min(h, w)
    nw, nh = max(n, round(w * s)), max(n, round(h * s))
    im = Image.fromarray(photo).resize((nw, nh), Image.BILINEAR)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    x0, y0 = int(rng.integers(0, nw - n + 1)), int(rng.integers(0, nh - n + 1))
    return np.asarray(im.crop((x0, y0, x0 + n, y0 + n)), np.float32)


def sample(rng, photos, n):
    """One negative training image (float32 n x n x 3): a wallpaper crop (when there are
    any) or a generated scene, half the time with nail-like things painted on."""
    if photos and rng.random() < 0.5:
        img = crop(rng, photos[rng.integers(len(photos))], n)
        return nail_like(rng, img) if rng.random() < 0.3 else img
    return scene(rng, n)
