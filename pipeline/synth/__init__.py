"""The synthetic national register generator: a seeded, coherent synthetic Denmark written in the formats
of the register contract (../shared/REGISTER_FORMATS.md), calibrated to the published national figures.

Modules: `population` (persons, births, deaths, moves), `lpr` (LPR2/LPR3 contacts, diagnoses, markers),
`coercion` (tvang), `mortality` (dod), `dream`, `surveys` (sundhedsprofil, lup_psykiatri), `social`
(sociale_indsatser, uddannelse), `writers` (formats, files), `faults` (--dirty), `generator`
(`generate`), `cli` (`pipeline synth`); calibration numbers in `params.yaml`.
"""

from __future__ import annotations

from pathlib import Path


def generate(out_dir: Path, scale: float = 0.02, years: list[int] | None = None, seed: int = 20250101,
             dirty: bool = False, progress: bool = True) -> dict:
    """Write every register under `out_dir` (see pipeline.synth.generator.generate)."""
    from pipeline.synth.generator import generate as _generate

    return _generate(out_dir, scale=scale, years=years, seed=seed, dirty=dirty, progress=progress)


__all__ = ["generate"]
