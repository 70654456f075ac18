"""On-the-fly augmentation and input transforms for images.

Each transform takes a NumPy float array of shape (C, H, W) or a batch (N, C, H, W) and returns
one of the same shape; randomness is drawn per image, vectorised over the batch (a DataLoader over
MNIST-style datasets passes whole batches). Every random transform takes `generator` (a NumPy
Generator or an int seed; None draws the seed from pyengine's generator, so pyengine.manual_seed
makes runs repeatable).
"""
import numpy as np

from .dataset import _generator


def _as_batch(x):
    """View x as (N, C, H, W); returns the view and a function restoring the input's shape."""
    x = np.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"expected an image (C, H, W) or a batch (N, C, H, W), got shape {x.shape}")
    lead = x.shape[:-3]
    batch = x.reshape((-1,) + x.shape[-3:])
    return batch, lambda y: y.reshape(lead + y.shape[-3:])


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class Normalize:
    """(x - mean) / std per channel."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std}")

    def __call__(self, x):
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)


class GaussianNoise:
    """Add N(0, std²) noise to every pixel (the seeds' input-noise regularisation)."""

    def __init__(self, std=0.1, generator=None):
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, got {std}")
        self.std = std
        self.rng = _generator(generator)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        return (x + self.rng.normal(0.0, self.std, size=x.shape)).astype(np.float32)


class RandomHorizontalFlip:
    def __init__(self, p=0.5, generator=None):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = _generator(generator)

    def __call__(self, x):
        batch, restore = _as_batch(x)
        flip = self.rng.random(len(batch)) < self.p
        out = batch.copy()
        out[flip] = batch[flip, :, :, ::-1]
        return restore(out)


class RandomCrop:
    """Pad by `padding` (zeros) and cut a random size×size window: small random shifts."""

    def __init__(self, size, padding=0, generator=None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = int(padding)
        self.rng = _generator(generator)

    def __call__(self, x):
        batch, restore = _as_batch(x)
        n, c, h, w = batch.shape
        p = self.padding
        th, tw = self.size
        if th > h + 2 * p or tw > w + 2 * p:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image {(h + 2 * p, w + 2 * p)}")
        padded = np.pad(batch, ((0, 0), (0, 0), (p, p), (p, p)))
        top = self.rng.integers(0, h + 2 * p - th + 1, size=n)
        left = self.rng.integers(0, w + 2 * p - tw + 1, size=n)
        rows = top[:, None] + np.arange(th)[None, :]     # (n, th)
        cols = left[:, None] + np.arange(tw)[None, :]    # (n, tw)
        out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]
        return restore(out.astype(batch.dtype, copy=False))


class RandomAffine:
    """Small random rotations (degrees: d for [-d, d], or (lo, hi)), shifts (translate: fractions
    of width and height) and zoom (scale: (lo, hi)), resampled bilinearly about the image centre;
    pixels from outside the image are zero."""

    def __init__(self, degrees=0.0, translate=None, scale=None, generator=None):
        self.degrees = (-float(degrees), float(degrees)) if np.isscalar(degrees) else tuple(map(float, degrees))
        self.translate = translate
        self.scale = scale
        self.rng = _generator(generator)

    def __call__(self, x):
        batch, restore = _as_batch(x)
        n, c, h, w = batch.shape
        angle = np.deg2rad(self.rng.uniform(*self.degrees, size=n))
        zoom = self.rng.uniform(*self.scale, size=n) if self.scale else np.ones(n)
        tx = self.rng.uniform(-1, 1, size=n) * (self.translate[0] * w if self.translate else 0)
        ty = self.rng.uniform(-1, 1, size=n) * (self.translate[1] * h if self.translate else 0)
        # Inverse map: for every output pixel find where it came from in the input.
        yy, xx = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        z = zoom[:, None, None]
        ox, oy = xx[None] - tx[:, None, None], yy[None] - ty[:, None, None]
        src_x = (cos * ox + sin * oy) / z + (w - 1) / 2
        src_y = (-sin * ox + cos * oy) / z + (h - 1) / 2
        return restore(_bilinear(batch, src_y, src_x).astype(batch.dtype, copy=False))


def _bilinear(batch, src_y, src_x):
    """Sample batch (N, C, H, W) at fractional (N, H, W) coordinates; zero outside."""
    n, c, h, w = batch.shape
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    fy, fx = (src_y - y0)[:, None], (src_x - x0)[:, None]
    out = np.zeros_like(batch, dtype=np.float32)
    ni = np.arange(n)[:, None, None]
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yi, xi = y0 + dy, x0 + dx
            inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
            vals = batch[ni, :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]  # (N, H, W, C)
            vals = np.moveaxis(vals, -1, 1) * inside[:, None]
            out += wy * wx * vals
    return out
