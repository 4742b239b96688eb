"""The one data store test suite: every store in ``STORE_FACTORIES`` must pass all of it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from nbsched import (
    CoalescePolicy,
    ConflictingIdError,
    ConflictPolicy,
    Job,
    JobOutcome,
    JobResult,
    Schedule,
    ScheduleResult,
    SerializationError,
    Task,
    TaskLookupError,
)
from nbsched.events import (
    JobAdded,
    JobReleased,
    JobRemoved,
    ScheduleAdded,
    ScheduleRemoved,
    ScheduleUpdated,
    TaskAdded,
    TaskRemoved,
    TaskUpdated,
)
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


def make_schedule(schedule_id: str, *, start: datetime = T0, **changes: Any) -> Schedule:
    trigger = IntervalTrigger(minutes=1, start_time=start)
    first = trigger.next()
    values: dict[str, Any] = {
        "id": schedule_id,
        "task_id": "task",
        "trigger": trigger,
        "next_fire_time": first,
    }
    values.update(changes)
    return Schedule(**values)


def make_job(task_id: str = "task", *, created_at: datetime = T0, **changes) -> Job:
    return Job(task_id=task_id, created_at=created_at, **changes)


def result_for(
    job: Job, outcome: JobOutcome = JobOutcome.success, *, keep=timedelta(hours=1), **kw
):
    return JobResult(job_id=job.id, outcome=outcome, finished_at=T0, expires_at=T0 + keep, **kw)


def state(trigger):
    return trigger.__getstate__()


# --- tasks -------------------------------------------------------------------------------------


async def test_tasks_round_trip_sorted_and_events(sut):
    store = sut.store
    task = Task(
        id="b",
        func="os.path:join",
        job_executor="async",
        max_running_jobs=3,
        misfire_grace_time=timedelta(seconds=90),
        metadata={"source": "print(1)", "n": [1, 2]},
    )
    await store.add_task(task)
    await store.add_task(Task(id="a", func="os.path:split"))
    got = await store.get_task("b")
    assert got == task
    assert [t.id for t in await store.get_tasks()] == ["a", "b"]
    await store.add_task(task.copy(job_executor="threadpool"))
    assert (await store.get_task("b")).job_executor == "threadpool"
    await store.remove_task("a")
    assert [t.id for t in await store.get_tasks()] == ["b"]
    with pytest.raises(TaskLookupError, match="'a'"):
        await store.get_task("a")
    with pytest.raises(TaskLookupError):
        await store.remove_task("a")
    assert [(type(e), e.task_id) for e in sut.of_type(TaskAdded, TaskUpdated, TaskRemoved)] == [
        (TaskAdded, "b"),
        (TaskAdded, "a"),
        (TaskUpdated, "b"),
        (TaskRemoved, "a"),
    ]


def module_level_job() -> None:
    """A task function with an import path."""


async def test_a_task_func_given_as_a_callable_reads_back_as_its_import_reference(sut):
    store = sut.store
    await store.add_task(Task(id="t", func=module_level_job))
    ref = f"{__name__}:module_level_job"
    assert (await store.get_task("t")).func == ref
    assert [t.func for t in await store.get_tasks()] == [ref]


async def test_task_update_keeps_running_jobs(sut):
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join"))
    await store.add_job(make_job())
    await store.acquire_jobs("s1", LEASE, None, T0)
    await store.add_task(Task(id="task", func="os.path:join", max_running_jobs=5))
    assert (await store.get_task("task")).running_jobs == 1


# --- schedules ---------------------------------------------------------------------------------


async def test_schedule_round_trip(sut):
    schedule = make_schedule(
        "s",
        args=(1, "two", [3]),
        kwargs={"x": {"y": 2}},
        paused=True,
        coalesce=CoalescePolicy.all,
        misfire_grace_time=timedelta(seconds=5),
        max_jitter=timedelta(seconds=2),
        job_result_expiration_time=timedelta(minutes=1),
        metadata={"cell": "x = 1"},
        last_fire_time=T0 - timedelta(minutes=1),
    )
    await sut.store.add_schedule(schedule, ConflictPolicy.exception)
    [got] = await sut.store.get_schedules()
    assert type(got.trigger) is IntervalTrigger
    assert state(got.trigger) == state(schedule.trigger)
    assert got.copy(trigger=schedule.trigger) == schedule
    assert sut.of_type(ScheduleAdded) == [
        ScheduleAdded(
            schedule_id="s",
            task_id="task",
            next_fire_time=T0,
            timestamp=sut.events[0].timestamp,
        )
    ]


async def test_conflict_policies(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s", args=(1,)), ConflictPolicy.exception)
    await store.add_schedule(make_schedule("s", args=(2,)), ConflictPolicy.do_nothing)
    assert [s.args for s in await store.get_schedules()] == [(1,)]
    with pytest.raises(ConflictingIdError, match="'s' already exists"):
        await store.add_schedule(make_schedule("s", args=(3,)), ConflictPolicy.exception)
    assert [s.args for s in await store.get_schedules()] == [(1,)]
    await store.add_schedule(make_schedule("s", args=(4,)), ConflictPolicy.replace)
    assert [s.args for s in await store.get_schedules()] == [(4,)]
    kinds = [type(e) for e in sut.of_type(ScheduleAdded, ScheduleUpdated)]
    assert kinds == [ScheduleAdded, ScheduleUpdated]


async def test_get_and_remove_schedules_by_id(sut):
    store = sut.store
    for schedule_id in ("c", "a", "b"):
        await store.add_schedule(make_schedule(schedule_id), ConflictPolicy.exception)
    assert [s.id for s in await store.get_schedules()] == ["a", "b", "c"]
    assert [s.id for s in await store.get_schedules(["c", "a", "zzz"])] == ["a", "c"]
    assert await store.get_schedules([]) == []
    await store.remove_schedules(["a", "zzz"])
    await store.remove_schedules(["c"], finished=True)
    assert [s.id for s in await store.get_schedules()] == ["b"]
    removed = [(e.schedule_id, e.finished) for e in sut.of_type(ScheduleRemoved)]
    assert removed == [("a", False), ("c", True)]


async def test_acquire_schedules_due_in_order_with_limit(sut):
    store = sut.store
    await store.add_schedule(
        make_schedule("late", start=T0 + timedelta(minutes=5)),
        ConflictPolicy.exception,
    )
    await store.add_schedule(
        make_schedule("second", start=T0 - timedelta(minutes=1)), ConflictPolicy.exception
    )
    await store.add_schedule(
        make_schedule("first", start=T0 - timedelta(minutes=2)), ConflictPolicy.exception
    )
    await store.add_schedule(make_schedule("third", start=T0), ConflictPolicy.exception)
    acquired = await store.acquire_schedules("s1", LEASE, 2, T0)
    assert [s.id for s in acquired] == ["first", "second"]
    assert all(s.acquired_by == "s1" and s.acquired_until == T0 + LEASE for s in acquired)
    acquired = await store.acquire_schedules("s1", LEASE, 10, T0)
    assert [s.id for s in acquired] == ["third"]
    assert await store.acquire_schedules("s1", LEASE, 10, T0) == []
    stored = {s.id: s for s in await store.get_schedules()}
    assert stored["first"].acquired_by == "s1"
    assert stored["late"].acquired_by is None


async def test_paused_schedules_not_acquired_nor_counted(sut):
    store = sut.store
    await store.add_schedule(make_schedule("paused", paused=True), ConflictPolicy.exception)
    assert await store.get_next_schedule_run_time() is None
    assert await store.acquire_schedules("s1", LEASE, 10, T0 + timedelta(days=1)) == []
    await store.add_schedule(
        make_schedule("active", start=T0 + timedelta(hours=1)), ConflictPolicy.exception
    )
    assert await store.get_next_schedule_run_time() == T0 + timedelta(hours=1)


async def test_next_schedule_run_time_is_earliest(sut):
    store = sut.store
    assert await store.get_next_schedule_run_time() is None
    for minutes in (30, 10, 20):
        schedule = make_schedule(f"s{minutes}", start=T0 + timedelta(minutes=minutes))
        await store.add_schedule(schedule, ConflictPolicy.exception)
    assert await store.get_next_schedule_run_time() == T0 + timedelta(minutes=10)


async def test_schedule_leases_between_schedulers(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s"), ConflictPolicy.exception)
    assert [s.id for s in await store.acquire_schedules("s1", LEASE, 10, T0)] == ["s"]
    # held by s1: nobody else gets it, and it does not make anyone wake up before expiry
    assert await store.acquire_schedules("s2", LEASE, 10, T0 + timedelta(seconds=10)) == []
    next_run = await store.get_next_schedule_run_time()
    assert next_run is None or next_run >= T0 + LEASE
    # the lease expired: s2 takes it over, and s1's late release is ignored
    taken = await store.acquire_schedules("s2", LEASE, 10, T0 + LEASE + timedelta(seconds=1))
    assert [(s.id, s.acquired_by) for s in taken] == [("s", "s2")]
    trigger = taken[0].trigger
    await store.release_schedules(
        "s1",
        [
            ScheduleResult(
                schedule_id="s",
                task_id="task",
                trigger=trigger,
                last_fire_time=T0,
                next_fire_time=T0 + timedelta(hours=9),
            )
        ],
    )
    [stored] = await store.get_schedules()
    assert stored.acquired_by == "s2"
    assert stored.next_fire_time == T0


async def test_extend_schedule_leases(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s"), ConflictPolicy.exception)
    await store.acquire_schedules("s1", LEASE, 10, T0)
    await store.extend_acquired_schedule_leases("s2", {"s"}, timedelta(hours=1), T0)  # not its
    await store.extend_acquired_schedule_leases("s1", {"s"}, LEASE, T0 + LEASE)
    assert await store.acquire_schedules("s2", LEASE, 10, T0 + LEASE + timedelta(seconds=1)) == []
    [stored] = await store.get_schedules()
    assert stored.acquired_until == T0 + 2 * LEASE
    later = await store.acquire_schedules("s2", LEASE, 10, T0 + 3 * LEASE)
    assert [s.acquired_by for s in later] == ["s2"]


async def test_release_schedules_stores_progress(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s"), ConflictPolicy.exception)
    [acquired] = await store.acquire_schedules("s1", LEASE, 10, T0 + timedelta(minutes=2))
    trigger = acquired.trigger
    fired = [acquired.next_fire_time, trigger.next(), trigger.next()]
    assert fired == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    upcoming = trigger.next()
    result = ScheduleResult(
        schedule_id="s",
        task_id="task",
        trigger=trigger,
        last_fire_time=fired[-1],
        next_fire_time=upcoming,
    )
    await store.release_schedules("s1", [result])
    [stored] = await store.get_schedules()
    assert (stored.acquired_by, stored.acquired_until) == (None, None)
    assert stored.last_fire_time == T0 + timedelta(minutes=2)
    assert stored.next_fire_time == upcoming == T0 + timedelta(minutes=3)
    # the stored trigger continues where the released one stopped
    assert stored.trigger.next() == T0 + timedelta(minutes=4)
    updated = sut.of_type(ScheduleUpdated)
    assert [(e.schedule_id, e.next_fire_time) for e in updated] == [("s", upcoming)]
    assert await store.get_next_schedule_run_time() == upcoming


async def test_release_exhausted_schedule_removes_it(sut):
    store = sut.store
    trigger = DateTrigger(T0)
    first = trigger.next()
    await store.add_schedule(
        Schedule(id="once", task_id="task", trigger=trigger, next_fire_time=first),
        ConflictPolicy.exception,
    )
    [acquired] = await store.acquire_schedules("s1", LEASE, 10, T0)
    assert acquired.trigger.next() is None
    await store.release_schedules(
        "s1",
        [
            ScheduleResult(
                schedule_id="once",
                task_id="task",
                trigger=acquired.trigger,
                last_fire_time=T0,
                next_fire_time=None,
            )
        ],
    )
    assert await store.get_schedules() == []
    assert await store.get_next_schedule_run_time() is None
    assert [(e.schedule_id, e.finished) for e in sut.of_type(ScheduleRemoved)] == [("once", True)]


async def test_removed_while_acquired_stays_removed(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s"), ConflictPolicy.exception)
    [acquired] = await store.acquire_schedules("s1", LEASE, 10, T0)
    await store.remove_schedules(["s"])
    await store.release_schedules(
        "s1",
        [
            ScheduleResult(
                schedule_id="s",
                task_id="task",
                trigger=acquired.trigger,
                last_fire_time=T0,
                next_fire_time=T0 + timedelta(minutes=1),
            )
        ],
    )
    assert await store.get_schedules() == []


# --- jobs --------------------------------------------------------------------------------------


async def test_jobs_round_trip_and_order(sut):
    store = sut.store
    jobs = [
        make_job(
            args=(1, (2, 3)),
            kwargs={"k": "v"},
            schedule_id="s",
            scheduled_fire_time=T0 + timedelta(minutes=i),
            jitter=timedelta(seconds=1),
            start_deadline=T0 + timedelta(minutes=1),
            result_expiration_time=timedelta(hours=1),
            metadata={"m": 1},
            created_at=T0 + timedelta(seconds=i),
        )
        for i in range(3)
    ]
    for job in jobs:
        await store.add_job(job)
    assert await store.get_jobs() == jobs
    assert await store.get_jobs([jobs[2].id, uuid4()]) == [jobs[2]]
    assert [e.job_id for e in sut.of_type(JobAdded)] == [job.id for job in jobs]
    assert all(e.schedule_id == "s" and e.task_id == "task" for e in sut.of_type(JobAdded))


async def test_acquire_jobs_limit_and_no_double_acquisition(sut):
    store = sut.store
    jobs = [make_job(created_at=T0 + timedelta(seconds=i)) for i in range(5)]
    for job in jobs:
        await store.add_job(job)
    first = await store.acquire_jobs("s1", LEASE, 2, T0)
    second = await store.acquire_jobs("s2", LEASE, None, T0)
    assert [j.id for j in first] == [j.id for j in jobs[:2]]
    assert [j.id for j in second] == [j.id for j in jobs[2:]]
    assert {j.acquired_by for j in first} == {"s1"}
    assert all(j.acquired_until == T0 + LEASE for j in first + second)
    assert await store.acquire_jobs("s3", LEASE, None, T0 + timedelta(seconds=1)) == []
    assert await store.acquire_jobs("s3", LEASE, 0, T0) == []


async def test_acquire_jobs_respects_max_running_jobs(sut):
    store = sut.store
    await store.add_task(Task(id="limited", func="os.path:join", max_running_jobs=2))
    await store.add_task(Task(id="free", func="os.path:join"))
    limited = [make_job("limited", created_at=T0 + timedelta(seconds=i)) for i in range(4)]
    free = make_job("free", created_at=T0 + timedelta(seconds=10))
    for job in [*limited, free]:
        await store.add_job(job)
    acquired = await store.acquire_jobs("s1", LEASE, None, T0)
    assert [j.id for j in acquired] == [limited[0].id, limited[1].id, free.id]
    assert (await store.get_task("limited")).running_jobs == 2
    assert await store.acquire_jobs("s2", LEASE, None, T0) == []
    await store.release_job("s1", acquired[0], result_for(acquired[0]))
    assert (await store.get_task("limited")).running_jobs == 1
    again = await store.acquire_jobs("s2", LEASE, None, T0)
    assert [j.id for j in again] == [limited[2].id]


async def test_release_job_and_result(sut):
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join"))
    job = make_job()
    await store.add_job(job)
    [acquired] = await store.acquire_jobs("s1", LEASE, None, T0)
    result = result_for(acquired, return_value={"answer": 42}, started_at=T0, scheduler_id="s1")
    await store.release_job("s1", acquired, result)
    assert await store.get_jobs() == []
    assert (await store.get_task("task")).running_jobs == 0
    assert [e.job_id for e in sut.of_type(JobRemoved)] == [job.id]
    assert await store.get_job_result(job.id) == result
    assert await store.get_job_result(job.id) is None  # returned once, then forgotten


async def test_error_result_keeps_exception(sut):
    store = sut.store
    job = make_job()
    await store.add_job(job)
    [acquired] = await store.acquire_jobs("s1", LEASE, None, T0)
    result = result_for(
        acquired, JobOutcome.error, exception=ValueError("boom", 7), traceback="Traceback..."
    )
    await store.release_job("s1", acquired, result)
    got = await store.get_job_result(job.id)
    assert got.outcome is JobOutcome.error
    assert type(got.exception) is ValueError and got.exception.args == ("boom", 7)
    assert got.traceback == "Traceback..."


async def test_result_without_expiration_is_not_kept(sut):
    store = sut.store
    job = make_job()
    await store.add_job(job)
    [acquired] = await store.acquire_jobs("s1", LEASE, None, T0)
    await store.release_job("s1", acquired, result_for(acquired, keep=timedelta(0)))
    assert await store.get_job_result(job.id) is None


async def test_release_by_other_scheduler_is_ignored(sut):
    store = sut.store
    job = make_job()
    await store.add_job(job)
    [acquired] = await store.acquire_jobs("s1", LEASE, None, T0)
    await store.release_job("s2", acquired, result_for(acquired))
    assert [j.id for j in await store.get_jobs()] == [job.id]


async def test_extend_job_leases_and_cleanup_abandons_expired(sut):
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join"))
    kept, dead = make_job(), make_job(created_at=T0 + timedelta(seconds=1))
    await store.add_job(kept)
    await store.add_job(dead)
    await store.acquire_jobs("s1", LEASE, None, T0)
    await store.extend_acquired_job_leases("s1", {kept.id}, timedelta(hours=1), T0)
    await store.extend_acquired_job_leases("s2", {dead.id}, timedelta(hours=1), T0)  # not its
    await store.cleanup(T0 + LEASE + timedelta(seconds=1))
    assert [j.id for j in await store.get_jobs()] == [kept.id]
    assert (await store.get_task("task")).running_jobs == 1
    assert [e.job_id for e in sut.of_type(JobRemoved)] == [dead.id]
    [released] = sut.of_type(JobReleased)
    assert (released.job_id, released.outcome) == (dead.id, JobOutcome.abandoned)


async def test_cleanup_forgets_expired_results(sut):
    store = sut.store
    jobs = [make_job(), make_job()]
    for job in jobs:
        await store.add_job(job)
    acquired = await store.acquire_jobs("s1", LEASE, None, T0)
    await store.release_job("s1", acquired[0], result_for(acquired[0], keep=timedelta(seconds=5)))
    await store.release_job("s1", acquired[1], result_for(acquired[1], keep=timedelta(hours=5)))
    await store.cleanup(T0 + timedelta(seconds=10))
    assert await store.get_job_result(jobs[0].id) is None
    assert (await store.get_job_result(jobs[1].id)).job_id == jobs[1].id


# --- bad input and copies ----------------------------------------------------------------------


async def test_bad_input_changes_nothing(sut):
    store = sut.store
    original = make_schedule("s", args=(1,))
    await store.add_schedule(original, ConflictPolicy.exception)
    with pytest.raises(TypeError, match="schedule"):
        await store.add_schedule("not a schedule", ConflictPolicy.replace)
    with pytest.raises(TypeError, match="conflict_policy"):
        await store.add_schedule(make_schedule("s", args=(2,)), "replace")
    with pytest.raises(TypeError, match="task"):
        await store.add_task({"id": "x"})
    with pytest.raises(TypeError, match="job"):
        await store.add_job("job")
    if sut.serializes:
        with pytest.raises(SerializationError, match="args of schedule 's'"):
            await store.add_schedule(
                make_schedule("s", args=(lambda: None,)), ConflictPolicy.replace
            )
        with pytest.raises(SerializationError, match="kwargs of schedule 'new'"):
            await store.add_schedule(
                make_schedule("new", kwargs={"f": object()}), ConflictPolicy.replace
            )
        with pytest.raises(SerializationError, match="args of job"):
            await store.add_job(make_job(args=(object(),)))
    [stored] = await store.get_schedules()
    assert stored.args == (1,)
    assert await store.get_jobs() == []
    assert await store.get_tasks() == []
    assert len(sut.of_type(ScheduleAdded, ScheduleUpdated)) == 1


async def test_objects_are_copies(sut, request):
    store = sut.store
    schedule = make_schedule("s", kwargs={"list": [1]}, metadata={"m": [1]})
    await store.add_schedule(schedule, ConflictPolicy.exception)
    schedule.kwargs["list"].append(2)
    schedule.metadata["other"] = True
    schedule.paused = True
    schedule.trigger.next()
    [got] = await store.get_schedules()
    assert got.kwargs == {"list": [1]}
    assert got.metadata == {"m": [1]}
    assert got.paused is False
    assert got.trigger.next() == T0 + timedelta(minutes=1)
    got.kwargs["list"].append(3)
    [again] = await store.get_schedules()
    assert again.kwargs == {"list": [1]}

    job = make_job(kwargs={"a": [1]})
    await store.add_job(job)
    job.kwargs["a"].append(2)
    [stored_job] = await store.get_jobs()
    assert stored_job.kwargs == {"a": [1]}
    stored_job.kwargs["a"].append(3)
    assert (await store.get_jobs())[0].kwargs == {"a": [1]}


async def test_empty_containers_handed_out_are_the_callers_own(sut):
    store = sut.store
    await store.add_schedule(make_schedule("a"), ConflictPolicy.exception)
    await store.add_schedule(make_schedule("b"), ConflictPolicy.exception)
    [a, b] = await store.get_schedules()
    a.kwargs["x"] = 1
    a.metadata["y"] = 2
    assert (b.kwargs, b.metadata) == ({}, {})
    acquired = await store.acquire_schedules("s1", LEASE, 10, T0)
    for schedule in acquired:
        schedule.kwargs["x"] = 1
        schedule.metadata["y"] = 2
    assert [(s.kwargs, s.metadata) for s in await store.get_schedules()] == [({}, {})] * 2
    await store.add_schedule(make_schedule("c"), ConflictPolicy.exception)
    [c] = await store.get_schedules(["c"])
    assert (c.kwargs, c.metadata) == ({}, {})


# --- leases: held through acquired_until, taken over after it ----------------------------------

MICROSECOND = timedelta(microseconds=1)


async def test_schedule_lease_holds_through_acquired_until(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s"), ConflictPolicy.exception)
    [held] = await store.acquire_schedules("s1", LEASE, 10, T0)
    assert held.acquired_until == T0 + LEASE
    # at the very instant the lease ends it still holds
    assert await store.acquire_schedules("s2", LEASE, 10, T0 + LEASE) == []
    # a schedule held by a dead scheduler is due again just after its lease
    assert await store.get_next_schedule_run_time() == T0 + LEASE + MICROSECOND
    taken = await store.acquire_schedules("s2", LEASE, 10, T0 + LEASE + MICROSECOND)
    assert [(s.id, s.acquired_by) for s in taken] == [("s", "s2")]
    assert taken[0].acquired_until == T0 + 2 * LEASE + MICROSECOND


async def test_expired_job_lease_is_taken_over_by_another_scheduler(sut):
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join", max_running_jobs=1))
    job = make_job(result_expiration_time=timedelta(hours=1))
    later = make_job(created_at=T0 + timedelta(seconds=1))
    await store.add_job(job)
    await store.add_job(later)
    [held] = await store.acquire_jobs("s1", LEASE, None, T0)
    assert (held.id, held.acquired_until) == (job.id, T0 + LEASE)
    # s1 dies. At the very instant the lease ends it still holds (and the task is full).
    assert await store.acquire_jobs("s2", LEASE, None, T0 + LEASE) == []
    # Just after, s2 takes the job over: it needs no free slot (the slot moves with it),
    # and it comes before the newer pending job.
    now = T0 + LEASE + MICROSECOND
    taken = await store.acquire_jobs("s2", LEASE, None, now)
    assert [(j.id, j.acquired_by, j.acquired_until) for j in taken] == [
        (job.id, "s2", now + LEASE)
    ]
    assert (await store.get_task("task")).running_jobs == 1
    # s1's late release and lease extension no longer count
    await store.release_job("s1", held, result_for(held, return_value="s1"))
    await store.extend_acquired_job_leases("s1", {job.id}, timedelta(days=1), now)
    [stored] = await store.get_jobs([job.id])
    assert (stored.acquired_by, stored.acquired_until) == ("s2", now + LEASE)
    assert await store.get_job_result(job.id) is None
    # nor is a job that was taken over abandoned at cleanup while the new lease holds
    await store.cleanup(now + LEASE)
    assert [j.id for j in await store.get_jobs()] == [job.id, later.id]
    await store.release_job("s2", taken[0], result_for(taken[0], return_value="s2"))
    assert (await store.get_job_result(job.id)).return_value == "s2"
    assert (await store.get_task("task")).running_jobs == 0
    assert [j.id for j in await store.acquire_jobs("s2", LEASE, None, now)] == [later.id]


async def test_takeover_respects_the_limit_and_order(sut):
    store = sut.store
    jobs = [make_job(created_at=T0 + timedelta(seconds=i)) for i in range(4)]
    for job in jobs:
        await store.add_job(job)
    await store.acquire_jobs("s1", LEASE, 2, T0)  # jobs 0 and 1; s1 dies
    now = T0 + LEASE + MICROSECOND
    first = await store.acquire_jobs("s2", LEASE, 3, now)
    assert [j.id for j in first] == [j.id for j in jobs[:3]]
    assert [j.id for j in await store.acquire_jobs("s3", LEASE, None, now)] == [jobs[3].id]


async def test_cleanup_abandons_expired_jobs_with_a_result(sut):
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join"))
    kept = make_job(result_expiration_time=timedelta(minutes=5), schedule_id="sched")
    not_kept = make_job(created_at=T0 + timedelta(seconds=1))
    await store.add_job(kept)
    await store.add_job(not_kept)
    await store.acquire_jobs("s1", LEASE, None, T0)
    # the lease holds through acquired_until: cleanup at that instant leaves the jobs alone
    await store.cleanup(T0 + LEASE)
    assert len(await store.get_jobs()) == 2
    assert sut.of_type(JobReleased) == []
    now = T0 + LEASE + MICROSECOND
    await store.cleanup(now)
    assert await store.get_jobs() == []
    assert (await store.get_task("task")).running_jobs == 0
    released = sut.of_type(JobReleased)
    assert [(e.job_id, e.outcome, e.scheduler_id, e.finished_at) for e in released] == [
        (kept.id, JobOutcome.abandoned, "s1", now),
        (not_kept.id, JobOutcome.abandoned, "s1", now),
    ]
    assert released[0].schedule_id == "sched"
    assert {e.job_id for e in sut.of_type(JobRemoved)} == {kept.id, not_kept.id}
    result = await store.get_job_result(kept.id)
    assert result == JobResult(
        job_id=kept.id,
        outcome=JobOutcome.abandoned,
        finished_at=now,
        expires_at=now + timedelta(minutes=5),
        scheduler_id="s1",
    )
    assert await store.get_job_result(not_kept.id) is None
    # an abandoned job is not run by anyone any more
    assert await store.acquire_jobs("s2", LEASE, None, now + LEASE) == []


async def test_cleanup_releases_expired_schedule_leases(sut):
    store = sut.store
    await store.add_schedule(make_schedule("s"), ConflictPolicy.exception)
    await store.add_schedule(make_schedule("held", start=T0 + LEASE), ConflictPolicy.exception)
    await store.acquire_schedules("dead", LEASE, 10, T0)
    await store.acquire_schedules("alive", LEASE, 10, T0 + LEASE)
    sut.events.clear()
    await store.cleanup(T0 + LEASE)  # the lease holds through its last instant
    assert sut.of_type(ScheduleUpdated) == []
    await store.cleanup(T0 + LEASE + MICROSECOND)
    [event] = sut.of_type(ScheduleUpdated)
    assert (event.schedule_id, event.task_id, event.next_fire_time) == ("s", "task", T0)
    stored = {s.id: s for s in await store.get_schedules()}
    assert (stored["s"].acquired_by, stored["s"].acquired_until) == (None, None)
    assert stored["held"].acquired_by == "alive"
    # the dead scheduler's late release changes nothing; anyone may acquire it now
    await store.release_schedules(
        "dead",
        [
            ScheduleResult(
                schedule_id="s",
                task_id="task",
                trigger=stored["s"].trigger,
                last_fire_time=T0,
                next_fire_time=T0 + timedelta(hours=1),
            )
        ],
    )
    assert (await store.get_schedules(["s"]))[0].next_fire_time == T0
    assert await store.get_next_schedule_run_time() == T0
    taken = await store.acquire_schedules("other", LEASE, 10, T0 + LEASE + MICROSECOND)
    assert [s.id for s in taken] == ["s"]


async def test_an_added_job_is_pending_whatever_lease_it_carries(sut):
    store = sut.store
    job = make_job(acquired_by="someone", acquired_until=T0 + timedelta(days=1))
    await store.add_job(job)
    [stored] = await store.get_jobs()
    assert (stored.acquired_by, stored.acquired_until) == (None, None)
    assert [j.id for j in await store.acquire_jobs("s1", LEASE, None, T0)] == [job.id]


# --- an acquired job: what its holder changes, and what the store changes later ----------------


async def test_a_holder_changing_its_acquired_job_changes_neither_lease_nor_task(sut):
    """The scheduler sets ``started_at`` on the job it runs, and a job's own code gets the
    same object (``current_job``): the store keeps the lease, the task and the job's
    ``started_at`` as added, whatever the holder does to its ``Job``."""
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join", max_running_jobs=1))
    await store.add_task(Task(id="other", func="os.path:join"))
    job = make_job(result_expiration_time=timedelta(hours=1))
    later = make_job(created_at=T0 + timedelta(seconds=1))
    await store.add_job(job)
    await store.add_job(later)
    [held] = await store.acquire_jobs("s1", LEASE, None, T0)
    held.task_id = "other"
    held.acquired_by = "s2"
    held.acquired_until = T0 - timedelta(days=1)
    held.started_at = T0
    [stored] = await store.get_jobs([job.id])
    assert (stored.task_id, stored.acquired_by, stored.acquired_until, stored.started_at) == (
        "task",
        "s1",
        T0 + LEASE,
        None,
    )
    assert (await store.get_task("task")).running_jobs == 1
    assert (await store.get_task("other")).running_jobs == 0
    # the lease still holds: nobody takes the job over, and the task is still full
    assert await store.acquire_jobs("s2", LEASE, None, T0 + timedelta(seconds=1)) == []
    await store.release_job("s2", held, result_for(held, return_value="s2"))  # not s2's
    assert [j.id for j in await store.get_jobs()] == [job.id, later.id]
    await store.extend_acquired_job_leases("s1", {job.id}, timedelta(hours=1), T0)
    await store.cleanup(T0 + LEASE + MICROSECOND)  # within the extended lease
    assert [j.id for j in await store.get_jobs()] == [job.id, later.id]
    await store.release_job("s1", held, result_for(held, return_value="s1"))
    assert (await store.get_job_result(job.id)).return_value == "s1"
    assert (await store.get_task("task")).running_jobs == 0
    assert (await store.get_task("other")).running_jobs == 0
    assert [j.id for j in await store.acquire_jobs("s2", LEASE, None, T0)] == [later.id]


async def test_an_abandoned_job_is_recorded_with_its_lease_and_task_as_stored(sut):
    store = sut.store
    await store.add_task(Task(id="task", func="os.path:join"))
    job = make_job(result_expiration_time=timedelta(hours=1), schedule_id="sched")
    await store.add_job(job)
    [held] = await store.acquire_jobs("s1", LEASE, None, T0)
    held.task_id = "other"
    held.acquired_by = "s2"
    held.acquired_until = T0 + timedelta(days=1)
    now = T0 + LEASE + MICROSECOND
    await store.cleanup(now)
    assert await store.get_jobs() == []
    assert (await store.get_task("task")).running_jobs == 0
    [released] = sut.of_type(JobReleased)
    assert (released.job_id, released.scheduler_id, released.task_id, released.outcome) == (
        job.id,
        "s1",
        "task",
        JobOutcome.abandoned,
    )
    assert [(e.job_id, e.task_id) for e in sut.of_type(JobRemoved)] == [(job.id, "task")]
    assert (await store.get_job_result(job.id)).scheduler_id == "s1"
    history = await store.get_run_history()
    assert [(r.job_id, r.task_id, r.scheduler_id, r.outcome) for r in history] == [
        (job.id, "task", "s1", JobOutcome.abandoned)
    ]


async def test_the_store_changes_no_job_its_holder_has(sut):
    """A lease extension or a take-over changes what the store says of the job, not the
    ``Job`` its (old) holder got from ``acquire_jobs``; the new holder gets one of its own,
    not started yet."""
    store = sut.store
    job = make_job(kwargs={"a": 1})
    await store.add_job(job)
    [held] = await store.acquire_jobs("s1", LEASE, None, T0)
    held.started_at = T0
    await store.extend_acquired_job_leases("s1", {job.id}, LEASE, T0 + LEASE)
    assert (held.acquired_by, held.acquired_until) == ("s1", T0 + LEASE)
    assert (await store.get_jobs())[0].acquired_until == T0 + 2 * LEASE
    now = T0 + 2 * LEASE + MICROSECOND
    [taken] = await store.acquire_jobs("s2", LEASE, None, now)
    assert taken is not held
    assert (taken.id, taken.acquired_by, taken.acquired_until) == (job.id, "s2", now + LEASE)
    assert taken.started_at is None
    assert taken.kwargs == {"a": 1}
    assert (held.acquired_by, held.acquired_until, held.started_at) == ("s1", T0 + LEASE, T0)
    held.kwargs = {"a": 2}  # the old holder's changes reach neither the new one nor the store
    held.acquired_by = "s2"
    assert taken.kwargs == {"a": 1}
    [stored] = await store.get_jobs()
    assert (stored.kwargs, stored.acquired_by, stored.acquired_until) == (
        {"a": 1},
        "s2",
        now + LEASE,
    )
    stored.kwargs["a"] = 3  # nor do those of a caller of get_jobs
    stored.acquired_by = "s3"
    assert (taken.kwargs, taken.acquired_by) == ({"a": 1}, "s2")
    assert (await store.get_jobs())[0].kwargs == {"a": 1}
    await store.release_job("s2", taken, result_for(taken))
    assert await store.get_jobs() == []
