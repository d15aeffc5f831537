"""Vega-Lite specs drawn as SVG by vl-convert, on every core.

vl-convert draws in one JavaScript runtime per process, so threads wait for each other; a batch
large enough to pay for starting processes is split across a pool of fresh ("spawn") processes,
each importing only this module and vl-convert.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os

# Below this many charts, starting processes (~1 s each, vl-convert's runtime included) costs
# more than it saves.
POOL_FROM = 40


def svgs(specs: list[dict]) -> list[str]:
    """SVG of each spec, in order, in this process."""
    import vl_convert as vlc

    return [vlc.vegalite_to_svg(spec) for spec in specs]


def svgs_in_parallel(specs: list[dict], workers: int | None = None) -> list[str]:
    """SVG of each spec, in order: on `workers` processes (default: one per core) when the batch
    is large, else in this process."""
    workers = min(workers or os.cpu_count() or 1, len(specs) // (POOL_FROM // 2) or 1)
    if workers <= 1:
        return svgs(specs)
    chunks = [specs[i::workers] for i in range(workers)]  # interleaved: sizes and costs even out
    context = multiprocessing.get_context("spawn")  # never fork a process holding a JS runtime
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        drawn = list(pool.map(svgs, chunks))
    out = [""] * len(specs)
    for i, chunk in enumerate(drawn):
        out[i::workers] = chunk
    return out
