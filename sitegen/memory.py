"""Keeping Python's cycle collector out of the way of large loads.

The collector runs every few hundred new objects and, now and then, looks through every
object made so far. Loading 600k records, a record cache or the build state makes
millions of objects, all of them trees that hold no cycle: the collector has nothing to
find, and looking took a quarter to half the time of those loads.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def collector_paused():
    """The cycle collector off while trees of objects (never cycles) are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
