"""The command line: run a design document and print the result as JSON.

``python -m playground.engine DESIGN.json|yaml [--seed N] [--duration S] [--frames]``

Terms
-----
overrides
    ``--seed`` and ``--duration`` replace ``scenario.seed`` and ``scenario.duration_s`` before the
    document is validated, so an override that breaks a rule (an event after the new end) is
    reported like any other problem.
output
    ``{"summary": ...}``, plus ``"frames": [...]`` with ``--frames``, as one line of JSON with
    sorted keys on stdout.
exit status
    0 after a run; 2 when the file cannot be read, parsed or validated, with one line per problem
    on stderr (``nodes[2].params.workers: must be >= 1``).

This is the engine's only module that does I/O.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.engine.limits import CLI_LIMITS
from playground.engine.loading import parse
from playground.engine.problems import DocumentError, Problem
from playground.engine.schema import load

_FORMATS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m playground.engine",
        description="Run a design document (JSON or YAML) and print its summary as JSON.")
    parser.add_argument("design", help="the design document; - reads standard input")
    parser.add_argument("--seed", type=int, help="the run's seed (replaces scenario.seed)")
    parser.add_argument("--duration", type=float, metavar="S",
                        help="simulated seconds (replaces scenario.duration_s)")
    parser.add_argument("--frames", action="store_true", help="print every frame too")
    return parser.parse_args(argv)


def _read(name: str) -> bytes:
    # One byte past the cap is enough for parse() to refuse it without reading a huge file.
    if name == "-":
        return sys.stdin.buffer.read(CLI_LIMITS.max_bytes + 1)
    with open(name, "rb") as f:
        return f.read(CLI_LIMITS.max_bytes + 1)


def _override(obj: Any, args: argparse.Namespace) -> Any:
    if not isinstance(obj, dict) or (args.seed is None and args.duration is None):
        return obj
    scenario = obj.setdefault("scenario", {})
    if isinstance(scenario, dict):
        if args.seed is not None:
            scenario["seed"] = args.seed
        if args.duration is not None:
            scenario["duration_s"] = int(args.duration) if args.duration.is_integer() \
                else args.duration
    return obj


def _fail(problems: list[Problem]) -> int:
    for problem in problems:
        print(problem, file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        data = _read(args.design)
    except OSError as e:
        return _fail([Problem("", f"cannot read {args.design}: {e.strerror or e}")])
    try:
        obj = parse(data, _FORMATS.get(Path(args.design).suffix.lower()), limits=CLI_LIMITS)
        document = load(_override(obj, args), limits=CLI_LIMITS)
    except DocumentError as e:
        return _fail(e.problems)

    from playground.engine.simulation import run

    result = run(document, seed=args.seed, frames=args.frames)
    out = {"summary": result["summary"]}
    if args.frames:
        out["frames"] = result["frames"]
    sys.stdout.write(json.dumps(out, sort_keys=True, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
