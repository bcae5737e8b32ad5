"""Proof that the deployment boots: `make deploy-test`.

Builds the Dockerfile with a private dockerd on an offline base image (deploy/tests/base_image.py),
starts the registry with the compose file's environment (testenv's registry:3 image, built from
the Distribution v3.1.1 binary) and its Redis cache, the dashboard's Redis, and web, worker and beat from
docker-compose.yml (deploy/tests/compose.py: same image, commands, environment, volumes, socket,
group and health checks; host networking instead of the compose network), waits for Docker to
call each one healthy, logs in over HTTP, and runs a dry-run garbage collection through the
worker's Docker socket. Everything it starts lives under one private work dir and is removed.

Not part of `make test` (see README, "Proof that it boots"): the first run spends about
2.5 minutes in debootstrap and the image build another few; later runs reuse the cached
root filesystem in .testenv/deploy-cache/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import redis
import requests

from deploy.tests import compose
from deploy.tests.base_image import build_base_image
from testenv import _sys
from testenv.images import push_docker_image
from testenv.registry_image import DEFAULT_IMAGE, build_registry_image
from testenv.services import DockerEngine, RedisService, RegistryService, start_dockerd, start_redis, start_registry

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("DEPLOY_TEST_CACHE", ROOT / ".testenv" / "deploy-cache"))
IMAGE = "registry-admin:deploy-test"
SUPERUSER = ("admin", "deploy-test correct horse battery")
APP_UID = 1000
# Docker runs a health check every `interval`; the compose file's 30-60 s would make the test
# wait minutes for the first verdicts, so the boot test shortens only the interval.
TEST_HEALTH_INTERVAL = "5s"


@dataclass
class Stack:
    engine: DockerEngine
    registry: RegistryService
    registry_redis: RedisService
    redis: RedisService
    data_dir: Path
    web_url: str
    timings: dict[str, float]

    def container(self, service: str) -> Any:
        return self.engine.client().containers.get(f"ra-{service}")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = _sys.make_workdir("rad-")
    yield path
    _sys.unmount_all(path)
    _sys.remove_tree(path)


@pytest.fixture(scope="module")
def engine(workdir: Path) -> Iterator[DockerEngine]:
    engine = start_dockerd(workdir)
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def dashboard_image(engine: DockerEngine) -> dict[str, float]:
    """Build the project's image on the offline base; return how long each part took."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    base = build_base_image(engine, CACHE_DIR)
    timings["base image"] = time.monotonic() - started
    started = time.monotonic()
    build_args = {"BASE_IMAGE": base}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if os.environ.get(proxy):  # Docker's predefined build args: pip in the build uses them
            build_args[proxy] = os.environ[proxy]
    api = docker.APIClient(base_url=engine.host, timeout=1800)
    log: list[str] = []
    try:
        for chunk in api.build(
            path=str(ROOT), tag=IMAGE, buildargs=build_args, network_mode="host", rm=True, forcerm=True, decode=True
        ):
            if "stream" in chunk:
                log.append(chunk["stream"])
            if "error" in chunk:
                pytest.fail(f"docker build failed: {chunk['error']}\n{''.join(log)[-5000:]}")
    finally:
        api.close()
    timings["image build"] = time.monotonic() - started
    return timings


def _wait_healthy(container: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        health = state.get("Health", {})
        if health.get("Status") == "healthy":
            return
        if state["Status"] in ("exited", "dead") or health.get("Status") == "unhealthy":
            break
        time.sleep(1)
    log = (container.attrs["State"].get("Health") or {}).get("Log", [])[-3:]
    pytest.fail(
        f"{container.name} is not healthy ({container.attrs['State']['Status']}, health log {json.dumps(log)}):\n"
        + container.logs(tail=60).decode(errors="replace")
    )


def _start_service(engine: DockerEngine, name: str, variables: dict[str, str], overrides: dict[str, str]) -> Any:
    svc = compose.service(name, variables)
    svc["healthcheck"] = {**svc["healthcheck"], "interval": TEST_HEALTH_INTERVAL}
    return engine.client().containers.run(**compose.run_arguments(svc, f"ra-{name}", overrides))


@pytest.fixture(scope="module")
def stack(engine: DockerEngine, dashboard_image: dict[str, float], workdir: Path) -> Iterator[Stack]:
    timings = dict(dashboard_image)
    started = time.monotonic()
    registry_redis = start_redis(workdir / "registry-redis")
    redis_svc = start_redis(workdir / "redis")
    try:
        # The registry with the compose file's environment; only its addresses change for the
        # host network (the stand-in sets REGISTRY_HTTP_ADDR to a free loopback port itself).
        build_registry_image(engine, DEFAULT_IMAGE)
        seed_env = compose.service(
            "registry", {"REGISTRY_HTTP_SECRET": "deploy-test-secret", "REGISTRY_EVENTS_TOKEN": "deploy-test-token"}
        )["environment"]
        # web:8000 is a name on compose's network only: the boot test's registry sends no events.
        skipped = ("REGISTRY_HTTP_ADDR", "REGISTRY_NOTIFICATIONS_ENDPOINTS")
        registry_env = {k: str(v) for k, v in seed_env.items() if k not in skipped}
        registry_env["REGISTRY_REDIS_ADDR"] = f"127.0.0.1:{registry_redis.port}"
        registry_env["REGISTRY_REDIS_OPTIONS_ADDRS"] = f"[127.0.0.1:{registry_redis.port}]"
        registry = start_registry(engine, "registry", env=registry_env, data_dir=workdir / "registry-data")

        data_dir = workdir / "registry-admin"
        data_dir.mkdir()
        os.chown(data_dir, APP_UID, APP_UID)  # README, step 2
        web_port = _sys.free_port()
        variables = {
            "DASHBOARD_IMAGE": IMAGE,
            "DASHBOARD_DATA": str(data_dir),
            "DOCKER_SOCKET": str(engine.socket_path),
            "DOCKER_GID": str(engine.socket_path.stat().st_gid),
            "REGISTRY_HTTP_SECRET": "deploy-test-secret",
            "REGISTRY_EVENTS_TOKEN": "deploy-test-token",
            "REGISTRY_PUBLIC_HOST": registry.host_port,
            # Narrowed on purpose: the web health check must still find a Host Django accepts.
            "DJANGO_ALLOWED_HOSTS": "nas.example.lan,127.0.0.1",
            "DJANGO_SUPERUSER_USERNAME": SUPERUSER[0],
            "DJANGO_SUPERUSER_PASSWORD": SUPERUSER[1],
            "ENGINE_HEALTH_INTERVAL": "5",
            "WEB_WORKERS": "1",
        }
        host_network = {"REGISTRY_URL": registry.url, "REDIS_URL": redis_svc.url}
        web = _start_service(engine, "web", variables, {**host_network, "PORT": str(web_port)})
        _wait_healthy(web, 180)
        timings["web healthy"] = time.monotonic() - started
        # beat runs inside the worker (BEAT_IN_WORKER, the default); the beat service is a profile.
        worker = _start_service(engine, "worker", variables, host_network)
        _wait_healthy(worker, 180)
        timings["worker (with beat) healthy"] = time.monotonic() - started
        yield Stack(
            engine=engine,
            registry=registry,
            registry_redis=registry_redis,
            redis=redis_svc,
            data_dir=data_dir,
            web_url=f"http://127.0.0.1:{web_port}",
            timings=timings,
        )
        print(f"\ndeploy-test timings: {', '.join(f'{k} {v:.0f}s' for k, v in timings.items())}")
    finally:
        with contextlib.suppress(docker.errors.APIError):
            for container in engine.client().containers.list(all=True):
                container.remove(force=True)
        redis_svc.stop()
        registry_redis.stop()


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    """A token made the way the README says: `docker compose exec web python manage.py drf_create_token`."""
    code, output = stack.container("web").exec_run(["python", "manage.py", "drf_create_token", SUPERUSER[0]])
    assert code == 0, output.decode()
    match = re.search(r"Generated token (\w+)", output.decode())
    assert match, output.decode()
    return match[1]


def test_the_image_runs_as_app_with_collected_static_files_and_no_secret_baked_in(stack: Stack) -> None:
    # Inside the running web container: every extra container costs a full copy on the test
    # engine's vfs storage.
    web = stack.container("web")
    code, output = web.exec_run(["sh", "-c", "id -u; id -g; test -f /app/staticfiles/staticfiles.json && echo static"])
    assert output.decode().split() == [str(APP_UID), str(APP_UID), "static"], output.decode()
    # As root, to see every directory: collectstatic's throwaway key stayed out of the image.
    code, output = web.exec_run(["find", "/", "-xdev", "-name", "secret_key", "-not", "-path", "/data/*"], user="root")
    assert (code, output.decode()) == (0, "")
    code, output = web.exec_run(["ls", "-A", "/app"])
    app_files = output.decode().split()
    assert {"manage.py", "registry_admin", "deploy"} <= set(app_files)
    assert not {"conftest.py", "testenv", ".env", "data", ".git"} & set(app_files)
    code, output = web.exec_run(["ls", "/app/deploy"])
    assert output.decode().split() == ["__init__.py", "entrypoint.sh", "healthcheck.py"]


def test_web_refuses_a_data_dir_it_cannot_write_and_says_how_to_fix_it(engine: DockerEngine, workdir: Path) -> None:
    root_owned = workdir / "root-owned-data"
    root_owned.mkdir(mode=0o755)
    container = engine.client().containers.run(
        IMAGE, ["web"], detach=True, network_mode="host", volumes={str(root_owned): {"bind": "/data", "mode": "rw"}}
    )
    try:
        assert container.wait(timeout=60)["StatusCode"] == 1
        assert "chown -R 1000:1000 /share/Container/registry-admin" in container.logs().decode()
    finally:
        container.remove(force=True)


def test_the_registry_runs_with_the_installation_guides_production_environment(stack: Stack) -> None:
    health_check = compose.service("registry", {"REGISTRY_HTTP_SECRET": "x", "REGISTRY_EVENTS_TOKEN": "x"})[
        "healthcheck"
    ]["test"]
    assert health_check[0] == "CMD-SHELL"
    # On the host network the stand-in listens on a free port instead of 5000.
    code, output = stack.registry.exec("sh", "-c", health_check[1].replace(":5000/", f":{stack.registry.port}/"))
    assert code == 0, output
    push_docker_image(stack.engine, stack.registry.url, "deploy-test/hello", keep_local=False)
    cache = redis.Redis.from_url(stack.registry_redis.url)
    assert cache.keys("blobs::*"), "the registry did not use its Redis blob-descriptor cache"
    assert "Ignoring unrecognized environment variable REGISTRY_REDIS_OPTIONS_ADDRS" in stack.registry.logs(200)


def test_web_worker_and_beat_are_healthy_with_the_compose_health_checks(stack: Stack) -> None:
    for service in ("web", "worker"):
        container = stack.container(service)
        container.reload()
        assert container.attrs["State"]["Health"]["Status"] == "healthy", service
    worker_mounts = {m["Destination"] for m in stack.container("worker").attrs["Mounts"]}
    web_mounts = {m["Destination"] for m in stack.container("web").attrs["Mounts"]}
    assert "/var/run/docker.sock" in worker_mounts
    assert "/var/run/docker.sock" not in web_mounts
    assert (stack.data_dir / "db.sqlite3").exists() and (stack.data_dir / "secret_key").exists()


def test_the_anonymous_alive_page_answers_ok_and_everything_else_wants_a_login(stack: Stack) -> None:
    alive = requests.get(f"{stack.web_url}/-/alive", timeout=10)
    assert (alive.status_code, alive.text) == (200, "ok")
    assert requests.get(f"{stack.web_url}/api/v1/health/", timeout=10).status_code == 401
    page = requests.get(f"{stack.web_url}/", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and "/accounts/login/" in page.headers["Location"]


def test_the_superuser_logs_in_over_http_and_sees_static_files(stack: Stack) -> None:
    session = requests.Session()
    form = session.get(f"{stack.web_url}/accounts/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert form.status_code == 200 and csrf
    response = session.post(
        f"{stack.web_url}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf[1], "username": SUPERUSER[0], "password": SUPERUSER[1]},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    dashboard = session.get(f"{stack.web_url}/", timeout=10)
    assert dashboard.status_code == 200
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', dashboard.text)
    assert stylesheet, "no stylesheet link on the dashboard"
    assert session.get(f"{stack.web_url}{stylesheet[1]}", timeout=10).status_code == 200  # WhiteNoise


def test_the_health_api_sees_the_engine_through_the_worker(stack: Stack, token: str) -> None:
    headers = {"Authorization": f"Token {token}"}
    response = requests.get(f"{stack.web_url}/api/v1/health/", headers=headers, timeout=30)
    body = response.json()
    assert response.status_code == 200, body
    assert body["docker"]["ok"] and "'registry' is running" in body["docker"]["detail"], body["docker"]
    assert body["registry"]["ok"] and body["broker"]["ok"]


def test_beat_fires_the_engine_health_schedule_and_the_worker_runs_it(stack: Stack) -> None:
    """Beat (a thread of the worker) -> Redis -> worker, every ENGINE_HEALTH_INTERVAL (5 s here),
    with nobody asking.

    (Beat writes last_run_at to the database only every 3 minutes, so the logs tell sooner.)
    """
    since = int(time.time())
    time.sleep(16)
    logs = stack.container("worker").logs(since=since).decode()
    sent = logs.count("Sending due task record-engine-health")
    received = logs.count("Task maintenance.tasks.check_engine[")
    assert sent >= 2, stack.container("worker").logs(tail=20).decode()
    assert received >= sent, stack.container("worker").logs(tail=20).decode()


def test_a_dry_run_gc_runs_through_the_worker_and_succeeds(stack: Stack, token: str) -> None:
    """POST /api/v1/gc/ -> the worker execs `registry garbage-collect --dry-run` through its socket."""
    digest = push_docker_image(stack.engine, stack.registry.url, "deploy-test/collectable", keep_local=False)
    deleted = requests.delete(f"{stack.registry.url}/v2/deploy-test/collectable/manifests/{digest}", timeout=10)
    assert deleted.status_code == 202, deleted.text
    headers = {"Authorization": f"Token {token}"}
    response = requests.post(f"{stack.web_url}/api/v1/gc/", json={"dry_run": True}, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    job_url = f"{stack.web_url}/api/v1/jobs/{response.json()['id']}/"
    deadline = time.monotonic() + 300
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = requests.get(job_url, headers=headers, timeout=30).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(2)
    assert job["status"] == "succeeded", job
    assert job["result"]["mode"] == "dry-run"
    assert job["result"]["blobs_eligible"] >= 1, job["output"]
    assert "blobs marked" in job["output"]
