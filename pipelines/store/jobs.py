"""Job rows: enqueue, claim, progress, finish, cancel, resume; the worker's only view of jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from pipelines.store import Store, row_or_missing
from pipelines.store.access import audit, authorize
from pipelines.store.tables import Job, utcnow
from pipelines.types import Actor, UnlearnError

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
ENDED = (SUCCEEDED, FAILED, CANCELLED)


@dataclass(frozen=True)
class JobInfo:
    id: int
    project_id: int
    stage: str
    config: dict
    state: str
    step: int
    total: int
    loss: float | None
    tokens_per_s: float | None
    eta_s: float | None
    message: str
    pid: int | None
    attempt: int
    cancel_requested: bool
    outputs: dict
    error: str | None
    created_by: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _info(job: Job) -> JobInfo:
    return JobInfo(**{name: getattr(job, name) for name in JobInfo.__dataclass_fields__})


def enqueue_job(store: Store, actor: Actor, project_id: int, stage: str, config: dict) -> int:
    """A new queued job with its fully resolved config (stored, so the run is reproducible)."""
    authorize(store, actor, "job.launch")
    with store.session() as s:
        job = Job(project_id=project_id, stage=stage, config=config, created_by=actor.user_id)
        s.add(job)
        s.flush()
        audit(s, actor, "job.launch", "job", job.id, stage=stage)
        return job.id


def get_job(store: Store, job_id: int) -> JobInfo:
    with store.session() as s:
        return _info(_existing(s, job_id))


def list_jobs(store: Store, project_id: int | None = None, state: str | None = None):
    """Jobs, newest first, optionally of one project or in one state."""
    query = select(Job).order_by(Job.id.desc())
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    if state is not None:
        query = query.where(Job.state == state)
    with store.session() as s:
        return [_info(job) for job in s.scalars(query)]


def _claim(session, job_id: int) -> bool:
    """queued → running; the conditional update makes two claims of one job impossible."""
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == QUEUED)
        .values(state=RUNNING, started_at=utcnow(), message="starting", error=None)
    )
    return claimed.rowcount == 1


def claim_next_job(store: Store) -> JobInfo | None:
    """The oldest queued job, now running, or None."""
    with store.session() as s:
        candidates = s.scalars(select(Job.id).where(Job.state == QUEUED).order_by(Job.id)).all()
        for job_id in candidates:
            if _claim(s, job_id):
                return _info(s.get(Job, job_id))
    return None


def claim_job(store: Store, job_id: int) -> None:
    """Claim this queued job (to run it in the foreground)."""
    with store.session() as s:
        if not _claim(s, job_id):
            raise UnlearnError(f"Job {job_id} is {_existing(s, job_id).state}, not queued.")


def record_progress(store: Store, job_id: int, **fields) -> None:
    """Progress fields (step, total, loss, tokens_per_s, eta_s, message, pid) of a running job."""
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.state == RUNNING).values(**fields))


def finish_job(
    store: Store, job_id: int, state: str, *, outputs: dict | None = None, error: str | None = None
) -> bool:
    """End a running job; False if it had already ended (a second report changes nothing)."""
    values = {"state": state, "finished_at": utcnow(), "pid": None, "error": error}
    if outputs is not None:
        values["outputs"] = outputs
    with store.session() as s:
        ended = s.execute(
            update(Job).where(Job.id == job_id, Job.state == RUNNING).values(**values)
        )
        return ended.rowcount == 1


def request_cancel(store: Store, actor: Actor, job_id: int) -> str:
    """A queued job is cancelled at once; a running one is asked to stop at its next step.
    Each change is a compare-and-set on the state, so a worker's claim landing at the same
    moment is never overwritten: the job is either cancelled unstarted or running with its
    stop requested."""
    authorize(store, actor, "job.control")
    with store.session() as s:
        _existing(s, job_id)
        if _transition(s, job_id, (QUEUED,), state=CANCELLED, finished_at=utcnow()):
            state = CANCELLED
        elif _transition(s, job_id, (RUNNING,), cancel_requested=True):
            state = RUNNING
        else:
            state = _existing(s, job_id).state
        audit(s, actor, "job.cancel", "job", job_id, state=state)
        return state


def resume_job(store: Store, actor: Actor, job_id: int) -> None:
    """Queue a failed or cancelled job again; it continues from its last checkpoint."""
    authorize(store, actor, "job.control")
    with store.session() as s:
        job = _existing(s, job_id)
        resumed = _transition(
            s, job_id, (FAILED, CANCELLED), state=QUEUED, attempt=Job.attempt + 1,
            cancel_requested=False, error=None, finished_at=None, message="queued to resume",
        )  # fmt: skip
        if not resumed:
            raise UnlearnError(
                f"Job {job_id} is {job.state}; only failed or cancelled jobs resume."
            )
        audit(s, actor, "job.resume", "job", job_id, attempt=job.attempt + 1)


def _transition(session, job_id: int, from_states: tuple[str, ...], **values) -> bool:
    """Change the job only if it is still in one of `from_states` (compare-and-set)."""
    changed = session.execute(
        update(Job).where(Job.id == job_id, Job.state.in_(from_states)).values(**values)
    )
    return changed.rowcount == 1


def delete_job(store: Store, actor: Actor, job_id: int) -> None:
    authorize(store, actor, "job.control")
    with store.session() as s:
        job = _existing(s, job_id)
        if job.state == RUNNING:
            raise UnlearnError(f"Job {job_id} is running; cancel it before deleting it.")
        s.delete(job)
        audit(s, actor, "job.delete", "job", job_id, stage=job.stage)


def _existing(session, job_id: int) -> Job:
    return row_or_missing(session, Job, job_id, f"No job {job_id}.")
