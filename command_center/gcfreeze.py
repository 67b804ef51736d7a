"""A serving process's import-time objects kept out of the garbage collector's full passes.

Once a web or ws process has loaded Django, DRF, the URLconf and every view it names, it holds some 180,000
objects that live as long as the process. Python's full (generation 2) collection walks all of them each
time it runs: 30–190 ms on a 2-core machine under the intake bench's load, about once in every few hundred
requests a worker serves, and the request that worker holds waits it out. Those pauses were the intake
bench's p99 (README, "Levers of the second round": p99 70–114 ms before, 60–78 ms after).

`gc.freeze()` moves every object tracked now into a permanent generation that no collection walks.
Reference counting still frees them; only a reference cycle among them would never be collected, and
import-time objects are not garbage. What requests allocate afterwards is collected as before, in passes
that walk only it.
"""

from __future__ import annotations

import gc


def freeze_after_import() -> int:
    """Import everything the URLconf names (Django imports views lazily, on the first request), then freeze.
    Called once by the WSGI and ASGI entry points after the application is built; returns how many objects
    were frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (the property imports the URLconf and the views it names)
    gc.collect()  # what the imports left as garbage is freed, not frozen
    gc.freeze()
    return gc.get_freeze_count()
