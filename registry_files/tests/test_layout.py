"""The storage reader on the real registries' data directories (bind-mounted on the host)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from registry_client.client import RegistryClient, RegistryConfig
from registry_files import layout
from registry_files.layout import BlobMissing, RegistryFilesError, StorageFiles
from testenv import images

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {
    "os.mkdir",
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.truncate",
    "os.utime",
    "os.chmod",
    "os.chown",
    "os.link",
    "os.symlink",
    "shutil.rmtree",
    "shutil.copyfile",
    "shutil.move",
}


class _Audit:
    """Every file opened (with its flags) and every write-like call made while ``watching``."""

    def __init__(self) -> None:
        self.watching: str | None = None
        self.opened: list[tuple[str, Any, int]] = []
        self.writes: list[tuple[str, tuple[Any, ...]]] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        root = self.watching
        if root is None:
            return
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            path = os.fsdecode(args[0])
            if path.startswith(root):
                self.opened.append((path, args[1], int(args[2] or 0)))
        elif event in _WRITE_EVENTS and any(os.fsdecode(a).startswith(root) for a in args if isinstance(a, str | Path)):
            self.writes.append((event, args))


_AUDIT = _Audit()
sys.addaudithook(_AUDIT)  # audit hooks cannot be removed: it records only while ``watching`` is set


@contextlib.contextmanager
def _read_only_mount(source: Path, target: Path) -> Iterator[Path]:
    """``source`` bind-mounted read-only at ``target``, as compose's ``:ro`` does for the worker."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True)
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def _push_some(url: str, repo: str) -> tuple[str, dict[str, str], str]:
    index, children = images.push_oci_index(url, repo, "multi", with_attestation=True)
    image = images.push_oci_image(url, repo, "single", layer_count=2)
    return index, children, image


def test_it_lists_what_the_registry_lists(each_registry: Any) -> None:
    repo = f"files-list-{uuid.uuid4().hex[:6]}"
    index, _, image = _push_some(each_registry.url, f"{repo}/nested")
    files = StorageFiles(each_registry.data_dir)
    files.check()

    client = RegistryClient(RegistryConfig(url=each_registry.url, username="", password="", verify=True, timeout=10))
    assert set(files.repositories()) == set(client.catalog())
    links = {link.tag: link.digest for link in files.tags(f"{repo}/nested")}
    assert links == {"multi": index, "single": image}
    for name in files.repositories()[:20]:
        assert sorted(link.tag for link in files.tags(name)) == sorted(client.tags(name) or [])
    assert index in files.revisions(f"{repo}/nested") and image in files.revisions(f"{repo}/nested")
    body = client.get_manifest(f"{repo}/nested", image).body
    for layer in [body["config"], *body["layers"]]:
        assert files.blob_size(layer["digest"]) == layer["size"]
        assert layer["digest"] in files.layers(f"{repo}/nested")
    assert files.read_blob(image) == client.get_manifest(f"{repo}/nested", image).raw
    with pytest.raises(BlobMissing):
        files.read_blob("sha256:" + "0" * 64)


def test_it_lists_an_abandoned_upload_with_its_size(each_registry: Any) -> None:
    repo = f"files-upload-{uuid.uuid4().hex[:6]}"
    images.push_oci_image(each_registry.url, repo, "t")
    started = requests.post(f"{each_registry.url}/v2/{repo}/blobs/uploads/", timeout=10)
    assert started.status_code == 202
    location = requests.compat.urljoin(each_registry.url + "/", started.headers["Location"])
    patched = requests.patch(
        location, data=b"x" * 1000, headers={"Content-Type": "application/octet-stream"}, timeout=10
    )
    assert patched.status_code == 202

    uploads = StorageFiles(each_registry.data_dir).uploads(repo)

    assert [(upload.uuid, upload.size) for upload in uploads] == [(started.headers["Docker-Upload-UUID"], 1000)]
    assert uploads[0].started is not None


def test_it_never_writes_and_a_write_is_refused(registry: Any, tmp_path: Path) -> None:
    _push_some(registry.url, f"files-ro-{uuid.uuid4().hex[:6]}")
    with _read_only_mount(registry.data_dir, tmp_path / "ro") as mounted:
        files = StorageFiles(mounted)
        _AUDIT.watching = str(mounted)
        try:
            files.check()
            for name in files.repositories():
                for link in files.tags(name):
                    files.read_blob(link.digest)
                files.revisions(name)
                files.layers(name)
                files.uploads(name)
            walked = list(files.blobs())
        finally:
            _AUDIT.watching = None
        # Nothing even tried to write: every open was read-only, no write-like call was made.
        assert walked and _AUDIT.opened
        assert [entry for entry in _AUDIT.opened if entry[2] & _WRITE_FLAGS] == []
        assert [entry for entry in _AUDIT.opened if isinstance(entry[1], str) and set(entry[1]) & set("wax+")] == []
        assert _AUDIT.writes == []
        # And the mount the compose file gives the worker refuses a write.
        with pytest.raises(OSError) as refused:
            (mounted / "docker" / "registry" / "v2" / "written-by-the-dashboard").write_bytes(b"x")
        assert refused.value.errno == errno.EROFS


def test_an_empty_or_missing_directory_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(RegistryFilesError, match="holds no docker/registry/v2"):
        StorageFiles(tmp_path).check()
    with pytest.raises(RegistryFilesError, match="does not exist"):
        StorageFiles(tmp_path / "nowhere").check()


def test_a_link_known_unchanged_is_stat_ed_not_read_and_one_read_too_soon_after_its_write_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``all_tag_links(known)``: a link whose inode, size and modification time are those of the
    known link is not read again, but only when it had been written more than RACY_NS before it
    was read (a rewrite within the same clock tick would keep all three: "racy git")."""
    tags = tmp_path / "docker/registry/v2/repositories/team/app/_manifests/tags"
    digests = {"a": "sha256:" + "a" * 64, "b": "sha256:" + "b" * 64}
    for tag, digest in digests.items():
        (tags / tag / "current").mkdir(parents=True)
        (tags / tag / "current" / "link").write_text(digest)
    files = StorageFiles(tmp_path)
    reads: list[str] = []
    real = layout._read_link
    monkeypatch.setattr(layout, "_read_link", lambda path, repo, tag: reads.append(tag) or real(path, repo, tag))

    def known() -> dict[tuple[str, str], Any]:
        return {(link.repository, link.tag): link for link in files.all_tag_links(seen)["team/app"]}

    seen: dict[tuple[str, str], Any] = {}
    seen = known()
    assert sorted(reads) == ["a", "b"] and {key[1]: link.digest for key, link in seen.items()} == digests
    reads.clear()
    seen = known()  # written just now: not trusted, read again
    assert sorted(reads) == ["a", "b"]

    long_ago = time.time() - 3600
    for tag in digests:
        os.utime(tags / tag / "current" / "link", (long_ago, long_ago))
    seen = known()  # read again (another modification time), now written long before the reading
    reads.clear()
    assert {key[1]: link.digest for key, link in known().items()} == digests
    assert reads == []

    # Moved in place, as the registry rewrites a link: same inode and size, a new modification time.
    with open(tags / "a" / "current" / "link", "r+") as link:
        link.write("sha256:" + "c" * 64)
    found = {key[1]: link.digest for key, link in known().items()}
    assert reads == ["a"] and found == {"a": "sha256:" + "c" * 64, "b": digests["b"]}
