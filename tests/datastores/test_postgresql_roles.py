"""The README's Security model recipe for PostgreSQL, run against the server: a scheduler role
with CREATE on the database makes and writes its store; a role without grants cannot read it;
a viewer granted SELECT reads but cannot write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from nbsched import Task
from nbsched.datastores.postgresql import PostgreSQLDataStore
from nbsched.eventbrokers.local import LocalEventBroker

pytestmark = pytest.mark.anyio


def _as(dsn: str, user: str) -> str:
    params = conninfo_to_dict(dsn)
    params["user"] = user
    return make_conninfo("", **params)


@pytest.fixture
def roles(postgresql_dsn: str) -> Iterator[tuple[str, str, str]]:
    suffix = uuid.uuid4().hex[:10]
    scheduler, viewer = f"scheduler_{suffix}", f"viewer_{suffix}"
    database = str(conninfo_to_dict(postgresql_dsn)["dbname"])
    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {scheduler} LOGIN")
        conn.execute(f"CREATE ROLE {viewer} LOGIN")
        conn.execute(f'GRANT CREATE ON DATABASE "{database}" TO {scheduler}')
    try:
        yield scheduler, viewer, database
    finally:
        with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
            for role in (viewer, scheduler):
                conn.execute(f"DROP OWNED BY {role} CASCADE")
                conn.execute(f"DROP ROLE {role}")


async def test_the_readme_role_recipe(postgresql_dsn: str, roles: tuple[str, str, str]) -> None:
    scheduler, viewer, _ = roles
    schema = f"store_{uuid.uuid4().hex[:10]}"
    store = PostgreSQLDataStore(_as(postgresql_dsn, scheduler), schema=schema)
    broker = LocalEventBroker()
    await broker.start()
    await store.start(broker)
    try:
        await store.add_task(Task(id="t", func="os:getpid"))
        assert [task.id for task in await store.get_tasks()] == ["t"]
    finally:
        await store.stop()
        await broker.stop()

    with psycopg.connect(_as(postgresql_dsn, viewer), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema"):
            conn.execute(f'SELECT id FROM "{schema}".tasks')
    with psycopg.connect(_as(postgresql_dsn, scheduler), autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {viewer}')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {viewer}')
    with psycopg.connect(_as(postgresql_dsn, viewer), autocommit=True) as conn:
        assert conn.execute(f'SELECT id, func FROM "{schema}".tasks').fetchall() == [
            ("t", "os:getpid")
        ]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="table tasks"):
            conn.execute(f"UPDATE \"{schema}\".tasks SET func = 'os:system'")
