"""The cold floor of the first sync from the storage files (issue 24): the same file I/O, in one
thread, with nothing else (no database, no inventory code, parsing only what finds each config).

``python -m benchmarks.files_floor <data dir> [all|nolinks]`` (root: it empties the page cache
first). ``all`` also checks each manifest's revision link and each config's layer link, as the
sync does; ``nolinks`` does not. Prints the walk's and the reads' wall, user and system times.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    root = os.path.join(sys.argv[1], "docker", "registry", "v2")
    links_too = (sys.argv[2] if len(sys.argv) > 2 else "all") == "all"
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as caches:
        caches.write("3\n")
    began, cpu = time.perf_counter(), os.times()
    links: list[tuple[str, str]] = []

    def walk(path: str, name: str) -> None:
        with os.scandir(path) as found:
            entries = [(entry.name, entry.path) for entry in found if entry.is_dir(follow_symlinks=False)]
        for entry, below in entries:
            if entry == "_manifests":
                try:
                    with os.scandir(below + "/tags") as found:
                        tags = [tag.path for tag in found if tag.is_dir(follow_symlinks=False)]
                except FileNotFoundError:
                    continue
                for tag in tags:
                    fd = os.open(tag + "/current/link", os.O_RDONLY)
                    raw = os.read(fd, 200)
                    os.fstat(fd)
                    os.close(fd)
                    links.append((name, raw.decode().strip()))
            elif not entry.startswith("_"):
                walk(below, f"{name}/{entry}" if name else entry)

    walk(root + "/repositories", "")
    walked, cpu_walked = time.perf_counter(), os.times()
    seen: set[str] = set()
    for repository, digest in links:
        if digest in seen:
            continue
        seen.add(digest)
        hexpart = digest[7:]
        if links_too:
            os.path.exists(f"{root}/repositories/{repository}/_manifests/revisions/sha256/{hexpart}/link")
        fd = os.open(f"{root}/blobs/sha256/{hexpart[:2]}/{hexpart}/data", os.O_RDONLY)
        raw = os.read(fd, 65536)
        os.close(fd)
        config = json.loads(raw).get("config", {}).get("digest", "")[7:]
        if not config:
            continue
        if links_too:
            os.path.exists(f"{root}/repositories/{repository}/_layers/sha256/{config}/link")
        fd = os.open(f"{root}/blobs/sha256/{config[:2]}/{config}/data", os.O_RDONLY)
        os.read(fd, 65536)
        os.close(fd)
    done, cpu_done = time.perf_counter(), os.times()
    print(
        f"{'all' if links_too else 'nolinks'}: walk {walked - began:.2f} s (user "
        f"{cpu_walked.user - cpu.user:.2f}, system {cpu_walked.system - cpu.system:.2f}); reads "
        f"{done - walked:.2f} s (user {cpu_done.user - cpu_walked.user:.2f}, system "
        f"{cpu_done.system - cpu_walked.system:.2f}); {len(links)} links, {len(seen)} manifests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
