"""DRF permissions by role: the API enforces what the views enforce."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from core.roles import Role, denial_message, has_role


class _RolePermission(BasePermission):
    role = Role.VIEWER

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            from core.tokens import throttle_anonymous

            throttle_anonymous(request, view)  # DRF's own throttles run only after permissions
            return False  # DRF answers 401 (token) or 403 (session) with its own message
        if has_role(request.user, self.role):
            return True
        self.message = denial_message(self.role)
        return False


class IsViewer(_RolePermission):
    role = Role.VIEWER


class IsOperator(_RolePermission):
    role = Role.OPERATOR


class IsAdmin(_RolePermission):
    role = Role.ADMIN


class ViewerReadsAdminWrites(BasePermission):
    """Viewers may read; only admins may change (schedules, settings)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        needed = IsViewer() if request.method in SAFE_METHODS else IsAdmin()
        allowed = needed.has_permission(request, view)
        if not allowed and hasattr(needed, "message"):  # anonymous callers get DRF's own 401/403
            self.message = needed.message
        return allowed


class ViewerReadsOperatorWrites(BasePermission):
    """Viewers may read; operators and admins may change (deletes, jobs)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        needed = IsViewer() if request.method in SAFE_METHODS else IsOperator()
        allowed = needed.has_permission(request, view)
        if not allowed and hasattr(needed, "message"):  # anonymous callers get DRF's own 401/403
            self.message = needed.message
        return allowed
