"""The registry's v2 HTTP API: the only module that speaks HTTP to the registry.

One pooled ``requests.Session`` per process, explicit timeouts, and one exception type,
``RegistryError``, whose message tells the user what to do.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from registry_admin import __version__

# Distribution 2.8.2 (Debian's, the test stand-in) answers 500 for any request naming a path
# component longer than 237 characters, where v3.1.1 answers 404: no such repository can exist
# there, so the client answers "not found" without asking. Found by schemathesis.
COMPONENT_MAX_LENGTH = 237


class RegistryError(Exception):
    """The registry could not answer as asked. ``status`` is the HTTP status to give our caller."""

    def __init__(self, message: str, status: int = 502, registry_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.registry_status = registry_status


class RegistryUnavailable(RegistryError):
    """The registry cannot be reached or fails (connection refused, timeout, 5xx, 401)."""


class RegistryNotFound(RegistryError):
    """The repository, tag, manifest or blob does not exist (the registry answered 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=404, registry_status=404)


class RegistryRejected(RegistryError):
    """The registry refused the request (4xx other than 401/404); ``code`` is its error code."""

    def __init__(self, message: str, registry_status: int, code: str, body: str) -> None:
        super().__init__(message, status=409 if registry_status == 405 else 400, registry_status=registry_status)
        self.code = code
        self.body = body


# Every manifest request sends all four types. Without the OCI types an OCI manifest or
# index answers 404; without the list type a Docker manifest list answers with its
# linux/amd64 child and that child's digest (deleting it breaks the list); 2.8 without the
# v2 type rewrites to schema1 with another digest. See shared/REGISTRY-FACTS.md.
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_ACCEPT = ", ".join(MANIFEST_TYPES)

USER_AGENT = f"registry-admin/{__version__}"

# The registries cap page sizes at 1000 (more: 400 PAGINATION_NUMBER_INVALID).
MAX_PAGE = 1000


@dataclass(frozen=True)
class ManifestRef:
    """What a HEAD on a manifest tells: its digest (Docker-Content-Digest), type and size."""

    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    raw: bytes
    body: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True)
class DeleteAnswer:
    """The registry accepted a manifest delete (202)."""

    status: int


@dataclass(frozen=True)
class RegistryConfig:
    url: str
    username: str
    password: str
    verify: bool | str
    timeout: float

    @classmethod
    def from_settings(cls) -> RegistryConfig:
        return cls(
            url=settings.REGISTRY_URL,
            username=settings.REGISTRY_USERNAME,
            password=settings.REGISTRY_PASSWORD,
            verify=settings.REGISTRY_VERIFY_TLS,
            timeout=float(settings.REGISTRY_TIMEOUT),
        )


# Signs the token a registry challenge asks for, without asking its realm over HTTP: given the
# challenge's parameters (realm, service, scope), ``(token, seconds it lasts)``, or None to ask the
# realm as usual. The layer above injects it (set_token_provider): access signs the dashboard's own
# tokens with the token endpoint's key when the registry's realm is the dashboard itself.
TokenProvider = Callable[[Mapping[str, str]], "tuple[str, int] | None"]
_token_provider: TokenProvider | None = None


def set_token_provider(provider: TokenProvider | None) -> None:
    """Install (or remove, None) the process's token provider; clients made from now on use it."""
    global _token_provider, _client
    with _client_lock:
        _token_provider = provider
        _client = None


class RegistryClient:
    def __init__(self, config: RegistryConfig, token_provider: TokenProvider | None = None) -> None:
        self.config = config
        self.token_provider = token_provider
        self.session = requests.Session()
        # Retries only for idempotent methods (urllib3's default set excludes POST).
        retry = Retry(
            total=2,
            connect=2,
            read=1,
            backoff_factor=0.2,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # The environment's proxies and CA bundle are read once, here: with ``trust_env`` requests
        # also looks for a ~/.netrc on every request (two stat calls), a tenth of a sync's time
        # at 10,000 repositories (benchmarks/README.md). REGISTRY_USERNAME replaces .netrc.
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(config.url)
        self.session.verify = (
            (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True)
            if config.verify is True
            else config.verify
        )
        # Our own requests carry our name: the inventory never counts them as pulls.
        self.session.headers["User-Agent"] = USER_AGENT
        # One client serves the catalog's thread pool: the Session's urllib3 pool is
        # thread-safe, the token cache is guarded by this lock.
        self._tokens: dict[str, _Token] = {}
        self._tokens_lock = threading.Lock()
        # Requests sent (retries by urllib3 not counted): the reconcile reports its figures.
        self.request_count = 0
        self._count_lock = threading.Lock()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request to the registry; raise RegistryUnavailable when it cannot answer.

        Answers a ``WWW-Authenticate: Bearer`` challenge once: fetch a token for its scope
        with the basic credentials, cache it until it expires, send again.
        """
        if any(len(part) > COMPONENT_MAX_LENGTH for part in path.split("?", 1)[0].split("/")):
            # 2.8.2 answers 500 for these (COMPONENT_MAX_LENGTH); no such repository can exist.
            raise RegistryNotFound(_not_found_message(path))
        key = _token_key(method, path)
        response = self._send(method, path, self._auth_headers(key), **kwargs)
        if response.status_code == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            if challenge.lower().startswith("bearer "):
                parsed = _parse_challenge(challenge)
                token = self._fetch_token(parsed)
                with self._tokens_lock:
                    self._tokens[key] = token
                response = self._send(method, path, {"Authorization": f"Bearer {token.value}"}, **kwargs)
                if response.status_code == 401 and token.signed_here:
                    # The registry refused the token signed in-process (it trusts another key, e.g. the
                    # worker's REGISTRY_TOKEN_KEY differs from web's): ask its realm over HTTP instead.
                    token = self._fetch_token(parsed, sign_here=False)
                    with self._tokens_lock:
                        self._tokens[key] = token
                    response = self._send(method, path, {"Authorization": f"Bearer {token.value}"}, **kwargs)
        return self._check(method, path, response)

    def _auth_headers(self, key: str) -> dict[str, str]:
        with self._tokens_lock:
            token = self._tokens.get(key)
        if token is not None and token.expires_at > time.monotonic():
            return {"Authorization": f"Bearer {token.value}"}
        if self.config.username:
            return {"Authorization": _basic(self.config.username, self.config.password)}
        return {}

    def _fetch_token(self, challenge: dict[str, str], *, sign_here: bool = True) -> _Token:
        realm = challenge.get("realm", "")
        if not realm:
            raise RegistryUnavailable(f"The registry at {self.config.url} asked for a token but named no realm.")
        if sign_here and self.token_provider is not None and (signed := self.token_provider(challenge)) is not None:
            value, expires_in = signed
            return _Token(value=value, expires_at=time.monotonic() + max(expires_in - 10, 5), signed_here=True)
        params = {k: v for k, v in challenge.items() if k in ("service", "scope")}
        headers = {}
        if self.config.username:
            headers["Authorization"] = _basic(self.config.username, self.config.password)
        try:
            answer = self.session.get(
                realm,
                params=params,
                headers=headers,
                timeout=self.config.timeout,
                proxies=requests.utils.get_environ_proxies(realm),  # the token server may be elsewhere
            )
        except requests.exceptions.RequestException as e:
            raise RegistryUnavailable(f"Cannot get a token from {realm} ({_reason(e)}).", status=503) from e
        if answer.status_code == 401:
            raise RegistryUnavailable(
                f"The token server {realm} refused our credentials (401): check REGISTRY_USERNAME and "
                "REGISTRY_PASSWORD.",
                registry_status=401,
            )
        try:
            data = answer.json()
            value = data.get("token") or data["access_token"]
        except (ValueError, KeyError):
            raise RegistryUnavailable(
                f"The token server {realm} answered {answer.status_code} without a token.",
                registry_status=answer.status_code,
            ) from None
        # Expire a little early so a token never lapses in flight; 60 s is the spec's default.
        lifetime = max(int(data.get("expires_in") or 60) - 10, 5)
        return _Token(value=value, expires_at=time.monotonic() + lifetime)

    def _send(self, method: str, path: str, auth_headers: dict[str, str], **kwargs: Any) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else f"{self.config.url}{path}"
        kwargs.setdefault("timeout", self.config.timeout)
        kwargs["headers"] = {**kwargs.get("headers", {}), **auth_headers}
        with self._count_lock:
            self.request_count += 1
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError as e:
            raise RegistryUnavailable(
                f"TLS verification failed for {self.config.url}: set REGISTRY_VERIFY_TLS to the path "
                f"of the registry's CA bundle, or to false for a self-signed certificate ({_reason(e)})",
                status=503,
            ) from e
        except requests.exceptions.ConnectionError as e:
            # A read timeout that used up the GET/HEAD retries arrives as a ConnectionError.
            if isinstance(getattr(e.args[0] if e.args else None, "reason", None), ReadTimeoutError):
                raise RegistryUnavailable(self._timed_out(), status=504) from e
            raise RegistryUnavailable(
                f"Cannot connect to the registry at {self.config.url} ({_reason(e)}). "
                "Check that the registry container runs and that REGISTRY_URL is right.",
                status=503,
            ) from e
        except requests.exceptions.Timeout as e:
            raise RegistryUnavailable(self._timed_out(), status=504) from e

    def _timed_out(self) -> str:
        return (
            f"The registry at {self.config.url} (REGISTRY_URL) did not answer within {self.config.timeout:g} s "
            "(REGISTRY_TIMEOUT): check that it runs and is not overloaded, or raise REGISTRY_TIMEOUT."
        )

    def _check(self, method: str, path: str, response: requests.Response) -> requests.Response:
        if response.status_code == 401:
            raise RegistryUnavailable(
                f"The registry at {self.config.url} refused our credentials (401): check "
                "REGISTRY_USERNAME and REGISTRY_PASSWORD.",
                status=502,
                registry_status=401,
            )
        if response.status_code >= 500:
            raise RegistryUnavailable(
                f"The registry at {self.config.url} failed with {response.status_code} on "
                f"{method} {path}: {response.text[:200]}",
                status=502,
                registry_status=response.status_code,
            )
        return response

    def ping(self) -> None:
        """Check ``GET /v2/`` answers 200, as the installation guide's verification step does with curl."""
        response = self.request("GET", "/v2/")
        if response.status_code != 200:
            raise RegistryUnavailable(
                f"{self.config.url}/v2/ answered {response.status_code}, not 200: is REGISTRY_URL a "
                "Docker registry (Distribution) with the v2 API?",
                registry_status=response.status_code,
            )

    def requires_login(self) -> bool:
        """Whether ``GET /v2/`` without credentials answers 401, i.e. clients need ``docker login``."""
        response = self._send("GET", "/v2/", {})
        if response.status_code == 401:
            return True
        if response.status_code == 200:
            return False
        raise RegistryUnavailable(
            f"{self.config.url}/v2/ answered {response.status_code} without credentials, neither 200 nor 401.",
            registry_status=response.status_code,
        )

    # --- Reading -----------------------------------------------------------------------

    def _paginated(self, path: str, key: str) -> list[str]:
        """Follow ``Link: <...>; rel="next"`` until the last page, whatever the page size."""
        items: list[str] = []
        next_path: str | None = f"{path}?n={MAX_PAGE}"
        while next_path:
            response = self.request("GET", next_path)
            if response.status_code == 404:
                raise RegistryNotFound(_not_found_message(path))
            _raise_for_rejection(response, "GET", next_path)
            page = response.json().get(key) or []  # 2.8 answers "tags": null when all are deleted
            if not page:
                # v3.1.1's Link after a page filled exactly leads to "tags": null: a null or empty
                # page is the end, whatever its Link says (REGISTRY-FACTS).
                break
            items.extend(page)
            link = response.links.get("next", {}).get("url")
            next_path = urljoin(f"{self.config.url}/", link) if link else None
        return items

    def catalog(self) -> list[str]:
        """Every repository name, across all of the registry's pages."""
        return self._paginated("/v2/_catalog", "repositories")

    def tags(self, name: str) -> list[str]:
        """Every tag of a repository ([] when all were deleted: the repository stays, distribution#2314)."""
        return self._paginated(f"/v2/{name}/tags/list", "tags")

    def head_manifest(self, name: str, reference: str) -> ManifestRef:
        """Resolve a tag (or digest) to the manifest's digest, from Docker-Content-Digest."""
        path = f"/v2/{name}/manifests/{reference}"
        response = self.request("HEAD", path, headers={"Accept": MANIFEST_ACCEPT})
        if response.status_code == 404:
            raise RegistryNotFound(f"{name}:{reference} does not exist in the registry.")
        _raise_for_rejection(response, "HEAD", path)
        digest = response.headers.get("Docker-Content-Digest", "")
        if not digest:
            raise RegistryUnavailable(f"The registry answered HEAD {path} without a Docker-Content-Digest header.")
        return ManifestRef(
            digest=digest,
            media_type=response.headers.get("Content-Type", "").split(";")[0],
            size=int(response.headers.get("Content-Length") or 0),
        )

    def get_manifest(self, name: str, reference: str) -> Manifest:
        path = f"/v2/{name}/manifests/{reference}"
        response = self.request("GET", path, headers={"Accept": MANIFEST_ACCEPT})
        if response.status_code == 404:
            raise RegistryNotFound(
                f"{name}@{reference} does not exist in the registry."
                if reference.startswith("sha256:")
                else f"{name}:{reference} does not exist in the registry."
            )
        _raise_for_rejection(response, "GET", path)
        try:
            body = response.json()
        except ValueError:
            raise RegistryUnavailable(f"The registry answered GET {path} with a manifest that is not JSON.") from None
        media_type = body.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0]
        digest = response.headers.get("Docker-Content-Digest") or (reference if reference.startswith("sha256:") else "")
        return Manifest(digest=digest, media_type=media_type, raw=response.content, body=body)

    def get_blob(self, name: str, digest: str) -> bytes:
        """A blob's content (config blobs are small JSON; the registry may redirect)."""
        path = f"/v2/{name}/blobs/{digest}"
        response = self.request("GET", path)
        if response.status_code == 404:
            raise RegistryNotFound(f"Blob {digest} of {name} does not exist in the registry.")
        _raise_for_rejection(response, "GET", path)
        return response.content

    def blob_exists(self, name: str, digest: str) -> bool:
        """``HEAD /v2/<name>/blobs/<digest>``: True on 200 (or a redirect to storage), False on 404."""
        path = f"/v2/{name}/blobs/{digest}"
        response = self.request("HEAD", path, allow_redirects=False)
        if response.status_code == 404:
            return False
        _raise_for_rejection(response, "HEAD", path)
        return True

    # --- Deleting ----------------------------------------------------------------------

    def delete_manifest(self, name: str, reference: str) -> DeleteAnswer:
        """DELETE a manifest by digest, or a tag by name (registry:3 only; 2.x answers 400 DIGEST_INVALID).

        Raises RegistryRejected with the registry's code (UNSUPPORTED when deleting is
        disabled, DIGEST_INVALID, ...) and RegistryNotFound; never retried.
        """
        path = f"/v2/{name}/manifests/{reference}"
        response = self.request("DELETE", path)
        if response.status_code == 404:
            raise RegistryNotFound(f"{name}:{reference} does not exist in the registry.")
        _raise_for_rejection(response, "DELETE", path)
        return DeleteAnswer(status=response.status_code)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float
    signed_here: bool = False  # by the token provider, not fetched from the realm


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _parse_challenge(header: str) -> dict[str, str]:
    """``Bearer realm="https://auth",service="registry",scope="repository:a:pull"`` as a dict."""
    return dict(re.findall(r'(\w+)="([^"]*)"', header[len("Bearer ") :]))


def _token_key(method: str, path: str) -> str:
    """Which token a request needs: one per repository and kind of access, one for the catalog."""
    parts = urlsplit(path).path.split("/")
    if "_catalog" in parts:
        return "catalog"
    for marker in ("manifests", "blobs", "tags"):
        if marker in parts:
            name = "/".join(parts[2 : parts.index(marker)])
            access = "pull" if method in ("GET", "HEAD") else "write"
            return f"{name}:{access}"
    return "base"


def _error_code(response: requests.Response) -> tuple[str, str]:
    """The first ``errors[].code`` and ``message`` of a registry error body, if it has one."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", response.text[:200].strip()


def _raise_for_rejection(response: requests.Response, method: str, path: str) -> None:
    if response.status_code < 400:
        return
    code, message = _error_code(response)
    raise RegistryRejected(
        f"The registry refused {method} {path} with {response.status_code} {code}: {message}".strip(),
        registry_status=response.status_code,
        code=code,
        body=response.text[:2000],
    )


def _not_found_message(path: str) -> str:
    if path.endswith("/tags/list"):
        return f"Repository {path[len('/v2/') : -len('/tags/list')]} does not exist in the registry."
    return f"{path} does not exist in the registry."


def _reason(error: Exception) -> str:
    """The innermost cause, e.g. 'Connection refused', without urllib3's object reprs."""
    text = str(error)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "timed out",
        "certificate verify failed",
        "Temporary failure in name resolution",
    ):
        if marker in text:
            return marker
    return text[:160]


_client: RegistryClient | None = None
_client_lock = threading.Lock()


def _reset_in_child() -> None:
    """A forked child (a job's child process) builds its own client: the parent's pooled
    connections are the parent's (two processes on one socket mix their answers)."""
    global _client, _client_lock
    _client, _client_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_reset_in_child)


def get_client() -> RegistryClient:
    """The process's client for the configured registry (rebuilt when settings change, e.g. in tests).

    Shared by all threads, so the catalog's parallel fetches reuse one connection pool and
    one token cache.
    """
    global _client
    config = RegistryConfig.from_settings()
    with _client_lock:
        if _client is None or _client.config != config:
            _client = RegistryClient(config, _token_provider)
        return _client
