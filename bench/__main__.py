"""``python -m bench [--quick] [--only NAME ...]``: run the figures, print them, write results.json.

Exits 1 when a figure misses its target (CI does not run this; it is for people and releases).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import first_chunk, interrupts, stability, throughput, ui_load
from bench.report import Result, failures, print_result, write_results

FIGURES: dict[str, Callable[[bool], list[Result]]] = {
    "throughput": throughput.run,
    "interrupts": interrupts.run,
    "stability": stability.run,
    "first_chunk": first_chunk.run,
    "ui_load": ui_load.run,
}

RESULTS = Path(__file__).with_name("results.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer chunks/turns and a 2 s UI run (under 30 s)")
    parser.add_argument("--only", nargs="+", choices=sorted(FIGURES), metavar="FIGURE",
                        help=f"run only these figures ({', '.join(FIGURES)})")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args(argv)

    load = os.getloadavg()
    print(f"line bench ({'quick' if args.quick else 'full'}) — Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    started = time.perf_counter()
    results: list[Result] = []
    for name, run in FIGURES.items():
        if args.only and name not in args.only:
            continue
        figure_started = time.perf_counter()
        for result in run(args.quick):
            print_result(result)
            results.append(result)
        print(f"  ({name}: {time.perf_counter() - figure_started:.1f} s)", flush=True)
    write_results(results, args.output)
    missed = failures(results)
    passed = sum(result.passed is True for result in results)
    print(f"{passed} passed, {len(missed)} missed, {time.perf_counter() - started:.0f} s; wrote {args.output}")
    if missed:
        print("missed: " + ", ".join(result.name for result in missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
