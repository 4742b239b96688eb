from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _local_zone_follows_tz() -> Iterator[None]:
    """After a test that set TZ (undone by monkeypatch before this teardown runs), make the C
    library's local zone follow the restored TZ: something the test ran may have called
    ``time.tzset()``, and ``localtime_r`` keeps that zone until the next tzset, so a later test
    would see the system offset of the previous test's zone (tzlocal then warns)."""
    yield
    time.tzset()


@pytest.fixture
def anyio_backend() -> str:
    """The engine is asyncio-only: anyio-marked tests run on asyncio alone."""
    return "asyncio"


# --- PostgreSQL ----------------------------------------------------------------------------------
# One fresh database per test session, created through the maintenance database given by
# NBSCHED_TEST_POSTGRES and dropped at the end. Tests isolate themselves further with their own
# schema (stores) or channel (brokers). If the server is not reachable the tests FAIL, saying
# how to start it: they never skip.

POSTGRES_MAINTENANCE_DSN = os.environ.get(
    "NBSCHED_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_unreachable(exc: BaseException) -> None:
    pytest.fail(
        f"PostgreSQL is not reachable at {POSTGRES_MAINTENANCE_DSN} ({exc}). Start it with "
        f"`bash scripts/setup.sh` (installs and starts the server, creates the `test` "
        f"database), or point NBSCHED_TEST_POSTGRES at a server where you may CREATE DATABASE.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def postgresql_dsn() -> Iterator[str]:
    """DSN of a fresh database for this test session."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"nbsched_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_MAINTENANCE_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _postgres_unreachable(exc)
    params = conninfo_to_dict(POSTGRES_MAINTENANCE_DSN)
    params["dbname"] = name
    yield make_conninfo("", **params)
    with psycopg.connect(POSTGRES_MAINTENANCE_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
