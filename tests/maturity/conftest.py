"""Every maturity test ends by checking that the stored pair levels equal the rule computed from
the assessments (`tracker verify pairs`), whatever the test built."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.maturity import pairs


@pytest.fixture(autouse=True)
async def pairs_agree_at_the_end(connection: AsyncConnection) -> AsyncIterator[None]:
    yield
    async with AsyncSession(bind=connection, join_transaction_mode="create_savepoint") as check:
        assert [str(difference) for difference in await pairs.differences(check)] == []
