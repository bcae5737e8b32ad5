"""The key pair that signs the registry's tokens, its certificate, and the signed JWT itself.

The private key comes from ``REGISTRY_TOKEN_KEY`` (a PEM, usually given as ``REGISTRY_TOKEN_KEY_FILE``,
a Container Station secret) or is generated once into ``DATA_DIR/registry-token/key.pem``. Its
self-signed certificate (``DATA_DIR/registry-token/cert.pem``, also served at
``/auth/certificate.pem``) is what the registry trusts: its ``auth.token.rootcertbundle``.

Each token carries the certificate in its ``x5c`` header. Both registry versions verify that chain
against ``rootcertbundle`` before looking at ``kid`` (seen here: a token with only ``x5c`` is
accepted by 2.8.2 and by v3.1.1), so one token suits both, whereas ``kid`` alone would have to be
libtrust's key id for 2.8 and the RFC 7638 thumbprint for v3 (testenv/auth.py). ``kid`` is still
set, to the libtrust id, for tools that log it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CERTIFICATE_YEARS = 10
_lock = threading.Lock()
_cached: SigningKey | None = None


@dataclass(frozen=True)
class SigningKey:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_id(self) -> str:
        return libtrust_key_id(self.key.public_key())

    @property
    def x5c(self) -> list[str]:
        return [base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()]


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """docker/libtrust's KeyID: SHA-256 of the DER public key, 240 bits, base32, groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def key_directory() -> Path:
    return Path(settings.DATA_DIR) / "registry-token"


def certificate_path() -> Path:
    return key_directory() / "cert.pem"


def _load_private_key() -> rsa.RSAPrivateKey:
    given = settings.REGISTRY_TOKEN_KEY
    path = key_directory() / "key.pem"
    if given:
        data, origin = given.encode(), "REGISTRY_TOKEN_KEY"
    elif path.exists():
        data, origin = path.read_bytes(), str(path)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: two processes starting together never read half a key.
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.touch(mode=0o600)
        partial.write_bytes(pem)
        try:
            os.link(partial, path)  # fails if another process made one first: use theirs
        except FileExistsError:
            pass
        finally:
            partial.unlink(missing_ok=True)
        data, origin = path.read_bytes(), str(path)
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except ValueError as e:
        raise ImproperlyConfigured(f"{origin}: not an unencrypted PEM private key ({e}).") from e
    if not isinstance(loaded, rsa.RSAPrivateKey) or loaded.key_size < 2048:
        raise ImproperlyConfigured(f"{origin}: the token signing key must be an RSA key of 2048 bits or more.")
    return loaded


def _certificate_for(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The certificate in DATA_DIR when it is this key's, else a new self-signed one saved there."""
    path = certificate_path()
    public = key.public_key().public_numbers()
    if path.exists():
        try:
            found = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError:
            found = None
        if found is not None and _public_numbers(found) == public and found.not_valid_after_utc > _now():
            return found
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.REGISTRY_TOKEN_ISSUER[:64])])
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    partial.replace(path)
    return certificate


def _public_numbers(certificate: x509.Certificate) -> Any:
    public = certificate.public_key()
    return public.public_numbers() if isinstance(public, rsa.RSAPublicKey) else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def signing_key() -> SigningKey:
    """The key and its certificate, loaded (or made) once per process."""
    global _cached
    with _lock:
        if _cached is None:
            key = _load_private_key()
            _cached = SigningKey(key=key, certificate=_certificate_for(key))
        return _cached


def forget() -> None:
    """Load the key again on next use (tests that change DATA_DIR or REGISTRY_TOKEN_KEY)."""
    global _cached
    with _lock:
        _cached = None


def sign(subject: str, access: list[dict[str, Any]], ttl: int) -> tuple[str, int]:
    """A JWT as Distribution's token auth reads it (docs/spec/auth/jwt.md), and its issue time."""
    key = signing_key()
    now = int(time.time())
    claims = {
        "iss": settings.REGISTRY_TOKEN_ISSUER,
        "sub": subject,
        "aud": settings.REGISTRY_TOKEN_SERVICE,
        "iat": now,
        "nbf": now - 5,  # a registry whose clock is a little behind still takes it
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    token = jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.key_id, "x5c": key.x5c})
    return token, now
