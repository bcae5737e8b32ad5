"""Who may call each API operation: the table ``registry_admin/tests/test_permission_matrix.py`` checks.

Every operation of the OpenAPI description is listed by its label, ``METHOD /path``, with the
lowest role a user needs and the roles of the named tokens (``core.tokens``) that may call it; a
token's role caps its user's, so a token may call what its role may. The test walks the live
schema and calls every operation as anonymous, viewer, operator and admin users, a token of each
role and the registry's events token, expecting exactly this table: an operation missing here
fails it, so a new endpoint is decided on, not inherited.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.roles import Role


@dataclass(frozen=True)
class Access:
    """``role``: the lowest user role allowed (None: no user, the registry's events token only)."""

    role: Role | None
    events_token: bool = False

    def allows_user(self, role: Role | None) -> bool:
        return self.role is not None and role is not None and role >= self.role

    def allows_token(self, role: Role) -> bool:
        return self.allows_user(role)


VIEWERS = Access(Role.VIEWER)
OPERATORS = Access(Role.OPERATOR)
ADMINS = Access(Role.ADMIN)
REGISTRY = Access(None, events_token=True)  # the registry's notifications: Bearer REGISTRY_EVENTS_TOKEN

MATRIX: dict[str, Access] = {
    "GET /api/v1/anonymous-pulls/": ADMINS,
    "POST /api/v1/anonymous-pulls/": ADMINS,
    "DELETE /api/v1/anonymous-pulls/{id}/": ADMINS,
    "POST /api/v1/registry/login/": ADMINS,
    "POST /api/v1/registry/test-connection/": ADMINS,
    "GET /api/v1/robots/": ADMINS,
    "POST /api/v1/robots/": ADMINS,
    "GET /api/v1/robots/{id}/": ADMINS,
    "PATCH /api/v1/robots/{id}/": ADMINS,
    "DELETE /api/v1/robots/{id}/": ADMINS,
    "POST /api/v1/robots/{id}/revoke/": ADMINS,
    "GET /api/v1/token-requests/": VIEWERS,
    "GET /api/v1/audit/": VIEWERS,
    "GET /api/v1/diagnostics/": VIEWERS,
    "GET /api/v1/events/": VIEWERS,
    "GET /api/v1/events/health/": VIEWERS,
    "POST /api/v1/events/": REGISTRY,
    "POST /api/v1/gc/": OPERATORS,
    "GET /api/v1/health/": VIEWERS,
    "GET /api/v1/jobs/": VIEWERS,
    "GET /api/v1/jobs/{id}/": VIEWERS,
    # Notifications: admins only, reads included (a channel's address is a credential).
    "GET /api/v1/notifications/channels/": ADMINS,
    "POST /api/v1/notifications/channels/": ADMINS,
    "GET /api/v1/notifications/channels/{id}/": ADMINS,
    "PUT /api/v1/notifications/channels/{id}/": ADMINS,
    "PATCH /api/v1/notifications/channels/{id}/": ADMINS,
    "DELETE /api/v1/notifications/channels/{id}/": ADMINS,
    "GET /api/v1/notifications/channels/{id}/deliveries/": ADMINS,
    "POST /api/v1/notifications/channels/{id}/secret/": ADMINS,
    "POST /api/v1/notifications/channels/{id}/test/": ADMINS,
    "GET /api/v1/notifications/rules/": ADMINS,
    "POST /api/v1/notifications/rules/": ADMINS,
    "GET /api/v1/notifications/rules/{id}/": ADMINS,
    "PUT /api/v1/notifications/rules/{id}/": ADMINS,
    "PATCH /api/v1/notifications/rules/{id}/": ADMINS,
    "DELETE /api/v1/notifications/rules/{id}/": ADMINS,
    "GET /api/v1/protected-tags/": VIEWERS,
    "POST /api/v1/protected-tags/": ADMINS,
    "GET /api/v1/protected-tags/{id}/": VIEWERS,
    "DELETE /api/v1/protected-tags/{id}/": ADMINS,
    "POST /api/v1/registry/pause/": OPERATORS,
    "POST /api/v1/registry/restart/": OPERATORS,
    "POST /api/v1/registry/unpause/": OPERATORS,
    "POST /api/v1/registry/update/": OPERATORS,
    "POST /api/v1/registry/verify/": OPERATORS,
    "GET /api/v1/repositories/": VIEWERS,
    "POST /api/v1/repositories/{name}/bulk-delete/": OPERATORS,
    "GET /api/v1/repositories/{name}/manifests/{digest}/": VIEWERS,
    "DELETE /api/v1/repositories/{name}/manifests/{digest}/": OPERATORS,
    "GET /api/v1/repositories/{name}/tags/": VIEWERS,
    "GET /api/v1/repositories/{name}/tags/{tag}/": VIEWERS,
    "DELETE /api/v1/repositories/{name}/tags/{tag}/": OPERATORS,
    "GET /api/v1/retention-policies/": VIEWERS,
    "POST /api/v1/retention-policies/": ADMINS,
    "GET /api/v1/retention-policies/{id}/": VIEWERS,
    "PUT /api/v1/retention-policies/{id}/": ADMINS,
    "PATCH /api/v1/retention-policies/{id}/": ADMINS,
    "DELETE /api/v1/retention-policies/{id}/": ADMINS,
    "POST /api/v1/retention-policies/{id}/preview/": OPERATORS,
    "POST /api/v1/retention-policies/{id}/run/": OPERATORS,
    "GET /api/v1/schedules/": VIEWERS,
    "POST /api/v1/schedules/": ADMINS,
    "GET /api/v1/schedules/{id}/": VIEWERS,
    "PUT /api/v1/schedules/{id}/": ADMINS,
    "PATCH /api/v1/schedules/{id}/": ADMINS,
    "DELETE /api/v1/schedules/{id}/": ADMINS,
    "GET /api/v1/schema/": VIEWERS,
    "GET /api/v1/stats/": VIEWERS,
    "POST /api/v1/stats/collect/": OPERATORS,
    "GET /api/v1/stats/history/": VIEWERS,
    "GET /api/v1/storage/": VIEWERS,
    "GET /api/v1/sync/": VIEWERS,
    "POST /api/v1/sync/": OPERATORS,
    "GET /api/v1/scrub/": VIEWERS,
    "POST /api/v1/scrub/": ADMINS,
}
