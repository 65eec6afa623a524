"""API shapes of users, grants, tokens and the audit log. No hash ever leaves the server."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tracker.access.models import Role
from tracker.fields import JsonBool, JsonInt, UtcDatetime

ScopeArs = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{0,12}$"),
    Field(
        description="ARS prefix: '' everywhere, '05' a Land, '05113' a Kreis, 12 digits a Gemeinde."
    ),
]
# The login name. Checked by shape only, as the spec states it: a stricter check (deliverable
# domains) would refuse addresses that the spec calls valid.
Email = Annotated[
    str,
    StringConstraints(
        pattern=r"^[^@\x00-\x20\x7f]{1,64}@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f.]+$",
        max_length=320,
    ),
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=200, pattern=r"^[^\x00]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    scope_ars: ScopeArs = ""


class GrantRead(_Read):
    id: int
    role: Role
    scope_ars: str


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    display_name: Name
    password: Password | None = Field(
        default=None, description="For the browser login; tokens need none."
    )
    grants: list[GrantCreate] = Field(default_factory=list, max_length=50)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: Name | None = None
    is_active: JsonBool | None = None
    password: Password | None = None


class UserRead(_Read):
    id: int
    email: str
    display_name: str
    is_active: bool
    version: int
    created_at: UtcDatetime
    grants: list[GrantRead]


class Me(BaseModel):
    user_id: int
    email: str
    grants: list[GrantCreate]
    via_token: int | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    expires_in_days: JsonInt = Field(default=90, ge=1, le=366)
    scope_ars: ScopeArs | None = Field(default=None, description="Narrows the owner's grants.")


class TokenRead(_Read):
    id: int
    user_id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    scope_ars: str | None
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    last_used_at: UtcDatetime | None
    version: int


class TokenCreated(TokenRead):
    token: str = Field(description="The secret, shown this once; only its hash is stored.")


class AuditRead(_Read):
    id: int
    at: UtcDatetime
    actor: str
    actor_user_id: int | None
    entity: str
    entity_id: str
    action: str
    changes: dict[str, Any] | None
