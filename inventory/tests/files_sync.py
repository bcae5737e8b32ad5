"""A sync from the storage files, then the space figures' own task, as a worker runs the two in turn."""

from __future__ import annotations

from typing import Any

from inventory import sync_files, tasks


def reconcile_and_measure(**kwargs: Any) -> sync_files.FilesSyncResult:
    """``sync_files.reconcile`` then ``inventory.tasks.measure_storage`` (the task it queued, run here)."""
    result = sync_files.reconcile(**kwargs)
    tasks.measure_storage()
    return result
