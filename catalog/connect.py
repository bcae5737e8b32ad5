"""The "Push here" page's content: how a Docker or Helm client reaches this registry.

Everything comes from settings and one unauthenticated ``GET /v2/`` (does the registry ask
for a login?). Nothing secret is shown: no credentials, only the address clients use
(``REGISTRY_PUBLIC_HOST``) and commands with the user's own repository filled in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from registry_client import client as registry
from registry_client.references import validate_name, validate_tag

#: What the commands show before the user picks a repository.
EXAMPLE_REPOSITORY = "myapp"
EXAMPLE_TAG = "latest"


@dataclass(frozen=True)
class Command:
    """One line to copy, with what it does."""

    purpose: str
    line: str


@dataclass(frozen=True)
class ClientSetup:
    host: str
    plain_http: bool
    #: True when the registry answered 401 without credentials; None when it did not answer.
    needs_login: bool | None
    repository: str
    tag: str
    daemon_json: str
    docker: tuple[Command, ...]
    helm: tuple[Command, ...]


def public_host() -> str:
    """``REGISTRY_PUBLIC_HOST`` without any ``user:password@`` a careless value might carry."""
    return str(settings.REGISTRY_PUBLIC_HOST).rpartition("@")[2]


def is_plain_http() -> bool:
    """The registry speaks HTTP (as in the installation guide): clients must list it as insecure."""
    return urlsplit(settings.REGISTRY_URL).scheme == "http"


def registry_needs_login() -> bool | None:
    """Whether pushing needs ``docker login``: the registry's own answer, else our configuration."""
    try:
        return registry.get_client().requires_login()
    except registry.RegistryError:
        return True if settings.REGISTRY_USERNAME else None


def client_setup(repository: str = "", tag: str = "") -> ClientSetup:
    """The snippets for ``repository:tag`` (InvalidReference when either breaks the grammar)."""
    repository = validate_name(repository) if repository else EXAMPLE_REPOSITORY
    tag = validate_tag(tag) if tag else EXAMPLE_TAG
    host = public_host()
    plain = is_plain_http()
    needs_login = registry_needs_login()
    target = f"{host}/{repository}:{tag}"
    docker: list[Command] = []
    if needs_login is not False:
        docker.append(Command("Log in (with your own registry account)", f"docker login {host}"))
    docker += [
        Command("Name a local image for this registry", f"docker tag {repository}:{tag} {target}"),
        Command("Push it", f"docker push {target}"),
        Command("Pull it on another machine", f"docker pull {target}"),
    ]
    # Helm keeps charts as OCI artifacts: the chart's name becomes the last path component.
    namespace, _, chart = repository.rpartition("/")
    oci_base = f"oci://{host}/{namespace}" if namespace else f"oci://{host}"
    plain_flag = " --plain-http" if plain else ""
    helm: list[Command] = []
    if needs_login is not False:
        helm.append(Command("Log in", f"helm registry login {host}"))
    helm += [
        Command("Push a packaged chart", f"helm push {chart}-{_chart_version(tag)}.tgz {oci_base}{plain_flag}"),
        Command("Pull it", f"helm pull oci://{host}/{repository} --version {_chart_version(tag)}{plain_flag}"),
    ]
    return ClientSetup(
        host=host,
        plain_http=plain,
        needs_login=needs_login,
        repository=repository,
        tag=tag,
        daemon_json=json.dumps({"insecure-registries": [host]}, indent=2),
        docker=tuple(docker),
        helm=tuple(helm),
    )


def _chart_version(tag: str) -> str:
    """Charts are versioned with SemVer; ``latest`` is no chart version, so show an example one."""
    return "0.1.0" if tag == EXAMPLE_TAG else tag
