"""Auth fixtures for test registries: htpasswd files and a tiny JWT token server.

Distribution only accepts bcrypt entries in htpasswd files, so ``write_htpasswd`` never
writes the MD5/SHA variants that ``htpasswd`` would produce by default.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import bcrypt
import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from testenv.registry_image import V2_IMAGE
from testenv.services import DockerEngine, RegistryService, start_registry


def htpasswd_line(user: str, password: str, rounds: int = 5) -> str:
    """``user:$2b$...`` - low cost rounds: these are throw-away test passwords."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return f"{user}:{hashed}\n"


def write_htpasswd(path: Path | str, user: str, password: str, append: bool = False) -> Path:
    """Write (or append) a bcrypt htpasswd entry; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w") as handle:
        handle.write(htpasswd_line(user, password))
    return path


def start_htpasswd_registry(
    engine: DockerEngine, name: str, users: Mapping[str, str], realm: str = "Registry Realm", **kwargs: Any
) -> RegistryService:
    """A registry behind basic auth with the given ``{user: password}`` accounts."""
    content = "".join(htpasswd_line(user, password) for user, password in users.items())
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": realm,
        "REGISTRY_AUTH_HTPASSWD_PATH": "/auth/htpasswd",
        **kwargs.pop("env", {}),
    }
    files = {"/auth/htpasswd": content.encode(), **kwargs.pop("files", {})}
    return start_registry(engine, name, env=env, files=files, **kwargs)


# --------------------------------------------------------------------------- token auth


def libtrust_key_id(public_key: Any) -> str:
    """The ``kid`` Distribution 2.8 looks up in its trusted keys (docker/libtrust KeyID).

    SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without padding,
    in 12 colon-separated groups of 4 (libtrust util.go keyIDEncode). The registry
    builds its key set from the certificates in ``rootcertbundle``.
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def rfc7638_key_id(public_key: Any) -> str:
    """The ``kid`` Distribution v3 looks up: the RFC 7638 JWK thumbprint (SHA-256, base64url).

    v3 keys ``rootcertbundle``'s certificates by this thumbprint (registry/auth/token/util.go),
    2.8 by the libtrust key id (:func:`libtrust_key_id`).
    """
    numbers = public_key.public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    payload = f'{{"e":"{b64(numbers.e)}","kty":"RSA","n":"{b64(numbers.n)}"}}'
    return base64.urlsafe_b64encode(hashlib.sha256(payload.encode()).digest()).decode().rstrip("=")


@dataclass
class TokenIssuer:
    """RSA key + self-signed certificate that signs registry bearer tokens (RS256)."""

    issuer: str = "testenv-token-issuer"
    service: str = "testenv-registry"
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.kid = libtrust_key_id(self.key.public_key())

    def key_id_for(self, major: int) -> str:
        """The ``kid`` a registry of that major version trusts for this key."""
        return rfc7638_key_id(self.key.public_key()) if major >= 3 else libtrust_key_id(self.key.public_key())

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def token(self, subject: str, access: list[dict[str, Any]], ttl: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def parse_scopes(scopes: list[str]) -> list[dict[str, Any]]:
    """``repository:foo/bar:pull,push`` -> the ``access`` claim entries."""
    access = []
    for scope in scopes:
        for item in scope.split(" "):
            parts = item.split(":")
            if len(parts) < 3:
                continue
            access.append(
                {"type": parts[0], "name": ":".join(parts[1:-1]), "actions": [a for a in parts[-1].split(",") if a]}
            )
    return access


class TokenServer:
    """A threaded ``/token`` endpoint granting whatever scope an allowed user asks for.

    ``users=None`` grants anonymous requests too. Not a policy engine: tests that need
    partial grants pass ``grant(user, access) -> access``.
    """

    def __init__(
        self, issuer: TokenIssuer | None = None, users: Mapping[str, str] | None = None, grant: Any = None
    ) -> None:
        self.issuer = issuer or TokenIssuer()
        self.users = dict(users) if users is not None else None
        self.grant = grant or (lambda user, access: access)
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def _user(self, header: str | None) -> str | bool | None:
        """The user name, None for anonymous, False for bad credentials."""
        if not header or not header.startswith("Basic "):
            return None if self.users is None else False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        if self.users is not None and self.users.get(user) != password:
            return False
        return user

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlparse(handler.path).query)
        user = self._user(handler.headers.get("Authorization"))
        self.requests.append({"user": user, "query": query})
        if user is False:
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="testenv-token"')
            handler.end_headers()
            return
        access = self.grant(user, parse_scopes(query.get("scope", [])))
        token = self.issuer.token(user or "", access)
        body = json.dumps(
            {"token": token, "access_token": token, "expires_in": 300, "issued_at": dt.datetime.now(dt.UTC).isoformat()}
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def registry_env(self) -> dict[str, str]:
        """The ``REGISTRY_AUTH_TOKEN_*`` environment for a registry trusting this server."""
        return {
            "REGISTRY_AUTH": "token",
            "REGISTRY_AUTH_TOKEN_REALM": self.realm,
            "REGISTRY_AUTH_TOKEN_SERVICE": self.issuer.service,
            "REGISTRY_AUTH_TOKEN_ISSUER": self.issuer.issuer,
            "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": "/auth/token-ca.pem",
        }

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_token_registry(engine: DockerEngine, name: str, server: TokenServer, **kwargs: Any) -> RegistryService:
    """A registry using ``server`` for bearer-token auth.

    The tokens' ``kid`` follows the registry's version (v3: RFC 7638 thumbprint, 2.8: libtrust id).
    """
    image = kwargs.get("image") or engine.default_registry_image
    server.issuer.kid = server.issuer.key_id_for(2 if image == V2_IMAGE else 3)
    env = {**server.registry_env(), **kwargs.pop("env", {})}
    files = {"/auth/token-ca.pem": server.issuer.cert_pem, **kwargs.pop("files", {})}
    return start_registry(engine, name, env=env, files=files, **kwargs)


class BearerAuth(requests.auth.AuthBase):
    """requests auth that answers a registry's ``Bearer`` challenge via its realm.

    Tokens are cached per scope; optional basic credentials go to the token server.
    """

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.credentials = (username, password) if username is not None else None
        self.tokens: dict[str, str] = {}

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.register_hook("response", self._on_response)
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or not challenge.startswith("Bearer "):
            return response
        params = dict(part.split("=", 1) for part in _split_challenge(challenge[7:]))
        params = {k: v.strip('"') for k, v in params.items()}
        scope = params.get("scope", "")
        if scope not in self.tokens:
            query = {"service": params.get("service", "")} | ({"scope": scope} if scope else {})
            resp = requests.get(f"{params['realm']}?{urlencode(query)}", auth=self.credentials, timeout=10)
            resp.raise_for_status()
            self.tokens[scope] = resp.json()["token"]
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        response.content  # noqa: B018 - drain before reusing the connection
        response.close()
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new


def _split_challenge(text: str) -> list[str]:
    """Split ``a="x,y",b="z"`` on commas outside quotes."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def start_dashboard_token_registry(
    engine: DockerEngine,
    name: str,
    realm: str,
    certificate_pem: bytes,
    service: str = "registry",
    issuer: str = "registry-admin",
    **kwargs: Any,
) -> RegistryService:
    """A registry whose token server is the dashboard (``access/``): ``realm`` is its ``/auth/token``
    (the live test server's), ``certificate_pem`` its signing certificate (``/auth/certificate.pem``)."""
    env = {
        "REGISTRY_AUTH": "token",
        "REGISTRY_AUTH_TOKEN_REALM": realm,
        "REGISTRY_AUTH_TOKEN_SERVICE": service,
        "REGISTRY_AUTH_TOKEN_ISSUER": issuer,
        "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": "/auth/token-ca.pem",
        **kwargs.pop("env", {}),
    }
    files = {"/auth/token-ca.pem": certificate_pem, **kwargs.pop("files", {})}
    return start_registry(engine, name, env=env, files=files, **kwargs)
