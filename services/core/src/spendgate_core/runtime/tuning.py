"""Runtime tuning, in one explicit call from each service's entrypoint (importing does nothing).

A service builds most of its objects at start-up (modules, pydantic validators and schemas, tool tables)
and keeps them for its life. CPython's collector walks every one of them again on each full collection,
and at its default threshold it runs several young collections per tool call. Freezing the start-up heap
and collecting the young generation less often takes that work away (README, "Performance").

Reference counting still frees almost everything at once; these settings only change how often the
collector looks for garbage cycles, so the cost is a little more memory held by cycles between looks.
"""

from __future__ import annotations

import gc

# Allocations (net of frees) between young collections; CPython's default is 700. The older generations
# keep CPython's ratios, so each stays as many times rarer as before.
YOUNG_THRESHOLD = 7_000


def settle_after_startup() -> None:
    """Call once, when the service is built and about to serve: collect what start-up left over, move
    everything still alive out of the collector's sight (`gc.freeze`), and space young collections out."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
