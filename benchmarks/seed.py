"""Fast seeding of a registry through the raw v2 API: many repositories and tags, few bytes.

One small layer is uploaded once and cross-repository mounted everywhere else; each image
gets its own tiny config (so every tag has its own manifest digest and created date).
Used by the benchmark and by tests that need more repositories than one catalog page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import requests

from testenv import images

LAYER = images.make_layer({"seed/hello.txt": b"hello from the benchmark seed\n"})


def _mount(session: requests.Session, url: str, repo: str, digest: str, source: str) -> None:
    answer = session.post(f"{url}/v2/{repo}/blobs/uploads/?mount={digest}&from={source}", timeout=30)
    if answer.status_code == 202:  # mounting refused: finish the opened upload with the bytes
        location = urljoin(url + "/", answer.headers["Location"])
        sep = "&" if "?" in location else "?"
        images._check(session.put(f"{location}{sep}digest={digest}", data=LAYER.blob, timeout=30), 201)
    else:
        images._check(answer, 201)


def _config(repo: str, tag: str, created: dt.datetime) -> bytes:
    config = images.image_config([LAYER], created=created, labels={"seed": f"{repo}:{tag}"})
    return json.dumps(config).encode()


def push_small_image(
    session: requests.Session, url: str, repo: str, tag: str, source: str, created: dt.datetime, mount: bool = True
) -> str:
    """Mount the shared layer from ``source``, upload a tiny config, PUT an OCI manifest; the digest."""
    if mount:
        _mount(session, url, repo, LAYER.digest, source)
    config = _config(repo, tag, created)
    config_digest = images.push_blob(url, repo, config, session)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": images.OCI_MANIFEST,
            "config": {"mediaType": images.OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": images.OCI_LAYER, "digest": LAYER.digest, "size": len(LAYER.blob)}],
        }
    ).encode()
    return images.push_manifest(url, repo, tag, body, images.OCI_MANIFEST, session)


def _sessions(workers: int) -> list[requests.Session]:
    sessions = []
    for _ in range(workers):
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=2)
        session.mount("http://", adapter)
        sessions.append(session)
    return sessions


def seed_repositories(url: str, names: Sequence[str], source: str = "seed/base", workers: int = 16) -> None:
    """One small image tagged ``latest`` in each of ``names``."""
    images.push_blob(url, source, LAYER.blob)
    sessions = _sessions(workers)
    now = dt.datetime.now(dt.UTC)

    def push(index_name: tuple[int, str]) -> str:
        index, name = index_name
        return push_small_image(sessions[index % workers], url, name, "latest", source, now)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(push, enumerate(names)))


def seed_tags(url: str, repo: str, count: int, workers: int = 16) -> list[str]:
    """``count`` tags (``t0000``...) in ``repo``, each its own manifest, an hour apart in age."""
    images.push_blob(url, repo, LAYER.blob)
    sessions = _sessions(workers)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tags = [f"t{i:04d}" for i in range(count)]

    def push(index: int) -> str:
        created = start + dt.timedelta(hours=index)
        return push_small_image(sessions[index % workers], url, repo, tags[index], repo, created, mount=False)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(push, range(count)))
    return tags
