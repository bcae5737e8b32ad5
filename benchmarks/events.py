"""``make benchmark-events``: the registry's notifications at CI speed (issue 22), on real services.

Starts Redis, a private dockerd and the v3.1.1 registry image (testenv.start_all), then, as
``make run`` does, a web server (gunicorn's asgi worker, 1 process, then 2) and a Celery worker
(concurrency 2) on a fresh SQLite database, and beside them a **raw baseline**: the same
gunicorn answering the same POSTs with a fixed body from a bare ASGI function (no Django, no
database), so that the machine's load, shared with other jobs, can be read off the ratio.

Measured, with the load sampled throughout:

- **receive rate**: one sender posting in a row on one kept-alive connection, as the registry
  does (one event per request, the next when the answer came), and 8 senders; events/s and the
  answer's median, against the raw baseline in the same run; median of ``--runs``;
- **web CPU per 1,000 events**: user + system CPU of the gunicorn processes over the one-sender run;
- **lag** at 50, 200 and 1,000 events/s offered (1 sender below 100/s, else 8), for
  ``--lag-seconds`` each: from each answer to the moment the event is applied (``processed``,
  committed with its effects, which is what the API reads), polled every 20 ms;
- **the burst**: a registry of its own (v3.1.1) sending every event (blobs too) to the web;
  40 images pushed by 8 clients, then each pulled once as ``docker pull`` does (HEAD by tag,
  GET by digest, GET of config and layer): about 280 events; seconds from the last pull to all
  40 tags visible and every pull counted once; the applier's registry requests per push (the
  worker's log).

Prints the figures and writes them into ``benchmarks/README.md`` under "Events". Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from benchmarks.helpers import LoadSampler, machine, setup_django, web_command, with_services, write_block
from testenv import _sys, images
from testenv.services import start_registry

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).with_name("README.md")
TOKEN = "bench-events-token"  # noqa: S105 - a private test service
V2 = "application/vnd.docker.distribution.events.v2+json"
OCI = "application/vnd.oci.image.manifest.v1+json"
# As ``make run`` and the image start it (helpers.web_command): 1 web process by default; the
# receive rates are measured again with 2.
WEB_WORKERS = (1, 2)
RAW = "benchmarks.raw_asgi:application"


def gunicorn(workers: int, port: int, app: str) -> list[str]:
    return web_command(port, app, workers)


# --- The processes ---------------------------------------------------------------------------


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children alive now (the gunicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid] + [
        int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# --- Sending -------------------------------------------------------------------------------


def envelope(action: str, repo: str, tag: str, digest: str, method: str, address: str) -> tuple[str, bytes]:
    event_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    body = {
        "events": [
            {
                "id": event_id,
                "timestamp": now,
                "action": action,
                "target": {"mediaType": OCI, "repository": repo, "tag": tag, "digest": digest, "size": 500},
                "request": {"addr": address, "method": method, "useragent": "docker/24.0.7 go/go1.20"},
                "actor": {"name": "ci"},
                "source": {"addr": "registry:5000", "instanceID": "bench-instance"},
            }
        ]
    }
    return event_id, json.dumps(body).encode()


class Sender:
    """Posts events on one kept-alive connection, one at a time, as the registry's endpoint does."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": V2}

    def post(self, body: bytes) -> int:
        self.connection.request("POST", "/api/v1/events/", body=body, headers=self.headers)
        answer = self.connection.getresponse()
        answer.read()
        return answer.status


def event_maker(repo: str, digest: str) -> Callable[[int], tuple[str, bytes]]:
    """The i-th event of a stream: three client pulls (by tag, from addresses that change) to one push of a new tag."""

    def make(i: int) -> tuple[str, bytes]:
        if i % 4 == 3:
            return envelope("push", repo, f"t{uuid.uuid4().hex[:10]}", digest, "PUT", "10.9.0.1:5000")
        return envelope("pull", repo, "v1", digest, "HEAD", f"10.{i % 200}.{(i // 200) % 250}.{i % 7}:40000")

    return make


def receive_rate(port: int, senders: int, seconds: float, make: Callable[[int], tuple[str, bytes]]) -> dict[str, Any]:
    """Events/s, answer median and p95, refusals: ``senders`` threads posting in a row for ``seconds``."""
    latencies: list[float] = []
    refused: list[int] = []
    counter = iter(range(10**9))
    lock = threading.Lock()

    def run() -> None:
        sender = Sender(port)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with lock:
                i = next(counter)
            _, body = make(i)
            began = time.perf_counter()
            status = sender.post(body)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status != 200:
                    refused.append(status)

    threads = [threading.Thread(target=run) for _ in range(senders)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95)],
        "events": len(latencies),
        "refused": len(refused),
    }


def lag(port: int, rate: float, seconds: float, make: Callable[[int], tuple[str, bytes]]) -> dict[str, Any]:
    """Offer ``rate`` events/s for ``seconds``; from each answer to its event applied."""
    from inventory.models import Event

    senders = 1 if rate <= 100 else 8
    answered: dict[str, float] = {}
    lock = threading.Lock()
    stop = threading.Event()
    refused = [0]
    start_pk = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def run(offset: int) -> None:
        sender = Sender(port)
        interval = senders / rate
        due = time.monotonic() + offset * interval / senders
        i = offset
        while not stop.is_set():
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            event_id, body = make(i)
            status = sender.post(body)
            with lock:
                if status == 200:
                    answered[event_id] = time.monotonic()
                else:
                    refused[0] += 1
            due += interval
            i += senders

    applied: dict[str, float] = {}

    def poll() -> None:
        last = start_pk
        while True:
            seen = time.monotonic()
            # The first unapplied event first, then every applied one after the cursor: an event
            # applied between the two reads is in the second (read the other way round, one
            # below the cursor could be missed).
            unprocessed = (
                Event.objects.filter(pk__gt=last, processed=False).order_by("pk").values_list("pk", flat=True).first()
            )
            rows = list(Event.objects.filter(pk__gt=last, processed=True).order_by("pk").values_list("pk", "event_id"))
            for _pk, event_id in rows:
                applied.setdefault(event_id, seen)
            if unprocessed is not None:
                last = unprocessed - 1
            elif rows:
                last = rows[-1][0]
            if stop.is_set() and len(applied) >= len(answered):
                return
            if stop.is_set() and time.monotonic() - stopped[0] > 120:
                return
            time.sleep(0.02)

    stopped = [0.0]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(senders)]
    poller = threading.Thread(target=poll)
    began = time.monotonic()
    poller.start()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    stopped[0] = time.monotonic()
    for thread in threads:
        thread.join()
    sent_for = time.monotonic() - began
    poller.join()
    lags = sorted(applied[e] - answered[e] for e in answered if e in applied)
    return {
        "offered": rate,
        "achieved": len(answered) / sent_for,
        "events": len(answered),
        "unapplied": len(answered) - len(lags),
        "refused": refused[0],
        "p50": statistics.median(lags) if lags else float("nan"),
        "p95": lags[int(len(lags) * 0.95)] if lags else float("nan"),
        "max": lags[-1] if lags else float("nan"),
    }


# --- The burst -------------------------------------------------------------------------------


def notifying_registry(engine: Any, web_url: str) -> Any:
    """The dashboard's registry for this benchmark: a v3.1.1 sending every event (blobs too) to the web."""
    endpoint = [
        {
            "name": "bench",
            "url": f"{web_url}/api/v1/events/",
            "headers": {"Authorization": [f"Bearer {TOKEN}"]},
            "timeout": "2s",
            "threshold": 5,
            "backoff": "1s",
        }
    ]
    return start_registry(
        engine, f"bench-events-{uuid.uuid4().hex[:6]}", env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": json.dumps(endpoint)}
    )


def burst(registry: Any, run: int, worker_log: Path) -> dict[str, Any]:
    """40 pushes by 8 clients, then 40 pulls, on the registry sending every event to the web."""
    from inventory.models import Event, Manifest, Tag

    url = registry.url
    names = [(f"burst{run}/app{i % 8}", f"b{i}") for i in range(40)]
    pushed: dict[tuple[str, str], str] = {}
    lock = threading.Lock()
    before = Event.objects.count()
    log_before = worker_log.stat().st_size

    def push(chunk: list[tuple[str, str]]) -> None:
        for repo, tag in chunk:
            digest = images.push_oci_image(url, repo, tag)
            with lock:
                pushed[repo, tag] = digest

    began = time.monotonic()
    clients = [threading.Thread(target=push, args=(names[i::8],)) for i in range(8)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    session = requests.Session()
    headers = {"Accept": images.ACCEPT_ALL, "User-Agent": "docker/24.0.7 go/go1.20"}
    for (repo, tag), digest in pushed.items():  # as docker pull: HEAD by tag, GET by digest, the blobs
        session.head(f"{url}/v2/{repo}/manifests/{tag}", headers=headers, timeout=10).raise_for_status()
        manifest = session.get(f"{url}/v2/{repo}/manifests/{digest}", headers=headers, timeout=10)
        manifest.raise_for_status()
        for blob in [manifest.json()["config"], *manifest.json()["layers"]]:
            session.get(f"{url}/v2/{repo}/blobs/{blob['digest']}", headers=headers, timeout=10).raise_for_status()
    clients_done = time.monotonic()

    def visible() -> bool:
        tags = {
            (repo, name): digest
            for repo, name, digest in Tag.objects.filter(repository__name__startswith=f"burst{run}/").values_list(
                "repository__name", "name", "digest"
            )
        }
        counts = dict(Manifest.objects.filter(digest__in=pushed.values()).values_list("digest", "pull_count"))
        return tags == pushed and all(counts.get(digest) == 1 for digest in pushed.values())

    deadline = time.monotonic() + 180
    while not visible():
        if time.monotonic() > deadline:
            raise SystemExit("the burst was not all visible within 180 s")
        time.sleep(0.05)
    seen = time.monotonic()
    time.sleep(1.0)  # the worker's log line of the last batch
    log = worker_log.read_bytes()[log_before:].decode(errors="replace")
    requests_made = sum(int(n) for n in re.findall(r"(\d+) registry requests", log))
    return {
        "events": Event.objects.count() - before,
        "clients": clients_done - began,
        "visible": seen - clients_done,
        "requests_per_push": requests_made / len(pushed),
    }


# --- The registry's queue while the dashboard is unreachable --------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def queue_growth(engine: Any, steps: tuple[int, ...] = (2000, 5000, 10000, 20000)) -> list[tuple[int, int]]:
    """A v3.1.1 whose endpoint never answers (a closed port): its RSS after each step of undelivered
    events (client pulls: a HEAD of a manifest is one event), as (events, RSS bytes)."""
    dead = f"http://127.0.0.1:{_sys.free_port()}/api/v1/events/"
    endpoint = [{"name": "gone", "url": dead, "timeout": "1s", "threshold": 5, "backoff": "1s"}]
    registry = start_registry(
        engine, f"bench-queue-{uuid.uuid4().hex[:6]}", env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": json.dumps(endpoint)}
    )
    try:
        images.push_oci_image(registry.url, "queue/app", "v1")
        pid = int(registry.container.attrs["State"]["Pid"])
        session = requests.Session()
        headers = {"Accept": images.ACCEPT_ALL, "User-Agent": "docker/24.0.7 go/go1.20"}
        time.sleep(3)
        found = [(0, rss_bytes(pid))]
        sent = 0
        for step in steps:
            while sent < step:
                session.head(f"{registry.url}/v2/queue/app/manifests/v1", headers=headers, timeout=10)
                sent += 1
            time.sleep(3)
            found.append((sent, rss_bytes(pid)))
            print(f"registry queue: {sent} undelivered events, RSS {found[-1][1] / 2**20:.1f} MiB", flush=True)
        return found
    finally:
        registry.remove()


# --- The run ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: where it is
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each receive rate and of the burst (median)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each receive-rate run")
    parser.add_argument("--lag-seconds", type=float, default=60.0, help="seconds each lag rate is offered")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--queue-only", action="store_true", help="only the registry's queue growth (README figure)")
    args = parser.parse_args(argv)
    if args.queue_only:
        return with_services(lambda services, given: report_queue(queue_growth(services.engine)), args)
    return with_services(lambda services, given: measure(services, given), args)


def measure(services: Any, args: Any) -> int:
    if services.v3_missing:
        raise SystemExit(f"No v3.1.1 registry: {services.v3_missing}")
    os.chdir(ROOT)
    workdir = Path(tempfile.mkdtemp(prefix="bench-events-"))
    port, raw_port = _sys.free_port(), _sys.free_port()
    registry = notifying_registry(services.engine, f"http://127.0.0.1:{port}")
    env = {
        **os.environ,
        **services.environ(),
        "REGISTRY_URL": registry.url,
        "DATA_DIR": str(workdir / "data"),
        "REGISTRY_EVENTS_TOKEN": TOKEN,
        "INVENTORY_SYNC_ON_START": "false",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    (workdir / "data").mkdir()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup_django({k: env[k] for k in ("DATA_DIR", "REDIS_URL", "REGISTRY_URL", "REGISTRY_EVENTS_TOKEN")})
    results: dict[str, Any] = {}
    web_cmd = gunicorn(WEB_WORKERS[0], port, "registry_admin.asgi:application")
    raw_cmd = gunicorn(WEB_WORKERS[0], raw_port, RAW)
    worker_cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "registry_admin",
        "worker",
        "--concurrency",
        "2",
        "--loglevel",
        "INFO",
    ]
    with (
        LoadSampler() as load,
        process(web_cmd, env, workdir / "web.log") as web,
        process(raw_cmd, env, workdir / "raw.log"),
        process(worker_cmd, env, workdir / "worker.log"),
    ):
        wait_http(f"http://127.0.0.1:{port}/api/v1/")
        wait_http(f"http://127.0.0.1:{raw_port}/")
        time.sleep(5)  # the worker's start
        url = registry.url
        digest = images.push_oci_image(url, "bench/lag", "v1")
        sender = Sender(port)
        assert sender.post(envelope("push", "bench/lag", "v1", digest, "PUT", "10.9.0.1:5000")[1]) == 200
        make = event_maker("bench/lag", digest)
        time.sleep(3)

        for workers in WEB_WORKERS:
            if workers == WEB_WORKERS[0]:
                results.update(receive_rates(args, load, make, port, raw_port, web.pid, workers))
                continue
            more, more_raw = _sys.free_port(), _sys.free_port()
            with (
                process(gunicorn(workers, more, "registry_admin.asgi:application"), env, workdir / "web2.log") as web2,
                process(gunicorn(workers, more_raw, RAW), env, workdir / "raw2.log"),
            ):
                wait_http(f"http://127.0.0.1:{more}/api/v1/")
                wait_http(f"http://127.0.0.1:{more_raw}/")
                results.update(receive_rates(args, load, make, more, more_raw, web2.pid, workers))
        # Let the backlog of the receive runs drain before measuring lag.
        from inventory.models import Event

        drain = time.monotonic()
        while Event.objects.filter(processed=False).exists() and time.monotonic() - drain < 600:
            time.sleep(0.5)
        results["drain"] = time.monotonic() - drain
        for rate in (50, 200, 1000):
            load.phase = f"lag {rate}/s"
            results[f"lag {rate}"] = found = lag(port, rate, args.lag_seconds, make)
            found["load"] = os.getloadavg()[0]
            print(
                f"lag at {rate}/s offered ({found['achieved']:.0f}/s achieved): p50 {found['p50']:.2f} s, "
                f"p95 {found['p95']:.2f} s, max {found['max']:.2f} s, unapplied {found['unapplied']}",
                flush=True,
            )
        bursts = []
        for run in range(args.runs):
            load.phase = "burst"
            bursts.append(burst(registry, run, workdir / "worker.log"))
            print(f"burst {run + 1}: {bursts[-1]}", flush=True)
        results["burst"] = {key: statistics.median(b[key] for b in bursts) for key in bursts[0]}
        results["load"] = load.summary()
    registry.remove()
    (workdir / "results.json").write_text(json.dumps(results, indent=1, default=str))  # kept if the report fails
    report(results, args)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def receive_rates(
    args: Any, load: Any, make: Callable[[int], tuple[str, bytes]], port: int, raw_port: int, pid: int, workers: int
) -> dict[str, Any]:
    """One sender, then 8, against the web and the raw baseline of ``workers`` processes."""
    results: dict[str, Any] = {}
    Sender(port).post(make(0)[1])  # the first answer of each process opens its connection
    for senders in (1, 8):
        name = (
            f"{senders} sender"
            + ("s" if senders > 1 else "")
            + f", {workers} web process"
            + ("es" if workers > 1 else "")
        )
        load.phase = f"receive, {name}"
        ours, raw = [], []
        cpu = []
        for _ in range(args.runs):
            raw.append(receive_rate(raw_port, senders, args.seconds, make))
            cpu_before = cpu_seconds(pid)
            ours.append(receive_rate(port, senders, args.seconds, make))
            cpu.append((cpu_seconds(pid) - cpu_before) / ours[-1]["events"] * 1000)
            print(
                f"{name}: {ours[-1]['rate']:.0f} events/s, p50 {ours[-1]['p50'] * 1000:.2f} ms "
                f"(raw {raw[-1]['rate']:.0f}/s, {raw[-1]['p50'] * 1000:.2f} ms), web CPU {cpu[-1]:.2f} s per 1,000, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        results[name] = {
            "senders": senders,
            "workers": workers,
            "rate": statistics.median(r["rate"] for r in ours),
            "p50": statistics.median(r["p50"] for r in ours),
            "p95": statistics.median(r["p95"] for r in ours),
            "refused": sum(r["refused"] for r in ours),
            "raw_rate": statistics.median(r["rate"] for r in raw),
            "raw_p50": statistics.median(r["p50"] for r in raw),
            "cpu": statistics.median(cpu),
            "load": statistics.median(v for p, v in load.samples if p == load.phase)
            if any(p == load.phase for p, _ in load.samples)
            else os.getloadavg()[0],
        }
    return results


def report_queue(found: list[tuple[int, int]]) -> int:
    (first, base), (last, top) = found[0], found[-1]
    per = (top - base) / (last - first) * 1000 if last > first else 0.0
    steps = ", ".join(f"{events:,}: {rss / 2**20:.1f} MiB" for events, rss in found)
    print(f"registry RSS by undelivered events ({steps}); {per / 2**20:.2f} MiB per 1,000")
    return 0


def report(results: dict[str, Any], args: Any) -> None:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run {when} on {machine()}; {results['load']}. Medians of {args.runs} runs ({args.seconds:.0f} s each) "
        f"for the receive rates and the burst; one run of {args.lag_seconds:.0f} s per lag rate. Web: gunicorn's "
        "asgi worker on uvloop as make run starts it (registry_admin/asgi.py: events answered on the loop, "
        "group commit), deploy/gunicorn.conf.py (access log on), 1 process as by default (lag and burst too) "
        "and 2 for the receive rates again; the raw baseline: a bare ASGI function under the same gunicorn; "
        "worker: Celery, concurrency 2; SQLite.",
        "",
        "| Measurement | Result | Raw baseline (same run) | Target |",
        "|---|---:|---:|---|",
    ]
    for name, found in results.items():
        if not isinstance(found, dict) or "senders" not in found:  # the lag, burst, drain and load entries
            continue
        target_rate, target_p50 = (300, 0.003) if found["senders"] == 1 else (1000, None)
        met = (
            found["rate"] >= target_rate and (target_p50 is None or found["p50"] <= target_p50) and not found["refused"]
        )
        target = (
            f">= {target_rate}/s" + (f", p50 <= {target_p50 * 1000:.0f} ms" if target_p50 else "") + ", none refused"
        )
        lines.append(
            f"| Receive, {name} (load {found['load']:.1f}) | {found['rate']:,.0f} events/s, "
            f"p50 {found['p50'] * 1000:.2f} ms, p95 {found['p95'] * 1000:.1f} ms, {found['refused']} refused; "
            f"web CPU {found['cpu']:.2f} s per 1,000 | "
            f"{found['raw_rate']:,.0f}/s, p50 "
            f"{found['raw_p50'] * 1000:.2f} ms ({found['rate'] / found['raw_rate']:.2f}x) | {target}: "
            f"{'met' if met else '**missed**'} |"
        )
    lag_targets: tuple[tuple[int, float | None], ...] = ((50, None), (200, 2.0), (1000, None))
    for rate, lag_target in lag_targets:
        found = results[f"lag {rate}"]
        verdict = (
            "informative"
            if lag_target is None
            else f"<= {lag_target:.0f} s: {'met' if found['max'] <= lag_target else '**missed**'} (max)"
        )
        lines.append(
            f"| Lag at {rate}/s offered ({found['achieved']:.0f}/s achieved, load {found['load']:.1f}) | p50 "
            f"{found['p50']:.2f} s, p95 {found['p95']:.2f} s, max {found['max']:.2f} s; "
            f"{found['unapplied']} unapplied, {found['refused']} refused | | {verdict} |"
        )
    b = results["burst"]
    lines.append(
        f"| Burst: 40 pushes by 8 clients + 40 pulls ({b['events']:.0f} events; the clients took {b['clients']:.1f} s) "
        f"| all visible, every pull counted, {b['visible']:.1f} s after the last pull | | <= 5 s: "
        f"{'met' if b['visible'] <= 5 else '**missed**'} |"
    )
    lines.append(
        f"| Registry requests by the applier per push | {b['requests_per_push']:.2f} | | "
        "manifest + config, once per digest |"
    )
    block = "\n".join(lines)
    print(block)
    if not args.no_readme:
        write_block(README, "events-benchmark", block)


if __name__ == "__main__":
    raise SystemExit(main())
