"""What the training and evaluation commands share: running as a script, the command line that ran them, and
the markdown report every measured figure in docs/ is written as (the numbers, then the command, the machine
and the date, so that anyone can run it again).

Research code only: the product never imports this module at run time (the CLI loads the commands that use
it inside those commands).
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

MACHINE = f"2-core {platform.machine()} CPU, shared"  # the machine every figure of this project was measured on


def run_script(doc: str | None, add_arguments: Callable[[argparse.ArgumentParser], None],
               run: Callable[[argparse.Namespace], object], argv: list[str] | None = None) -> None:
    """`python -m <module>`: parse `argv` with the module's own `add_arguments` and `run` it; the first line of
    the module's docstring `doc` is the description."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    add_arguments(parser)
    run(parser.parse_args(argv))


def command_line(prog: str = "photosearch", default: str = "") -> str:
    """How this process was started, as a person would type it again; `default` when it had no arguments."""
    args = sys.argv[1:]
    return f"{prog} " + " ".join(shlex.quote(a) for a in args) if args else default


def report_footer(command: str, data: str | None = None, machine: str = MACHINE) -> list[str]:
    """The lines that close every report: how to get the numbers again, where and when they were got, and
    (`data`) where the data comes from."""
    lines = [f"Command: `{command}`  ", f"Machine: {machine}; date {datetime.now(UTC):%Y-%m-%d}."]
    if data:
        lines[-1] += "  "  # a markdown line break
        lines.append(f"Data: {data}")
    return [*lines, ""]


def write_report(path: str | Path, lines: list[str]) -> Path:
    """Write a markdown report (making its folder) and say where it went."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(f"wrote {path}")
    return path
