"""What an account may do on the registry: the rules behind every token the dashboard signs.

- the dashboard's own account (``robot$dashboard``): everything (its deletes check the protected
  tags before they are sent, as they always did);
- the dashboard's users by role: viewer pulls; operator pulls, pushes and deletes; admin also
  lists the catalog (``registry:catalog:*``);
- robots: the union of their rules (repository glob x actions);
- everyone, logged in or not: pull on the repositories of the anonymous-pull rules;
- nobody but the dashboard gets ``delete`` on a repository holding a protected tag
  (``catalog.protection``): the registry itself then refuses a direct ``curl -X DELETE``.
  A push over a protected tag cannot be refused this way: a scope names no tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from access.scopes import Scope
from catalog import protection
from catalog.models import ProtectedTag
from core.patterns import glob_matches
from core.roles import Role
from inventory.models import Tag

ALL = frozenset({"pull", "push", "delete"})
BY_ROLE = {Role.VIEWER: frozenset({"pull"}), Role.OPERATOR: ALL, Role.ADMIN: ALL}
DASHBOARD_ACCOUNT = "robot$dashboard"


@dataclass(frozen=True)
class Account:
    kind: str  # TokenRequest.Kind
    name: str = ""
    role: Role | None = None
    rules: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass
class Decision:
    granted: list[Scope] = field(default_factory=list)
    refused: list[Scope] = field(default_factory=list)

    def granted_strings(self) -> list[str]:
        return [str(scope) for scope in self.granted]

    def refused_strings(self) -> list[str]:
        return [str(scope) for scope in self.refused]


def holds_protected_tag(repository: str, rules: Sequence[ProtectedTag]) -> bool:
    """Whether the repository holds a protected tag, as far as the inventory knows.

    A repository a rule's glob covers but the inventory has not seen (pushed since the last sync)
    counts as holding one: better a refused delete than a protected tag gone.
    """
    applicable = [rule for rule in rules if rule.applies_to(repository)]
    if not applicable:
        return False
    tags = list(Tag.objects.filter(repository__name=repository).values_list("name", flat=True))
    if not tags:
        return True
    return bool(protection.protected(repository, tags, rules=applicable))


def repository_actions(
    account: Account, repository: str, anonymous_globs: Sequence[str], rules: Sequence[ProtectedTag]
) -> frozenset[str]:
    if account.kind == "dashboard":
        return ALL
    allowed: set[str] = set()
    if account.role is not None:
        allowed |= BY_ROLE[account.role]
    for glob, actions in account.rules:
        if glob_matches(glob, repository):
            allowed |= actions
    if any(glob_matches(glob, repository) for glob in anonymous_globs):
        allowed.add("pull")
    if "delete" in allowed and holds_protected_tag(repository, rules):
        allowed.discard("delete")
    return frozenset(allowed)


def decide(account: Account, asked: Sequence[Scope], anonymous_globs: Sequence[str]) -> Decision:
    """For each scope asked, the actions granted (a scope with some granted) and those refused."""
    decision = Decision()
    rules: list[ProtectedTag] | None = None
    for scope in asked:
        if scope.base_type == "registry" and scope.name == "catalog":
            allowed: frozenset[str] = (
                frozenset({"*"}) if account.kind == "dashboard" or account.role == Role.ADMIN else frozenset()
            )
        elif scope.base_type == "repository":
            if rules is None:
                rules = protection.load_rules()
            allowed = repository_actions(account, scope.name, anonymous_globs, rules)
            if allowed >= ALL:
                allowed = allowed | {"*"}
        else:
            allowed = frozenset()
        granted = tuple(action for action in scope.actions if action in allowed)
        refused = tuple(action for action in scope.actions if action not in allowed)
        if granted:
            decision.granted.append(Scope(scope.type, scope.name, granted))
        if refused:
            decision.refused.append(Scope(scope.type, scope.name, refused))
    return decision
