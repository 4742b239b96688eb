"""APScheduler 4's data store scenarios (its tests/test_datastores.py), in nbsched's terms, on
every store.

Each test names the APScheduler test it follows. nbsched's stores take ``now`` where
APScheduler's read the wall clock (which its tests move with time-machine), and start with
just the broker. Where nbsched differs on purpose, the test asserts nbsched's behaviour and the
README's "Coming from APScheduler 4" table lists the difference.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import anyio
import pytest

from nbsched import (
    CoalescePolicy,
    ConflictPolicy,
    Job,
    JobOutcome,
    JobResult,
    Schedule,
    ScheduleResult,
    Task,
    TaskLookupError,
)
from nbsched.events import (
    ScheduleAdded,
    ScheduleRemoved,
    ScheduleUpdated,
    TaskAdded,
    TaskUpdated,
)
from nbsched.triggers.date import DateTrigger

pytestmark = pytest.mark.anyio

LEASE = timedelta(seconds=30)


def utc(day: int) -> datetime:
    return datetime(2020, 9, day, tzinfo=timezone.utc)


def date_schedule(schedule_id: str, task_id: str, day: int) -> Schedule:
    trigger = DateTrigger(utc(day))
    return Schedule(
        id=schedule_id, task_id=task_id, trigger=trigger, next_fire_time=trigger.next()
    )


@pytest.fixture
def schedules() -> list[Schedule]:
    return [
        date_schedule("s1", "task1", 13),
        date_schedule("s2", "task2", 14),
        date_schedule("s3", "task1", 15),
    ]


def finished(schedule: Schedule, last_fire_time: datetime) -> ScheduleResult:
    return ScheduleResult(
        schedule_id=schedule.id,
        task_id=schedule.task_id,
        trigger=schedule.trigger,
        last_fire_time=last_fire_time,
        next_fire_time=None,
    )


def result_of(job: Job, outcome: JobOutcome, now: datetime, **values) -> JobResult:
    return JobResult(
        job_id=job.id,
        outcome=outcome,
        finished_at=now,
        expires_at=now + job.result_expiration_time,
        **values,
    )


async def add_task(store, task_id: str = "task1", **options) -> None:
    await store.add_task(Task(id=task_id, func="contextlib:asynccontextmanager", **options))


# test_add_replace_task
async def test_add_replace_task(sut):
    store = sut.store
    await store.add_task(Task(id="test_task", func="builtins:print", job_executor="async"))
    await store.add_task(Task(id="test_task2", func="math:ceil", job_executor="async"))
    await store.add_task(Task(id="test_task", func="builtins:repr", job_executor="async"))
    tasks = await store.get_tasks()
    assert [(t.id, t.func) for t in tasks] == [
        ("test_task", "builtins:repr"),
        ("test_task2", "math:ceil"),
    ]
    events = sut.of_type(TaskAdded, TaskUpdated)
    assert [(type(e), e.task_id) for e in events] == [
        (TaskAdded, "test_task"),
        (TaskAdded, "test_task2"),
        (TaskUpdated, "test_task"),
    ]


# test_add_schedules
async def test_add_schedules(sut, schedules):
    store = sut.store
    for schedule in schedules:
        await store.add_schedule(schedule, ConflictPolicy.exception)
    assert await store.get_schedules() == schedules
    assert await store.get_schedules({"s1", "s2", "s3"}) == schedules
    for schedule in schedules:
        assert await store.get_schedules({schedule.id}) == [schedule]
    events = sut.of_type(ScheduleAdded)
    assert [(e.schedule_id, e.task_id, e.next_fire_time) for e in events] == [
        (s.id, s.task_id, s.next_fire_time) for s in schedules
    ]


# test_replace_schedules
async def test_replace_schedules(sut, schedules):
    store = sut.store
    for schedule in schedules:
        await store.add_schedule(schedule, ConflictPolicy.exception)
    replacement = date_schedule("s3", "foo", 16).copy(
        coalesce=CoalescePolicy.earliest, misfire_grace_time=None
    )
    await store.add_schedule(replacement, ConflictPolicy.replace)
    [stored] = await store.get_schedules({"s3"})
    assert (stored.task_id, stored.next_fire_time) == ("foo", utc(16))
    assert (stored.args, stored.kwargs) == ((), {})
    assert stored.coalesce is CoalescePolicy.earliest
    assert stored.misfire_grace_time is None
    [event] = sut.of_type(ScheduleUpdated)
    assert (event.schedule_id, event.task_id, event.next_fire_time) == ("s3", "foo", utc(16))


# test_remove_schedules
async def test_remove_schedules(sut, schedules):
    store = sut.store
    for schedule in schedules:
        await store.add_schedule(schedule, ConflictPolicy.exception)
    await store.remove_schedules(["s1", "s2"])
    assert await store.get_schedules() == [schedules[2]]
    assert [e.schedule_id for e in sut.of_type(ScheduleRemoved)] == ["s1", "s2"]


# test_acquire_release_schedules. Difference: a schedule released with no next fire time is
# removed at once (ScheduleRemoved, finished=True), where APScheduler keeps it with
# next_fire_time=None (ScheduleUpdated) until its cleanup.
async def test_acquire_release_schedules(sut, schedules):
    store = sut.store
    now = utc(14)
    for schedule in schedules:
        await store.add_schedule(schedule, ConflictPolicy.exception)
    first = await store.acquire_schedules("dummy-id1", LEASE, 1, now)
    second = await store.acquire_schedules("dummy-id2", LEASE, 1, now)
    assert [s.id for s in first] == ["s1"] and [s.id for s in second] == ["s2"]
    assert await store.acquire_schedules("dummy-id3", LEASE, 1, now) == []
    await store.release_schedules("dummy-id1", [finished(first[0], now)])
    await store.release_schedules(
        "dummy-id2",
        [
            ScheduleResult(
                schedule_id="s2",
                task_id="task2",
                trigger=second[0].trigger,
                last_fire_time=now,
                next_fire_time=utc(15),
            )
        ],
    )
    stored = {s.id: s for s in await store.get_schedules()}
    assert sorted(stored) == ["s2", "s3"]
    assert (stored["s2"].last_fire_time, stored["s2"].next_fire_time) == (now, utc(15))
    assert (stored["s3"].last_fire_time, stored["s3"].next_fire_time) == (None, utc(15))
    assert [(e.schedule_id, e.finished) for e in sut.of_type(ScheduleRemoved)] == [("s1", True)]
    updated = sut.of_type(ScheduleUpdated)
    assert [(e.schedule_id, e.next_fire_time) for e in updated] == [("s2", utc(15))]


# test_release_schedule_two_identical_fire_times and test_release_two_schedules_at_once
# (regressions #616 and #621): releasing one of two schedules due at the same time leaves the
# other alone (same difference as above for the finished one)
async def test_release_one_of_two_schedules_sharing_a_fire_time(sut):
    store = sut.store
    for schedule_id in ("s1", "s2"):
        await store.add_schedule(date_schedule(schedule_id, "task1", 13), ConflictPolicy.exception)
    acquired = await store.acquire_schedules("foo", LEASE, 3, utc(13))
    assert [s.id for s in acquired] == ["s1", "s2"]
    await store.release_schedules("foo", [finished(acquired[0], utc(10))])
    [remaining] = await store.get_schedules({"s1", "s2"})
    assert (remaining.id, remaining.next_fire_time) == ("s2", utc(13))
    assert remaining.acquired_by == "foo"  # still held until it is released in turn


# test_release_schedule_removed_meanwhile (regression #1076)
async def test_release_schedule_removed_meanwhile(sut):
    store = sut.store
    await store.add_schedule(date_schedule("s1", "task1", 13), ConflictPolicy.exception)
    [acquired] = await store.acquire_schedules("foo", LEASE, 1, utc(13))
    await store.remove_schedules([acquired.id])
    await store.release_schedules("foo", [finished(acquired, utc(10))])
    assert await store.get_schedules({"s1"}) == []


# test_acquire_schedules_lock_timeout
async def test_acquire_schedules_lock_timeout(sut, schedules):
    store = sut.store
    now = utc(20)
    await store.add_schedule(schedules[0], ConflictPolicy.exception)
    assert [s.id for s in await store.acquire_schedules("dummy-id1", LEASE, 1, now)] == ["s1"]
    assert await store.acquire_schedules("dummy-id2", LEASE, 1, now + LEASE) == []
    later = now + LEASE + timedelta(seconds=1)
    assert [s.id for s in await store.acquire_schedules("dummy-id2", LEASE, 1, later)] == ["s1"]


# test_acquire_multiple_workers
async def test_acquire_multiple_workers(sut):
    store = sut.store
    await add_task(store)
    jobs = [Job(task_id="task1") for _ in range(2)]
    for job in jobs:
        await store.add_job(job)
    now = utc(13)
    assert [j.id for j in await store.acquire_jobs("worker1", LEASE, 1, now)] == [jobs[0].id]
    assert [j.id for j in await store.acquire_jobs("worker2", LEASE, 1, now)] == [jobs[1].id]
    assert await store.acquire_jobs("worker3", LEASE, 1, now) == []


# test_job_release_success, _failure, _missed_deadline and _cancelled
@pytest.mark.parametrize(
    "outcome, values",
    [
        (JobOutcome.success, {"return_value": "foo"}),
        (JobOutcome.error, {"exception": ValueError("foo")}),
        (JobOutcome.missed_start_deadline, {}),
        (JobOutcome.cancelled, {}),
    ],
)
async def test_job_release(sut, outcome, values):
    store = sut.store
    await add_task(store)
    job = Job(task_id="task1", result_expiration_time=timedelta(minutes=1))
    await store.add_job(job)
    now = utc(13)
    [acquired] = await store.acquire_jobs("worker_id", LEASE, 2, now)
    assert acquired.id == job.id
    await store.release_job("worker_id", acquired, result_of(acquired, outcome, now, **values))
    result = await store.get_job_result(job.id)
    assert result.outcome is outcome
    assert result.return_value == values.get("return_value")
    if outcome is JobOutcome.error:
        assert isinstance(result.exception, ValueError) and result.exception.args == ("foo",)
    else:
        assert result.exception is None
    # the job and its result are gone
    assert await store.get_jobs({job.id}) == []
    assert await store.get_job_result(job.id) is None


# test_acquire_jobs_lock_timeout
async def test_acquire_jobs_lock_timeout(sut):
    store = sut.store
    await add_task(store)
    job = Job(task_id="task1", result_expiration_time=timedelta(minutes=1))
    await store.add_job(job)
    now = utc(13)
    assert [j.id for j in await store.acquire_jobs("worker1", LEASE, 1, now)] == [job.id]
    assert await store.acquire_jobs("worker2", LEASE, 1, now + LEASE) == []
    later = now + LEASE + timedelta(seconds=1)
    assert [j.id for j in await store.acquire_jobs("worker2", LEASE, 1, later)] == [job.id]


# test_acquire_jobs_max_number_exceeded
async def test_acquire_jobs_max_number_exceeded(sut):
    store = sut.store
    await add_task(store, max_running_jobs=2)
    assert (await store.get_task("task1")).running_jobs == 0
    jobs = [Job(task_id="task1") for _ in range(3)]
    for job in jobs:
        await store.add_job(job)
    now = utc(13)
    acquired = await store.acquire_jobs("worker1", LEASE, 3, now)
    assert [j.id for j in acquired] == [j.id for j in jobs[:2]]
    assert all(j.acquired_by == "worker1" and j.acquired_until for j in acquired)
    assert (await store.get_task("task1")).running_jobs == 2
    assert await store.acquire_jobs("worker1", LEASE, 3, now) == []
    await store.release_job(
        "worker1", acquired[0], result_of(acquired[0], JobOutcome.success, now)
    )
    assert (await store.get_task("task1")).running_jobs == 1
    assert len(await store.get_jobs()) == 2
    assert [j.id for j in await store.acquire_jobs("worker1", LEASE, 3, now)] == [jobs[2].id]
    assert (await store.get_task("task1")).running_jobs == 2


# test_add_get_task
async def test_add_get_task(sut):
    store = sut.store
    with pytest.raises(TaskLookupError):
        await store.get_task("dummyid")
    await add_task(store, "dummyid")
    task = await store.get_task("dummyid")
    assert (task.id, task.func) == ("dummyid", "contextlib:asynccontextmanager")


# test_cancel_start and test_cancel_stop: a store started or stopped in a cancelled scope
# neither hangs nor raises out of the scope, and is left usable
async def test_cancel_start_and_stop(sut):
    store, broker = sut.store, sut.broker
    await store.stop()
    with anyio.fail_after(10):
        with anyio.CancelScope() as scope:
            scope.cancel()
            await store.start(broker)
        await store.stop()
        await store.start(broker)
        await add_task(store)
        with anyio.CancelScope() as scope:
            assert [t.id for t in await store.get_tasks()] == ["task1"]
            scope.cancel()
            await store.stop()
        await store.stop()
        await store.start(broker)  # usable again (the fixture stops it)
        assert [t.id for t in await store.get_tasks()] == ["task1"]


# test_next_schedule_run_time
async def test_next_schedule_run_time(sut, schedules):
    store = sut.store
    assert await store.get_next_schedule_run_time() is None
    for schedule in schedules:
        await store.add_schedule(schedule, ConflictPolicy.exception)
    assert await store.get_next_schedule_run_time() == utc(13)


# test_extend_acquired_schedule_leases
async def test_extend_acquired_schedule_leases(sut, schedules):
    store = sut.store
    now = utc(14)
    await store.add_schedule(schedules[0], ConflictPolicy.exception)
    assert len(await store.acquire_schedules("scheduler_id", LEASE, 1, now)) == 1
    now += timedelta(seconds=20)
    await store.extend_acquired_schedule_leases("scheduler_id", {"s1"}, LEASE, now)
    assert await store.acquire_schedules("scheduler2_id", LEASE, 1, now) == []
    now += timedelta(seconds=20)  # past the first lease, within the extended one
    assert await store.acquire_schedules("scheduler2_id", LEASE, 1, now) == []
    now += timedelta(seconds=20)
    assert len(await store.acquire_schedules("scheduler2_id", LEASE, 1, now)) == 1


# test_extend_acquired_job_leases
async def test_extend_acquired_job_leases(sut):
    store = sut.store
    now = utc(14)
    await add_task(store)
    job = Job(task_id="task1", result_expiration_time=timedelta(seconds=30))
    await store.add_job(job)
    assert len(await store.acquire_jobs("scheduler_id", LEASE, 1, now)) == 1
    now += timedelta(seconds=20)
    await store.extend_acquired_job_leases("scheduler_id", {job.id}, LEASE, now)
    assert await store.acquire_jobs("scheduler2_id", LEASE, 1, now) == []
    now += timedelta(seconds=20)
    await store.cleanup(now)
    assert len(await store.get_jobs({job.id})) == 1
    now += timedelta(seconds=20)
    await store.cleanup(now)
    assert await store.get_jobs({job.id}) == []
    result = await store.get_job_result(job.id)
    assert result.outcome is JobOutcome.abandoned


# test_cleanup_expired_schedule_leases (APScheduler 4 after 4.0.0a6)
async def test_cleanup_expired_schedule_leases(sut, schedules):
    store = sut.store
    now = utc(14)
    await store.add_schedule(schedules[0], ConflictPolicy.exception)
    assert len(await store.acquire_schedules("scheduler1", LEASE, 1, now)) == 1
    sut.events.clear()
    now += timedelta(seconds=20)
    await store.cleanup(now)
    assert await store.acquire_schedules("scheduler2", LEASE, 1, now) == []
    now += timedelta(seconds=20)
    await store.cleanup(now)
    [event] = sut.of_type(ScheduleUpdated)
    assert (event.schedule_id, event.task_id, event.next_fire_time) == ("s1", "task1", utc(13))
    assert [s.id for s in await store.acquire_schedules("scheduler2", LEASE, 1, now)] == ["s1"]
