"""Require login for the registry, or stop requiring it: recreate the container with (or without)
the token settings, check it, and put it back as it was when a check fails (worker side).

Switching on:
- the token certificate is copied into the registry's storage root (``<root>/registry-admin/``,
  beside ``docker/``, which the registry never reads): a file in the volume survives the
  recreates GC and Update make, where one in the container's own layer would not, and the
  worker needs no host path;
- the container is recreated from its saved ``docker inspect`` with ``REGISTRY_AUTH=token`` and
  its four settings added, everything else as it was (the recreate GC and Update use);
- then ``/v2/`` must answer 401 with ``WWW-Authenticate: Bearer realm=REGISTRY_TOKEN_REALM,
  service=REGISTRY_TOKEN_SERVICE``, a robot made for the check must get a token through the realm,
  push and pull a tiny image, and anonymous requests must be refused (the catalog and a push).
Switching off recreates it without the ``REGISTRY_AUTH*`` settings and checks that ``/v2/``
answers without a login. Either way a failed check puts the saved container back (``gc.restore``)
and the job fails saying why; a worker dying midway leaves the saved record open and the GC
watchdog puts it back.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import secrets
import tarfile
import time
from datetime import timedelta
from typing import Any

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from access import services, signing
from core.errors import ActionableError
from jobs import lock, runner
from jobs import services as job_services
from jobs.models import Job
from maintenance import container_actions, engine, gc, registry_container
from maintenance.models import RegistryMaintenance

logger = logging.getLogger(__name__)

AUTH_PREFIX = "REGISTRY_AUTH"
CERTIFICATE_DIRECTORY, CERTIFICATE_NAME = services.CERTIFICATE_FILE.split("/")
CHECK_ROBOT = "login-check"
CHECK_REPOSITORY = "registry-admin/login-check"
CHECK_TAG = "check"
TIMEOUT = 10
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class SwitchError(ActionableError):
    """The switch cannot go on or its check failed; the message says why and what happened."""


def run(job_id: int) -> None:
    """The task body: take the lock, switch, record the result; never raises."""
    RegistryLoginSwitch.handle(job_id)


def token_env(root: str) -> list[str]:
    return services.token_env(root)


def certificate_path(root: str) -> str:
    return f"{root.rstrip('/')}/{services.CERTIFICATE_FILE}"


def without_auth(attrs: dict[str, Any]) -> dict[str, Any]:
    """The container's inspect with every ``REGISTRY_AUTH*`` setting taken out (htpasswd's too)."""
    changed = copy.deepcopy(attrs)
    env = changed["Config"].get("Env") or []
    changed["Config"]["Env"] = [e for e in env if not e.partition("=")[0].startswith(AUTH_PREFIX)]
    return changed


class RegistryLoginSwitch(runner.JobRunner[dict[str, Any]]):
    kind = Job.Kind.REGISTRY_LOGIN
    expected = (SwitchError, engine.EngineError)

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.enable = bool(job.params.get("enable"))
        self.result: dict[str, Any] = {"enable": self.enable}
        self.bound = float(settings.UPDATE_ANSWER_TIMEOUT)

    def execute(self) -> None:
        with lock.holding_gc_lock(gc.LOCK_WAIT_SECONDS) as held:
            if not held:
                runner.fail(self.job, "A garbage collection holds the maintenance lock: try again when it has ended.")
                return
            super().execute()

    def run(self) -> dict[str, Any]:
        conflict = job_services.busy(self.kind, ignore=self.job, lock_free=True)
        if conflict is not None:
            raise SwitchError(conflict.message)
        if self.enable and not settings.REGISTRY_TOKEN_REALM:
            raise SwitchError(
                "Set REGISTRY_TOKEN_REALM (this dashboard's /auth/token as docker clients reach it) on web and "
                "worker first: the registry sends clients there."
            )
        client = engine.connect()
        try:
            return self._run(client)
        finally:
            client.close()

    def _run(self, client: engine.DockerClient) -> dict[str, Any]:
        container = engine.get_registry_container(client)
        engine.require_running(container)
        saved: dict[str, Any] = container.attrs
        if self.enable:
            root = registry_container.data_root(container, registry_container.config_path(container))
            self._copy_certificate(container, root)
            wanted, extra = saved, token_env(root)
        else:
            wanted, extra = without_auth(saved), []
        record = RegistryMaintenance.objects.create(
            job=self.job, container_name=saved["Name"].lstrip("/"), mode=gc.UPDATE_MODE, attrs=saved
        )
        self.log(f"Saved the container's configuration (maintenance record {record.pk}).")
        changes = [e.split("=", 1)[0] + "=…" if "REALM" not in e else e for e in extra]
        self.log(
            "Recreating the registry with: " + ", ".join(changes)
            if self.enable
            else "Recreating the registry without its REGISTRY_AUTH* settings."
        )
        try:
            new = registry_container.recreate(client, wanted, extra_env=extra)
            engine.wait_running(new, timeout=self.bound)
            if not _wait_answering(self.bound):
                raise SwitchError(f"The registry did not answer {settings.REGISTRY_URL}/v2/ within {self.bound:g} s.")
            if self.enable:
                self._check_login_required()
            else:
                self._check_open()
        except (SwitchError, engine.EngineError, SoftTimeLimitExceeded) as e:
            reason = e.message if isinstance(e, SwitchError | engine.EngineError) else "The switch ran out of time."
            self.log(f"ERROR: {reason}")
            self.log("Putting the registry back as it was.")
            gc.restore(client, saved, log=self.log, pin_image=True)
            _close(record)
            container_actions.record_snapshot(client)
            self.result["status"] = "rolled-back"
            raise SwitchError(f"{reason} The registry was put back as it was.") from e
        _close(record)
        container_actions.record_snapshot(client)
        self.result["status"] = "on" if self.enable else "off"
        self.log("Done: the registry " + ("requires a login now." if self.enable else "no longer requires a login."))
        return self.result

    def _copy_certificate(self, container: Any, root: str) -> None:
        pem = signing.signing_key().certificate_pem
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            directory = tarfile.TarInfo(CERTIFICATE_DIRECTORY)
            directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
            tar.addfile(directory)
            info = tarfile.TarInfo(f"{CERTIFICATE_DIRECTORY}/{CERTIFICATE_NAME}")
            info.size, info.mode, info.mtime = len(pem), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(pem))
        if not container.put_archive(root, archive.getvalue()):
            raise SwitchError(f"Could not copy the token certificate into {root} in the registry container.")
        self.log(f"Copied the token certificate to {certificate_path(root)} (in the registry's volume).")

    # --- The checks ---------------------------------------------------------------------

    def _check_login_required(self) -> None:
        url = settings.REGISTRY_URL
        answer = _get(f"{url}/v2/")
        challenge = answer.headers.get("WWW-Authenticate", "")
        expected = f'Bearer realm="{settings.REGISTRY_TOKEN_REALM}",service="{settings.REGISTRY_TOKEN_SERVICE}"'
        if answer.status_code != 401 or not challenge.startswith(expected):
            raise SwitchError(
                f"/v2/ answered {answer.status_code} with WWW-Authenticate {challenge!r}, not 401 with {expected}."
            )
        self.log(f"/v2/ answers 401 with {challenge}.")
        robot, secret = services.create_robot(
            f"{CHECK_ROBOT}-{secrets.token_hex(4)}",
            [{"repositories": CHECK_REPOSITORY, "actions": ["pull", "push"]}],
            description="Made and deleted by the registry login switch's check.",
            expires_at=timezone.now() + timedelta(minutes=10),
        )
        try:
            digest = _push_and_pull(url, (robot.login, secret))
            self.log(f"{robot.login} logged in, pushed and pulled {CHECK_REPOSITORY}:{CHECK_TAG} ({digest}).")
        finally:
            robot.delete()
        catalog = _get(f"{url}/v2/_catalog")
        if catalog.status_code != 401:
            raise SwitchError(f"An anonymous /v2/_catalog answered {catalog.status_code}, not 401.")
        anonymous = _token_for(_scope_push(), None)
        upload = _post_upload(url, anonymous)
        if upload.status_code in (200, 201, 202):
            raise SwitchError(f"An anonymous push was let in ({upload.status_code}).")
        self.log(f"Anonymous requests are refused (catalog 401, push {upload.status_code}).")
        dashboard = (settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
        with _quietly():
            token = _token_for(f"repository:{CHECK_REPOSITORY}:delete", dashboard)
            _delete(url, digest, token)

    def _check_open(self) -> None:
        answer = _get(f"{settings.REGISTRY_URL}/v2/")
        if answer.status_code != 200:
            raise SwitchError(f"/v2/ answered {answer.status_code} without a login, not 200.")
        self.log("/v2/ answers 200 without a login.")


def _wait_answering(timeout: float) -> bool:
    """Until ``/v2/`` answers without credentials, 200 or 401 (the dashboard's client would ask the realm)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{settings.REGISTRY_URL}/v2/", timeout=TIMEOUT).status_code in (200, 401):
                return True
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _close(record: RegistryMaintenance) -> None:
    record.ended_at = timezone.now()
    record.restored_by = "job"
    record.save(update_fields=["ended_at", "restored_by"])


class _quietly:
    """Best effort: the check image's delete may fail (a protected tag rule covering it) unnoticed."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, trace: Any) -> bool:
        if value is not None:
            logger.info("Could not delete the login check's image: %s", value)
        return True


def _get(url: str, token: str | None = None, accept: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    try:
        return requests.get(url, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as e:
        raise SwitchError(f"{url} did not answer ({e}).") from e


def _scope_push() -> str:
    return f"repository:{CHECK_REPOSITORY}:pull,push"


def _token_for(scope: str, credentials: tuple[str, str] | None) -> str:
    realm = settings.REGISTRY_TOKEN_REALM
    try:
        answer = requests.get(
            realm,
            params={"service": settings.REGISTRY_TOKEN_SERVICE, "scope": scope},
            auth=credentials,
            timeout=TIMEOUT,
        )
    except requests.RequestException as e:
        raise SwitchError(
            f"The token endpoint {realm} did not answer the worker ({e}): check REGISTRY_TOKEN_REALM."
        ) from e
    if answer.status_code != 200:
        raise SwitchError(f"The token endpoint {realm} answered {answer.status_code} for {scope}.")
    return str(answer.json()["token"])


def _post_upload(url: str, token: str) -> requests.Response:
    try:
        return requests.post(
            f"{url}/v2/{CHECK_REPOSITORY}/blobs/uploads/", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
    except requests.RequestException as e:
        raise SwitchError(f"{url} did not answer an upload ({e}).") from e


def _push_blob(url: str, token: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = _post_upload(url, token)
    if started.status_code != 202:
        raise SwitchError(f"The check robot could not start an upload: {started.status_code} {started.text[:200]}")
    location = started.headers["Location"]
    location = location if location.startswith("http") else f"{url}{location}"
    done = requests.put(
        location,
        params={"digest": digest},
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        timeout=TIMEOUT,
    )
    if done.status_code != 201:
        raise SwitchError(f"The check robot's blob upload answered {done.status_code}: {done.text[:200]}")
    return digest


def _push_and_pull(url: str, credentials: tuple[str, str]) -> str:
    token = _token_for(_scope_push(), credentials)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = secrets.token_bytes(64)
    config_digest = _push_blob(url, token, config)
    layer_digest = _push_blob(url, token, layer)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}
            ],
        }
    ).encode()
    put = requests.put(
        f"{url}/v2/{CHECK_REPOSITORY}/manifests/{CHECK_TAG}",
        data=manifest,
        headers={"Authorization": f"Bearer {token}", "Content-Type": OCI_MANIFEST},
        timeout=TIMEOUT,
    )
    if put.status_code != 201:
        raise SwitchError(f"The check robot's manifest push answered {put.status_code}: {put.text[:200]}")
    pulled = _get(f"{url}/v2/{CHECK_REPOSITORY}/manifests/{CHECK_TAG}", token, accept=OCI_MANIFEST)
    if pulled.status_code != 200 or pulled.content != manifest:
        raise SwitchError(f"The check robot could not pull what it pushed ({pulled.status_code}).")
    return str(put.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(manifest).hexdigest())


def _delete(url: str, digest: str, token: str) -> None:
    requests.delete(
        f"{url}/v2/{CHECK_REPOSITORY}/manifests/{digest}", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    ).raise_for_status()
