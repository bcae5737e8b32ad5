"""User-given patterns, in linear time: repository globs and tag regular expressions.

Every pattern a user gives (protected-tag rules, retention policies, and whatever later feature
matches names: robot accounts, notification rules) is validated, compiled and matched here, by
RE2 (``google-re2``): matching takes time linear in the name, whatever the pattern. Python's
``re`` backtracks, and ``(a+)+$`` against a 26-character tag took 12 s, freezing a web worker
(issue 26). RE2 has no backreferences, look-arounds, atomic groups or possessive quantifiers;
a pattern using one is refused when saved, with a message naming the feature.

A repository glob is a repository name whose components may hold wildcards:

- ``*`` matches any characters within one component (``team/*`` matches ``team/web`` but not
  ``team/web/api``; ``web-*`` matches ``web-api``);
- ``**`` as a whole component matches any number of components: ``team/**`` matches every
  repository under ``team/`` at any depth (not ``team`` itself), ``**/cache`` matches ``cache``
  and every ``.../cache``, ``a/**/b`` matches ``a/b`` and ``a/x/y/b``; ``**`` alone matches every
  repository;
- anything else matches itself: a literal name matches that repository only.

A glob always matches the whole name; it is translated to a regular expression that RE2 runs.
A tag pattern is an RE2 regular expression (Python's syntax without the features above) matched
with ``re.search`` semantics: it matches anywhere in the tag unless anchored with ``^`` and ``$``
(``latest`` also matches ``latest-rc``; ``^latest$`` only ``latest``).

Compiled patterns are cached: retention matches the same few patterns against thousands of
names and tags.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from typing import Any

import re2

GLOB_MAX_LENGTH = 255
REGEX_MAX_LENGTH = 500
# RE2 compiles a pattern into at most this much memory (a{1000}{1000}-like patterns are refused
# rather than grown); its default is 8 MiB, a user's tag pattern needs far less.
_MAX_MEMORY = 1 << 20

#: How the schema and the forms describe a tag pattern's dialect.
REGEX_DIALECT = (
    "An RE2 regular expression (Python's syntax without backreferences, look-arounds, atomic groups "
    "or possessive quantifiers), matched anywhere in the tag (re.search): anchor it with ^ and $ "
    f"to match whole tags. At most {REGEX_MAX_LENGTH} characters."
)

# Our own fixed expressions below run on Python's re: they are linear by construction.
_GLOB_CHARACTERS = re.compile(r"[a-z0-9._/*-]+")
# The grammar validate_glob enforces, as one expression for the OpenAPI schema (no look-arounds,
# so schema-driven generators can use it): components with single "*" wildcards, and "**" as a
# whole component, never twice in a row.
_COMPONENT = r"(?:\*|\*?(?:[a-z0-9._-]+\*?)+)"
GLOB_PATTERN = rf"^(?:\*\*|(?:\*\*/)?{_COMPONENT}(?:/(?:\*\*/)?{_COMPONENT})*(?:/\*\*)?)$"
_STAR = "[^/]*"


class PatternInvalid(ValueError):
    """A pattern that cannot be used; the message says what to change."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.max_mem = _MAX_MEMORY
    return options


_OPTIONS = _options()

# RE2's error texts (re2/re2.h, ErrorCode) for Python features it lacks, with what to say instead.
_UNSUPPORTED = (
    (
        re.compile(r"invalid escape sequence: \\[1-9]"),
        "backreferences (\\1) are not supported: patterns run in linear time (RE2)",
    ),
    (re.compile(r"invalid perl operator: \(\?P(=|$)"), "named backreferences ((?P=name)) are not supported (RE2)"),
    (
        re.compile(r"invalid perl operator: \(\?<?[=!]"),
        "look-ahead and look-behind ((?=, (?!, (?<=, (?<!) are not supported: patterns run in linear time (RE2)",
    ),
    (re.compile(r"invalid perl operator: \(\?>"), "atomic groups ((?>...)) are not supported (RE2)"),
    (
        re.compile(r"bad repetition operator: [*+?}]\+"),
        "possessive quantifiers (*+, ++, ?+) are not supported (RE2)",
    ),
    (re.compile(r"invalid escape sequence: \\Z"), "\\Z is not supported: end the pattern with $ or \\z (RE2)"),
    (re.compile(r"invalid repetition size"), "a repetition count (nested ones multiplied) is at most 1000 (RE2)"),
    (re.compile(r"pattern too large"), "the pattern is too large: repeat less (RE2)"),
)


def _explained(error: Exception) -> str:
    raw = error.args[0] if error.args else str(error)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    for found, message in _UNSUPPORTED:
        if found.search(text):
            return message
    return text


def validate_glob(value: str) -> str:
    """The glob, stripped, if valid; else ``PatternInvalid`` saying what to change."""
    glob = value.strip()
    if not glob:
        raise PatternInvalid(
            'Give a repository pattern: a name, "team/*" (one level), "team/**" (any depth) or "**" (all).'
        )
    if len(glob) > GLOB_MAX_LENGTH:
        raise PatternInvalid(f"A repository pattern has at most {GLOB_MAX_LENGTH} characters.")
    if not _GLOB_CHARACTERS.fullmatch(glob):
        bad = sorted({char for char in glob if not _GLOB_CHARACTERS.fullmatch(char)})
        raise PatternInvalid(
            f"Repository patterns hold lowercase letters, digits, '.', '_', '-', '/' and the wildcards '*' and "
            f"'**'; {', '.join(repr(char) for char in bad)} cannot appear in one."
        )
    components = glob.split("/")
    if "" in components:
        raise PatternInvalid(f'"{glob}" has an empty component: no leading, trailing or double "/".')
    for component in components:
        if "**" in component and component != "**":
            raise PatternInvalid(
                f'"**" stands alone between slashes ("team/**"); in "{component}" use "*" to match within a name.'
            )
    for first, second in pairwise(components):
        if first == second == "**":
            raise PatternInvalid(f'"**/**" in "{glob}" means the same as "**": write it once.')
    return glob


def validate_regex(value: str) -> str:
    """The regular expression, if RE2 compiles it; else ``PatternInvalid`` saying what to change.

    Blank is refused (a field where blank means "every tag" checks for blank first). Spaces
    around the expression are kept: they are part of what it matches.
    """
    if not value.strip():
        raise PatternInvalid('Give a regular expression for the tags, e.g. "^latest$" (".*" matches every tag).')
    if len(value) > REGEX_MAX_LENGTH:
        raise PatternInvalid(f"A tag pattern has at most {REGEX_MAX_LENGTH} characters.")
    if "\x00" in value:
        raise PatternInvalid("A tag pattern cannot hold a NUL character.")
    compile_regex(value)
    return value


@lru_cache(maxsize=1024)
def compile_glob(glob: str) -> Any:
    """The glob as an RE2 expression matching whole repository names (``fullmatch``)."""
    components = glob.split("/")
    if components == ["**"]:
        return re2.compile(r"[^/]+(?:/[^/]+)*", _OPTIONS)
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
        parts.append(_STAR.join(re2.escape(piece) for piece in component.split("*")))
    try:
        return re2.compile("".join(parts), _OPTIONS)
    except re2.error as e:  # a glob saved before validation existed, or absurdly long
        raise PatternInvalid(f'"{glob}" cannot be used as a repository pattern: {_explained(e)}.') from e


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """The tag pattern compiled by RE2; ``PatternInvalid`` (naming the unsupported feature) if it cannot be."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as e:
        raise PatternInvalid(f'"{pattern}" is not a valid regular expression: {_explained(e)}.') from e


def glob_matches(glob: str, name: str) -> bool:
    """Whether the repository ``name`` matches ``glob`` as a whole (see the module docstring)."""
    return compile_glob(glob).fullmatch(name) is not None


def regex_matches(pattern: str, value: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``value`` (``re.search``: anchor it to match all).

    ``PatternInvalid`` for a pattern RE2 cannot compile (one saved before RE2): each caller decides
    which way is safe (a protected-tag rule then protects, a retention run stops).
    """
    return compile_regex(pattern).search(value) is not None
