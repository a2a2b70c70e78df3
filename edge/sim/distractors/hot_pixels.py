"""Hot and stuck pixels of a sensor."""

from __future__ import annotations

import numpy as np


def hot_pixels_for(camera_shape: tuple[int, int], n: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Fixed hot pixels for `SimCamera.hot_pixels`: (x, y, extra_adu) at n distinct positions.

    camera_shape is (height_px, width_px). Most add 20-200 ADU; about one in ten (at least one
    when n >= 5) is stuck at full scale (extra 255, so it always reads 255 in 8 bits).
    """
    h, w = (int(v) for v in camera_shape)
    if n < 0:
        raise ValueError(f"n: {n} must be >= 0")
    if n > h * w:
        raise ValueError(f"n: {n} hot pixels do not fit in a {w}x{h} sensor")
    flat = rng.choice(h * w, size=n, replace=False)
    y, x = np.divmod(flat, w)
    extra = rng.uniform(20.0, 200.0, n)
    n_stuck = max(1, round(0.1 * n)) if n >= 5 else 0
    extra[:n_stuck] = 255.0
    return x.astype(np.int64), y.astype(np.int64), extra.astype(np.float32)
