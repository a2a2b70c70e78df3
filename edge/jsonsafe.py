"""Turning numpy-laden results into JSON: one rule for the whole project.

numpy scalars and arrays become Python numbers and lists; NaN and infinities become null
(JSON has no such numbers, and a missing value is what they mean in our results).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def to_json_safe(value):
    """A copy of `value` (dicts, lists, tuples, dataclasses, numpy) that `json.dumps` accepts with
    `allow_nan=False`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
