"""``make benchmark-patterns``: user-given patterns against hostile names (issue 26).

Python's ``re`` backtracks: ``(a+)+$`` against a tag of 26 ``a`` and ``-x`` took 12 s, four times
more per two characters, and two such requests froze both web workers. Every user-given pattern
now runs on RE2 (``core.patterns``). Measured, medians of several runs:

- in-process: ``(a+)+$`` and ``^(\\d+\\.?)+$`` against 40-character tags, and the glob
  ``sec/a*a*a*a*a*a*a*a*a*a*c`` (10 stars) against a 255-character name, through
  ``core.patterns`` (target < 50 ms each); Python's ``re`` on shorter input for comparison;
- the web, as deployed (``helpers.web_command``: gunicorn's asgi worker as make run starts it;
  WEB_WORKERS and WEB_THREADS from the environment, else 1 process, 8 threads for pages) on the
  real test services: protected-tag rules with both patterns (accepted: 201), a repository whose
  tags are 40-character ``a`` runs, its tag list API alone, then ``/-/alive`` while 8 clients
  request that tag list without pause (target < 100 ms).

Prints the figures and writes them into ``benchmarks/README.md`` under "Patterns". Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from benchmarks.helpers import machine, ms, web_command, with_services, write_block


def _shown(seconds: float) -> str:
    return f"{seconds * 1_000_000:.0f} µs" if seconds < 0.001 else ms(seconds)


ROOT = Path(__file__).resolve().parents[1]
README = Path(__file__).with_name("README.md")
TARGET_MATCH = 0.050
TARGET_ALIVE = 0.100
NESTED = "(a+)+$"
REALISTIC = r"^(\d+\.?)+$"
GLOB = "sec/" + "a*" * 10 + "c"  # ten stars, and a c that the name never has
TAG = "a" * 38 + "-x"  # 40 characters
NUMBERS = "1" * 37 + "-rc"  # 40 characters
NAME = "sec/" + "a" * 251  # 255 characters


def _median_seconds(function: Callable[[], object], runs: int) -> float:
    found = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        found.append(time.perf_counter() - began)
    return statistics.median(found)


def in_process(runs: int) -> list[tuple[str, float, str]]:
    from core import patterns

    rows = [
        (f"`{NESTED}` vs a 40-character tag (RE2)", lambda: patterns.regex_matches(NESTED, TAG), "< 50 ms"),
        (f"`{REALISTIC}` vs a 40-character tag (RE2)", lambda: patterns.regex_matches(REALISTIC, NUMBERS), "< 50 ms"),
        ("10-star glob vs a 255-character name (RE2)", lambda: patterns.glob_matches(GLOB, NAME), "< 50 ms"),
    ]
    figures = [(label, _median_seconds(run, runs), target) for label, run, target in rows]
    # Python's re for comparison, on inputs short enough to finish (each 2 more characters: x4).
    python_glob = patterns.compile_glob(GLOB).pattern
    references = [
        (f"`{NESTED}` vs a 22-character tag (Python re, before)", lambda: re.search(NESTED, "a" * 20 + "-x")),
        (
            "10-star glob vs a 28-character name (Python re, before)",
            lambda: re.fullmatch(python_glob, "sec/" + "a" * 24),
        ),
    ]
    figures += [(label, _median_seconds(run, 1), "informative") for label, run in references]
    return figures


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


HAMMER = """
import sys, threading, requests
url, token = sys.argv[1], sys.argv[2]
def hammer():
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    while True:
        session.get(url, timeout=120)
threads = [threading.Thread(target=hammer) for _ in range(8)]
for thread in threads:
    thread.start()
"""


def web(services: Any, runs: int, seconds: float) -> list[tuple[str, float, str]]:
    from testenv import images

    url = services.registry_url
    repository = "sec/" + "a" * 40
    digest = images.push_oci_image(url, repository, TAG)
    for i in range(2, 12):
        images.tag_existing(url, repository, "a" * (40 - len(str(i)) - 1) + f"-{i}", digest)

    env = {**os.environ, **services.environ()}
    env.pop("DATABASE_URL", None)
    env.update(
        DATA_DIR=tempfile.mkdtemp(prefix="bench-patterns-", dir=services.workdir),
        DJANGO_SECRET_KEY="benchmark-patterns-not-secret",  # noqa: S106 - a throwaway database's key
        LOG_LEVEL="WARNING",
    )
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.create_superuser('bench', 'b@localhost', 'not-secret')",
    )
    token = _manage(env, "create_token", "bench", "--name", "bench", "--role", "admin").split()[-1]
    port = _free_port()
    server = subprocess.Popen(
        web_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/-/alive", timeout=30)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for rule in ({"repositories": "**", "tags": NESTED}, {"repositories": GLOB, "tags": ".*"}):
            made = session.post(f"{base}/api/v1/protected-tags/", json=rule, timeout=30)
            if made.status_code != 201:
                raise SystemExit(f"protected-tag rule {rule} answered {made.status_code}: {made.text[:300]}")
        tag_list = f"{base}/api/v1/repositories/{repository}/tags/"

        def get_tags() -> None:
            answer = session.get(tag_list, timeout=120)
            if answer.status_code != 200:
                raise SystemExit(f"{tag_list} answered {answer.status_code}: {answer.text[:300]}")

        get_tags()  # warm: the catalog's cache and the workers' imports
        alone = _median_seconds(get_tags, runs)

        # The 8 clients run in a process of their own: threads beside the prober would hold its
        # GIL (5 ms turns) and add their waits to the figures of the server's answers.
        clients = subprocess.Popen(
            [sys.executable, "-c", HAMMER, tag_list, token],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.5)  # all eight under way
            alive = []
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                began = time.perf_counter()
                requests.get(f"{base}/-/alive", timeout=60)
                alive.append(time.perf_counter() - began)
                time.sleep(0.05)
            web_pss = _pss_mb(server.pid)  # the master and its worker, after the load
        finally:
            clients.terminate()
            clients.wait(timeout=30)
    finally:
        # A kept-alive connection holds gunicorn's graceful shutdown for its whole timeout (30 s).
        session.close()
        server.terminate()
        try:
            server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    return [
        ("Tag list API with both rules, 11 tags of 40 characters (alone)", alone, "informative"),
        (f"`/-/alive` while 8 clients request it, median of {len(alive)}", statistics.median(alive), "< 100 ms"),
        ("`/-/alive` while 8 clients request it, 90th percentile", _percentile(alive, 0.9), "< 100 ms"),
        ("`/-/alive` while 8 clients request it, slowest", max(alive), "< 100 ms"),
        ("Web processes' PSS after the load (MB, not a time)", web_pss, "informative"),
    ]


def _pss_mb(pid: int) -> float:
    """PSS of ``pid`` and its children (gunicorn's master and workers), from /proc/PID/smaps_rollup."""
    pids = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listed:
            pids += [int(child) for child in listed.read().split()]
    total = 0.0
    for each in pids:
        with open(f"/proc/{each}/smaps_rollup") as rollup:
            total += sum(int(line.split()[1]) for line in rollup if line.startswith("Pss:")) / 1024
    return total


def _table(rows: list[tuple[str, float, str]]) -> str:
    lines = ["| Measurement | Median | Target |", "|---|---:|---|"]
    for label, seconds, target in rows:
        verdict = ""
        if target == "< 50 ms":
            verdict = ": met" if seconds < TARGET_MATCH else ": missed"
        elif target == "< 100 ms":
            verdict = ": met" if seconds < TARGET_ALIVE else ": missed"
        shown = f"{seconds:.0f} MB" if "MB" in label else _shown(seconds)
        lines.append(f"| {label} | {shown} | {target}{verdict} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.patterns", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long /-/alive is sampled under load")
    parser.add_argument("--no-web", action="store_true", help="only the in-process figures (no services)")
    parser.add_argument("--no-readme", action="store_true", help="print only, do not rewrite benchmarks/README.md")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")
    load_before = os.getloadavg()[0]
    rows = in_process(args.runs)
    if not args.no_web:
        rows += with_services(lambda services, _: web(services, args.runs, args.seconds), args)
    load_after = os.getloadavg()[0]
    block = (
        f"Run {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} on "
        f"{machine(f'load average {load_before:.1f} before, {load_after:.1f} after')}; "
        f"median of {args.runs} runs; web WEB_WORKERS={os.environ.get('WEB_WORKERS', '1')}, "
        f"WEB_THREADS={os.environ.get('WEB_THREADS', '8')} (asgi worker, uvloop).\n\n{_table(rows)}"
    )
    print(block)
    if not args.no_readme:
        write_block(README, "patterns-benchmark", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
