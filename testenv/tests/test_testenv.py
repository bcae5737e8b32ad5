"""Tests of the real-services environment itself (plain pytest, no Django).

Run: ``cd /work/wt-testenv && /work/main/.venv/bin/python -m pytest testenv -p no:django``
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testenv import _sys
from testenv.auth import (
    BearerAuth,
    TokenServer,
    libtrust_key_id,
    start_htpasswd_registry,
    start_token_registry,
    write_htpasswd,
)
from testenv.errors import ServiceUnavailable
from testenv.images import (
    ACCEPT_ALL,
    DOCKER_MANIFEST,
    OCI_INDEX,
    get_manifest,
    manifest_digest,
    pull_image,
    push_docker_image,
    push_oci_image,
    push_oci_index,
    tag_existing,
)
from testenv.registry_image import (
    V2_IMAGE,
    V3_IMAGE,
    all_busybox_applets,
    registry_v3_rootfs_tar,
    registry_version,
    v3_binary,
    v3_binary_problem,
)
from testenv.services import DockerEngine, RegistryService, Services, start_dockerd, start_registry


def _repo(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_registry_answers_empty_json(registry: RegistryService) -> None:
    resp = requests.get(f"{registry.url}/v2/", timeout=5)
    assert resp.status_code == 200
    assert resp.json() == {}


def test_registry_version_in_container(each_registry: RegistryService, engine: DockerEngine) -> None:
    code, output = each_registry.exec("registry", "--version")
    assert code == 0
    if each_registry.major == 3:
        assert output.strip() == "registry github.com/distribution/distribution/v3 v3.1.1"
        assert registry_version(engine, V3_IMAGE) == output.strip()
    else:
        assert output.strip() == "registry github.com/docker/distribution 2.8.2+ds1"
        assert registry_version(engine, V2_IMAGE) == output.strip()


def test_the_primary_registry_is_v3(services: Services, registry_v3: RegistryService) -> None:
    assert services.registry is registry_v3 and registry_v3.container_name == "registry"
    assert services.registry_image == V3_IMAGE == registry_v3.image
    assert services.registry_v2 is not None and services.registry_v2.image == V2_IMAGE
    assert services.registry_v2.container_name == "registry-v2"
    assert os.environ["TESTENV_REGISTRY_V2_URL"] == services.registry_v2.url
    assert requests.get(f"{services.registry_v2.url}/v2/", timeout=5).json() == {}


def test_v3_image_has_every_busybox_applet(registry_v3: RegistryService) -> None:
    """The official image is Alpine-based: every busybox applet is there, not a chosen few."""
    wanted = all_busybox_applets()
    assert {"wget", "test", "du", "sh", "nc", "vi", "tar"} <= set(wanted)
    code, output = registry_v3.exec(
        "sh", "-c", "for a in " + " ".join(wanted) + '; do [ -x "/bin/$a" ] || echo "$a"; done'
    )
    assert code == 0 and output.strip() == ""
    code, output = registry_v3.exec("wget", "-q", "-O", "-", f"{registry_v3.url}/v2/")
    assert code == 0 and output.strip() == "{}"
    code, output = registry_v3.exec("test", "-d", "/var/lib/registry")
    assert code == 0


def test_v3_entrypoint_dispatches_like_the_official_image(engine: DockerEngine, registry_v3: RegistryService) -> None:
    client = engine.client()
    helped = client.containers.run(V3_IMAGE, ["help"], remove=True, network_mode="host", stdout=True, stderr=True)
    assert b"garbage-collect" in helped and b"serve" in helped
    # Any other command runs as is (e.g. a shell), as in the official image.
    echoed = client.containers.run(V3_IMAGE, ["echo", "hello"], remove=True, network_mode="host")
    assert echoed == b"hello\n"
    attrs = registry_v3.container.attrs
    assert attrs["Config"]["Entrypoint"] == ["/entrypoint.sh"]
    assert attrs["Config"]["Cmd"] == ["/etc/distribution/config.yml"]
    assert "/var/lib/registry" in attrs["Config"]["Volumes"]
    assert "OTEL_TRACES_EXPORTER=none" in attrs["Config"]["Env"]
    # OTEL_TRACES_EXPORTER=none: no 'traces export' errors towards localhost:4318 (distribution#4270).
    # (Look for the exporter's address, not the bare port: a client's port like 127.0.0.1:34318 is no trace error.)
    logs = registry_v3.logs(200)
    assert "localhost:4318" not in logs and "traces export" not in logs


def test_v3_binary_comes_from_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REGISTRY_V3_BINARY", raising=False)
    assert v3_binary() == Path(__file__).resolve().parents[2].parent / "shared/registry-v3/registry"
    monkeypatch.setenv("REGISTRY_V3_BINARY", str(tmp_path / "nowhere"))
    problem = v3_binary_problem()
    assert problem is not None and "nowhere" in problem and "REGISTRY_V3_BINARY" in problem
    with pytest.raises(ServiceUnavailable, match="REGISTRY_V3_BINARY"):
        registry_v3_rootfs_tar()


def test_main_container_looks_like_production(registry: RegistryService) -> None:
    attrs = registry.container.attrs
    assert registry.container_name == "registry"
    assert attrs["HostConfig"]["NetworkMode"] == "host"
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert attrs["HostConfig"]["Memory"] == 1024**3
    assert attrs["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}
    assert attrs["Config"]["Entrypoint"] == ["/entrypoint.sh"]
    assert attrs["Config"]["Cmd"] == ["/etc/distribution/config.yml"]
    assert "OTEL_TRACES_EXPORTER=none" in attrs["Config"]["Env"]
    code, config = registry.exec("cat", "/etc/distribution/config.yml")
    assert code == 0 and "rootdirectory: /var/lib/registry" in config
    assert "auth" not in config and "delete" not in config


def test_docker_push_then_pull_after_local_removal(registry: RegistryService, engine: DockerEngine) -> None:
    repo = _repo("pushed")
    digest = push_docker_image(
        engine,
        registry.url,
        repo,
        "v1",
        files={"app/hello.txt": b"hi\n"},
        labels={"org.example.team": "qa"},
        keep_local=False,
    )
    assert digest.startswith("sha256:")
    assert manifest_digest(registry.url, repo, "v1") == digest
    image = pull_image(engine, f"{registry.host_port}/{repo}:v1")
    assert image.labels == {"org.example.team": "qa"}
    output = engine.client().containers.run(image.id, ["cat", "/app/hello.txt"], remove=True, network_mode="host")
    assert output == b"hi\n"


def test_oci_index_with_attestation(registry: RegistryService, engine: DockerEngine) -> None:
    repo = _repo("multi")
    index_digest, children = push_oci_index(registry.url, repo, "latest", with_attestation=True)
    assert set(children) == {"linux/amd64", "linux/arm64/v8"}
    head = requests.head(f"{registry.url}/v2/{repo}/manifests/latest", headers={"Accept": ACCEPT_ALL}, timeout=5)
    assert head.headers["Docker-Content-Digest"] == index_digest
    assert head.headers["Content-Type"] == OCI_INDEX
    body, _ = get_manifest(registry.url, repo, index_digest)
    entries = json.loads(body)["manifests"]
    attestations = [e for e in entries if e["platform"] == {"architecture": "unknown", "os": "unknown"}]
    assert len(attestations) == 2
    assert {a["annotations"]["vnd.docker.reference.type"] for a in attestations} == {"attestation-manifest"}
    assert {a["annotations"]["vnd.docker.reference.digest"] for a in attestations} == set(children.values())
    # The amd64 child is a real, pullable image.
    pull_image(engine, f"{registry.host_port}/{repo}@{children['linux/amd64']}")


def test_docker_v2_image_and_image_without_created(registry: RegistryService, engine: DockerEngine) -> None:
    repo = _repo("v2")
    digest = push_oci_image(
        registry.url,
        repo,
        "docker",
        media_type=DOCKER_MANIFEST,
        layer_count=2,
        labels={"a": "b"},
        exposed_ports=["8080/tcp"],
    )
    body, media_type = get_manifest(registry.url, repo, "docker")
    assert media_type == DOCKER_MANIFEST and len(json.loads(body)["layers"]) == 2
    assert manifest_digest(registry.url, repo, "docker") == digest
    undated = push_oci_image(registry.url, repo, "undated", created=None)
    manifest = json.loads(get_manifest(registry.url, repo, undated)[0])
    config = requests.get(f"{registry.url}/v2/{repo}/blobs/{manifest['config']['digest']}", timeout=5).json()
    assert "created" not in config
    assert all("created" not in entry for entry in config["history"])
    image = pull_image(engine, f"{registry.host_port}/{repo}:docker")
    assert image.labels == {"a": "b"}


def test_two_tags_share_one_manifest(registry: RegistryService, engine: DockerEngine) -> None:
    repo = _repo("twotags")
    digest = push_oci_image(registry.url, repo, "1.0")
    assert tag_existing(registry.url, repo, "stable", digest) == digest
    assert manifest_digest(registry.url, repo, "stable") == digest
    docker_digest = push_docker_image(engine, registry.url, repo, "2.0", extra_tags=["latest"])
    assert manifest_digest(registry.url, repo, "latest") == docker_digest
    tags = requests.get(f"{registry.url}/v2/{repo}/tags/list", timeout=5).json()["tags"]
    assert sorted(tags) == ["1.0", "2.0", "latest", "stable"]


def test_delete_by_digest_removes_every_tag(registry: RegistryService) -> None:
    repo = _repo("delete")
    digest = push_oci_image(registry.url, repo, "a")
    tag_existing(registry.url, repo, "b", digest)
    resp = requests.delete(f"{registry.url}/v2/{repo}/manifests/{digest}", timeout=5)
    assert resp.status_code == 202
    assert manifest_digest(registry.url, repo, "a") is None
    assert manifest_digest(registry.url, repo, "b") is None  # distribution#1566


@pytest.fixture
def extra_registry(engine: DockerEngine) -> Iterator[list[RegistryService]]:
    """Collects extra registries a test starts and removes them afterwards."""
    started: list[RegistryService] = []
    yield started
    for reg in started:
        reg.remove()


@pytest.mark.parametrize("major", [3, 2])
def test_delete_disabled_answers_405(engine: DockerEngine, extra_registry: list[RegistryService], major: int) -> None:
    if major not in engine.registry_images:
        pytest.skip(v3_binary_problem() or "no such registry image")
    reg = start_registry(
        engine, f"registry-nodelete-{major}", delete_enabled=False, image=engine.registry_images[major]
    )
    extra_registry.append(reg)
    digest = push_oci_image(reg.url, "locked", "v1")
    resp = requests.delete(f"{reg.url}/v2/locked/manifests/{digest}", timeout=5)
    assert resp.status_code == 405
    assert resp.json()["errors"][0]["code"] == "UNSUPPORTED"
    # 3.1.1 refuses the tag delete too (3.0.0 ignored delete.enabled for it: CVE-2026-41888);
    # 2.8 checks delete.enabled before it looks at the reference.
    resp = requests.delete(f"{reg.url}/v2/locked/manifests/v1", timeout=5)
    assert resp.status_code == 405, resp.text
    assert resp.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert manifest_digest(reg.url, "locked", "v1") == digest


@pytest.mark.parametrize("major", [3, 2])
def test_htpasswd_registry(
    engine: DockerEngine, extra_registry: list[RegistryService], tmp_path: Path, major: int
) -> None:
    if major not in engine.registry_images:
        pytest.skip(v3_binary_problem() or "no such registry image")
    assert write_htpasswd(tmp_path / "htpasswd", "alice", "s3cret").read_text().startswith("alice:$2b$")
    reg = start_htpasswd_registry(
        engine, f"registry-basic-{major}", {"alice": "s3cret"}, image=engine.registry_images[major]
    )
    extra_registry.append(reg)
    assert requests.get(f"{reg.url}/v2/", timeout=5).status_code == 401
    assert requests.get(f"{reg.url}/v2/", auth=("alice", "wrong"), timeout=5).status_code == 401
    assert requests.get(f"{reg.url}/v2/", auth=("alice", "s3cret"), timeout=5).status_code == 200
    digest = push_oci_image(reg.url, "private/app", "v1", auth=("alice", "s3cret"))
    assert manifest_digest(reg.url, "private/app", "v1", auth=("alice", "s3cret")) == digest
    pushed = push_docker_image(engine, reg.url, "private/cli", "v1", auth=("alice", "s3cret"))
    assert manifest_digest(reg.url, "private/cli", "v1", auth=("alice", "s3cret")) == pushed


@pytest.mark.parametrize("major", [3, 2])
def test_token_registry(engine: DockerEngine, extra_registry: list[RegistryService], major: int) -> None:
    if major not in engine.registry_images:
        pytest.skip(v3_binary_problem() or "no such registry image")
    server = TokenServer(users={"bob": "pw"})
    try:
        reg = start_token_registry(engine, f"registry-token-{major}", server, image=engine.registry_images[major])
        extra_registry.append(reg)
        anonymous = requests.get(f"{reg.url}/v2/", timeout=5)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith(f'Bearer realm="{server.realm}"')
        auth = BearerAuth("bob", "pw")
        assert requests.get(f"{reg.url}/v2/", auth=auth, timeout=5).status_code == 200
        digest = push_oci_image(reg.url, "tok/app", "v1", auth=auth)
        assert manifest_digest(reg.url, "tok/app", "v1", auth=auth) == digest
        catalog = requests.get(f"{reg.url}/v2/_catalog", auth=auth, timeout=5)
        assert catalog.status_code == 200 and "tok/app" in catalog.json()["repositories"]
        with pytest.raises(requests.HTTPError):  # the token server refuses bad credentials
            requests.get(f"{reg.url}/v2/", auth=BearerAuth("bob", "bad"), timeout=5)
        pushed = push_docker_image(engine, reg.url, "tok/cli", "v1", auth=("bob", "pw"))
        assert manifest_digest(reg.url, "tok/cli", "v1", auth=auth) == pushed
    finally:
        server.stop()


def test_libtrust_key_id_format() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    kid = libtrust_key_id(rsa.generate_private_key(65537, 2048).public_key())
    groups = kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)


def test_garbage_collect_dry_run(registry: RegistryService) -> None:
    push_oci_image(registry.url, _repo("gc"), "v1")
    code, output = registry.garbage_collect("--dry-run")
    assert code == 0, output
    assert "blobs marked" in output and "eligible for deletion" in output


def test_data_dir_on_host(services: object, registry: RegistryService) -> None:
    push_oci_image(registry.url, _repo("data"), "v1")
    v2 = registry.data_dir / "docker" / "registry" / "v2"
    assert (v2 / "repositories").is_dir() and (v2 / "blobs").is_dir()
    code, output = registry.exec("du", "-sk", "/var/lib/registry")
    assert code == 0 and int(output.split()[0]) > 0


def test_private_engine_stops_cleanly() -> None:
    """A second engine with a running container leaves no process, mount or dir behind."""
    workdir = _sys.make_workdir("ra-t-")
    try:
        engine = start_dockerd(workdir)
        client = engine.client()
        client.api.import_image_from_data(_busybox_tar(), repository="bb", tag="1")
        client.containers.run(
            "bb:1", ["sleep", "300"], detach=True, network_mode="host", restart_policy={"Name": "always"}
        )
        assert _sys.processes_mentioning([str(engine.exec_root)])
        engine.stop()
        assert not _sys.processes_mentioning([str(engine.exec_root), str(engine.data_root)])
        assert not _sys.mounts_under(workdir)
        assert not engine.data_root.exists() and not engine.exec_root.exists()
    finally:
        _sys.unmount_all(workdir)
        _sys.remove_tree(workdir)


def _busybox_tar() -> bytes:
    import io
    import tarfile

    from testenv.registry_image import add_busybox

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_busybox(tar, ("sh", "sleep"))
    return buf.getvalue()


def test_a_private_postgres_starts_as_a_non_root_user_and_stops_cleanly() -> None:
    import psycopg

    from testenv.postgres import start_postgres

    workdir = _sys.make_workdir("ra-t-")
    try:
        pg = start_postgres(workdir)
        try:
            assert pg.url.startswith("postgres://registry_admin:") and f"127.0.0.1:{pg.port}/" in pg.url
            with psycopg.connect(pg.url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
                user, version = conn.execute("SELECT current_user, current_setting('server_version_num')").fetchone()
                assert user == "registry_admin" and int(version) >= 130000
            assert (pg.socket_dir / f".s.PGSQL.{pg.port}").exists()  # its socket is in the work dir
            if os.geteuid() == 0:
                assert Path(f"/proc/{pg.process.pid}").stat().st_uid != 0  # never as root
            with pytest.raises(psycopg.OperationalError):  # a password is needed
                psycopg.connect(f"postgresql://registry_admin:wrong@127.0.0.1:{pg.port}/registry_admin")
        finally:
            pg.stop()
        assert pg.process.poll() is not None
        assert not _sys.processes_mentioning([str(pg.data_dir)])
    finally:
        _sys.remove_tree(workdir)
