"""Catalog pages: repositories, a repository's tags, an image. Thin: catalog.services reads the inventory.

Each page view also serves its htmx fragment (the list or table it filters and sorts).
A registry failure renders the page with a banner holding the client's message, with the
client's status (404, 502, 503, 504), never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render

from catalog import connect, protection, services
from core.roles import Role, role_required
from core.types import HtmxHttpRequest
from registry_client.client import RegistryError
from registry_client.references import InvalidReference, validate_digest, validate_name, validate_tag

REPOSITORIES_PER_PAGE = 100
TAGS_PER_PAGE = 100
# The tag table's sortable columns: (ordering, heading, the first click sorts descending).
SORTABLE = {
    "name": ("Tag", False),
    "size": ("Size", True),
    "created": ("Created", True),
    "pushed": ("Pushed", True),
    "pulled": ("Last pulled", True),
}


def registry_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer bad references with 400 and registry failures with their status, as a banner."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except InvalidReference as e:
            return _error(request, e.message, 400, kwargs)
        except RegistryError as e:
            return _error(request, e.message, e.status, kwargs)

    return wrapper


def _error(request: HtmxHttpRequest, message: str, status: int, context: dict[str, Any]) -> HttpResponse:
    template = "catalog/_error.html" if request.htmx else "catalog/error.html"
    return render(request, template, {"message": message, "status": status, **context}, status=status)


@role_required(Role.VIEWER)
@registry_errors
def repositories(request: HtmxHttpRequest) -> HttpResponse:
    """All repositories grouped by namespace, searchable; empty ones only when asked."""
    search = request.GET.get("q", "").strip()
    show_empty = request.GET.get("empty") == "1"
    page = services.repository_page(search, show_empty, request.GET.get("page"), REPOSITORIES_PER_PAGE)
    context = {
        "page": page,
        "namespaces": services.group_by_namespace(page.object_list),
        "search": search,
        "show_empty": show_empty,
    }
    template = "catalog/_repositories.html" if request.htmx else "catalog/repositories.html"
    return render(request, template, context)


@role_required(Role.VIEWER)
@registry_errors
def tags(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """A repository's tags, TAGS_PER_PAGE a page, sorted and filtered across all of them."""
    validate_name(name)
    search = request.GET.get("q", "").strip()
    ordering = request.GET.get("sort", "name")
    if ordering not in services.ORDERINGS:
        ordering = "name"
    kind = request.GET.get("kind", "")
    if kind not in services.KINDS:
        kind = ""
    table = services.tag_table(name, search, ordering, request.GET.get("page"), TAGS_PER_PAGE, kind)
    context = {
        "name": name,
        "rows": table.rows,
        "total": table.total,
        "matched": table.matched,
        "page": table.page,
        "orphans": table.orphans,
        "search": search,
        "sort": ordering,
        "kind": kind,
        "kinds": services.KINDS,
        "columns": SORTABLE,
        # An empty "Last pulled" cell says why: events off, or no pull since they were on.
        "events_on": bool(settings.REGISTRY_EVENTS_TOKEN),
    }
    template = "catalog/_tag_table.html" if request.htmx else "catalog/tags.html"
    return render(request, template, context)


@role_required(Role.VIEWER)
@registry_errors
def image_by_tag(request: HtmxHttpRequest, name: str, tag: str) -> HttpResponse:
    validate_name(name)
    validate_tag(tag)
    return _image(request, services.image_detail(name, tag))


@role_required(Role.VIEWER)
@registry_errors
def image_by_digest(request: HtmxHttpRequest, name: str, digest: str) -> HttpResponse:
    validate_name(name)
    validate_digest(digest)
    return _image(request, services.image_detail(name, digest))


def _image(request: HtmxHttpRequest, image: services.ImageDetail) -> HttpResponse:
    host = settings.REGISTRY_PUBLIC_HOST
    # helm and oras speak HTTPS unless told otherwise (docker reads insecure-registries instead).
    plain = " --plain-http" if connect.is_plain_http() else ""
    if image.kind == "helm-chart":  # `docker pull` cannot pull a chart (issue 15)
        pull = (
            f"helm pull oci://{host}/{image.repository}"
            + (f" --version {image.tag}" if image.tag else f"@{image.digest}")
            + plain
        )
    elif image.kind in ("image", "index"):
        pull = f"docker pull {host}/{image.repository}" + (f":{image.tag}" if image.tag else f"@{image.digest}")
    else:  # a signature, SBOM or other artifact: no image to run, oras fetches its files
        pull = f"oras pull {host}/{image.repository}" + (f":{image.tag}" if image.tag else f"@{image.digest}") + plain
    rule = protection.protecting_rule(image.repository, image.tag) if image.tag else None
    context = {
        "name": image.repository,
        "image": image,
        "pull": pull,
        "host": host,
        "protected_by": rule.describe() if rule else "",
    }
    return render(request, "catalog/image.html", context)


@role_required(Role.VIEWER)
def push_here(request: HtmxHttpRequest) -> HttpResponse:
    """How to push and pull: the registry's address, client setup, commands for a repository.

    The repository is picked from the catalog or typed (``?repository=&tag=``); a name or
    tag outside the grammar answers 400 with the example commands and the reason.
    """
    repository = request.GET.get("repository", "").strip()
    tag = request.GET.get("tag", "").strip()
    error, status = "", 200
    try:
        setup = connect.client_setup(repository, tag)
    except InvalidReference as e:
        error, status = e.message, 400
        setup = connect.client_setup()
    known = services.repository_names()
    context = {"setup": setup, "error": error, "repositories": known, "typed": repository, "typed_tag": tag}
    return render(request, "catalog/push_here.html", context, status=status)
