"""Access tables. Secrets are stored only as hashes (argon2 for passwords, SHA-256 for tokens)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field

from tracker.db import TableModel


class Role(StrEnum):
    """Viewer needs no grant: anyone may read published data."""

    EDITOR = "editor"
    REVIEWER = "reviewer"
    RESEARCHER = "researcher"
    DEMAND_MANAGER = "demand_manager"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"


def utc_column(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class User(TableModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    display_name: str
    password_hash: str | None = None
    is_active: bool = True
    version: int = 1
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RoleGrant(TableModel, table=True):
    """A role within an ARS prefix: '' everywhere, '05' NRW, '05113' Essen's Kreis, a full ARS."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_ars", name="user_role_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    role: str = Field(max_length=20)
    scope_ars: str = Field(default="", max_length=12)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ApiToken(TableModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str
    token_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=12)
    scope_ars: str | None = Field(default=None, max_length=12)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime | None = utc_column()
    revoked_at: datetime | None = utc_column()
    last_used_at: datetime | None = utc_column()
    version: int = 1


class AuditEntry(TableModel, table=True):
    """Who changed what: `changes` maps each field to [old, new]; secrets never appear."""

    __tablename__ = "audit_entry"
    # the newest import (the roll-ups' cache stamp) and the audit's entity filter
    __table_args__ = (Index("ix_audit_entry_entity_id", "entity", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor: str = Field(index=True, max_length=100)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    entity: str = Field(max_length=50)
    entity_id: str = Field(max_length=100)
    action: str = Field(max_length=20)
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class LoginSession(TableModel, table=True):
    """A browser sign-in: the signed cookie holds its key, only the key's hash is stored. Sign-out
    ends it; a new password, deactivation or a removed grant ends every session of the user."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    key_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = utc_column()
