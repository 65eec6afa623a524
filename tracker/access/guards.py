"""Who may do what. Routers attach these guards; domain actions call `ensure` for scope checks
that need data. A role granted for an ARS prefix covers every ARS that starts with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from tracker.access.models import Role
from tracker.errors import Forbidden


@dataclass(frozen=True)
class Grant:
    role: str
    scope_ars: str


@dataclass(frozen=True)
class Principal:
    user_id: int | None = None
    email: str | None = None
    grants: tuple[Grant, ...] = ()
    token_id: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def actor(self) -> str:
        if self.user_id is None:
            return "anonymous"
        return f"user:{self.user_id}" + (f"/token:{self.token_id}" if self.token_id else "")

    @property
    def is_superadmin(self) -> bool:
        return any(grant.role == Role.SUPERADMIN for grant in self.grants)

    def may(self, role: Role, ars: str | None = None) -> bool:
        """Holds `role` for `ars` (any scope when `ars` is None); superadmin holds every role."""
        if self.is_superadmin:
            return True
        return any(
            grant.role == role and (ars is None or ars.startswith(grant.scope_ars))
            for grant in self.grants
        )

    def may_within(self, role: Role, scope_ars: str) -> bool:
        """Holds `role` over the whole of `scope_ars` (a scope, not one ARS)."""
        return self.may(role, scope_ars)

    def scopes(self, *roles: Role) -> tuple[str, ...]:
        """The ARS prefixes in which the principal holds any of `roles`."""
        if self.is_superadmin:
            return ("",)
        return tuple(sorted({grant.scope_ars for grant in self.grants if grant.role in roles}))

    def may_admin_over(self, scope_ars: str) -> bool:
        return self.may_within(Role.ADMIN, scope_ars)


ANONYMOUS = Principal()


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    return user if isinstance(user, Principal) else ANONYMOUS


def ensure(allowed: bool, detail: str) -> None:
    if not allowed:
        raise Forbidden(detail)


def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not principal_of(connection).authenticated:
        raise NotAuthorizedException(
            "Sign in, or send Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def admin(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Users and settings: an admin acts within the scope of the grant."""
    signed_in(connection, handler)
    if not principal_of(connection).may(Role.ADMIN):
        raise PermissionDeniedException("This needs the admin role.")


def global_admin(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The audit log spans every scope: admins without a scope limit, and superadmins."""
    signed_in(connection, handler)
    if not principal_of(connection).may_within(Role.ADMIN, ""):
        raise PermissionDeniedException("The audit log needs the admin role without a scope limit.")


def editor(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Assessments and research of a Gemeinde: the action checks the Gemeinde against the scope."""
    signed_in(connection, handler)
    if not principal_of(connection).may(Role.EDITOR):
        raise PermissionDeniedException("This needs the editor role.")


def role_by_path(parameter: str, roles: dict[str, Role]) -> Guard:
    """A guard for one route serving several steps: the path parameter names the step, each step
    its role; the action checks the Gemeinde against the scope."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        signed_in(connection, handler)
        role = roles.get(str(connection.path_params.get(parameter)))
        if role is not None and not principal_of(connection).may(role):
            raise PermissionDeniedException(f"This needs the {role.value} role.")

    return guard
