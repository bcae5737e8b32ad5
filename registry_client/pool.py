"""The one bounded thread pool: registry requests in parallel, CATALOG_CONCURRENCY at a time.

The tag list, the content counts and the delete scan all fan their HEAD/GET requests out
through ``bounded_map``. One shared executor, rebuilt when the setting changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings

_T = TypeVar("_T")
_R = TypeVar("_R")

_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor, _executor_size
    with _executor_lock:
        if _executor is None or _executor_size != settings.CATALOG_CONCURRENCY:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = ThreadPoolExecutor(settings.CATALOG_CONCURRENCY, thread_name_prefix="catalog")
            _executor_size = settings.CATALOG_CONCURRENCY
        return _executor


def bounded_map(function: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``function`` over ``items`` with at most CATALOG_CONCURRENCY at once, in order; the first error is raised.

    Never called from inside the pool (no nested submits: that could deadlock it).
    """
    if len(items) <= 1:
        return [function(item) for item in items]
    return list(_pool().map(function, items))
