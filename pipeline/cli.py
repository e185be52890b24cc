"""Command-line entry point: `pipeline <command>` (also `python -m pipeline <command>`).

Each command's implementation lives in its own module; this file only parses arguments and
dispatches, so that commands can be added without touching each other.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, help). The module provides `add_arguments(parser)` and `main(args) -> int`.
COMMANDS = {
    "run": ("pipeline.runner", "materialise the pipeline for a folder of extracts, without the UI"),
    "demo": ("pipeline.demo", "generate synthetic registers if needed and run everything"),
    "synth": ("pipeline.synth.cli", "write synthetic registers"),
    "report": ("pipeline.report", "write the disclosure-controlled status report for a year"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not (exc.name and module_name.startswith(exc.name)):
                raise
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    args = parser.parse_args(argv)
    return int(args._module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
