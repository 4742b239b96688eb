"""Several scheduler processes sharing one PostgreSQL database, in real time: each fire is one
job run once (counted in the database), and a server restart mid-run loses nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from nbsched import CoalescePolicy, ConflictPolicy, Schedule, Task
from nbsched.datastores.postgresql import PostgreSQLDataStore
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_postgresql_worker.py")
INTERVAL = timedelta(seconds=1)


@dataclass
class Group:
    prefix: str
    count: int
    coalesce: CoalescePolicy = CoalescePolicy.all
    misfire_grace_time: timedelta | None = None
    fires: int | None = None  # how many times each schedule fires (None: until stopped)


async def _seed(dsn: str, schema: str, groups: list[Group], start: datetime) -> None:
    store = PostgreSQLDataStore(dsn, schema=schema)
    await store.start(LocalEventBroker())
    try:
        await store.add_task(Task(id="record", func="__main__:record", job_executor="async"))
        for group in groups:
            for number in range(group.count):
                schedule_id = f"{group.prefix}{number:03}"
                end = None if group.fires is None else start + INTERVAL * (group.fires - 0.5)
                trigger = IntervalTrigger(
                    seconds=INTERVAL.total_seconds(), start_time=start, end_time=end
                )
                await store.add_schedule(
                    Schedule(
                        id=schedule_id,
                        task_id="record",
                        trigger=trigger,
                        args=(schedule_id,),
                        coalesce=group.coalesce,
                        misfire_grace_time=group.misfire_grace_time,
                        job_result_expiration_time=timedelta(days=1),
                        next_fire_time=trigger.next(),
                    ),
                    ConflictPolicy.exception,
                )
    finally:
        await store.stop()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            f'CREATE TABLE "{schema}".runs (token uuid PRIMARY KEY, schedule_id text NOT NULL, '
            f"scheduler text NOT NULL, ran_at timestamptz NOT NULL DEFAULT now())"
        )


def seed(dsn: str, groups: list[Group], start: datetime) -> str:
    schema = f"mp_{uuid.uuid4().hex[:12]}"
    asyncio.run(_seed(dsn, schema, groups, start))
    return schema


def spawn(dsn: str, schema: str, seconds: float, identity: str, lease: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), dsn, schema, str(seconds), identity, str(lease)],
        stderr=subprocess.PIPE,
    )


def wait_all(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr.decode()[-3000:]


@dataclass
class Accounts:
    schedule_ids: list[str]
    # schedule id -> fire time -> how many jobs stood for it (finished or still pending)
    fires: dict[str, Counter[datetime]] = field(default_factory=dict)
    # schedule id -> fire time -> outcome of its finished job
    outcomes: dict[str, dict[datetime, str]] = field(default_factory=dict)
    runs: Counter[str] = field(default_factory=Counter)
    # schedule id -> (scheduler, ran at) of each run, and (scheduler, fire, outcome) of each
    # result: what a failure message shows
    run_log: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    result_log: dict[str, list[tuple[str, datetime, str]]] = field(default_factory=dict)
    # schedule id -> jobs still leased when the schedulers stopped (they may have run)
    leased: Counter[str] = field(default_factory=Counter)
    schedulers: set[str] = field(default_factory=set)

    def outcome_counts(self, schedule_id: str) -> Counter[str]:
        return Counter(self.outcomes[schedule_id].values())

    def gaps(self, schedule_id: str, start: datetime) -> list[datetime]:
        fired = self.fires[schedule_id]
        expected, moment = [], start
        while moment <= max(fired):
            expected.append(moment)
            moment += INTERVAL
        return [moment for moment in expected if moment not in fired]


def account(dsn: str, schema: str, ids: list[str] | None = None) -> Accounts:
    """What happened in the store; ``ids``: the schedules to account for (default: those
    stored, which leaves out schedules that finished)."""
    s = f'"{schema}"'
    with psycopg.connect(dsn) as conn:
        if ids is None:
            ids = [row[0] for row in conn.execute(f"SELECT id FROM {s}.schedules ORDER BY id")]
        accounts = Accounts(ids, {i: Counter() for i in ids}, defaultdict(dict))
        for schedule_id, fire_time, outcome, scheduler in conn.execute(
            f"SELECT schedule_id, scheduled_fire_time, outcome, scheduler_id FROM {s}.job_results"
        ):
            accounts.fires[schedule_id][fire_time] += 1
            accounts.outcomes[schedule_id][fire_time] = outcome
            accounts.schedulers.add(scheduler)
            accounts.result_log.setdefault(schedule_id, []).append((scheduler, fire_time, outcome))
        for schedule_id, fire_time, leased in conn.execute(
            f"SELECT schedule_id, scheduled_fire_time, acquired_by IS NOT NULL FROM {s}.jobs"
        ):
            accounts.fires[schedule_id][fire_time] += 1
            accounts.leased[schedule_id] += leased
        for schedule_id, scheduler, ran_at in conn.execute(
            f"SELECT schedule_id, scheduler, ran_at FROM {s}.runs ORDER BY ran_at"
        ):
            accounts.runs[schedule_id] += 1
            accounts.run_log.setdefault(schedule_id, []).append((scheduler, ran_at))
    return accounts


def assert_each_fire_once_and_each_job_run_once(accounts: Accounts) -> None:
    duplicated = {
        sid: [fire for fire, n in counter.items() if n > 1]
        for sid, counter in accounts.fires.items()
    }
    assert {sid: fires for sid, fires in duplicated.items() if fires} == {}
    for sid in accounts.schedule_ids:
        outcomes = accounts.outcome_counts(sid)
        # a job cancelled at shutdown may have run before the cancellation landed, and one
        # still leased when its scheduler stopped may have run (it is abandoned once its lease
        # expires); every other job ran exactly once
        maybe_ran = outcomes["cancelled"] + accounts.leased[sid]
        assert outcomes["success"] <= accounts.runs[sid] <= outcomes["success"] + maybe_ran, (
            sid,
            outcomes,
            accounts.runs[sid],
            accounts.leased[sid],
            sorted(accounts.result_log.get(sid, []), key=lambda r: r[1]),
            accounts.run_log.get(sid),
        )


def test_four_processes_run_each_fire_exactly_once(postgresql_dsn: str) -> None:
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    # Each schedule fires 4 times (0-3 s after start); the workers run on for about 3 s more,
    # so the jobs of the last fires have time to run before the stop, even on a loaded
    # machine (a stop cancels the jobs still running or pending: they may not have run).
    schema = seed(postgresql_dsn, [Group("s", 200, fires=4)], start)
    workers = [spawn(postgresql_dsn, schema, 9.0, f"worker-{i}", 30.0) for i in range(4)]
    wait_all(workers)

    accounts = account(postgresql_dsn, schema, [f"s{n:03}" for n in range(200)])
    assert {
        sid: accounts.gaps(sid, start)
        for sid in accounts.schedule_ids
        if accounts.gaps(sid, start)
    } == {}
    assert_each_fire_once_and_each_job_run_once(accounts)
    fires = {sid: len(accounts.fires[sid]) for sid in accounts.schedule_ids}
    assert fires == dict.fromkeys(accounts.schedule_ids, 4)
    # every schedule's function ran
    never_ran = {
        sid: sorted(accounts.result_log.get(sid, []), key=lambda r: r[1])
        for sid in accounts.schedule_ids
        if accounts.runs[sid] == 0
    }
    assert never_ran == {}
    assert accounts.schedulers == {f"worker-{i}" for i in range(4)}  # the work was shared


def pg_ctlcluster(action: str, check: bool = True) -> None:
    """Stop or start the local PostgreSQL cluster (CI and developers' machines: Debian)."""
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        pytest.fail(
            "the fault test restarts the local PostgreSQL server with Debian's pg_ctlcluster, "
            "which is not installed here; run `bash scripts/setup.sh` (installs PostgreSQL)",
            pytrace=False,
        )
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[
        -1
    ]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=check,
        timeout=60,
    )


def wait_until_ready(dsn: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wait_for_fires_after(dsn: str, schema: str, moment: datetime, timeout: float = 60) -> None:
    """Wait until every schedule has had a job run for a fire time at or after ``moment``."""
    query = (
        f'SELECT count(DISTINCT schedule_id) = (SELECT count(*) FROM "{schema}".schedules) '
        f'FROM "{schema}".job_results WHERE scheduled_fire_time >= %s'
    )
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(query, (moment,)).fetchone()
        if row is not None and row[0]:
            return
        assert time.monotonic() < deadline, f"not every schedule fired after {moment}"
        time.sleep(0.2)


def test_server_restart_mid_run_loses_nothing(postgresql_dsn: str) -> None:
    grace = timedelta(milliseconds=500)
    groups = [
        Group("all", 20, CoalescePolicy.all),
        Group("latest", 20, CoalescePolicy.latest),
        Group("grace", 20, CoalescePolicy.all, misfire_grace_time=grace),
    ]
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    schema = seed(postgresql_dsn, groups, start)
    # The default 30 s lease outlasts the outage: a scheduler caught mid-way by the restart
    # finishes what it acquired when the server is back, and nobody takes it over meanwhile
    # (a lease shorter than an outage lets another scheduler process the same fires again).
    workers = [spawn(postgresql_dsn, schema, 120.0, f"worker-{i}", 30.0) for i in range(4)]
    server_down = False
    try:
        wait_for_fires_after(postgresql_dsn, schema, start + 2 * INTERVAL)
        server_down = True
        pg_ctlcluster("stop")
        stopped = datetime.now(timezone.utc)  # the server is down from here...
        time.sleep(3)
        up_from = datetime.now(timezone.utc)  # ...until at least here
        pg_ctlcluster("start")
        server_down = False
        wait_until_ready(postgresql_dsn)
        back = datetime.now(timezone.utc)
        # the schedulers carry on after the restart: every schedule fires on time again
        wait_for_fires_after(postgresql_dsn, schema, back + 3 * INTERVAL)
    finally:
        if server_down:  # whatever failed, leave the server running for the other tests
            pg_ctlcluster("start", check=False)  # (it may be running after all)
        wait_until_ready(postgresql_dsn)
        for worker in workers:
            worker.terminate()  # SIGTERM: the worker's scheduler stops cleanly
        wait_all(workers)

    accounts = account(postgresql_dsn, schema)
    assert len(accounts.schedule_ids) == 60  # no schedule lost
    assert_each_fire_once_and_each_job_run_once(accounts)
    by_group = {
        group.prefix: [sid for sid in accounts.schedule_ids if sid.startswith(group.prefix)]
        for group in groups
    }
    for sid in by_group["all"] + by_group["grace"]:
        # coalesce=all: every fire time, those missed during the outage included, got its job
        assert accounts.gaps(sid, start) == [], sid
    outage_fires = [
        start + n * INTERVAL for n in range(60) if stopped < start + n * INTERVAL < up_from
    ]
    assert len(outage_fires) >= 3
    for sid in by_group["latest"]:
        # coalesce=latest: the fires that fell due while the server was down were coalesced.
        # At most two jobs stand for them: a scheduler loop that began during the outage
        # retries its acquire with the time it began at, so it may coalesce the fires due by
        # then into one job, and the next pass the rest into another.
        during = [fire for fire in accounts.fires[sid] if stopped < fire < up_from]
        assert len(during) <= 2 < len(outage_fires), (sid, during, outage_fires)
    missed_in_outage = [
        fire
        for fire in [start + n * INTERVAL for n in range(30)]
        if stopped < fire and fire + grace < up_from
    ]
    assert missed_in_outage, "the outage covers at least one fire time"
    for sid in by_group["grace"]:
        # misfire_grace_time: a job for a fire in the outage could not start in time, so it
        # is recorded as missed and never run
        outcomes = accounts.outcomes[sid]
        assert [outcomes.get(fire) for fire in missed_in_outage] == [
            "missed_start_deadline"
        ] * len(missed_in_outage), sid
    # and the "all" group without a grace time ran its late jobs
    for sid in by_group["all"]:
        outcomes = accounts.outcomes[sid]
        assert all(outcomes.get(fire) == "success" for fire in missed_in_outage), sid
    assert accounts.schedulers == {f"worker-{i}" for i in range(4)}
