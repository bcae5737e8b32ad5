"""``make benchmark-footprint``: the whole dashboard's memory and idle CPU, started as ``make run`` does (issue 28).

Starts Redis, a private dockerd and the test registry image (testenv.start_all), a registry
whose data is kept in ``.testenv/bench-footprint/`` (seeded once: N repositories and one of M
tags), then ``scripts/run.sh`` with its defaults (or the settings given in the environment,
e.g. ``CELERY_POOL=prefork``) against it. Records PSS and RSS of every process of the
dashboard (``/proc/PID/smaps_rollup``; the Redis it uses is the test environment's, not
counted):

- after start (web answering, worker ready, empty inventory);
- during the first sync (peak of samples every second) and after it;
- during a GC (a dry run through the API: the worker execs ``registry garbage-collect``);
- after an events burst (notifications POSTed to /api/v1/events/ as the registry sends them);
- idle: CPU time of every process over a minute, as a share of one core.

Prints the table and writes it into ``benchmarks/README.md`` under "Footprint". Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from benchmarks.helpers import LoadSampler, machine, with_services, write_block
from benchmarks.inventory import seed
from testenv import _sys
from testenv.services import start_registry

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / ".testenv" / "bench-footprint"
README = Path(__file__).with_name("README.md")
BIG = "bench/big"
MANAGE = (".venv/bin/python", "manage.py")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    pid: int
    name: str
    pss: float  # MB
    rss: float  # MB


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found += [int(child) for child in listed.read().split()]
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def process_name(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        words = [word.decode() for word in cmdline.read().split(b"\0") if word]
    text = " ".join(words)
    if "gunicorn" in text:
        return "web (gunicorn)"
    if " beat" in text and "worker" not in text:
        return "beat"
    if "celery" in text:
        return "worker (celery)"
    return Path(words[0]).name if words else "?"


def dashboard_processes(root: int) -> list[int]:
    """The Python processes run.sh started (not bash, not a `python -c` of its own)."""
    pids = []
    for pid in descendants(root):
        try:
            name = process_name(pid)
        except OSError:
            continue
        if name.startswith(("web", "worker", "beat")):
            pids.append(pid)
    return pids


def measure(root: int) -> list[Sample]:
    samples = []
    for pid in dashboard_processes(root):
        figures = {}
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    parts = line.split()
                    if parts[0] in ("Pss:", "Rss:"):
                        figures[parts[0]] = int(parts[1]) / 1024
            samples.append(Sample(pid, process_name(pid), figures["Pss:"], figures["Rss:"]))
        except (OSError, KeyError):
            continue  # a process that ended meanwhile (a pool process replaced)
    return samples


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            # utime, stime, and those of its children it waited for: a job's child process
            # (jobs/child.py) ends within the phase and its CPU goes to the worker's cutime.
            total += sum(int(field) for field in fields[11:15])
        except OSError:
            continue
    return total / TICKS


def total(samples: list[Sample]) -> tuple[float, float]:
    return sum(s.pss for s in samples), sum(s.rss for s in samples)


class Dashboard:
    """scripts/run.sh in a session of its own, stopped with SIGTERM (as Ctrl-C would)."""

    def __init__(self, environ: dict[str, str], log: Path) -> None:
        self.environ = environ
        self.log = log.open("w")
        self.path = log
        self.process = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(what: str, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(f"Timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.footprint", description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=10000)
    parser.add_argument("--tags", type=int, default=5000)
    parser.add_argument("--events", type=int, default=2000, help="notifications in the burst (50 per POST)")
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--settle-seconds", type=int, default=30, help="wait after the burst before the idle minute")
    parser.add_argument("--seed-dir", default=str(SEED_DIR), help="where the seeded registry's data is kept")
    parser.add_argument(
        "--gc",
        choices=("dry", "real", "none"),
        default="dry",
        help="the GC phase: a dry run (default), a real read-only run (it sweeps the seed's garbage), or none",
    )
    parser.add_argument(
        "--data-dir",
        help="the dashboard's DATA_DIR (its database), kept between runs (default: a new one each run)",
    )
    parser.add_argument(
        "--skip-sync-phase",
        action="store_true",
        help="measure no first sync: the inventory in --data-dir is already synced (a re-run that fits in time)",
    )
    parser.add_argument(
        "--idle-wait-seconds",
        type=int,
        default=900,
        help="before the idle minute, wait up to this long for the running jobs (a scheduled sync) to end",
    )
    parser.add_argument(
        "--reconcile-phase",
        action="store_true",
        help="after the idle minute, follow the next scheduled sync (INVENTORY_SYNC_INTERVAL): its time, CPU and peak",
    )
    parser.add_argument("--no-readme", action="store_true")
    return with_services(_run, parser.parse_args())


def _run(services: Any, args: argparse.Namespace) -> int:
    seed_dir = Path(args.seed_dir)
    (seed_dir / "data").mkdir(parents=True, exist_ok=True)
    registry = start_registry(
        services.engine, "bench-footprint", data_dir=seed_dir / "data", image=services.registry_image
    )
    print(f"Registry at {registry.url}; seeding ...", flush=True)
    seeded = seed(registry.url, args.repositories, args.tags, seed_dir)
    print(f"Seed: {seeded}", flush=True)

    port = _sys.free_port()
    if args.data_dir:
        data_dir = Path(args.data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="bench-footprint-", dir=services.workdir))
    print(f"The dashboard's DATA_DIR: {data_dir}", flush=True)
    token = uuid.uuid4().hex
    environ = {**os.environ, **services.environ()}
    environ.pop("DATABASE_URL", None)
    environ.update(
        {
            "REGISTRY_URL": registry.url,
            "REGISTRY_CONTAINER": registry.container_name,
            "DATA_DIR": str(data_dir),
            "PORT": str(port),
            "REGISTRY_EVENTS_TOKEN": token,
            "INVENTORY_SYNC_ON_START": "false",  # the sync is started below, after the first figures
            "DJANGO_SUPERUSER_USERNAME": "bench",
            "DJANGO_SUPERUSER_PASSWORD": "bench-password-not-secret",
            "LOG_LEVEL": "WARNING",
        }
    )
    url = f"http://127.0.0.1:{port}"
    phases: dict[str, list[Sample]] = {}
    peaks: dict[str, tuple[float, float]] = {}
    dashboard = Dashboard(environ, data_dir / "run.log")

    def record(phase: str, samples: list[Sample]) -> None:
        """Kept and printed at once: a later phase that fails does not lose the earlier figures."""
        phases[phase] = samples
        pss, rss = total(samples)
        by = ", ".join(f"{s.name} {s.pss:.0f}/{s.rss:.0f}" for s in samples)
        print(f"{phase}: PSS {pss:.0f} MB, RSS {rss:.0f} MB (PSS/RSS: {by})", flush=True)

    try:
        with LoadSampler() as load:
            load.phase = "start"
            wait_for("the web", lambda: requests.get(f"{url}/-/alive", timeout=5).text == "ok", 600)
            api_token = subprocess.run(
                [*MANAGE, "create_token", "--name", f"bench-{token[:8]}", "--role", "admin", "bench"],
                cwd=ROOT,
                env=environ,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            api = requests.Session()
            api.headers["Authorization"] = f"Token {api_token}"
            # A kept-alive connection the web closes as the next poll goes out (its keep-alive of
            # 2 s, between polls) is tried again: GETs only, as any HTTP client may.
            api.mount(
                "http://", HTTPAdapter(max_retries=Retry(total=3, read=2, allowed_methods={"GET"}, backoff_factor=0.2))
            )
            wait_for("the worker", lambda: api.get(f"{url}/api/v1/health/", timeout=30).json()["docker"]["ok"], 600)
            time.sleep(10)  # let the start settle (beat's first round, the engine health check)
            record("After start", measure(dashboard.process.pid))

            load.phase = "sync"
            if args.skip_sync_phase:
                status = api.get(f"{url}/api/v1/sync/", timeout=30).json()
                print(f"First sync skipped (--skip-sync-phase); the inventory's sync status: {status}", flush=True)
            else:
                job = api.post(f"{url}/api/v1/sync/", timeout=30).json()
                peaks["During the first sync (peak)"] = follow(api, url, job, dashboard.process.pid, "sync")
                print(f"During the first sync (peak): {peaks['During the first sync (peak)']}", flush=True)
                record("After the first sync", measure(dashboard.process.pid))

            if args.gc != "none":
                load.phase = "gc"
                phase = "During a GC, dry run (peak)" if args.gc == "dry" else "During a GC, read-only (peak)"
                body: dict[str, Any] = (
                    {"dry_run": True} if args.gc == "dry" else {"dry_run": False, "mode": "read-only"}
                )
                job = api.post(f"{url}/api/v1/gc/", json=body, timeout=30).json()
                peaks[phase] = follow(api, url, job, dashboard.process.pid, "GC")
                print(f"{phase}: {peaks[phase]}", flush=True)

            load.phase = "events"
            events_burst(url, token, args.events, args.tags)
            time.sleep(5)
            record("After an events burst", measure(dashboard.process.pid))

            load.phase = "idle"
            time.sleep(args.settle_seconds)  # the events applied, the jobs' statistics collected
            waited = wait_until_no_job(api, url, args.idle_wait_seconds, dashboard.path)
            window_start, log_offset = dt.datetime.now(dt.UTC), dashboard.path.stat().st_size
            pids = dashboard_processes(dashboard.process.pid)
            before = {pid: cpu_seconds([pid]) for pid in pids}
            time.sleep(args.idle_seconds)
            idle_by_process = {
                f"{process_name(pid)} {pid}": (cpu_seconds([pid]) - before[pid]) / args.idle_seconds for pid in pids
            }
            idle_cpu = sum(idle_by_process.values())
            during = jobs_since(api, url, window_start)
            tasks_during = describe_tasks(read_tasks(dashboard.path, log_offset))
            print(f"Idle CPU by process: {idle_by_process}; waited {waited:.0f} s for running jobs first", flush=True)
            print(f"Jobs that ran during the idle minute: {during or 'none'}; tasks: {tasks_during}", flush=True)
            record("Idle, after a minute", measure(dashboard.process.pid))

            if args.reconcile_phase:
                load.phase = "reconcile"
                reconcile = follow_scheduled_sync(api, url, dashboard.process.pid)
                peaks["During a scheduled sync (peak)"] = reconcile["peak"]
                record("Idle, a minute after a scheduled sync", reconcile.pop("after"))
    except BaseException:
        print(f"The dashboard's log, last lines:\n{dashboard.tail()}", flush=True)
        raise
    finally:
        dashboard.stop()
        registry.remove()
    context = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(load.summary()),
        "repositories": args.repositories,
        "tags": args.tags,
        "events": args.events,
        "seeded": seeded,
        "settings": ", ".join(
            f"{name}={os.environ.get(name, default)}"
            for name, default in (
                ("WEB_WORKERS", "1"),
                ("WEB_THREADS", "8"),
                ("CELERY_POOL", "threads"),
                ("CELERY_CONCURRENCY", "4"),
                ("BEAT_IN_WORKER", "true"),
            )
        ),
    }
    context["idle_by_process"] = ", ".join(f"{name} {share * 100:.2f} %" for name, share in idle_by_process.items())
    context["idle_jobs"] = during
    context["idle_tasks"] = tasks_during
    if args.reconcile_phase:
        context["reconcile"] = reconcile
    report = render(phases, peaks, idle_cpu, context)
    print(report)
    if not args.no_readme:
        write_block(README, "footprint-benchmark", report)
        print(f"Wrote {README}")
    return 0


def follow(api: requests.Session, url: str, job: dict[str, Any], root: int, what: str) -> tuple[float, float]:
    """Sample the processes every second until the job ends; the peak total PSS and RSS."""
    if "id" not in job:
        raise SystemExit(f"The {what} was not queued: {job}")
    peak = (0.0, 0.0)
    peak_by: list[Sample] = []
    started = time.monotonic()
    while True:
        samples = measure(root)
        pss, rss = total(samples)
        if pss > peak[0]:
            peak_by = samples
        peak = (max(peak[0], pss), max(peak[1], rss))
        try:
            state = api.get(f"{url}/api/v1/jobs/{job['id']}/", timeout=30).json()
        except requests.RequestException as e:  # a busy machine: ask again, say so
            print(f"{what}: asking for the job failed ({e}); again", flush=True)
            time.sleep(2)
            continue
        if state["status"] in ("succeeded", "failed"):
            by = ", ".join(f"{s.name} {s.pss:.0f}/{s.rss:.0f}" for s in peak_by)
            took = time.monotonic() - started
            print(f"{what}: {state['status']} in {took:.0f} s {state.get('error') or ''}; peak {by}", flush=True)
            if state["status"] == "failed":
                raise SystemExit(f"The {what} failed: {state.get('error')}")
            return peak
        time.sleep(1)


def job_list(api: requests.Session, url: str, **filters: str) -> list[dict[str, Any]]:
    answer = api.get(f"{url}/api/v1/jobs/", params=filters, timeout=30).json()
    results: list[dict[str, Any]] = answer["results"] if isinstance(answer, dict) else answer
    return results


def wait_until_no_job(api: requests.Session, url: str, timeout: float, log: Path) -> float:
    """Wait until no job is queued or running (a scheduled sync, a statistics job) and the worker
    runs no task (the scheduled statistics are a task, not a job): the idle minute measures a
    worker with nothing to do. The seconds waited; SystemExit after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            busy = job_list(api, url, status="running") + job_list(api, url, status="queued")
        except requests.RequestException:
            busy = [{"kind": "unknown (the API did not answer)"}]
        tasks = sorted(set(read_tasks(log).running.values()))
        if not busy and not tasks:
            return time.monotonic() - started
        print(f"Idle: waiting for jobs {[(job.get('id'), job['kind']) for job in busy]}, tasks {tasks}", flush=True)
        time.sleep(5)
    raise SystemExit(f"Jobs were still running after {timeout} s: no idle minute")


def jobs_since(api: requests.Session, url: str, since: dt.datetime) -> list[str]:
    """The jobs created at or after ``since`` (each as "kind #id status")."""
    found = []
    for job in job_list(api, url):
        if dt.datetime.fromisoformat(job["created_at"].replace("Z", "+00:00")) >= since:
            found.append(f"{job['kind']} #{job['id']} {job['status']}")
    return found


# Celery's worker log (run.sh starts it with --loglevel INFO): "Task NAME[ID] received", then
# "Task NAME[ID] succeeded in 0.25s: None", "... raised unexpected: ...", or "Hard time limit (90s)
# exceeded for NAME[ID]". Tasks that are not jobs (the scheduled statistics, the events' applier)
# are seen only here.
TASK_LINE = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[0-9a-f-]+)\] (?P<what>received|succeeded in (?P<seconds>[0-9.]+)s|raised|failed)"
    r"|exceeded for (?P<killed_name>[\w.]+)\[(?P<killed_id>[0-9a-f-]+)\]"
)


@dataclass
class TaskLog:
    """The tasks in the worker's log from ``offset`` on: those still running, and the seconds of
    each finished one, by task name."""

    running: dict[str, str]  # id -> name
    finished: dict[str, list[float]]


def read_tasks(log: Path, offset: int = 0) -> TaskLog:
    found = TaskLog({}, {})
    with log.open(errors="replace") as lines:
        lines.seek(offset)
        for line in lines:
            match = TASK_LINE.search(line)
            if match is None:
                continue
            if match["killed_id"]:
                found.running.pop(match["killed_id"], None)
                found.finished.setdefault(match["killed_name"].rsplit(".", 1)[-1], []).append(float("nan"))
            elif match["what"] == "received":
                found.running[match["id"]] = match["name"]
            else:
                found.running.pop(match["id"], None)
                seconds = float(match["seconds"]) if match["seconds"] else float("nan")
                found.finished.setdefault(match["name"].rsplit(".", 1)[-1], []).append(seconds)
    return found


def describe_tasks(found: TaskLog) -> str:
    """``apply_events 4 times (1.0 s), check_engine 1 times (0.1 s)``: each name, how often, its seconds in all."""
    known = {name: [r for r in runs if r == r] for name, runs in found.finished.items()}  # NaN: killed
    return ", ".join(
        f"{name} {len(found.finished[name])} times ({sum(runs):.1f} s)" for name, runs in sorted(known.items())
    )


def follow_scheduled_sync(api: requests.Session, url: str, root: int) -> dict[str, Any]:
    """Wait for beat's next scheduled sync (INVENTORY_SYNC_INTERVAL), then follow it: its time, the
    dashboard's CPU from one such sync's start to the next (what the reconcile costs over its
    interval) and its peak memory."""
    known = {job["id"] for job in job_list(api, url, kind="sync")}
    deadline = time.monotonic() + 3600
    print("Reconcile: waiting for the next scheduled sync", flush=True)
    while time.monotonic() < deadline:
        fresh = [job for job in job_list(api, url, kind="sync") if job["id"] not in known]
        if fresh:
            break
        time.sleep(2)
    else:
        raise SystemExit("No scheduled sync started within an hour")
    job = fresh[0]
    pids = dashboard_processes(root)
    cpu_before, started = cpu_seconds(pids), time.monotonic()
    peak = follow(api, url, job, root, "scheduled sync")
    took = time.monotonic() - started
    cpu = cpu_seconds(pids) - cpu_before
    done = api.get(f"{url}/api/v1/jobs/{job['id']}/", timeout=30).json()
    time.sleep(60)  # the worker hands back what the job freed (release_memory), then idles
    after = measure(root)
    # Until the next one starts: the whole interval's CPU, the sync's and the idle rest's.
    known.add(job["id"])
    while time.monotonic() < deadline:
        if [j for j in job_list(api, url, kind="sync") if j["id"] not in known]:
            break
        time.sleep(2)
    interval = time.monotonic() - started
    interval_cpu = cpu_seconds(pids) - cpu_before
    found = {
        "seconds": took,
        "cpu_seconds": cpu,
        "interval_seconds": interval,
        "interval_cpu_share": interval_cpu / interval,
        "peak": peak,
        "after": after,
        "result": {key: (done.get("result") or {}).get(key) for key in ("requests", "skipped_heads", "seconds")},
    }
    print(f"Reconcile: {found}", flush=True)
    return found


def events_burst(url: str, token: str, count: int, tags: int) -> None:
    """``count`` pull events of the big repository's tags, 50 a notification, as the registry sends them."""
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
    started = time.monotonic()
    for start in range(0, count, 50):
        events = [
            {
                "id": uuid.uuid4().hex,
                "timestamp": now,
                "action": "pull",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "repository": BIG,
                    "tag": f"t{n % max(tags, 1):05d}",
                    "digest": "sha256:" + f"{n:064x}",
                },
                "request": {"addr": "10.0.0.9:4242", "method": "GET", "useragent": "docker/27.0"},
                "actor": {"name": "bench"},
            }
            for n in range(start, min(start + 50, count))
        ]
        answer = requests.post(
            f"{url}/api/v1/events/", data=json.dumps({"events": events}), headers=headers, timeout=30
        )
        answer.raise_for_status()
    print(f"Events: {count} in {time.monotonic() - started:.1f} s", flush=True)


def render(
    phases: dict[str, list[Sample]], peaks: dict[str, tuple[float, float]], idle_cpu: float, context: dict[str, Any]
) -> str:
    def verdict(ok: bool) -> str:
        return "pass" if ok else "**MISS**"

    names = sorted({s.name for samples in phases.values() for s in samples})
    rows = []
    for phase, samples in phases.items():
        pss, rss = total(samples)
        per = "; ".join(f"{name} {' + '.join(f'{s.pss:.0f}' for s in samples if s.name == name)}" for name in names)
        limit = 350 if phase == "After the first sync" else 250  # idle targets, except right after the sync
        target = f"≤ {limit} MB"
        rows.append((phase, f"{len(samples)}", f"{pss:,.0f} MB", f"{rss:,.0f} MB", per, target, verdict(pss <= limit)))
    for phase, (pss, rss) in peaks.items():
        rows.append(
            (phase, "", f"{pss:,.0f} MB", f"{rss:,.0f} MB", "sampled every second", "≤ 350 MB", verdict(pss <= 350))
        )
    rows.append(
        (
            "Idle CPU over a minute, all processes",
            "",
            f"{idle_cpu * 100:.2f} % of a core",
            "",
            "",
            "< 1 %",
            verdict(idle_cpu < 0.01),
        )
    )
    if "reconcile" in context:
        found = context["reconcile"]
        rows.append(
            (
                "A scheduled sync (reconcile), nothing changed",
                "",
                f"{found['seconds']:,.0f} s, {found['cpu_seconds']:,.0f} CPU s",
                "",
                f"{found['interval_cpu_share'] * 100:.1f} % of a core over its {found['interval_seconds']:,.0f} s "
                f"interval; requests {found['result'].get('requests')}",
                "",
                "",
            )
        )
    lines = [
        f"Run {context['when']} on {context['machine']}; {context['repositories']:,} repositories and "
        f"{context['tags']:,} tags (seed: {context['seeded']}); {context['events']:,} events in the burst; "
        f"settings {context['settings']}; PSS and RSS from /proc/PID/smaps_rollup. Idle minute: after the "
        f"running jobs and tasks ended; jobs started during it: {', '.join(context['idle_jobs']) or 'none'}; "
        f"tasks during it: {context['idle_tasks'] or 'none'}; by process: {context['idle_by_process']}.",
        "",
        "| Phase | Processes | PSS total | RSS total | PSS by process (MB) | Target | Result |",
        "|---|---:|---:|---:|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
