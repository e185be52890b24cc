"""`pipeline synth`: write a synthetic world of register extracts (see pipeline.synth.generate)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import parse_years
from pipeline.synth.generator import DEFAULT_SEED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="raw data root to write (one folder per register)")
    parser.add_argument("--scale", type=float, default=0.02, help="share of Denmark's population (1.0 = all)")
    parser.add_argument("--years", default="2010-2025", help="years, e.g. 2010-2025")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same world)")
    parser.add_argument("--dirty", action="store_true", help="inject delivery faults (listed in _faults.json)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from pipeline.synth.generator import generate

    summary = generate(args.out, scale=args.scale, years=parse_years(args.years), seed=args.seed,
                       dirty=args.dirty, progress=not args.no_progress)
    print(f"synthetic registers written to {summary['out_dir']} in {summary['seconds']} s "
          f"({summary['persons']} persons, {len(summary['files'])} files)")
    for register, n in sorted(summary["rows"].items()):
        print(f"  {register:<26} {n:>12,} rows")
    if summary["faults"]:
        print(f"  {len(summary['faults'])} injected faults listed in _faults.json")
    return 0
