"""Updating the registry container to the newest image of its tag, with a way back (worker side).

The installation guide's update is ``docker pull registry:3; docker stop registry; docker rm
registry`` and then the ``docker run`` line typed again from memory. Here:
- the image the container runs (its tag, e.g. ``registry:3``) is pulled through the engine;
  an offline NAS uses what the tag already points to on the engine, and says so;
- the container's full ``docker inspect`` is saved first (``RegistryMaintenance``, as a GC
  saves it), and the new container is built from it by the same recreate-from-inspect code
  GC uses, minus what the old image contributed (so the new image's own defaults apply);
- the new one must run, answer ``/v2/`` within UPDATE_ANSWER_TIMEOUT and tell its
  ``registry --version``; if not, the old container is put back exactly (same image id,
  same configuration) and the job fails saying why. A worker dying midway leaves the saved
  record open, and the GC watchdog puts the old container back (``gc.watchdog``).
It holds the GC lock while it runs: no GC starts meanwhile, and the watchdog waits for it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.errors import ActionableError
from jobs import lock, runner, services
from jobs.models import Job
from maintenance import container_actions, engine, gc, registry_container, snapshot
from maintenance.models import RegistryMaintenance
from maintenance.registry_jobs import ImageDescription, UpdateResult

logger = logging.getLogger(__name__)


class UpdateError(ActionableError):
    """The update cannot go on or did not work; the message says why and what happened."""


def run(job_id: int) -> None:
    """The task body: take the lock, update, record the result; never raises."""
    RegistryUpdate.handle(job_id)


class RegistryUpdate(runner.JobRunner[UpdateResult]):
    """One update for one job; ``result`` fills in as it goes (kept when it fails)."""

    kind = Job.Kind.UPDATE
    expected = (UpdateError, engine.EngineError)

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.result: UpdateResult = {}
        self.bound = float(settings.UPDATE_ANSWER_TIMEOUT)

    def execute(self) -> None:
        with lock.holding_gc_lock(gc.LOCK_WAIT_SECONDS) as held:
            if not held:
                runner.fail(
                    self.job, "A garbage collection holds the maintenance lock: try the update again when it has ended."
                )
                return
            super().execute()

    def run(self) -> UpdateResult:
        conflict = services.busy(self.kind, ignore=self.job, lock_free=True)
        if conflict is not None:
            raise UpdateError(conflict.message)
        client = engine.connect()
        try:
            return self._run(client)
        finally:
            client.close()

    def problems(self, result: UpdateResult) -> str | None:
        """Nothing changed because the pull failed: whether a newer image exists was not checked."""
        if result.get("status") == "up-to-date" and result.get("pulled") is False:
            return (
                f"The image could not be checked: pulling '{result.get('image', 'the image')}' failed "
                f"({result.get('pull_error', 'no answer')}), so the registry still runs the image the engine "
                "already had, and a newer release may exist. Check the engine's network access to the image's "
                "registry (DNS, proxy), then run the update again."
            )
        return None

    def _run(self, client: engine.DockerClient) -> UpdateResult:
        container = engine.get_registry_container(client)
        engine.require_running(container)
        saved: dict[str, Any] = container.attrs
        reference = saved["Config"]["Image"]
        old_image = engine.image_facts(client, saved["Image"])
        if old_image is None:
            raise UpdateError(f"The engine does not list the image {saved['Image']} the registry runs.")
        old_version = registry_container.registry_version(container)
        self.result.update({"image": reference, "old": _described(old_image, old_version)})
        self.log(f"Running: {reference} = {old_image.id} ({old_version}).")

        new_image = self._pull(client, reference)
        if new_image.id == old_image.id:
            self.result["status"] = "up-to-date"
            if self.result.get("pulled") is False:
                self.log(
                    f"Not checked: the pull failed, and '{reference}' on the engine is the image the registry "
                    "runs. Nothing changed."
                )
            else:
                self.log(f"Already up to date: '{reference}' is the image the registry runs. Nothing changed.")
            return self.result
        self.log(f"New image for '{reference}': {new_image.id}.")

        record = RegistryMaintenance.objects.create(
            job=self.job, container_name=saved["Name"].lstrip("/"), mode=gc.UPDATE_MODE, attrs=saved
        )
        self.log(f"Saved the container's configuration (maintenance record {record.pk}).")
        try:
            new_version = self._replace(client, saved, old_image, new_image)
        except (UpdateError, engine.EngineError, SoftTimeLimitExceeded) as e:
            reason = e.message if isinstance(e, UpdateError | engine.EngineError) else "The update ran out of time."
            self.log(f"ERROR: {reason}")
            self.log(f"Putting the old container back: {old_image.id} with its saved configuration.")
            gc.restore(client, saved, log=self.log, pin_image=True)
            _close(record, "job")
            self.result["status"] = "rolled-back"
            container_actions.record_snapshot(client)
            raise UpdateError(
                f"{reason} The registry was put back on its old image {old_image.id} ({old_version}) with its "
                "configuration unchanged."
            ) from e
        _close(record, "job")
        self.result.update({"status": "updated", "new": _described(new_image, new_version)})
        cache.set(snapshot.VERSION_CACHE_KEY, new_version, timeout=None)
        container_actions.record_snapshot(client)
        self.log(f"Updated: {old_version} -> {new_version}; the configuration is the same as before.")
        return self.result

    def _pull(self, client: engine.DockerClient, reference: str) -> engine.ImageFacts:
        self.log(f"Pulling '{reference}'.")
        try:
            image = engine.pull_image(client, reference)
        except engine.EngineError as e:
            local = engine.image_facts(client, reference)
            if local is None:
                raise UpdateError(f"{e.message} The engine has no '{reference}' either: nothing to update to.") from e
            self.result.update({"pulled": False, "pull_error": e.message})
            self.log(f"{e.message} Using what '{reference}' points to on the engine already (offline?).")
            return local
        self.result["pulled"] = True
        return image

    def _replace(
        self,
        client: engine.DockerClient,
        saved: dict[str, Any],
        old_image: engine.ImageFacts,
        new_image: engine.ImageFacts,
    ) -> str:
        """Recreate the container on the new image; its version, or UpdateError/EngineError."""
        wanted = registry_container.without_image_defaults(saved, old_image.config)
        self.log("Recreating the registry on the new image with the saved configuration.")
        new = registry_container.recreate(client, wanted)
        engine.wait_running(new, timeout=self.bound)
        if not gc.wait_answering(timeout=self.bound):
            raise UpdateError(
                f"The new registry did not answer {settings.REGISTRY_URL}/v2/ within {self.bound:g} s "
                "(UPDATE_ANSWER_TIMEOUT)."
            )
        version = registry_container.registry_version(new)
        if new.attrs.get("Image") != new_image.id:
            raise UpdateError(f"The new container runs {new.attrs.get('Image')}, not {new_image.id}.")
        kept = registry_container.without_image_defaults(new.attrs, new_image.config)
        diffs = registry_container.differences(
            registry_container.normalized(wanted), registry_container.normalized(kept)
        )
        if diffs:
            raise UpdateError("The new container's configuration differs from the saved one: " + "; ".join(diffs))
        self.log(f"The new registry answers /v2/ and says: {version}.")
        return version


def _described(image: engine.ImageFacts, version: str) -> ImageDescription:
    return {
        "image_id": image.id,
        "repo_digest": image.repo_digest,
        "version": registry_container.parse_version(version),
        "version_raw": version,
        "release_notes": snapshot.release_notes_url(registry_container.parse_version(version)),
    }


def _close(record: RegistryMaintenance, by: str) -> None:
    record.ended_at = timezone.now()
    record.restored_by = by
    record.save(update_fields=["ended_at", "restored_by"])
