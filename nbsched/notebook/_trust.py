"""Signatures that say "this user made this cell schedule": HMACs keyed by a per-user secret.

A cell schedule is code. Kept in a file or a database, it may come from somebody else (a cloned
repository, a shared folder), so nbsched runs stored cell code only when this user signed it,
in the spirit of Jupyter's notebook trust. Every cell schedule a magic makes carries two
HMAC-SHA256 signatures keyed by this user's secret:

- the *code signature*, over the schedule id and the cell's source, travels in the job's
  arguments: :func:`~nbsched.notebook._cell_task.run_cell` checks it before running anything
  (so no job, however it got into the store, runs code this user did not sign);
- the *schedule signature*, over everything that decides what runs, when and how (the code,
  the magic line and options, the trigger's configuration, the coalesce policy, the misfire
  grace time and jitter), is checked when schedules are read from a store; a schedule whose
  signature is missing or wrong comes back paused until the user resumes it (which signs it).

The secret is ``nbsched_secret`` in Jupyter's data directory
(``jupyter_core.paths.jupyter_data_dir()``, where Jupyter keeps its own ``notebook_secret``),
created with mode 0600 on first use. nbsched keeps its own file rather than Jupyter's so that
its signatures can never be mistaken for notebook signatures and deleting one does not
distrust the other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from .._marshalling import trigger_to_state
from ..abc import Trigger

__all__ = [
    "SECRET_FILE_NAME",
    "CellSigner",
    "current_signer",
    "read_or_create_secret",
    "secret_path",
    "trigger_fingerprint",
]

#: The secret's file name in Jupyter's data directory.
SECRET_FILE_NAME = "nbsched_secret"
#: Good code signatures a signer remembers (a run checks its cell's each time)
_GOOD_CODE_KEPT = 1024
_MIN_SECRET_BYTES = 32

#: Trigger state that records how far a trigger has got, not when it fires: left out of the
#: schedule signature, which must stay valid while the scheduler advances the trigger.
_PROGRESS_KEYS = frozenset(
    {
        "completed",  # DateTrigger
        "next_fire_time",  # IntervalTrigger
        "last_fire_time",  # CronTrigger
        "last_fire_date",  # CalendarIntervalTrigger
        "done",  # CalendarIntervalTrigger, AndTrigger
        "next_fire_times",  # AndTrigger, OrTrigger
        "fired",  # CellTrigger
        "first_fire",  # CellTrigger (--now, consumed by the first fire)
        "last",  # CellTrigger
    }
)

_logger = logging.getLogger(__name__)


def secret_path() -> Path:
    """Where this user's signing secret is: ``nbsched_secret`` in Jupyter's data directory
    (``$JUPYTER_DATA_DIR`` when set)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / SECRET_FILE_NAME


def read_or_create_secret(path: Path) -> bytes:
    """Return the secret kept in ``path``, creating it (64 random hex digits, mode 0600) if
    there is none yet. Two kernels creating it at once end up with the same secret.

    :raises OSError: the file cannot be read or created
    :raises ValueError: the file holds fewer than 32 bytes (it is not a secret nbsched made)
    """
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        _create_secret(path)
        key = path.read_bytes().strip()
    if len(key) < _MIN_SECRET_BYTES:
        raise ValueError(
            f"{path} holds {len(key)} bytes, too few for a signing secret; delete it and "
            f"nbsched makes a new one (your cell schedules then come back paused, once)"
        )
    return key


def _create_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        # a hard link publishes the whole file at once and never replaces an existing secret
        os.link(draft, path)
    except FileExistsError:
        pass  # another kernel made it first: use theirs
    finally:
        draft.unlink(missing_ok=True)


def trigger_fingerprint(trigger: Trigger) -> Any:
    """The part of ``trigger``'s stored state that decides its fire times: its class and
    configuration, without the progress the scheduler records as it fires."""
    return _without_progress(trigger_to_state(trigger))


def _without_progress(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {
            key: _without_progress(value)
            for key, value in data.items()
            if key not in _PROGRESS_KEYS
        }
    if isinstance(data, (list, tuple)):
        return [_without_progress(value) for value in data]
    return data


def _canonical(data: Any) -> bytes:
    """One byte string per value, whatever the store did to it (key order, 30 vs 30.0)."""
    return json.dumps(
        _normalized(data), sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def _normalized(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {str(key): _normalized(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_normalized(value) for value in data]
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return data


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


class CellSigner:
    """Signs and checks cell schedules with one key.

    :param key: the secret
    :param problem: why this is not the user's lasting secret (``None`` when it is)
    """

    def __init__(self, key: bytes, *, problem: str | None = None):
        self._key = key
        self.problem = problem
        # code signatures found good: a scheduled cell's runs check the same one each time
        self._good_code: set[tuple[str, str, str]] = set()

    def _sign(self, purpose: str, payload: Mapping[str, Any]) -> str:
        message = _canonical({"purpose": purpose, "version": 1, "payload": payload})
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _matches(self, signature: object, purpose: str, payload: Mapping[str, Any]) -> bool:
        if not isinstance(signature, str):
            return False
        try:
            expected = self._sign(purpose, payload)
        except (TypeError, ValueError):  # stored data that is not plain JSON: never signed
            return False
        return hmac.compare_digest(signature, expected)

    def sign_code(self, schedule_id: str, source: str) -> str:
        """The code signature: what :func:`run_cell` checks before running ``source``."""
        return self._sign("nbsched cell code", {"schedule_id": schedule_id, "source": source})

    def code_is_signed(self, schedule_id: object, source: object, signature: object) -> bool:
        """True if ``signature`` is this key's code signature of ``source`` under
        ``schedule_id``."""
        if not isinstance(schedule_id, str) or not isinstance(source, str):
            return False
        if not isinstance(signature, str):
            return False
        if (schedule_id, source, signature) in self._good_code:
            return True
        if not self._matches(
            signature, "nbsched cell code", {"schedule_id": schedule_id, "source": source}
        ):
            return False
        if len(self._good_code) >= _GOOD_CODE_KEPT:
            self._good_code.clear()
        self._good_code.add((schedule_id, source, signature))
        return True

    def sign_schedule(
        self,
        *,
        schedule_id: str,
        task_id: str,
        args: Iterable[Any],
        kwargs: Mapping[str, Any],
        cell: Mapping[str, Any],
        trigger: Trigger,
        coalesce: str,
        misfire_grace_time: timedelta | None,
        max_jitter: timedelta | None,
    ) -> str:
        """The schedule signature over what runs, when and how (``kwargs`` and ``cell``
        without their own ``signature`` entries)."""
        payload = self._schedule_payload(
            schedule_id=schedule_id,
            task_id=task_id,
            args=args,
            kwargs=kwargs,
            cell=cell,
            trigger=trigger,
            coalesce=coalesce,
            misfire_grace_time=misfire_grace_time,
            max_jitter=max_jitter,
        )
        return self._sign("nbsched cell schedule", payload)

    def schedule_is_signed(self, schedule: Any, cell: Mapping[str, Any]) -> bool:
        """True if ``cell["signature"]`` is this key's schedule signature of ``schedule``
        (a :class:`~nbsched.Schedule` whose cell details are ``cell``)."""
        try:
            payload = self._schedule_payload(
                schedule_id=schedule.id,
                task_id=schedule.task_id,
                args=schedule.args,
                kwargs=schedule.kwargs,
                cell=cell,
                trigger=schedule.trigger,
                coalesce=schedule.coalesce.name,
                misfire_grace_time=schedule.misfire_grace_time,
                max_jitter=schedule.max_jitter,
            )
        except Exception:  # a trigger whose state cannot be taken: not signed
            return False
        return self._matches(cell.get("signature"), "nbsched cell schedule", payload)

    @staticmethod
    def _schedule_payload(**fields: Any) -> dict[str, Any]:
        return {
            "schedule_id": fields["schedule_id"],
            "task_id": fields["task_id"],
            "args": list(fields["args"]),
            "kwargs": {k: v for k, v in fields["kwargs"].items() if k != "signature"},
            "cell": {k: v for k, v in fields["cell"].items() if k != "signature"},
            "trigger": trigger_fingerprint(fields["trigger"]),
            "coalesce": fields["coalesce"],
            "misfire_grace_time": _seconds(fields["misfire_grace_time"]),
            "max_jitter": _seconds(fields["max_jitter"]),
        }


_signers: dict[Path, CellSigner] = {}
#: What decides where Jupyter's data directory is (``jupyter_data_dir()``)
_DATA_DIR_ENVIRONMENT = (
    "JUPYTER_DATA_DIR",
    "JUPYTER_PLATFORM_DIRS",
    "XDG_DATA_HOME",
    "HOME",
    "APPDATA",
)
_secret_paths: dict[tuple[str | None, ...], Path] = {}


def current_signer() -> CellSigner:
    """The signer keyed by this user's secret (read once per secret file and process).

    When the secret can be neither read nor created (a read-only home), a key for this
    process alone is used and :attr:`CellSigner.problem` says why: cell schedules work in
    this kernel but come back paused after a restart.
    """
    # every scheduled run asks: the path is worked out once per environment, not each time
    environment = tuple(os.environ.get(name) for name in _DATA_DIR_ENVIRONMENT)
    path = _secret_paths.get(environment)
    if path is None:
        path = _secret_paths[environment] = secret_path()
    signer = _signers.get(path)
    if signer is None:
        try:
            signer = CellSigner(read_or_create_secret(path))
        except (OSError, ValueError) as exc:
            problem = f"cannot use the signing secret {path} ({exc})"
            _logger.warning("nbsched: %s; using a key for this kernel only", problem)
            signer = CellSigner(secrets.token_bytes(32), problem=problem)
        _signers[path] = signer
    return signer
