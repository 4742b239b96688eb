"""The PostgreSQL store's tables, their creation and the schema version check.

Everything lives in one PostgreSQL schema (``nbsched`` by default), so several independent
stores can share a database under different schema names. The schema is created once, under
an advisory lock so that schedulers starting together do not race; a schema written by a newer
nbsched is refused, never altered.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg

from .._exceptions import DataStoreError

_logger = logging.getLogger(__name__)

#: Bumped whenever the tables change; a database with a higher version is refused.
SCHEMA_VERSION = 1

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")

_TABLES = """
CREATE TABLE {s}.nbsched_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE {s}.tasks (
    id text PRIMARY KEY,
    func text,
    job_executor text NOT NULL,
    max_running_jobs integer,
    misfire_grace_time interval,
    metadata text NOT NULL,
    running_jobs integer NOT NULL DEFAULT 0
);
CREATE TABLE {s}.schedules (
    id text PRIMARY KEY,
    task_id text NOT NULL,
    trigger text NOT NULL,
    args bytea NOT NULL,
    kwargs bytea NOT NULL,
    paused boolean NOT NULL,
    coalesce text NOT NULL,
    misfire_grace_time interval,
    max_jitter interval,
    job_result_expiration_time interval NOT NULL,
    metadata text NOT NULL,
    next_fire_time timestamptz,
    last_fire_time timestamptz,
    acquired_by text,
    acquired_until timestamptz
);
CREATE INDEX schedules_due_order ON {s}.schedules (next_fire_time, id) WHERE NOT paused;
CREATE TABLE {s}.jobs (
    seq bigserial NOT NULL,
    id uuid PRIMARY KEY,
    task_id text NOT NULL,
    args bytea NOT NULL,
    kwargs bytea NOT NULL,
    schedule_id text,
    scheduled_fire_time timestamptz,
    jitter interval NOT NULL,
    start_deadline timestamptz,
    result_expiration_time interval NOT NULL,
    created_at timestamptz,
    metadata text NOT NULL,
    acquired_by text,
    acquired_until timestamptz,
    started_at timestamptz
);
-- one job per fire, even if a schedule is processed twice (its lease expired mid-way, or its
-- scheduler lost the reply of a release and another one took the schedule over)
CREATE UNIQUE INDEX jobs_one_per_fire ON {s}.jobs (schedule_id, scheduled_fire_time)
    WHERE schedule_id IS NOT NULL;
CREATE INDEX jobs_pending ON {s}.jobs (seq) WHERE acquired_by IS NULL;
CREATE INDEX jobs_leased ON {s}.jobs (acquired_until) WHERE acquired_by IS NOT NULL;
CREATE TABLE {s}.job_results (
    job_id uuid PRIMARY KEY,
    outcome text NOT NULL,
    started_at timestamptz,
    finished_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    return_value bytea,
    exception bytea,
    traceback text,
    scheduler_id text,
    task_id text,
    schedule_id text,
    scheduled_fire_time timestamptz,
    -- false: a tombstone (the result was not to be kept) that makes a retried add_job of a
    -- finished job a no-op until it expires
    kept boolean NOT NULL DEFAULT true
);
CREATE INDEX job_results_expiry ON {s}.job_results (expires_at);
"""


#: Indexes added since version 1, as (name, statement, older index it replaces). Version 1
#: readers work the same with or without them, so adding one does not bump the version (which
#: would make older nbsched refuse the store).
_ADDED_INDEXES = (
    # due schedules in the order they are acquired, so many sharing one fire time (a backlog
    # after a restart, many daily crons) are not sorted again for each batch
    (
        "schedules_due_order",
        "CREATE INDEX IF NOT EXISTS schedules_due_order ON {s}.schedules (next_fire_time, id) "
        "WHERE NOT paused",
        "schedules_due",
    ),
)


def check_schema_name(schema: Any) -> str:
    """Return ``schema`` if it is a plain SQL identifier; raise ``ValueError`` otherwise."""
    if not isinstance(schema, str) or not _NAME.match(schema):
        raise ValueError(
            f"schema: {schema!r} is not a plain PostgreSQL name (letters, digits and "
            f"underscores, not starting with a digit, at most 63 characters)"
        )
    return schema


async def _table_names(conn: psycopg.AsyncConnection[Any], schema: str) -> set[str]:
    # pg_class, not information_schema: the latter hides tables the role may not use, and
    # such a role must get "permission denied", not an attempt to create the tables again
    cursor = await conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        (schema,),
    )
    return {row[0] for row in await cursor.fetchall()}


async def prepare_schema(conn: psycopg.AsyncConnection[Any], schema: str, where: str) -> bool:
    """Create the store's tables in ``schema`` if they are missing, or check their version.

    Returns ``True`` if it created them. Raises :class:`~nbsched.DataStoreError` for a schema
    of a newer nbsched or one holding tables that are not an nbsched store.
    """
    quoted = f'"{schema}"'
    async with conn.transaction():
        # schedulers starting at the same moment create the tables only once
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nbsched:{schema}",))
        tables = await _table_names(conn, schema)
        if not tables:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
            for statement in _TABLES.format(s=quoted).split(";"):
                if statement.strip():
                    await conn.execute(statement)
            await conn.execute(
                f"INSERT INTO {quoted}.nbsched_meta (key, value) "
                f"VALUES ('schema_version', %s), ('application', 'nbsched')",
                (str(SCHEMA_VERSION),),
            )
            return True
    if "nbsched_meta" not in tables:
        raise DataStoreError(
            f"PostgreSQL at {where}: schema {schema!r} holds tables that are not an nbsched "
            f"data store ({', '.join(sorted(tables)[:5])}); pass another schema="
        )
    cursor = await conn.execute(
        f"SELECT value FROM {quoted}.nbsched_meta WHERE key = 'schema_version'"
    )
    row = await cursor.fetchone()
    try:
        version = int(row[0])  # type: ignore[index]
    except (TypeError, ValueError) as exc:
        raise DataStoreError(
            f"PostgreSQL at {where}: the schema version of nbsched store {schema!r} is missing "
            f"or unreadable"
        ) from exc
    if version > SCHEMA_VERSION:
        raise DataStoreError(
            f"PostgreSQL at {where}: nbsched store {schema!r} was written by a newer nbsched "
            f"(schema version {version}; this nbsched understands up to {SCHEMA_VERSION}); "
            f"upgrade nbsched on this machine. Nothing was changed."
        )
    if version < 1:
        raise DataStoreError(
            f"PostgreSQL at {where}: nbsched store {schema!r} has an invalid schema version "
            f"{version}"
        )
    await _add_missing_indexes(conn, schema)
    return False


async def _add_missing_indexes(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
    cursor = await conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,)
    )
    existing = {row[0] for row in await cursor.fetchall()}
    missing = [index for index in _ADDED_INDEXES if index[0] not in existing]
    if not missing:
        return
    quoted = f'"{schema}"'
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nbsched:{schema}",)
            )
            for _name, statement, replaces in missing:
                await conn.execute(statement.format(s=quoted))
                await conn.execute(f"DROP INDEX IF EXISTS {quoted}.{replaces}")
    except psycopg.errors.InsufficientPrivilege as exc:
        # the store works without it, only slower: not a reason to refuse to start
        _logger.warning(
            "nbsched store %r: cannot add index %s (%s); acquiring due schedules will be slower "
            "until a role owning the tables starts a scheduler",
            schema,
            ", ".join(index[0] for index in missing),
            exc,
        )
