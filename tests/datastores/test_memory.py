"""What only the memory store promises: its indexes (heap of fire times, per-task job queues)
give the same answers as a full scan would, paused schedules stay out of them, and expired
leases are taken over. The contract shared by every store is in test_store_contract.py."""

from __future__ import annotations

import functools
import gc
import random
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from nbsched import (
    ConflictPolicy,
    Job,
    JobOutcome,
    JobResult,
    Schedule,
    ScheduleResult,
    Task,
)
from nbsched.datastores.memory import MemoryDataStore
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import Event, JobAdded, JobReleased, JobRemoved
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


@pytest.fixture
async def store() -> MemoryDataStore:
    store = MemoryDataStore()
    await store.start(LocalEventBroker())
    return store


def schedule(id: str, offset: float, *, paused: bool = False) -> Schedule:
    fire = T0 + timedelta(seconds=offset)
    trigger = IntervalTrigger(seconds=3600, start_time=fire)
    trigger.next()
    return Schedule(id=id, task_id="t", trigger=trigger, next_fire_time=fire, paused=paused)


async def test_acquires_due_schedules_earliest_first_in_batches(store: MemoryDataStore) -> None:
    offsets = list(range(500))
    random.Random(4).shuffle(offsets)
    for offset in offsets:
        await store.add_schedule(schedule(f"s{offset}", offset), ConflictPolicy.exception)
    now = T0 + timedelta(seconds=249.5)
    got: list[Schedule] = []
    while batch := await store.acquire_schedules("me", LEASE, 64, now):
        assert len(batch) <= 64
        got.extend(batch)
    assert [s.id for s in got] == [f"s{i}" for i in range(250)]
    assert await store.get_next_schedule_run_time() == T0 + timedelta(seconds=250)


async def test_paused_and_replaced_schedules_leave_the_index(store: MemoryDataStore) -> None:
    await store.add_schedule(schedule("early-paused", 1, paused=True), ConflictPolicy.exception)
    await store.add_schedule(schedule("moved", 2), ConflictPolicy.exception)
    await store.add_schedule(schedule("later", 50), ConflictPolicy.exception)
    await store.add_schedule(schedule("moved", 100), ConflictPolicy.replace)
    assert await store.get_next_schedule_run_time() == T0 + timedelta(seconds=50)
    got = await store.acquire_schedules("me", LEASE, 10, T0 + timedelta(seconds=60))
    assert [s.id for s in got] == ["later"]
    await store.remove_schedules(["moved", "later"])
    assert await store.get_next_schedule_run_time() is None


async def test_an_expired_schedule_lease_is_taken_over(store: MemoryDataStore) -> None:
    await store.add_schedule(schedule("s", 0), ConflictPolicy.exception)
    assert len(await store.acquire_schedules("crashed", LEASE, 10, T0)) == 1
    assert await store.acquire_schedules("other", LEASE, 10, T0 + timedelta(seconds=29)) == []
    taken = await store.acquire_schedules("other", LEASE, 10, T0 + timedelta(seconds=31))
    assert [s.acquired_by for s in taken] == ["other"]


async def test_a_task_at_its_limit_does_not_hold_back_other_tasks(
    store: MemoryDataStore,
) -> None:
    await store.add_task(Task(id="limited", func="x:y", max_running_jobs=1))
    await store.add_task(Task(id="free", func="x:y"))
    for n in range(100):
        await store.add_job(Job(task_id="limited", args=(n,)))
    for n in range(3):
        await store.add_job(Job(task_id="free", args=(n,)))
    first = await store.acquire_jobs("me", LEASE, None, T0)
    assert [(j.task_id, j.args) for j in first] == [
        ("limited", (0,)),
        ("free", (0,)),
        ("free", (1,)),
        ("free", (2,)),
    ]
    assert (await store.get_task("limited")).running_jobs == 1
    assert await store.acquire_jobs("me", LEASE, None, T0) == []
    done = JobResult(job_id=first[0].id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0)
    await store.release_job("me", first[0], done)
    [next_job] = await store.acquire_jobs("me", LEASE, None, T0)
    assert next_job.args == (1,)


async def test_jobs_are_acquired_in_line_across_tasks_as_a_full_scan_would(
    store: MemoryDataStore,
) -> None:
    """Interleaved tasks, limits per task and per call: the jobs acquired are those a scan of
    every pending job in the order they were added would pick."""
    rng = random.Random(7)
    caps = {"a": None, "b": 2, "c": 3}
    for task_id, cap in caps.items():
        await store.add_task(Task(id=task_id, func="x:y", max_running_jobs=cap))
    pending: list[Job] = []  # the model: in the order added
    running: dict[str, list[Job]] = {task_id: [] for task_id in caps}
    for _ in range(60):
        for _ in range(rng.randrange(0, 8)):
            job = Job(task_id=rng.choice("aabbc"))
            await store.add_job(job)
            pending.append(job)
        limit = rng.choice([None, 1, 2, 5])
        expected: list[Job] = []
        counts = {task_id: len(jobs) for task_id, jobs in running.items()}
        for job in pending:
            if limit is not None and len(expected) >= limit:
                break
            cap = caps[job.task_id]
            if cap is None or counts[job.task_id] < cap:
                expected.append(job)
                counts[job.task_id] += 1
        got = await store.acquire_jobs("me", LEASE, limit, T0)
        assert [j.id for j in got] == [j.id for j in expected]
        for job in expected:
            pending.remove(job)
            running[job.task_id].append(job)
        for jobs in running.values():  # release some
            for job in [j for j in jobs if rng.random() < 0.5]:
                jobs.remove(job)
                done = JobResult(
                    job_id=job.id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0
                )
                await store.release_job("me", job, done)


async def test_cleanup_abandons_jobs_whose_lease_expired(store: MemoryDataStore) -> None:
    events: list[Event] = []
    broker = LocalEventBroker()
    broker.subscribe(events.append)
    await store.start(broker)
    await store.add_task(Task(id="t", func="x:y", max_running_jobs=1))
    job = Job(id=uuid4(), task_id="t")
    await store.add_job(job)
    await store.acquire_jobs("crashed", LEASE, 1, T0)
    await store.cleanup(T0 + timedelta(seconds=10))
    assert len(await store.get_jobs()) == 1
    await store.cleanup(T0 + timedelta(seconds=31))
    assert await store.get_jobs() == []
    assert (await store.get_task("t")).running_jobs == 0
    released = [e for e in events if isinstance(e, JobReleased)]
    assert [(e.job_id, e.outcome, e.scheduler_id) for e in released] == [
        (job.id, JobOutcome.abandoned, "crashed")
    ]
    assert [e.job_id for e in events if isinstance(e, JobRemoved)] == [job.id]


async def test_schedules_sharing_a_fire_time_are_acquired_in_the_order_they_came(
    store: MemoryDataStore,
) -> None:
    for n in range(200):
        await store.add_schedule(schedule(f"s{n}", 5), ConflictPolicy.exception)
    await store.add_schedule(schedule("later", 6), ConflictPolicy.exception)
    await store.remove_schedules([f"s{n}" for n in range(0, 200, 3)])
    await store.add_schedule(schedule("s1", 5, paused=True), ConflictPolicy.replace)
    await store.add_schedule(schedule("s2", 7), ConflictPolicy.replace)  # moved later
    await store.add_schedule(schedule("s4", 5), ConflictPolicy.replace)  # keeps its place
    expected = [f"s{n}" for n in range(4, 200) if n % 3] + ["later"]
    assert await store.get_next_schedule_run_time() == T0 + timedelta(seconds=5)
    assert await store.acquire_schedules("me", LEASE, 10, T0 + timedelta(seconds=4)) == []
    got: list[str] = []
    while batch := await store.acquire_schedules("me", LEASE, 7, T0 + timedelta(seconds=6)):
        assert len(batch) <= 7
        got.extend(s.id for s in batch)
    assert got == expected
    assert await store.get_next_schedule_run_time() == T0 + timedelta(seconds=7)


async def test_next_run_time_skips_a_fire_time_whose_schedules_are_all_gone(
    store: MemoryDataStore,
) -> None:
    for n in range(50):
        await store.add_schedule(schedule(f"s{n}", 5), ConflictPolicy.exception)
    await store.add_schedule(schedule("kept", 5), ConflictPolicy.exception)
    await store.add_schedule(schedule("later", 9), ConflictPolicy.exception)
    await store.remove_schedules([f"s{n}" for n in range(50)])
    assert await store.get_next_schedule_run_time() == T0 + timedelta(seconds=5)
    assert store._due[T0 + timedelta(seconds=5)] == ["kept"]  # the stale ids were dropped
    await store.remove_schedules(["kept"])
    assert await store.get_next_schedule_run_time() == T0 + timedelta(seconds=9)
    assert len(store._due) == len(store._due_times) == 1


async def test_a_released_schedule_joins_the_time_it_moved_to(store: MemoryDataStore) -> None:
    await store.add_schedule(schedule("a", 0), ConflictPolicy.exception)
    await store.add_schedule(schedule("b", 60), ConflictPolicy.exception)
    [a] = await store.acquire_schedules("me", LEASE, 10, T0)
    moved = T0 + timedelta(seconds=60)
    result = ScheduleResult(
        schedule_id="a", task_id="t", trigger=a.trigger, last_fire_time=T0, next_fire_time=moved
    )
    await store.release_schedules("me", [result])
    got = await store.acquire_schedules("me", LEASE, 10, moved)
    assert [(s.id, s.last_fire_time) for s in got] == [("b", None), ("a", T0)]


async def test_schedules_alike_share_their_settings_and_cost_little_memory(
    store: MemoryDataStore,
) -> None:
    """One settings object per distinct set, no per-schedule empty containers, one index
    entry per fire time and one trigger spec: a schedule costs a record, a trigger and its
    id (the benchmark in benchmarks/dispatch.py part c measures ~215 B through the scheduler).
    """
    start = T0 + timedelta(days=1)
    ids = [f"s{n}" for n in range(5_000)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for schedule_id in ids:
        trigger = IntervalTrigger(minutes=5, start_time=start)
        fire_time = trigger.next()
        await store.add_schedule(
            Schedule(id=schedule_id, task_id="t", trigger=trigger, next_fire_time=fire_time),
            ConflictPolicy.exception,
        )
    gc.collect()
    per_schedule = (tracemalloc.get_traced_memory()[0] - before) / len(ids)
    tracemalloc.stop()
    assert per_schedule < 250
    records = [store._schedules[i] for i in ids[:2]]
    assert records[0].options is records[1].options
    [got] = await store.get_schedules(["s1"])
    assert got.task_id == "t" and got.kwargs == {} and got.args == ()


async def test_an_adopted_schedule_keeps_its_trigger_and_copies_the_rest(
    store: MemoryDataStore,
) -> None:
    """adopt_schedule (the scheduler's add, see ScheduleAdopter) keeps the trigger it is
    given, not a copy; arguments and metadata are still the store's own copies."""
    adopted = schedule("a", 10)
    adopted.kwargs = {"k": [1]}
    await store.adopt_schedule(adopted, ConflictPolicy.exception)
    adopted.kwargs["k"].append(2)
    [got] = await store.acquire_schedules("me", LEASE, 10, T0 + timedelta(seconds=10))
    assert got.trigger is adopted.trigger
    assert got.kwargs == {"k": [1]}
    added = schedule("b", 10)
    await store.add_schedule(added, ConflictPolicy.exception)
    [got] = await store.acquire_schedules("me", LEASE, 10, T0 + timedelta(seconds=10))
    assert got.trigger is not added.trigger


async def test_adopted_jobs_are_added_in_order_with_arguments_of_their_own(
    store: MemoryDataStore,
) -> None:
    """adopt_jobs (the scheduler's jobs of due schedules, see JobAdopter) adds a batch as
    add_job would add each: in order, their arguments and metadata the store's own copies,
    one JobAdded each for a subscriber."""
    await store.add_task(Task(id="t", func="m:f"))
    added: list[Event] = []
    assert store._broker is not None
    store._broker.subscribe(added.append, {JobAdded})
    kwargs, metadata = {"k": [1]}, {"m": [1]}
    jobs = [Job(task_id="t", kwargs=kwargs, metadata=metadata), Job(task_id="t")]
    await store.adopt_jobs(jobs)
    kwargs["k"].append(2)
    metadata["m"].append(2)
    assert [e.job_id for e in added] == [job.id for job in jobs]  # type: ignore[attr-defined]
    got = await store.acquire_jobs("me", LEASE, 10, T0)
    assert [job.id for job in got] == [job.id for job in jobs]
    assert got[0].kwargs == {"k": [1]} and got[0].metadata == {"m": [1]}


async def test_adopting_a_batch_with_something_not_a_job_adopts_none_of_it(
    store: MemoryDataStore,
) -> None:
    """Bad input raises before anything is changed, for a batch as for one job."""
    with pytest.raises(TypeError, match="job: expected a Job, got str"):
        await store.adopt_jobs([Job(task_id="t"), "not a job"])  # type: ignore[list-item]
    assert await store.get_jobs() == []
    assert await store.acquire_jobs("me", LEASE, None, T0) == []

    class Overriding(MemoryDataStore):  # adopt_jobs goes through its add_job
        async def add_job(self, job: Job) -> None:
            await super().add_job(job)

    overriding = Overriding()
    await overriding.start(LocalEventBroker())
    with pytest.raises(TypeError, match="job: expected a Job, got str"):
        await overriding.adopt_jobs([Job(task_id="t"), "not a job"])  # type: ignore[list-item]
    assert await overriding.get_jobs() == []


async def test_a_subclass_overriding_add_job_gets_the_adopted_jobs_too() -> None:
    added: list[Job] = []

    class Counting(MemoryDataStore):
        async def add_job(self, job: Job) -> None:
            added.append(job)
            await super().add_job(job)

    store = Counting()
    await store.start(LocalEventBroker())
    jobs = [Job(task_id="t"), Job(task_id="t")]
    await store.adopt_jobs(jobs)
    assert added == jobs


async def test_a_subclass_overriding_add_schedule_gets_the_adopted_schedules_too() -> None:
    added: list[str] = []

    class Counting(MemoryDataStore):
        async def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
            added.append(schedule.id)
            await super().add_schedule(schedule, conflict_policy)

    store = Counting()
    await store.start(LocalEventBroker())
    given = schedule("a", 10)
    await store.adopt_schedule(given, ConflictPolicy.exception)
    assert added == ["a"]
    [got] = await store.acquire_schedules("me", LEASE, 10, T0 + timedelta(seconds=10))
    assert got.trigger is not given.trigger  # through add_schedule: copied


async def test_release_job_now_releases_as_release_job_does(store: MemoryDataStore) -> None:
    """release_job_now (JobReleaser: the scheduler's release without a coroutine) keeps the
    result and the history record, and tells the listeners, as release_job does; with a
    JobRemoved subscriber it does nothing and says so (that event is awaited)."""
    await store.add_task(Task(id="t", func="m:f"))
    released: list[tuple[object, str, bool]] = []

    class Listener:
        def schedule_changed(self, next_fire_time: datetime | None) -> None:
            pass

        def job_added(self) -> None:
            pass

        def job_released(self, job_id: object, scheduler_id: str, waiting: bool) -> None:
            released.append((job_id, scheduler_id, waiting))

    store.add_listener(Listener())
    jobs = [Job(task_id="t", result_expiration_time=timedelta(minutes=1)) for _ in range(3)]
    for job in jobs:
        await store.add_job(job)
    first, second = await store.acquire_jobs("me", LEASE, 2, T0)
    result = JobResult(
        job_id=first.id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0 + LEASE
    )
    assert store.release_job_now("me", first, result)
    assert released == [(first.id, "me", True)]
    assert await store.get_job_result(first.id) == result
    [record] = await store.get_run_history()
    assert record.job_id == first.id and record.outcome is JobOutcome.success
    assert store.release_job_now("other", second, result)  # not its job: nothing happens
    assert len(released) == 1 and len(await store.get_jobs()) == 2

    removed: list[Event] = []
    assert store._broker is not None
    store._broker.subscribe(removed.append, {JobRemoved})
    assert not store.release_job_now("me", second, result)
    assert len(released) == 1 and len(await store.get_jobs()) == 2  # untouched
    await store.release_job("me", second, result)
    assert [e.job_id for e in removed] == [second.id]  # type: ignore[attr-defined]


async def test_a_subclass_overriding_release_job_is_not_bypassed() -> None:
    class Counting(MemoryDataStore):
        async def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
            await super().release_job(scheduler_id, job, result)

    store = Counting()
    await store.start(LocalEventBroker())
    await store.add_job(Job(task_id="t"))
    [job] = await store.acquire_jobs("me", LEASE, 1, T0)
    result = JobResult(job_id=job.id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0)
    assert not store.release_job_now("me", job, result)
    assert len(await store.get_jobs()) == 1


class _Callable:
    def __call__(self) -> None:
        pass

    def method(self) -> None:
        pass


def _outer() -> Any:
    def nested() -> None:
        pass

    return nested


async def test_a_task_func_with_no_import_path_naming_it_reads_back_as_given(
    store: MemoryDataStore,
) -> None:
    """Lambdas, nested functions, bound methods, partials and callable instances have no
    import reference that names them: the store hands back the object itself, to run it."""
    funcs = [lambda: None, _outer(), _Callable().method, functools.partial(print, 1), _Callable()]
    for number, func in enumerate(funcs):
        await store.add_task(Task(id=f"t{number}", func=func))
    for number, func in enumerate(funcs):
        assert (await store.get_task(f"t{number}")).func is func
    assert [t.func for t in await store.get_tasks()] == funcs
