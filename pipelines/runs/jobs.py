"""Run stages as background jobs: a worker starts each in its own process, watches, cancels it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
import zipfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from pipelines.runs import stages
from pipelines.store import Store, open_store
from pipelines.store import jobs as rows
from pipelines.store.jobs import CANCELLED, FAILED, RUNNING, SUCCEEDED, JobInfo
from pipelines.store.projects import ProjectInfo, get_project
from pipelines.store.users import actor_by_id
from pipelines.training.loop import TrainControl, TrainingStopped, TrainProgress, is_main_process
from pipelines.types import Actor, UnlearnError

CANCEL_GRACE_S = 60  # after SIGTERM, how long a job may take to checkpoint before SIGKILL
STALE_START_S = 120  # a claimed job whose process never reported its pid within this is dead
DB_WRITE_EVERY_S = 1.0
LOG_EVERY_S = 5.0


def job_dir(store: Store, job_id: int) -> Path:
    path = store.settings.home / "jobs" / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def launch(store: Store, actor: Actor, project: ProjectInfo, stage: str, config) -> int:
    """Queue a stage with its config (a stage config dataclass or its dict form)."""
    data = config if isinstance(config, dict) else asdict(config)
    job = stages.config_from_dict(stage, data)  # refuse bad settings now, not in the worker
    stages.check_inputs(store, project, stage, job)  # and jobs whose inputs are missing
    return rows.enqueue_job(store, actor, project.id, stage, data)


def resume_blocker(store: Store, job: JobInfo) -> str | None:
    """Why resuming this job could only fail again (an input it reads is gone or was never
    there), or None when it may be resumed."""
    try:
        project = get_project(store, job.project_id)
        stages.check_inputs(
            store, project, job.stage, stages.config_from_dict(job.stage, job.config)
        )
    except UnlearnError as err:
        return str(err)
    return None


def resume(store: Store, actor: Actor, job_id: int) -> None:
    """Queue a failed or cancelled job to go on from its checkpoint, once its inputs are there."""
    blocker = resume_blocker(store, rows.get_job(store, job_id))
    if blocker:
        raise UnlearnError(f"Job {job_id} cannot be resumed: {blocker} Launch a new run instead.")
    rows.resume_job(store, actor, job_id)


def _launch_settings(job: JobInfo) -> stages.Launch:
    return stages.Launch(**job.config.get("launch", {}))


def uses_accelerate(job: JobInfo) -> bool:
    launch_settings = _launch_settings(job)
    several = launch_settings.num_processes > 1 or launch_settings.accelerate_config
    return stages.get_stage(job.stage).trains and bool(several)


def command_for(job: JobInfo) -> list[str]:
    """The job's own process: plain Python, or `accelerate launch` for several processes."""
    entry = ["-m", "pipelines.runs.jobs", str(job.id)]
    if not uses_accelerate(job):
        return [sys.executable, *entry]
    accelerate = [sys.executable, "-m", "accelerate.commands.launch"]
    processes, config_file = (
        _launch_settings(job).num_processes,
        _launch_settings(job).accelerate_config,
    )
    if config_file:
        return [*accelerate, "--config_file", config_file, *entry]
    # --multi_gpu starts torch.distributed processes; without a GPU they train on CPU with gloo.
    spread = ["--multi_gpu", "--num_processes", str(processes), "--num_machines", "1"]
    return [*accelerate, *spread, "--mixed_precision", "no", "--dynamo_backend", "no", *entry]


# ---- inside the job's process ------------------------------------------------------------


class _StopRequest:
    """True once SIGTERM arrived or someone pressed cancel (the store is polled every 2 s)."""

    def __init__(self, store: Store, job_id: int):
        self.store, self.job_id, self.flag, self.checked = store, job_id, False, 0.0
        signal.signal(signal.SIGTERM, self._on_signal)  # every process: they stop together

    def _on_signal(self, *_):
        self.flag = True

    def __call__(self) -> bool:
        if not self.flag and time.monotonic() - self.checked > 2.0:
            self.checked = time.monotonic()
            self.flag = rows.get_job(self.store, self.job_id).cancel_requested
        return self.flag


class _Reporter:
    """Progress into the store (throttled), the metrics file (every step) and the log."""

    def __init__(self, store: Store, job_id: int, hook=None):
        self.store, self.job_id, self.hook = store, job_id, hook
        folder = job_dir(store, job_id)
        self.metrics, self.log = folder / "metrics.jsonl", folder / "log.txt"
        self.last_write = self.last_log = 0.0

    def write_log(self, line: str) -> None:
        with self.log.open("a") as log:
            log.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def train(self, p: TrainProgress) -> None:
        record = {"t": time.time(), **asdict(p)}
        with self.metrics.open("a") as out:
            out.write(json.dumps(record) + "\n")
        fields = {"step": p.step, "total": p.total, "loss": p.loss}
        fields |= {"tokens_per_s": p.tokens_per_s, "eta_s": p.eta_s, "message": "training"}
        self._store(p.step == p.total, **fields)
        if time.monotonic() - self.last_log > LOG_EVERY_S or p.step == p.total:
            self.last_log = time.monotonic()
            self.write_log(
                f"step {p.step}/{p.total} loss {p.loss:.4f} {p.tokens_per_s:.0f} tok/s "
                f"eta {p.eta_s:.0f}s" + (f" eval {p.eval_loss:.4f}" if p.eval_loss else "")
            )
        if self.hook:
            self.hook(p.step, p.total, f"loss {p.loss:.3f}")

    def report(self, done: int, total: int, what: str) -> None:
        self._store(done == total, step=done, total=total, message=what)
        self.write_log(f"{what}: {done}/{total}")
        if self.hook:
            self.hook(done, total, what)

    def _store(self, force: bool, **fields) -> None:
        if force or time.monotonic() - self.last_write > DB_WRITE_EVERY_S:
            self.last_write = time.monotonic()
            rows.record_progress(self.store, self.job_id, **fields)


def execute(store: Store, job_id: int, *, hook=None) -> JobInfo:
    """Run a claimed (running) job here to its end state; what the job's process does. The
    helper processes a stage started (spaCy's NER workers) end with it, however it ended."""
    try:
        _run_stage(store, job_id, hook)
    finally:
        _end_helpers()
    return rows.get_job(store, job_id)


def _end_helpers(grace_s: float = 5.0) -> None:
    """Stop the multiprocessing children still alive: a cancelled stage may leave them
    blocked on a queue nobody reads, holding memory and the worker's slot."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()
        child.join(grace_s)
        if child.is_alive():
            child.kill()
            child.join(grace_s)


def _run_stage(store: Store, job_id: int, hook=None) -> str:
    """The state this process's share of the job ended in (the main process also records it;
    under accelerate the others may end before it does)."""
    job = rows.get_job(store, job_id)
    stage = stages.get_stage(job.stage)
    reporter = _Reporter(store, job_id, hook)
    control = TrainControl(progress=reporter.train, should_stop=_StopRequest(store, job_id))
    ctx = stages.StageContext(job_id, job_dir(store, job_id), control, reporter.report)
    main = is_main_process()
    if main:
        rows.record_progress(store, job_id, pid=os.getpid(), message=f"attempt {job.attempt}")
        reporter.write_log(f"{job.stage} attempt {job.attempt}: {json.dumps(job.config)}")
    try:
        config = stages.config_from_dict(job.stage, job.config)
        actor, project = actor_by_id(store, job.created_by), get_project(store, job.project_id)
        outputs = stage.run(store, actor, project, config, ctx)
    except TrainingStopped as stop:
        _end(store, job_id, reporter, main, CANCELLED, error=f"Cancelled: {stop}")
        return CANCELLED
    except Exception as err:  # the job's error is shown to the user, with the log
        reporter.write_log(traceback.format_exc())
        _end(store, job_id, reporter, main, FAILED, error=f"{type(err).__name__}: {err}")
        return FAILED
    _end(store, job_id, reporter, main, SUCCEEDED, outputs=outputs)
    return SUCCEEDED


def _end(store, job_id, reporter: _Reporter, main: bool, state: str, **result) -> None:
    if main:
        rows.finish_job(store, job_id, state, **result)
        reporter.write_log(f"{state}" + (f": {result['error']}" if result.get("error") else ""))


def run_here(store: Store, job_id: int, *, hook=None) -> JobInfo:
    """Claim one queued job and run it in this process or, for several processes, a child."""
    rows.claim_job(store, job_id)
    job = rows.get_job(store, job_id)
    if not uses_accelerate(job):
        return execute(store, job_id, hook=hook)
    with (job_dir(store, job_id) / "log.txt").open("a") as log:
        code = subprocess.call(command_for(job), stdout=log, stderr=subprocess.STDOUT)
    _fail_if_still_running(store, job_id, code)
    return rows.get_job(store, job_id)


# ---- the worker --------------------------------------------------------------------------


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def log_tail(store: Store, job_id: int, lines: int = 30) -> str:
    log = job_dir(store, job_id) / "log.txt"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _fail_if_still_running(store: Store, job_id: int, code: int | None, why: str = "") -> None:
    """A process that ended without reporting (killed, crashed hard) leaves a failed job; one
    whose cancel was asked for (the signal that ended it was ours) is cancelled."""
    job = rows.get_job(store, job_id)
    if job.state != RUNNING:
        return
    if job.cancel_requested:
        rows.finish_job(store, job_id, CANCELLED, error="Cancelled.")
        return
    if not why:
        why = f"killed by signal {-code}" if code and code < 0 else f"exited with code {code}"
    message = (
        f"The job's process ended without finishing ({why}). "
        "Resume it to continue from its last checkpoint."
    )
    rows.finish_job(store, job_id, FAILED, error=message)


def fail_dead_jobs(store: Store) -> list[int]:
    """Running jobs nobody runs any more (their process is dead, or none took them up within
    STALE_START_S of the claim) become failed, and so resumable, whoever notices first."""
    now, dead = datetime.now(UTC).replace(tzinfo=None), []
    for job in rows.list_jobs(store, state=RUNNING):
        never_started = job.pid is None and job.started_at is not None and (
            (now - job.started_at).total_seconds() > STALE_START_S)  # fmt: skip
        if (job.pid is not None and not pid_alive(job.pid)) or never_started:
            _fail_if_still_running(store, job.id, None, "its process is gone")
            dead.append(job.id)
    return dead


JOB_NICENESS = 10  # jobs yield the CPU to the app: see docs/benchmarks.md, the Playground


def _behind_people() -> None:
    """In the job's process before it starts: run behind the app's requests. Beside a job on
    every core, the Playground answered in 119 s at equal priority and 14 s behind it."""
    os.nice(JOB_NICENESS)


class Worker:
    """Starts queued jobs in their own process groups, forwards cancels, notices deaths."""

    def __init__(self, store: Store, max_parallel: int = 1):
        self.store, self.max_parallel = store, max_parallel
        self.children: dict[int, subprocess.Popen] = {}
        self.adopted: dict[int, int] = {}  # job id -> pid of a job started by an earlier worker
        self.signalled: dict[int, float] = {}

    def recover(self) -> list[int]:
        """On start: running jobs whose process is gone failed; live ones are watched again."""
        failed = []
        for job in rows.list_jobs(self.store, state=RUNNING):
            if pid_alive(job.pid):
                self.adopted[job.id] = job.pid
            else:
                _fail_if_still_running(self.store, job.id, None, "the worker stopped while it ran")
                failed.append(job.id)
        return failed

    def tick(self) -> None:
        self._beat()
        self._reap()
        self._forward_cancels()
        while len(self.children) + len(self.adopted) < self.max_parallel:
            job = rows.claim_next_job(self.store)
            if job is None:
                break
            self._start(job)

    def _beat(self) -> None:
        beat = self.store.settings.home / "worker.json"
        mine = beat.with_name(f"worker.{os.getpid()}.tmp")  # two workers never share one
        mine.write_text(json.dumps({"pid": os.getpid(), "t": time.time()}))
        mine.replace(beat)

    def _start(self, job: JobInfo) -> None:
        with (job_dir(self.store, job.id) / "log.txt").open("a") as log:
            child = subprocess.Popen(
                command_for(job), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_behind_people,
            )  # fmt: skip
        self.children[job.id] = child
        rows.record_progress(self.store, job.id, pid=child.pid)

    def _reap(self) -> None:
        for job_id, child in list(self.children.items()):
            if child.poll() is not None:
                del self.children[job_id]
                _fail_if_still_running(self.store, job_id, child.returncode)
        for job_id, pid in list(self.adopted.items()):
            if not pid_alive(pid):
                del self.adopted[job_id]
                _fail_if_still_running(self.store, job_id, None, "its process disappeared")

    def _forward_cancels(self) -> None:
        for job in rows.list_jobs(self.store, state=RUNNING):
            pid = self.children[job.id].pid if job.id in self.children else self.adopted.get(job.id)
            if not job.cancel_requested or pid is None:
                continue
            if job.id not in self.signalled:
                self.signalled[job.id] = time.monotonic()
                _signal_group(pid, signal.SIGTERM)
            elif time.monotonic() - self.signalled[job.id] > CANCEL_GRACE_S:
                _signal_group(pid, signal.SIGKILL)
                rows.finish_job(
                    self.store, job.id, CANCELLED, error="Cancelled (killed after 60 s)."
                )

    def run(self, poll_s: float = 1.0, stop=lambda: False) -> None:
        self.recover()
        while not stop():
            self.tick()
            time.sleep(poll_s)


def worker_alive(store: Store, stale_s: float = 15.0) -> bool:
    """Whether a worker has ticked recently (it writes a heartbeat file each poll)."""
    beat = store.settings.home / "worker.json"
    if not beat.exists():
        return False
    data = json.loads(beat.read_text())
    return time.time() - data["t"] < stale_s and pid_alive(data["pid"])


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except ProcessLookupError:
        pass


def model_archive(store: Store, job: JobInfo) -> Path:
    """A zip of the job's model folder, written once (stored: weights barely compress)."""
    model_dir = Path(job.outputs.get("model_dir", ""))
    if not (model_dir / "config.json").exists():
        raise UnlearnError(f"Job {job.id} has no model to download.")
    archive = job_dir(store, job.id) / f"{model_dir.name}.zip"
    if not archive.exists():
        partial = archive.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as zf:
            for path in sorted(model_dir.rglob("*")):
                zf.write(path, Path(model_dir.name) / path.relative_to(model_dir))
        partial.rename(archive)
    return archive


def read_metrics(store: Store, job_id: int) -> list[dict]:
    path = job_dir(store, job_id) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    """`python -m pipelines.runs.jobs JOB_ID`: a job's process (one of several with accelerate)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the run log shows the job's progress, not weight loading
    store = open_store()
    state = _run_stage(store, int(argv[0]))  # not the row: the main process may still be busy
    return 0 if state in (SUCCEEDED, CANCELLED) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
