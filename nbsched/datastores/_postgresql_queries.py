"""The SQL of :class:`~nbsched.datastores.postgresql.PostgreSQLDataStore`: every statement,
built once for the store's schema, with the columns in the order of :mod:`._codec`."""

from __future__ import annotations

from ._codec import JOB_COLUMNS, JOB_RESULT_COLUMNS, SCHEDULE_COLUMNS, TASK_COLUMNS

__all__ = ["Queries"]


class Queries:
    """Every SQL statement of the store, built once for its schema."""

    def __init__(self, s: str) -> None:
        task_cols = ", ".join(TASK_COLUMNS)
        schedule_cols = ", ".join(SCHEDULE_COLUMNS)
        job_cols = ", ".join(JOB_COLUMNS)
        result_cols = ", ".join(JOB_RESULT_COLUMNS)

        def placeholders(columns: tuple[str, ...]) -> str:
            return ", ".join(["%s"] * len(columns))

        # tasks: running_jobs is the store's to maintain, never taken from the caller
        self.upsert_task = (
            f"INSERT INTO {s}.tasks ({', '.join(TASK_COLUMNS[:-1])}) "
            f"VALUES ({placeholders(TASK_COLUMNS[:-1])}) "
            f"ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in TASK_COLUMNS[1:-1])
            + " RETURNING (xmax = 0)"
        )
        self.delete_task = f"DELETE FROM {s}.tasks WHERE id = %s RETURNING id"
        self.select_task = f"SELECT {task_cols} FROM {s}.tasks WHERE id = %s"
        self.select_tasks = f"SELECT {task_cols} FROM {s}.tasks ORDER BY id"

        # schedules
        insert_schedule = (
            f"INSERT INTO {s}.schedules ({schedule_cols}) "
            f"VALUES ({placeholders(SCHEDULE_COLUMNS)})"
        )
        self.insert_schedule = insert_schedule + " RETURNING true"
        self.insert_schedule_or_nothing = (
            insert_schedule + " ON CONFLICT (id) DO NOTHING RETURNING true"
        )
        self.upsert_schedule = (
            insert_schedule
            + " ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in SCHEDULE_COLUMNS[1:])
            + " RETURNING (xmax = 0)"
        )
        self.delete_schedules = (
            f"DELETE FROM {s}.schedules WHERE id = ANY(%s) RETURNING id, task_id"
        )
        self.select_schedules = f"SELECT {schedule_cols} FROM {s}.schedules ORDER BY id"
        self.select_schedules_by_id = (
            f"SELECT {schedule_cols} FROM {s}.schedules WHERE id = ANY(%s) ORDER BY id"
        )
        self.acquire_schedules = (
            f"UPDATE {s}.schedules SET acquired_by = %(by)s, acquired_until = %(until)s "
            f"WHERE id IN (SELECT id FROM {s}.schedules "
            f"WHERE NOT paused AND next_fire_time <= %(now)s "
            f"AND (acquired_until IS NULL OR acquired_until < %(now)s) "
            f"ORDER BY next_fire_time, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            f"RETURNING {schedule_cols}"
        )
        self.release_schedules = (
            f"UPDATE {s}.schedules AS s SET trigger = v.trigger, "
            f"last_fire_time = v.last_fire_time, next_fire_time = v.next_fire_time, "
            f"acquired_by = NULL, acquired_until = NULL "
            f"FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[]) "
            f"AS v(id, trigger, last_fire_time, next_fire_time) "
            f"WHERE s.id = v.id AND s.acquired_by = %s "
            f"RETURNING s.id, s.task_id, s.next_fire_time"
        )
        self.delete_finished_schedules = (
            f"DELETE FROM {s}.schedules WHERE id = ANY(%s) AND acquired_by = %s "
            f"RETURNING id, task_id"
        )
        # a leased schedule may be due again just after its lease ends (its scheduler died)
        self.next_schedule_run_time = (
            f"SELECT min(CASE WHEN acquired_until IS NULL THEN next_fire_time "
            f"ELSE greatest(next_fire_time, acquired_until + interval '1 microsecond') END) "
            f"FROM {s}.schedules WHERE NOT paused"
        )

        # jobs
        # A no-op for a second job for the same fire of a schedule, and for a retried add_job
        # whose first attempt did commit but whose reply was lost, even if that job has run
        # and finished meanwhile (its result, or tombstone, is there): so it never runs twice.
        self.insert_job = (
            f"INSERT INTO {s}.jobs ({job_cols}) SELECT {placeholders(JOB_COLUMNS)} "
            f"WHERE NOT EXISTS (SELECT FROM {s}.job_results WHERE job_id = %s) "
            f"ON CONFLICT DO NOTHING RETURNING true"
        )
        self.select_jobs = f"SELECT {job_cols} FROM {s}.jobs ORDER BY seq"
        self.select_jobs_by_id = (
            f"SELECT {job_cols} FROM {s}.jobs WHERE id = ANY(%s::uuid[]) ORDER BY seq"
        )
        # Pending jobs and jobs whose lease expired (taken over), in their shared place in
        # line (seq, the last column), in one round trip.
        self.lock_candidate_jobs = (
            f"WITH expired AS (SELECT {job_cols}, seq FROM {s}.jobs "
            f"WHERE acquired_by IS NOT NULL AND acquired_until < %(now)s "
            f"ORDER BY seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED), "
            f"pending AS (SELECT {job_cols}, seq FROM {s}.jobs WHERE acquired_by IS NULL "
            f"AND task_id NOT IN (SELECT id FROM {s}.tasks WHERE max_running_jobs IS NOT NULL "
            f"AND running_jobs >= max_running_jobs) "
            f"ORDER BY seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            f"SELECT * FROM expired UNION ALL SELECT * FROM pending ORDER BY seq"
        )
        self.lock_tasks = (
            f"SELECT id, max_running_jobs, running_jobs FROM {s}.tasks WHERE id = ANY(%s) "
            f"ORDER BY id FOR UPDATE"
        )
        self.lease_jobs = (
            f"UPDATE {s}.jobs SET acquired_by = %(by)s, acquired_until = %(until)s "
            f"WHERE id = ANY(%(ids)s::uuid[])"
        )
        self.count_running = (
            f"UPDATE {s}.tasks AS t SET running_jobs = t.running_jobs + v.n "
            f"FROM unnest(%s::text[], %s::int[]) AS v(id, n) WHERE t.id = v.id"
        )
        self.uncount_running = (
            f"UPDATE {s}.tasks AS t SET running_jobs = greatest(t.running_jobs - v.n, 0) "
            f"FROM unnest(%s::text[], %s::int[]) AS v(id, n) WHERE t.id = v.id"
        )
        release = (
            f"WITH released AS (DELETE FROM {s}.jobs WHERE id = %s AND acquired_by = %s "
            f"RETURNING task_id, schedule_id, scheduled_fire_time), "
            f"uncounted AS (UPDATE {s}.tasks SET running_jobs = greatest(running_jobs - 1, 0) "
            f"WHERE id = (SELECT task_id FROM released)) "
        )
        # the result also says which schedule and fire time it was for (who ran it, which
        # fire: what a dashboard or an audit of "each fire ran once" needs)
        self.release_job_ctes = (
            release
            + f", kept AS (INSERT INTO {s}.job_results ({result_cols}, task_id, schedule_id, "
            f"scheduled_fire_time, kept) SELECT {placeholders(JOB_RESULT_COLUMNS)}, task_id, "
            f"schedule_id, scheduled_fire_time, %s FROM released "
            f"ON CONFLICT (job_id) DO NOTHING)"
        )
        self.release_job = self.release_job_ctes + " SELECT task_id FROM released"
        self.pop_job_result = (
            f"DELETE FROM {s}.job_results WHERE job_id = %s AND kept RETURNING {result_cols}"
        )

        # leases and housekeeping
        self.extend_schedule_leases = (
            f"UPDATE {s}.schedules SET acquired_until = %s WHERE acquired_by = %s AND id = ANY(%s)"
        )
        self.extend_job_leases = (
            f"UPDATE {s}.jobs SET acquired_until = %s "
            f"WHERE acquired_by = %s AND id = ANY(%s::uuid[])"
        )
        self.delete_expired_results = f"DELETE FROM {s}.job_results WHERE expires_at <= %s"
        # an abandoned job's result is kept as any other's (a tombstone if it is not wanted)
        self.delete_abandoned_jobs = (
            f"WITH abandoned AS (DELETE FROM {s}.jobs WHERE acquired_by IS NOT NULL "
            f"AND acquired_until < %(now)s RETURNING id, task_id, schedule_id, "
            f"scheduled_fire_time, jitter, started_at, acquired_by, result_expiration_time), "
            f"kept AS (INSERT INTO {s}.job_results (job_id, outcome, finished_at, expires_at, "
            f"scheduler_id, task_id, schedule_id, scheduled_fire_time, kept) "
            f"SELECT id, 'abandoned', %(now)s, %(now)s + CASE WHEN result_expiration_time > "
            f"interval '0' THEN result_expiration_time ELSE %(tombstone)s END, acquired_by, "
            f"task_id, schedule_id, scheduled_fire_time, result_expiration_time > interval '0' "
            f"FROM abandoned ON CONFLICT (job_id) DO NOTHING) "
            f"SELECT id, task_id, schedule_id, scheduled_fire_time, jitter, started_at, "
            f"acquired_by FROM abandoned"
        )
