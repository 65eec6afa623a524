"""32 editors change one record at once: exactly one wins per version, no update is lost.

The app runs on its own engine (committed data, real parallel connections), not on the
test's rolled-back connection; the rows it makes are removed afterwards.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from sqlalchemy import delete, select
from sqlmodel import col

from tests.builders import add_token, add_user, bearer, client_for
from tracker.access.models import ApiToken, AuditEntry, RoleGrant, User
from tracker.app import create_app
from tracker.db import create_engine, create_sessionmaker, run
from tracker.settings import Settings

EDITORS = 32


async def test_one_winner_per_version(database_url: str, data_dir: Path) -> None:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        admin = await add_user(session, "root@race.de", [("superadmin", "")])
        target = await add_user(session, "target@race.de", [])
        secret = await add_token(session, admin)
    app = create_app(Settings(database_url=database_url, data_dir=data_dir))
    try:
        async with app.lifespan(), client_for(app) as client:
            url = f"/api/v1/users/{target.id}"
            for version in (1, 2):
                etag = (await client.get(url, headers=bearer(secret))).headers["etag"]
                assert etag == f'"v{version}"'
                responses = await asyncio.gather(
                    *(
                        client.patch(
                            url,
                            json={"display_name": f"editor {n}"},
                            headers={**bearer(secret), "If-Match": etag},
                        )
                        for n in range(EDITORS)
                    )
                )
                assert Counter(r.status_code for r in responses) == {200: 1, 412: EDITORS - 1}
                winner = next(r for r in responses if r.status_code == 200).json()["display_name"]
                final = (await client.get(url, headers=bearer(secret))).json()
                assert final["display_name"] == winner
                assert final["version"] == version + 1
        async with sessionmaker() as session:
            updates = (
                (
                    await run(
                        session,
                        select(AuditEntry).where(
                            col(AuditEntry.entity) == "app_user",
                            col(AuditEntry.entity_id) == str(target.id),
                            col(AuditEntry.action) == "update",
                        ),
                    )
                )
                .scalars()
                .all()
            )
            assert [entry.changes["version"] for entry in updates] == [[1, 2], [2, 3]]
    finally:
        async with sessionmaker.begin() as session:
            ids = [admin.id, target.id]
            await run(session, delete(AuditEntry).where(col(AuditEntry.actor_user_id).in_(ids)))
            await run(session, delete(AuditEntry).where(col(AuditEntry.actor) == "test"))
            await run(session, delete(ApiToken).where(col(ApiToken.user_id).in_(ids)))
            await run(session, delete(RoleGrant).where(col(RoleGrant.user_id).in_(ids)))
            await run(session, delete(User).where(col(User.id).in_(ids)))
        await engine.dispose()
