"""Results: one record per figure, printed as one line, written to ``results.json``, checked."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Result", "percentile", "print_result", "write_results"]


@dataclass
class Result:
    """One figure. ``ratio`` is ``value / baseline`` when a baseline was measured in the same run.

    ``target`` is human-readable (``">= 0.5 x baseline"``, ``"<= 200 µs"``); ``passed`` is
    ``None`` for figures without a target (shown for context only).
    """

    name: str
    value: float
    unit: str
    target: str
    passed: bool | None
    baseline: float | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        data: dict[str, Any] = {
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": _round(self.baseline) if self.baseline is not None else None,
            "ratio": round(ratio, 4) if ratio is not None else None,
            "target": self.target,
            "passed": self.passed,
        }
        if self.detail:
            data["detail"] = self.detail
        data.update(self.extra)
        return data


def _round(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    digits = max(0, 4 - math.floor(math.log10(abs(value))))
    return round(value, digits)


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by the nearest-rank method (p99 of 100 samples = the 99th)."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def format_value(value: float, unit: str) -> str:
    if unit in ("chunks/s", "records/s"):
        return f"{value:,.0f} {unit}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def format_line(result: Result) -> str:
    """``name: value unit (target ...)``, then the baseline/ratio, verdict and details."""
    line = f"{result.name}: {format_value(result.value, result.unit)} (target {result.target})"
    ratio = result.ratio
    if result.baseline is not None and ratio is not None:
        line += f" = {ratio:.2f} x baseline {format_value(result.baseline, result.unit)}"
    verdict = {True: "PASS", False: "MISS", None: "info"}[result.passed]
    line += f"  [{verdict}]"
    if result.detail:
        line += f"  {result.detail}"
    return line


def print_result(result: Result) -> None:
    print(format_line(result), flush=True)


def write_results(results: Sequence[Result], path: Path) -> None:
    data = {result.name: result.as_json() for result in results}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def failures(results: Sequence[Result]) -> list[Result]:
    return [result for result in results if result.passed is False]
