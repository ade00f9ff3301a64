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
    """The cycle collector off while trees of objects (never cycles) are made. Once they are,
    every object alive is frozen, out of its sight until `unfreeze()`: made while it was
    paused, they would all be looked through by its next runs (0.2 s of a no-op build of
    100k credentials), and they live as long as the build that loaded them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def unfreeze() -> None:
    """Give what `collector_paused` froze back to the collector: a build is over, and a
    long-lived process (`sitegen serve`) builds again."""
    gc.unfreeze()
