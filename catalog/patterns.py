"""Repository globs and tag regular expressions: the patterns protected tags and retention share.

A repository glob is a repository name whose components may hold wildcards:

- ``*`` matches any characters within one component (``team/*`` matches ``team/web`` but not
  ``team/web/api``; ``web-*`` matches ``web-api``);
- ``**`` as a whole component matches any number of components: ``team/**`` matches every
  repository under ``team/`` at any depth (not ``team`` itself), ``**/cache`` matches ``cache``
  and every ``.../cache``, ``a/**/b`` matches ``a/b`` and ``a/x/y/b``; ``**`` alone matches every
  repository;
- anything else matches itself: a literal name matches that repository only.

A glob always matches the whole name. A tag pattern is a Python regular expression matched
with ``re.search`` semantics: it matches anywhere in the tag unless anchored with ``^`` and
``$`` (``latest`` also matches ``latest-rc``; ``^latest$`` only ``latest``).

Compiled patterns are cached: retention matches the same few patterns against thousands of
names and tags.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

GLOB_MAX_LENGTH = 255
REGEX_MAX_LENGTH = 500

_GLOB_CHARACTERS = re.compile(r"[a-z0-9._/*-]+")
# The grammar validate_glob enforces, as one expression for the OpenAPI schema (no look-arounds,
# so schema-driven generators can use it): components with single "*" wildcards, and "**" as a
# whole component, never twice in a row.
_COMPONENT = r"(?:\*|\*?(?:[a-z0-9._-]+\*?)+)"
GLOB_PATTERN = rf"^(?:\*\*|(?:\*\*/)?{_COMPONENT}(?:/(?:\*\*/)?{_COMPONENT})*(?:/\*\*)?)$"
_STAR = "[^/]*"


def validate_glob(value: str) -> str:
    """The glob, stripped, if valid; else ``ValueError`` saying what to change."""
    glob = value.strip()
    if not glob:
        raise ValueError(
            'Give a repository pattern: a name, "team/*" (one level), "team/**" (any depth) or "**" (all).'
        )
    if len(glob) > GLOB_MAX_LENGTH:
        raise ValueError(f"A repository pattern has at most {GLOB_MAX_LENGTH} characters.")
    if not _GLOB_CHARACTERS.fullmatch(glob):
        bad = sorted({char for char in glob if not _GLOB_CHARACTERS.fullmatch(char)})
        raise ValueError(
            f"Repository patterns hold lowercase letters, digits, '.', '_', '-', '/' and the wildcards '*' and "
            f"'**'; {', '.join(repr(char) for char in bad)} cannot appear in one."
        )
    components = glob.split("/")
    if "" in components:
        raise ValueError(f'"{glob}" has an empty component: no leading, trailing or double "/".')
    for component in components:
        if "**" in component and component != "**":
            raise ValueError(
                f'"**" stands alone between slashes ("team/**"); in "{component}" use "*" to match within a name.'
            )
    for first, second in pairwise(components):
        if first == second == "**":
            raise ValueError(f'"**/**" in "{glob}" means the same as "**": write it once.')
    return glob


def validate_regex(value: str) -> str:
    """The regular expression, if it compiles; else ``ValueError`` saying what to change.

    Blank is refused (a field where blank means "every tag" checks for blank first). Spaces
    around the expression are kept: they are part of what it matches.
    """
    if not value.strip():
        raise ValueError('Give a regular expression for the tags, e.g. "^latest$" (".*" matches every tag).')
    if len(value) > REGEX_MAX_LENGTH:
        raise ValueError(f"A tag pattern has at most {REGEX_MAX_LENGTH} characters.")
    try:
        re.compile(value)
    except re.error as e:
        where = f" at position {e.pos}" if e.pos is not None else ""
        raise ValueError(f'"{value}" is not a valid regular expression: {e.msg}{where}.') from e
    return value


@lru_cache(maxsize=1024)
def compile_glob(glob: str) -> re.Pattern[str]:
    """The glob as a regular expression matching whole repository names (``fullmatch``)."""
    components = glob.split("/")
    if components == ["**"]:
        return re.compile(r"[^/]+(?:/[^/]+)*")
    last = len(components) - 1
    parts: list[str] = []
    for i, component in enumerate(components):
        if component == "**":
            if i == 0:
                parts.append(r"(?:[^/]+/)*")  # zero or more leading components, each with its slash
            elif i == last:
                parts.append(r"(?:/[^/]+)+")  # one or more components under the prefix
            else:
                parts.append(r"(?:/[^/]+)*")  # zero or more components in between
            continue
        if i > 0 and not (i == 1 and components[0] == "**"):
            parts.append("/")
        parts.append(_STAR.join(re.escape(piece) for piece in component.split("*")))
    return re.compile("".join(parts))


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def glob_matches(glob: str, name: str) -> bool:
    """Whether the repository ``name`` matches ``glob`` as a whole (see the module docstring)."""
    return compile_glob(glob).fullmatch(name) is not None


def regex_matches(pattern: str, value: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``value`` (``re.search``: anchor it to match all)."""
    return compile_regex(pattern).search(value) is not None
