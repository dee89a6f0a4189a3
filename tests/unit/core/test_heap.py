"""The collector settings a service takes once built, checked in a fresh interpreter (they are global)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json, weakref

class Node:
    pass

kept = [Node()]
first, second = Node(), Node()
first.other, second.other = second, first  # a garbage cycle only the collector can free
cycle = weakref.ref(first)
del first, second

from spendgate_core.runtime.tuning import YOUNG_THRESHOLD, settle_after_startup

default_threshold = gc.get_threshold()
settle_after_startup()
print(json.dumps({
    "cycle_freed": cycle() is None,
    "kept_frozen": not any(o is kept for o in gc.get_objects()),
    "frozen": gc.get_freeze_count(),
    "default": default_threshold,
    "threshold": gc.get_threshold(),
    "young": YOUNG_THRESHOLD,
}))
"""


def test_settling_collects_start_up_garbage_freezes_the_rest_and_spaces_young_collections() -> None:
    probe = [sys.executable, "-c", PROBE]
    out = subprocess.run(probe, capture_output=True, text=True, check=True, timeout=60)
    seen = json.loads(out.stdout)
    assert seen["cycle_freed"]
    assert seen["kept_frozen"]
    assert seen["frozen"] > 1000  # the imported modules' objects, not just the probe's
    assert seen["threshold"] == [seen["young"], *seen["default"][1:]]
    assert seen["young"] > seen["default"][0]
