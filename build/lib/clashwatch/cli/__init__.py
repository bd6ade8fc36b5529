"""The `clashwatch` command: verbs follow the workflow (annotate, train, extract, evaluate)."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..schema import ClashwatchError

# one module per verb group, each with add_parser(verbs); heavy imports stay inside the commands
COMMAND_GROUPS = ["annotations", "annotate", "extract", "train", "evaluate"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clashwatch", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)
    for group in COMMAND_GROUPS:
        importlib.import_module(f"{__name__}.{group}").add_parser(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ClashwatchError as e:
        print(f"clashwatch: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clashwatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
