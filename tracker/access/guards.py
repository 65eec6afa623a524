"""Who may do what. Routers attach these guards; domain actions call `ensure` for scope checks
that need data. A role granted for an ARS prefix covers every ARS that starts with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from tracker.access.models import Role
from tracker.errors import Forbidden


class Scoped(Protocol):
    """A grant as read or as stored (RoleGrant)."""

    @property
    def role(self) -> str: ...
    @property
    def scope_ars(self) -> str: ...


@dataclass(frozen=True)
class Grant:
    role: str
    scope_ars: str


@dataclass(frozen=True)
class Principal:
    """Who acts. Behind a narrowed token, `grants` are already cut to the token's scope
    (`queries.narrow`): every check below reads only them, for every role, superadmin included."""

    user_id: int | None = None
    email: str | None = None
    grants: tuple[Grant, ...] = ()
    token_id: int | None = None
    # the token's own limits: a token mints tokens no wider and no longer-lived than itself
    token_scope_ars: str | None = None
    token_expires_at: datetime | None = None

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
        """Superadmin everywhere; a superadmin behind a narrowed token is one only in its scope."""
        return self.may_within(Role.SUPERADMIN, "")

    def may(self, role: Role, ars: str | None = None) -> bool:
        """Holds `role` for `ars` (anywhere when `ars` is None); a superadmin grant holds every
        role within its scope."""
        return any(
            grant.role in (role, Role.SUPERADMIN)
            and (ars is None or ars.startswith(grant.scope_ars))
            for grant in self.grants
        )

    def may_within(self, role: Role, scope_ars: str) -> bool:
        """Holds `role` over the whole of `scope_ars` (a scope, not one ARS)."""
        return self.may(role, scope_ars)

    def scopes(self, *roles: Role) -> tuple[str, ...]:
        """The ARS prefixes in which the principal holds any of `roles`."""
        found = {
            grant.scope_ars
            for grant in self.grants
            if grant.role in roles or grant.role == Role.SUPERADMIN
        }
        return ("",) if "" in found else tuple(sorted(found))

    def may_admin_over(self, scope_ars: str) -> bool:
        return self.may_within(Role.ADMIN, scope_ars)

    def manages(self, grants: Iterable[Scoped]) -> bool:
        """May change a user holding `grants`: every grant lies within the admin's scope, and
        a superadmin is changed only by a superadmin. A user without grants needs a global admin."""
        grants = list(grants)
        if any(grant.role == Role.SUPERADMIN for grant in grants) and not self.is_superadmin:
            return False
        if not grants:
            return self.may_admin_over("")
        return all(self.may_admin_over(grant.scope_ars) for grant in grants)


ANONYMOUS = Principal()


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    return user if isinstance(user, Principal) else ANONYMOUS


def ensure(allowed: bool, detail: str, *, german: str | None = None) -> None:
    if not allowed:
        raise Forbidden(detail, german=german)


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


# What a global_admin route shows, by its first path segment under /api/v1, for the 403
SPANNING = {"audit": "The audit log needs", "jobs": "Background jobs need"}


def global_admin(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The audit log and the background jobs span every scope: admins without a scope limit,
    and superadmins."""
    signed_in(connection, handler)
    if not principal_of(connection).may_within(Role.ADMIN, ""):
        segment = connection.url.path.removeprefix("/api/v1/").split("/", 1)[0]
        what = SPANNING.get(segment, "This needs")
        raise PermissionDeniedException(f"{what} the admin role without a scope limit.")


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


def demand_manager(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Demand catalogues and their Maßnahmen: demand managers (and admins); the action checks
    the catalogue's scope."""
    signed_in(connection, handler)
    principal = principal_of(connection)
    if not (principal.may(Role.DEMAND_MANAGER) or principal.may(Role.ADMIN)):
        raise PermissionDeniedException("This needs the demand_manager role.")


def demand_contributor(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A Gemeinde's uptake of a Maßnahme: demand managers, admins, and the Gemeinde's editors;
    the action checks the Gemeinde against the scope."""
    signed_in(connection, handler)
    principal = principal_of(connection)
    if not any(principal.may(role) for role in (Role.DEMAND_MANAGER, Role.ADMIN, Role.EDITOR)):
        raise PermissionDeniedException("This needs the demand_manager or editor role.")


def researcher(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Raw research (studies, participants, observations) and research writes: researchers;
    the action checks every Gemeinde of the study or finding against the scope."""
    signed_in(connection, handler)
    if not principal_of(connection).may(Role.RESEARCHER):
        raise PermissionDeniedException("This needs the researcher role.")


def research_reviewer(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Unpublished findings and recommendations, and publishing them: researchers and
    reviewers; the action checks the scope, and that the author does not publish."""
    signed_in(connection, handler)
    principal = principal_of(connection)
    if not (principal.may(Role.RESEARCHER) or principal.may(Role.REVIEWER)):
        raise PermissionDeniedException("This needs the researcher or reviewer role.")
