"""One ``GET <url>/v2/`` to an address someone typed: is a Distribution registry there?

The setup page's "Test connection" (``core.connection``) tries an address before it goes into
REGISTRY_URL. Unlike ``RegistryClient`` it sends no credentials of ours, retries nothing and
follows no redirect (a redirect is an answer to report, not a place to go), with one short
timeout. The outcome is a word the caller turns into a sentence; nothing here logs the URL.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from registry_client.client import USER_AGENT

#: The outcomes of a probe, from "a registry answered" to "nothing answered".
REGISTRY = "registry"  # 200 with Distribution's version header
REGISTRY_LOGIN = "registry-login"  # 401 with a Bearer or Basic challenge: a registry that wants a login
NOT_REGISTRY = "not-registry"  # an HTTP server answered, not as a registry
REDIRECT = "redirect"  # 3xx: not followed
DNS = "dns"
REFUSED = "refused"
TIMEOUT = "timeout"
TLS = "tls"
UNREACHABLE = "unreachable"  # another connection error (no route, reset, ...)

VERSION_HEADER = "Docker-Distribution-Api-Version"


@dataclass(frozen=True)
class ProbeAnswer:
    outcome: str
    status: int | None = None
    version: str = ""
    challenge: str = ""  # "Bearer" or "Basic"
    location: str = ""
    reason: str = ""  # the error's own words, for the connection failures

    @property
    def is_registry(self) -> bool:
        return self.outcome in (REGISTRY, REGISTRY_LOGIN)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the reasons requests and urllib3 wrap inside it (MaxRetryError.reason, __cause__)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException) and current.args and isinstance(current.args[0], BaseException):
            inner = current.args[0]
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return chain


def _cause(error: BaseException) -> str:
    return str(_chain(error)[-1])


def _classify_connection_error(error: requests.exceptions.ConnectionError) -> ProbeAnswer:
    chain = _chain(error)
    reason = str(chain[-1])
    if any(isinstance(e, (NameResolutionError, socket.gaierror)) for e in chain):
        return ProbeAnswer(DNS, reason=reason)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return ProbeAnswer(REFUSED, reason=reason)
    if any(isinstance(e, (ConnectTimeoutError, TimeoutError, socket.timeout)) for e in chain):
        return ProbeAnswer(TIMEOUT, reason=reason)
    if any(isinstance(e, NewConnectionError) and "refused" in str(e).lower() for e in chain):
        return ProbeAnswer(REFUSED, reason=reason)
    return ProbeAnswer(UNREACHABLE, reason=reason)


def probe(url: str, *, timeout: float = 5.0, verify: bool | str = True) -> ProbeAnswer:
    """``GET {url}/v2/`` once: what answered. ``url`` is an http(s) address without a trailing slash."""
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: the address is tried as typed
        try:
            response = session.get(
                f"{url}/v2/",
                timeout=timeout,
                allow_redirects=False,
                verify=verify,
                headers={"User-Agent": USER_AGENT},
                stream=True,  # only the status and headers are read: a large page is not downloaded
            )
        except requests.exceptions.SSLError as e:
            return ProbeAnswer(TLS, reason=_cause(e))
        except requests.exceptions.ConnectTimeout as e:
            return ProbeAnswer(TIMEOUT, reason=_cause(e))
        except requests.exceptions.ConnectionError as e:
            return _classify_connection_error(e)
        except requests.exceptions.Timeout as e:
            return ProbeAnswer(TIMEOUT, reason=_cause(e))
        except requests.exceptions.RequestException as e:
            return ProbeAnswer(UNREACHABLE, reason=str(e))
        try:
            status = response.status_code
            version = response.headers.get(VERSION_HEADER, "")
            if 300 <= status < 400:
                return ProbeAnswer(REDIRECT, status=status, location=response.headers.get("Location", ""))
            challenge = response.headers.get("WWW-Authenticate", "").split(" ", 1)[0].capitalize()
            if status == 401 and challenge in ("Bearer", "Basic"):
                return ProbeAnswer(REGISTRY_LOGIN, status=status, version=version, challenge=challenge)
            if status == 200 and version:
                return ProbeAnswer(REGISTRY, status=status, version=version)
            return ProbeAnswer(NOT_REGISTRY, status=status, version=version)
        finally:
            response.close()
