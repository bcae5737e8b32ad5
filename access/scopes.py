"""The token request's scopes (Distribution's docs/spec/auth/scope.md): parsed, and written back.

``repository:team/app:pull,push`` is a resource type, a name and actions; the name may hold
colons (a registry host with a port), so the type ends at the first colon and the actions start
after the last. A type may carry a class: ``repository(plugin):name:pull``. ``scope`` may be
given several times and each may hold several scopes separated by spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_SCOPES = 50
_TYPE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_ACTION = re.compile(r"[a-z*]+")


class ScopeInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    @property
    def base_type(self) -> str:
        return self.type.split("(", 1)[0]

    def claim(self) -> dict[str, object]:
        """The ``access`` entry of the JWT (the class is not part of it)."""
        return {"type": self.base_type, "name": self.name, "actions": list(self.actions)}


def parse(values: Iterable[str]) -> list[Scope]:
    """Every scope of the ``scope`` parameters, in order; ScopeInvalid names a malformed one."""
    found: list[Scope] = []
    for value in values:
        for item in value.split():
            found.append(parse_one(item))
            if len(found) > MAX_SCOPES:
                raise ScopeInvalid(f"At most {MAX_SCOPES} scopes in one token request.")
    return found


def parse_one(item: str) -> Scope:
    kind, sep, rest = item.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name or not _TYPE.fullmatch(kind):
        raise ScopeInvalid(f'"{item}" is not a scope: expected type:name:actions, e.g. repository:team/app:pull.')
    listed = tuple(dict.fromkeys(action for action in actions.split(",") if action))
    if not listed or not all(_ACTION.fullmatch(action) for action in listed):
        raise ScopeInvalid(f'"{item}" names no valid actions (pull, push, delete, *).')
    return Scope(type=kind, name=name, actions=listed)
