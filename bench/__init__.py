"""Benchmarks of ``line`` and ``line_tui``: ``python -m bench`` (``--quick`` for a short run).

One module per figure; each exposes ``run(quick: bool) -> list[Result]``. ``bench.report``
prints the figures, writes ``bench/results.json`` and checks the targets.
"""
