"""`pipeline demo` (`make demo`): synthetic registers if the raw folder is empty, the whole pipeline, a summary.

What belongs here: deciding whether to generate (only when the raw folder holds no register folder, so
a second demo reuses the data), calling the generator, running the pipeline for the demo years on the
default folders (or those of the PSYK_* variables) and printing what ran, rows per register, rows
quarantined, where the warehouse and marts are, and how to open the UI.
"""

from __future__ import annotations

import argparse
import importlib
import time
from dataclasses import replace
from pathlib import Path

from pipeline.config import Settings, parse_years
from pipeline.runner import Echo, RunOutcome, run_pipeline, use_settings

DEMO_SCALE = 0.02
DEMO_YEARS = "2010-2025"
DEMO_SEED = 20250101


def has_registers(raw_dir: Path) -> bool:
    """True when the raw folder holds at least one register folder with a file in it.

    Entries starting with `_` or `.` are not registers (e.g. the generator's `_synthetic.json`).
    """
    if not raw_dir.is_dir():
        return False
    return any(
        d.is_dir() and not d.name.startswith(("_", ".")) and any(f.is_file() for f in d.iterdir())
        for d in raw_dir.iterdir()
    )


def generate_if_empty(settings: Settings, *, scale: float, seed: int, echo: Echo = print) -> bool:
    """Write synthetic registers into the raw folder unless it already has some; True if generated."""
    if has_registers(settings.raw_dir):
        echo(f"demo: using the registers already in {settings.raw_dir} (delete them to generate new ones)")
        return False
    generate = getattr(importlib.import_module("pipeline.synth"), "generate", None)
    if not callable(generate):
        raise ModuleNotFoundError("pipeline.synth has no generate()", name="pipeline.synth")
    echo(f"demo: generating synthetic registers (scale {scale}, years {DEMO_YEARS}, seed {seed}) into {settings.raw_dir}")
    t0 = time.monotonic()
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    generate(out_dir=settings.raw_dir, scale=scale, years=list(settings.years), seed=seed)
    echo(f"demo: generated in {time.monotonic() - t0:.1f}s")
    return True


def summary_lines(settings: Settings, outcome: RunOutcome) -> list[str]:
    lines = [
        "",
        "=" * 72,
        f"Demo {'finished' if outcome.success else 'FAILED'}: years {min(settings.years)}-{max(settings.years)}, "
        f"{outcome.steps_succeeded} steps succeeded in {outcome.seconds:.1f}s (run {outcome.run_id})",
    ]
    if outcome.register_counts:
        lines.append(f"{'register':<26}{'files':>6}{'rows read':>12}{'staged':>12}{'quarantined':>13}")
        for name, c in outcome.register_counts.items():
            lines.append(
                f"{name:<26}{c['files']:>6}{c['rows_read']:>12,}{c['rows_staged']:>12,}{c['rows_quarantined']:>13,}"
            )
        total_q = sum(c["rows_quarantined"] for c in outcome.register_counts.values())
        lines.append(f"Rows quarantined in all: {total_q:,} (see quarantine.<register> and meta.load_log)")
    lines += [
        f"Warehouse: {settings.warehouse}",
        f"Marts:     {settings.marts_dir}",
        "Open the Dagster UI with `make ui` (http://127.0.0.1:3000) to see the assets, checks and run.",
    ]
    if not outcome.success:
        lines.append("Some steps failed (messages above); the previous marts were left as they were.")
    return lines


def target_table(settings: Settings) -> str | None:
    """The marts' target-progress table as text, if that layer provides it."""
    try:
        marts = importlib.import_module("assets.marts")
    except ModuleNotFoundError:
        return None
    render = getattr(marts, "target_table_text", None)
    return render(settings) if callable(render) else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=DEMO_SCALE, help="synthetic population scale")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="generator seed")
    parser.add_argument("--years", default=DEMO_YEARS, help="years to generate and run")


def main(args: argparse.Namespace) -> int:
    settings = replace(Settings.from_env(), years=parse_years(args.years))
    use_settings(settings)
    try:
        generate_if_empty(settings, scale=args.scale, seed=args.seed)
    except ModuleNotFoundError as exc:
        print(f"demo: the synthetic generator is not available ({exc}); put extracts in {settings.raw_dir}")
        return 2
    outcome = run_pipeline(settings)
    print("\n".join(summary_lines(settings, outcome)))
    if outcome.success:
        text = target_table(settings)
        if text:
            print("\n" + text)
    return 0 if outcome.success else 1
