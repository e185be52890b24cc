"""Calibration parameters of the synthetic generator: loading `params.yaml` and reading yearly series.

Only parameter access belongs here; the numbers themselves live in `params.yaml` so they can be
re-calibrated without touching code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

PARAMS_FILE = Path(__file__).with_name("params.yaml")


@lru_cache(maxsize=1)
def load_params() -> dict[str, Any]:
    return yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))


def series(spec: Any, year: int) -> float:
    """Value of a yearly series {year: value} in `year`: linear between anchors, flat outside.

    A plain number is a constant series.
    """
    if not isinstance(spec, dict):
        return float(spec)
    xs = sorted(int(k) for k in spec)
    ys = [float(spec[k]) for k in xs]
    return float(np.interp(year, xs, ys))


def scaled_count(spec: Any, year: int, scale: float) -> float:
    """Expected count in `year` at `scale` (the series is given for the whole country)."""
    return series(spec, year) * scale
