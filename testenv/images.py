"""Push real fixture content into a test registry.

Two paths: ``push_docker_image`` goes through the private dockerd (what users do), the
``push_*`` functions speak the v2 API directly with ``requests`` (fast enough to seed
thousands of repositories for benchmarks). Layers are real gzip'd tars and configs are
valid image configs, so everything pushed here can be ``docker pull``ed back.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

import requests

from testenv.registry_image import add_busybox

if TYPE_CHECKING:
    from docker.models.images import Image

    from testenv.services import DockerEngine

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
#: Send all four on every manifest HEAD/GET: without the OCI types 2.8 answers 404 for
#: OCI content, without the list type it silently serves the amd64 child, and without
#: the v2 type it rewrites to schema1 with another digest (REGISTRY-FACTS.md).
ACCEPT_ALL = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"

Auth = requests.Session | tuple[str, str] | requests.auth.AuthBase | None
Platform = tuple[str, str, str | None]  # (os, architecture, variant)
_NOW = object()  # sentinel: "created" defaults to the current time


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _session(auth: Auth) -> requests.Session:
    """A Session for ``auth``: reuse a given Session, else wrap a tuple/AuthBase."""
    if isinstance(auth, requests.Session):
        return auth
    session = requests.Session()
    if auth is not None:
        session.auth = auth
    return session


def _check(resp: requests.Response, *expected: int) -> requests.Response:
    if resp.status_code not in expected:
        raise RuntimeError(f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text[:500]}")
    return resp


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class Layer:
    """A gzip'd tar layer: ``blob`` is what gets pushed, ``diff_id`` goes in the config."""

    blob: bytes
    diff_id: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.blob)


def make_layer(files: Mapping[str, bytes]) -> Layer:
    """Build a reproducible layer (fixed mtimes/owners, gzip mtime 0) from ``files``.

    Reproducible so that callers who want shared content get identical digests; pass
    unique content (``unique_files``) when digests must differ.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for path in sorted(files):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in dirs:
                    dirs.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mode = len(files[path]), 0o644
            tar.addfile(info, io.BytesIO(files[path]))
    uncompressed = raw.getvalue()
    return Layer(blob=gzip.compress(uncompressed, mtime=0), diff_id=sha256_digest(uncompressed))


def unique_files(label: str = "layer") -> dict[str, bytes]:
    """One small file with random content, so every call gives a new digest."""
    return {f"testenv/{label}-{uuid.uuid4().hex}.txt": uuid.uuid4().bytes * 4}


# --------------------------------------------------------------------------- raw v2 API


def push_blob(url: str, repo: str, data: bytes, auth: Auth = None) -> str:
    """Monolithic upload: POST to open a session, PUT ``?digest=`` with the bytes."""
    digest = sha256_digest(data)
    session = _session(auth)
    if session.head(f"{url}/v2/{repo}/blobs/{digest}", timeout=30).status_code == 200:
        return digest
    start = _check(session.post(f"{url}/v2/{repo}/blobs/uploads/", timeout=30), 202)
    location = urljoin(url + "/", start.headers["Location"])
    sep = "&" if "?" in location else "?"
    _check(
        session.put(
            f"{location}{sep}digest={digest}",
            data=data,
            timeout=120,
            headers={"Content-Type": "application/octet-stream"},
        ),
        201,
    )
    return digest


def push_manifest(url: str, repo: str, reference: str, body: bytes, media_type: str, auth: Auth = None) -> str:
    """PUT a manifest under a tag or digest; return its digest."""
    resp = _check(
        _session(auth).put(
            f"{url}/v2/{repo}/manifests/{reference}", data=body, headers={"Content-Type": media_type}, timeout=60
        ),
        201,
    )
    return resp.headers.get("Docker-Content-Digest") or sha256_digest(body)


def manifest_digest(url: str, repo: str, ref: str, auth: Auth = None) -> str | None:
    """HEAD the manifest with all four Accept types; None if it does not exist."""
    resp = _session(auth).head(f"{url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL}, timeout=30)
    if resp.status_code == 404:
        return None
    _check(resp, 200)
    return resp.headers["Docker-Content-Digest"]


def get_manifest(url: str, repo: str, ref: str, auth: Auth = None) -> tuple[bytes, str]:
    """Exact manifest bytes and Content-Type (for re-tagging or inspection)."""
    resp = _check(
        _session(auth).get(f"{url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL}, timeout=30), 200
    )
    return resp.content, resp.headers["Content-Type"]


def tag_existing(url: str, repo: str, new_tag: str, digest: str, auth: Auth = None) -> str:
    """Put ``new_tag`` on an existing manifest by re-PUTting its exact bytes."""
    body, media_type = get_manifest(url, repo, digest, auth)
    return push_manifest(url, repo, new_tag, body, media_type, auth)


def _iso(value: dt.datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def image_config(
    layers: Sequence[Layer],
    *,
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    created: Any = _NOW,
    labels: Mapping[str, str] | None = None,
    env: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
    exposed_ports: Iterable[str] | None = None,
    history: bool = True,
) -> dict[str, Any]:
    """A valid image config; ``created=None`` omits every timestamp (a "no date" image)."""
    stamp = None if created is None else _iso(dt.datetime.now(dt.UTC) if created is _NOW else created)
    container: dict[str, Any] = {
        "Env": list(env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
    }
    if cmd is not None:
        container["Cmd"] = list(cmd)
    if entrypoint is not None:
        container["Entrypoint"] = list(entrypoint)
    if labels:
        container["Labels"] = dict(labels)
    if exposed_ports:
        container["ExposedPorts"] = {port: {} for port in exposed_ports}
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": os,
        "config": container,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
    }
    if variant:
        config["variant"] = variant
    if stamp is not None:
        config["created"] = stamp
    if history:
        entries = [{"created_by": f"testenv layer {i}"} for i in range(len(layers))]
        if stamp is not None:
            for entry in entries:
                entry["created"] = stamp
        config["history"] = entries
    return config


def _as_layers(layers: Sequence[bytes | Mapping[str, bytes] | Layer] | None, layer_count: int) -> list[Layer]:
    if layers is None:
        return [make_layer(unique_files(f"layer{i}")) for i in range(layer_count)]
    result: list[Layer] = []
    for i, item in enumerate(layers):
        if isinstance(item, Layer):
            result.append(item)
        elif isinstance(item, bytes):
            result.append(make_layer({f"testenv/file{i}.bin": item}))
        else:
            result.append(make_layer(item))
    return result


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=3).encode()


def push_image_manifest(
    url: str,
    repo: str,
    reference: str | None,
    layers: Sequence[Layer],
    config: Mapping[str, Any],
    media_type: str = OCI_MANIFEST,
    auth: Auth = None,
    layer_media_type: str | None = None,
    layer_annotations: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """Push blobs, config and manifest; ``reference=None`` pushes by digest (untagged).

    Returns (manifest digest, manifest size) - what an index descriptor needs.
    """
    session = _session(auth)
    oci = media_type == OCI_MANIFEST
    config_bytes = _json_bytes(config)
    config_digest = push_blob(url, repo, config_bytes, session)
    layer_descriptors: list[dict[str, Any]] = []
    for layer in layers:
        push_blob(url, repo, layer.blob, session)
        descriptor: dict[str, Any] = {
            "mediaType": layer_media_type or (OCI_LAYER if oci else DOCKER_LAYER),
            "digest": layer.digest,
            "size": len(layer.blob),
        }
        if layer_annotations:
            descriptor["annotations"] = dict(layer_annotations)
        layer_descriptors.append(descriptor)
    body = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                "digest": config_digest,
                "size": len(config_bytes),
            },
            "layers": layer_descriptors,
        }
    )
    digest = push_manifest(url, repo, reference or sha256_digest(body), body, media_type, session)
    return digest, len(body)


def push_oci_image(
    url: str,
    repo: str,
    tag: str | None = "latest",
    *,
    layers: Sequence[bytes | Mapping[str, bytes] | Layer] | None = None,
    layer_count: int = 1,
    config: Mapping[str, Any] | None = None,
    created: Any = _NOW,
    labels: Mapping[str, str] | None = None,
    media_type: str = OCI_MANIFEST,
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    env: Sequence[str] | None = None,
    cmd: Sequence[str] | None = ("sh",),
    entrypoint: Sequence[str] | None = None,
    exposed_ports: Iterable[str] | None = None,
    auth: Auth = None,
) -> str:
    """Push a single-platform image (OCI by default, or ``media_type=DOCKER_MANIFEST``).

    ``layers`` entries are file contents, ``{path: bytes}`` maps or ready ``Layer``s;
    without them ``layer_count`` unique layers are generated. ``config`` replaces the
    generated config entirely; ``created=None`` makes an image without any date.
    ``tag=None`` pushes by digest only (an untagged manifest).
    """
    built = _as_layers(layers, layer_count)
    cfg = (
        dict(config)
        if config is not None
        else image_config(
            built,
            architecture=architecture,
            os=os,
            variant=variant,
            created=created,
            labels=labels,
            env=env,
            cmd=cmd,
            entrypoint=entrypoint,
            exposed_ports=exposed_ports,
        )
    )
    digest, _size = push_image_manifest(url, repo, tag, built, cfg, media_type, auth)
    return digest


def platform_key(platform: Platform) -> str:
    """``("linux", "arm64", "v8")`` -> ``"linux/arm64/v8"``."""
    os_name, arch, variant = platform
    return f"{os_name}/{arch}" + (f"/{variant}" if variant else "")


def _attestation(url: str, repo: str, subject: str, session: requests.Session) -> tuple[str, int]:
    """A BuildKit-style provenance attestation manifest (untagged) for ``subject``."""
    statement = _json_bytes(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": f"pkg:docker/{repo}", "digest": {"sha256": subject.split(":", 1)[1]}}],
            "predicate": {"builder": {"id": "testenv"}},
        }
    )
    layer = Layer(blob=statement, diff_id=sha256_digest(statement))
    config = {
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
    }
    return push_image_manifest(
        url,
        repo,
        None,
        [layer],
        config,
        OCI_MANIFEST,
        session,
        layer_media_type=IN_TOTO,
        layer_annotations={"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
    )


def push_oci_index(
    url: str,
    repo: str,
    tag: str = "latest",
    platforms: Sequence[Platform] = (("linux", "amd64", None), ("linux", "arm64", "v8")),
    with_attestation: bool = False,
    media_type: str = OCI_INDEX,
    created: Any = _NOW,
    labels: Mapping[str, str] | None = None,
    auth: Auth = None,
) -> tuple[str, dict[str, str]]:
    """Push a multi-platform index (or a Docker manifest list with ``media_type=DOCKER_LIST``).

    Children are pushed by digest first (2.8 refuses an index whose children are
    missing). With ``with_attestation`` each child gets a BuildKit-style attestation
    entry: platform unknown/unknown, ``vnd.docker.reference.type: attestation-manifest``.
    Returns (index digest, {"os/arch[/variant]": child digest}).
    """
    session = _session(auth)
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_MANIFEST
    entries: list[dict[str, Any]] = []
    children: dict[str, str] = {}
    for platform in platforms:
        os_name, arch, variant = platform
        layers = [make_layer(unique_files(arch))]
        config = image_config(
            layers, architecture=arch, os=os_name, variant=variant, created=created, labels=labels, cmd=("sh",)
        )
        digest, size = push_image_manifest(url, repo, None, layers, config, child_type, session)
        children[platform_key(platform)] = digest
        desc_platform: dict[str, str] = {"architecture": arch, "os": os_name}
        if variant:
            desc_platform["variant"] = variant
        entries.append({"mediaType": child_type, "digest": digest, "size": size, "platform": desc_platform})
    if with_attestation:
        for digest in list(children.values()):
            att_digest, att_size = _attestation(url, repo, digest, session)
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": att_digest,
                    "size": att_size,
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.digest": digest,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                }
            )
    body = _json_bytes({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
    return push_manifest(url, repo, tag, body, media_type, session), children


# --------------------------------------------------------------------------- via dockerd


def _registry_host(registry_url: str) -> str:
    return urlparse(registry_url).netloc


def build_image(
    engine: DockerEngine,
    repository: str,
    tag: str,
    files: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
    unique: bool = True,
    with_busybox: bool = True,
) -> str:
    """``docker import`` a rootfs (busybox + ``files``) as ``repository:tag``; return the id.

    ``unique`` adds a random file so each call yields a different digest; pass False (and
    the same files) to get identical content.
    """
    content = dict(files or {})
    if unique:
        content[f"etc/testenv-{uuid.uuid4().hex}"] = b"unique\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        if with_busybox:
            add_busybox(tar, ("sh", "ls", "cat", "sleep", "echo"))
        for path, data in sorted(content.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    changes = ['CMD ["sh"]'] + [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in (labels or {}).items()]
    result = engine.client().api.import_image_from_data(raw.getvalue(), repository=repository, tag=tag, changes=changes)
    text = result.decode() if isinstance(result, bytes) else str(result)
    for line in text.splitlines():
        message = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"docker import {repository}:{tag}: {message['error']}")
    return str(engine.client().images.get(f"{repository}:{tag}").id)


def push_docker_image(
    engine: DockerEngine,
    registry_url: str,
    repo: str,
    tag: str = "latest",
    files: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
    unique: bool = True,
    auth: tuple[str, str] | None = None,
    keep_local: bool = True,
    extra_tags: Sequence[str] = (),
) -> str:
    """Build a tiny image and ``docker push`` it with the private engine; return its digest.

    ``extra_tags`` are pushed from the same local image, so they share the manifest
    digest (re-importing identical files would not: the config records the import time).
    """
    ref = f"{_registry_host(registry_url)}/{repo}"
    image_id = build_image(engine, ref, tag, files, labels, unique)
    auth_config = {"username": auth[0], "password": auth[1]} if auth else None
    digest = ""
    for each in (tag, *extra_tags):
        if each != tag:
            engine.client().images.get(image_id).tag(ref, each)
        digest = _push(engine, ref, each, auth_config)
    if not keep_local:
        for each in (tag, *extra_tags):
            engine.client().images.remove(f"{ref}:{each}")
    return digest


def _push(engine: DockerEngine, ref: str, tag: str, auth_config: dict[str, str] | None) -> str:
    """Push one tag; the digest comes from the final ``aux`` message of the stream."""
    digest = ""
    for message in engine.client().images.push(ref, tag=tag, stream=True, decode=True, auth_config=auth_config):
        if "error" in message:
            raise RuntimeError(f"docker push {ref}:{tag}: {message['error']}")
        digest = message.get("aux", {}).get("Digest", digest)
    if not digest:
        raise RuntimeError(f"docker push {ref}:{tag} reported no digest")
    return digest


def pull_image(engine: DockerEngine, ref: str, auth: tuple[str, str] | None = None) -> Image:
    """``docker pull ref`` through the private engine (``ref`` like ``127.0.0.1:P/repo:tag``)."""
    auth_config = {"username": auth[0], "password": auth[1]} if auth else None
    if "@" in ref:  # by digest: docker-py takes it as the "tag" part
        repository, _, digest = ref.partition("@")
        return engine.client().images.pull(repository, tag=digest, auth_config=auth_config)
    repository, _, tag = ref.rpartition(":")
    if "/" in tag or not repository:  # no tag given, the colon was the port's
        repository, tag = ref, "latest"
    return engine.client().images.pull(repository, tag=tag, auth_config=auth_config)


# --- OCI artifacts (issue 15): Helm charts, signatures, SBOMs, anything with an artifactType ---

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
COSIGN_SIGNATURE_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SPDX_JSON = "application/spdx+json"


@dataclass(frozen=True)
class Pushed:
    """A manifest as pushed: what an index descriptor or a ``subject`` names."""

    digest: str
    size: int
    media_type: str = OCI_MANIFEST

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


def push_artifact(
    url: str,
    repo: str,
    reference: str | None,
    *,
    config: bytes,
    config_media_type: str,
    layers: Sequence[tuple[bytes, str]],
    artifact_type: str | None = None,
    subject: Pushed | None = None,
    annotations: Mapping[str, str] | None = None,
    auth: Auth = None,
) -> Pushed:
    """An OCI image manifest with any config and layer media types, as helm, cosign and oras
    write them; ``reference=None`` pushes it by digest."""
    session = _session(auth)
    config_digest = push_blob(url, repo, config, session)
    layer_descriptors = []
    for data, media_type in layers:
        layer_descriptors.append(
            {"mediaType": media_type, "digest": push_blob(url, repo, data, session), "size": len(data)}
        )
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_media_type, "digest": config_digest, "size": len(config)},
        "layers": layer_descriptors,
    }
    if artifact_type:
        document["artifactType"] = artifact_type
    if subject is not None:
        document["subject"] = subject.descriptor()
    if annotations:
        document["annotations"] = dict(annotations)
    body = _json_bytes(document)
    digest = push_manifest(url, repo, reference or sha256_digest(body), body, OCI_MANIFEST, session)
    return Pushed(digest, len(body))


def helm_chart_tgz(name: str, version: str) -> bytes:
    """A chart archive as `helm package` writes it: <name>/Chart.yaml inside a .tgz."""
    chart = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(chart)
        archive.addfile(info, io.BytesIO(chart))
    return raw.getvalue()


def push_helm_chart(
    url: str, repo: str, version: str, *, name: str, app_version: str = "", description: str = "", auth: Auth = None
) -> Pushed:
    """A chart as `helm push chart.tgz oci://host/<namespace>` writes it: tag = version."""
    config: dict[str, Any] = {"name": name, "version": version, "apiVersion": "v2", "type": "application"}
    if app_version:
        config["appVersion"] = app_version
    if description:
        config["description"] = description
    return push_artifact(
        url,
        repo,
        version,
        config=json.dumps(config).encode(),
        config_media_type=HELM_CONFIG,
        layers=[(helm_chart_tgz(name, version), HELM_CHART_LAYER)],
        annotations={"org.opencontainers.image.title": name, "org.opencontainers.image.version": version},
        auth=auth,
    )


def push_cosign_signature(url: str, repo: str, image_digest: str, auth: Auth = None) -> Pushed:
    """A signature as `cosign sign` writes it (tag schema): tag sha256-<hex>.sig, simple signing payload."""
    payload = json.dumps(
        {"critical": {"identity": {"docker-reference": repo}, "image": {"docker-manifest-digest": image_digest}}}
    ).encode()
    return push_artifact(
        url,
        repo,
        f"sha256-{image_digest.split(':', 1)[1]}.sig",
        config=json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": []}}).encode(),
        config_media_type=OCI_CONFIG,
        layers=[(payload, COSIGN_SIGNATURE_LAYER)],
        auth=auth,
    )


def push_referrers_index(url: str, repo: str, subject_digest: str, referrers: Sequence[tuple[Pushed, str]]) -> Pushed:
    """The OCI 1.1 referrers fallback: an index tagged sha256-<hex> listing (manifest, artifactType)."""
    body = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [pushed.descriptor(artifactType=artifact_type) for pushed, artifact_type in referrers],
        }
    )
    digest = push_manifest(url, repo, f"sha256-{subject_digest.split(':', 1)[1]}", body, OCI_INDEX)
    return Pushed(digest, len(body), OCI_INDEX)
