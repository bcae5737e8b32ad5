"""The registry's v2 HTTP API: the only module that speaks HTTP to the registry.

One pooled ``requests.Session`` per process, explicit timeouts, and one exception type,
``RegistryError``, whose message tells the user what to do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class RegistryError(Exception):
    """The registry could not answer as asked. ``status`` is the HTTP status to give our caller."""

    def __init__(self, message: str, status: int = 502, registry_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.registry_status = registry_status


class RegistryUnavailable(RegistryError):
    """The registry cannot be reached or fails (connection refused, timeout, 5xx, 401)."""


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


class RegistryClient:
    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
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
        self.session.verify = config.verify
        if config.username:
            self.session.auth = (config.username, config.password)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request to the registry; raise RegistryUnavailable when it cannot answer."""
        url = f"{self.config.url}{path}"
        kwargs.setdefault("timeout", self.config.timeout)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError as e:
            raise RegistryUnavailable(
                f"TLS verification failed for {self.config.url}: set REGISTRY_VERIFY_TLS to the path "
                f"of the registry's CA bundle, or to false for a self-signed certificate ({_reason(e)})",
                status=503,
            ) from e
        except requests.exceptions.ConnectionError as e:
            raise RegistryUnavailable(
                f"Cannot connect to the registry at {self.config.url} ({_reason(e)}). "
                "Check that the registry container runs and that REGISTRY_URL is right.",
                status=503,
            ) from e
        except requests.exceptions.Timeout as e:
            raise RegistryUnavailable(
                f"The registry at {self.config.url} did not answer within {self.config.timeout:g} s.",
                status=504,
            ) from e
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
        """Check ``GET /v2/`` answers 200, as the seed's verification step does with curl."""
        response = self.request("GET", "/v2/")
        if response.status_code != 200:
            raise RegistryUnavailable(
                f"{self.config.url}/v2/ answered {response.status_code}, not 200: is REGISTRY_URL a "
                "Docker registry (Distribution) with the v2 API?",
                registry_status=response.status_code,
            )


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


_local = threading.local()


def get_client() -> RegistryClient:
    """The process's client for the configured registry (rebuilt when settings change, e.g. in tests)."""
    config = RegistryConfig.from_settings()
    client: RegistryClient | None = getattr(_local, "client", None)
    if client is None or client.config != config:
        client = RegistryClient(config)
        _local.client = client
    return client
