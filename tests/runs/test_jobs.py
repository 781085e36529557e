"""Jobs: the CLI runs stages as jobs; the worker starts, cancels, recovers and resumes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from pipelines.cli import main as cli
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.runs import jobs, stages
from pipelines.store import jobs as rows
from pipelines.store.projects import create_project, get_project
from pipelines.training.loop import TrainConfig
from pipelines.types import ArtifactKind, DocRole, UnlearnError
from pipelines.whp import project as whp
from pipelines.whp.reinforce import ReinforceConfig
from tests.conftest import DEMO, REPO


def small_project(store, actor, model_dir, name="Tiny"):
    project = create_project(store, actor, name, str(model_dir), "the tiny book")
    text = (DEMO / "forget" / "book2.md").read_bytes()[:3000]
    ingest.run(
        IngestConfig(),
        [ingest.Upload("book2.md", text)],
        store=store,
        actor=actor,
        project_id=project.id,
        role=DocRole.FORGET,
    )
    return get_project(store, project.id)


def long_reinforce(epochs: int) -> stages.TrainJob:
    train = TrainConfig(epochs=epochs, lr=1e-3, batch_size=2, checkpoint_every=25, seed=5)
    return stages.TrainJob(reinforce=ReinforceConfig(block_tokens=32, train=train))


def start_worker() -> subprocess.Popen:
    command = [sys.executable, "-m", "pipelines.cli.main", "worker", "--poll", "0.2"]
    return subprocess.Popen(command, cwd=REPO, start_new_session=True)


def wait_for(condition, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def final_weights(store, job) -> dict[str, torch.Tensor]:
    path = store.project_dir(job.project_id) / "models"
    folder = next(p for p in path.iterdir() if p.name.startswith("reinforced"))
    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


def test_cli_stage_runs_as_a_job_with_progress_and_a_model_card(
    store, admin, tiny_model_dir, capsys
):
    project = small_project(store, admin, tiny_model_dir)
    argv = ["reinforce", "--project", "Tiny", "--epochs", "2", "--lr", "1e-3"]
    assert cli.main([*argv, "--block-tokens", "64", "--eval-fraction", "0.2"]) == 0
    (job,) = rows.list_jobs(store)
    assert job.state == rows.SUCCEEDED and job.step == job.total > 0
    assert job.config["reinforce"]["train"]["lr"] == 1e-3  # the resolved config is stored
    metrics = jobs.read_metrics(store, job.id)
    assert [m["step"] for m in metrics] == list(range(1, job.total + 1))
    assert metrics[-1]["eval_loss"] is not None
    (artifact,) = whp.list_artifacts(store, project.id, ArtifactKind.REINFORCED)
    assert artifact.id == job.outputs["artifact"]
    card = (artifact.path / "README.md").read_text()
    assert "Reinforced model" in card and "the tiny book" in card
    assert "succeeded" in capsys.readouterr().out


def test_bad_settings_are_refused_before_queueing(store, admin, tiny_model_dir):
    project = small_project(store, admin, tiny_model_dir)
    with pytest.raises(UnlearnError, match="no setting"):
        jobs.launch(store, admin, project, "reinforce", {"reinforce": {"epochz": 1}})
    with pytest.raises(UnlearnError, match="Unknown stage"):
        jobs.launch(store, admin, project, "distill", {})
    assert rows.list_jobs(store) == []


def test_a_job_that_could_only_fail_is_refused_at_launch(store, admin, tiny_model_dir):
    project = small_project(store, admin, tiny_model_dir)
    with pytest.raises(UnlearnError, match="no reinforced model"):
        jobs.launch(store, admin, project, "labels", stages.LabelsJob(dictionary="/nope.json"))
    with pytest.raises(UnlearnError, match="no label set"):
        jobs.launch(store, admin, project, "unlearn", stages.UnlearnJob())
    with pytest.raises(UnlearnError, match="no unlearned model"):
        jobs.launch(store, admin, project, "evaluate", stages.EvaluateJob())
    with pytest.raises(UnlearnError, match="/no/such/model"):  # a model that is not there
        jobs.launch(
            store, admin, project, "evaluate", stages.EvaluateJob(models="base,/no/such/model")
        )
    assert rows.list_jobs(store, project.id) == []


def test_proposers_run_as_a_job_and_the_launch_form_offers_what_comes_next(
    store, admin, tiny_model_dir
):
    from pipelines.store.anchors import forget_chunks, proposals_by_chunk

    project = small_project(store, admin, tiny_model_dir)
    assert stages.next_stage(store, project) == "propose"
    with pytest.raises(UnlearnError, match="Unknown proposer"):
        jobs.launch(store, admin, project, "propose", stages.ProposeJob(sources="ner,magic"))
    job_id = jobs.launch(store, admin, project, "propose", stages.ProposeJob())
    job = jobs.run_here(store, job_id)
    assert job.state == rows.SUCCEEDED and job.outputs["counts"]["ner"] > 0
    # progress counts chunks, per proposer
    assert job.step == job.total == len(forget_chunks(store, project.id)) and job.message == "done"
    stored = proposals_by_chunk(store, project.id)
    assert sum(len(v) for v in stored.values()) == sum(job.outputs["counts"].values())
    assert stages.next_stage(store, project) == "reinforce"


def test_a_failing_job_shows_its_error_and_log(store, admin, tiny_model_dir):
    project = small_project(store, admin, tiny_model_dir)
    # queued before its input went missing: the launch check cannot catch it
    config = asdict(stages.LabelsJob(dictionary="/nope.json"))
    job_id = rows.enqueue_job(store, admin, project.id, "labels", config)
    job = jobs.run_here(store, job_id)
    assert job.state == rows.FAILED
    assert "Could not read the dictionary /nope.json" in job.error
    assert "Traceback" in jobs.log_tail(store, job_id)
    # resuming it could only fail again: refused with the reason, and it stays failed
    assert "no reinforced model" in jobs.resume_blocker(store, job)
    with pytest.raises(UnlearnError, match="cannot be resumed"):
        jobs.resume(store, admin, job_id)
    assert rows.get_job(store, job_id).state == rows.FAILED


@pytest.mark.slow
def test_killed_job_fails_on_next_worker_start_and_resumes_to_the_same_weights(
    store, admin, tiny_model_dir
):
    project = small_project(store, admin, tiny_model_dir)
    reference = jobs.run_here(
        store, jobs.launch(store, admin, project, "reinforce", long_reinforce(60))
    )
    expected = final_weights(store, reference)
    for folder in (store.project_dir(project.id) / "models").iterdir():
        folder.rename(folder.with_name("reference-" + folder.name))

    job_id = jobs.launch(store, admin, project, "reinforce", long_reinforce(60))
    worker = start_worker()
    checkpoints = jobs.job_dir(store, job_id) / "checkpoints"
    wait_for(lambda: (checkpoints / "latest").exists(), what="a checkpoint")
    job = rows.get_job(store, job_id)
    assert job.state == rows.RUNNING and job.step < job.total
    assert os.getpriority(os.PRIO_PROCESS, job.pid) >= jobs.JOB_NICENESS  # behind the app
    os.killpg(worker.pid, signal.SIGKILL)  # the worker dies ...
    os.killpg(job.pid, signal.SIGKILL)  # ... and so does the job, mid-run
    worker.wait()
    wait_for(lambda: not jobs.pid_alive(job.pid), what="the job to die")

    assert jobs.Worker(store).recover() == [job_id]  # what a worker does on start
    failed = rows.get_job(store, job_id)
    assert failed.state == rows.FAILED and "last checkpoint" in failed.error

    rows.resume_job(store, admin, job_id)
    worker = start_worker()
    try:
        done = wait_for(
            lambda: rows.get_job(store, job_id).state in rows.ENDED and rows.get_job(store, job_id),
            timeout=300.0,  # a job runs behind everything else on the machine (niceness 10)
            what="the resumed job",
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
    assert done.state == rows.SUCCEEDED and done.attempt == 2
    assert "attempt 2" in jobs.log_tail(store, job_id, 200)
    for name, value in final_weights(store, done).items():
        torch.testing.assert_close(value, expected[name])


@pytest.mark.slow
def test_cancel_stops_the_process_and_keeps_a_checkpoint(store, admin, tiny_model_dir):
    project = small_project(store, admin, tiny_model_dir)
    job_id = jobs.launch(store, admin, project, "reinforce", long_reinforce(200))
    worker = start_worker()
    try:
        running = wait_for(
            lambda: (job := rows.get_job(store, job_id)).step > 0 and job.pid and job,
            what="the job to train",
        )
        assert rows.request_cancel(store, admin, job_id) == rows.RUNNING
        ended = wait_for(
            lambda: (job := rows.get_job(store, job_id)).state in rows.ENDED and job,
            what="the cancel",
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
    assert ended.state == rows.CANCELLED and ended.step < ended.total
    wait_for(lambda: not jobs.pid_alive(running.pid), timeout=10, what="the process to end")
    assert (jobs.job_dir(store, job_id) / "checkpoints" / "latest").exists()
    assert rows.request_cancel(store, admin, job_id) == rows.CANCELLED  # nothing to stop now


def test_a_queued_job_is_cancelled_at_once_and_only_ended_jobs_resume(
    store, admin, researcher, annotator, tiny_model_dir
):
    project = small_project(store, admin, tiny_model_dir)
    job_id = jobs.launch(store, researcher, project, "reinforce", long_reinforce(1))
    with pytest.raises(UnlearnError, match="only failed or cancelled"):
        rows.resume_job(store, researcher, job_id)
    with pytest.raises(UnlearnError, match="may not job control"):
        rows.request_cancel(store, annotator, job_id)
    assert rows.request_cancel(store, researcher, job_id) == rows.CANCELLED
    assert rows.claim_next_job(store) is None
    rows.delete_job(store, researcher, job_id)
    assert rows.list_jobs(store) == []


@pytest.mark.slow
def test_two_processes_under_accelerate_train_one_model(store, admin, tiny_model_dir):
    project = small_project(store, admin, tiny_model_dir)
    config = replace(long_reinforce(2), launch=stages.Launch(num_processes=2))
    job_id = jobs.launch(store, admin, project, "reinforce", config)
    assert "accelerate.commands.launch" in jobs.command_for(rows.get_job(store, job_id))
    job = jobs.run_here(store, job_id)
    log = jobs.log_tail(store, job_id, 400)
    assert job.state == rows.SUCCEEDED, log
    (artifact,) = whp.list_artifacts(store, project.id, ArtifactKind.REINFORCED)  # registered once
    assert AutoModelForCausalLM.from_pretrained(artifact.path) is not None
    single = jobs.run_here(
        store, jobs.launch(store, admin, project, "reinforce", long_reinforce(2))
    )
    # Each process takes batch_size examples per step: half the optimizer steps of one process.
    per_epoch = single.total // 2
    assert job.total == 2 * -(-per_epoch // 2)


@pytest.mark.slow
def test_two_processes_share_the_label_batches_and_write_the_labels_of_one(
    store, admin, tiny_model_dir
):
    import numpy as np

    from pipelines.whp import labels as generic_labels
    from tests.conftest import make_labelled_project

    project, single_set, _ = make_labelled_project(store, admin, tiny_model_dir, "Labels")
    config = stages.LabelsJob(
        str(DEMO / "reference_dictionary.json"),
        generic_labels.LabelConfig(block_tokens=64, review_fraction=0.05),  # as the single run
        stages.Launch(num_processes=2),
        name="shared-set",
    )
    with pytest.raises(UnlearnError, match="Label set name"):
        stages.LabelsJob(name="../../outside")  # a name cannot leave the project's folder
    job_id = jobs.launch(store, admin, project, "labels", config)
    assert "accelerate.commands.launch" in jobs.command_for(rows.get_job(store, job_id))
    job = jobs.run_here(store, job_id)
    assert job.state == rows.SUCCEEDED, jobs.log_tail(store, job_id, 400)
    shared, single = whp.label_sets(store, project)  # newest first; registered once
    assert shared.id == job.outputs["artifact"] and single.id == single_set.id
    assert shared.path.name == "shared-set"
    blocks = sorted(p.name for p in single.path.glob("block_*.npz"))
    assert len(blocks) > 4 and sorted(p.name for p in shared.path.glob("block_*.npz")) == blocks
    for name in blocks:  # both processes' blocks, each as one process labelled it
        with np.load(single.path / name) as one, np.load(shared.path / name) as two:
            assert one.files == two.files
            for key in one.files:
                assert np.array_equal(one[key], two[key], equal_nan=True), (name, key)
    summary = shared.meta["summary"]
    assert summary["labelled"] == single.meta["summary"]["labelled"]


@pytest.mark.slow
def test_two_processes_share_the_evaluation_and_report_what_one_reports(
    store, admin, tiny_model_dir
):
    import json

    from pipelines.evaluation.evaluate import EvalConfig
    from tests.conftest import make_labelled_project

    project = make_labelled_project(store, admin, tiny_model_dir, "Eval")[0]
    retain = ingest.Upload("village.md", (DEMO / "retain" / "village-tales.md").read_bytes()[:6000])
    ingest.run(IngestConfig(), [retain], store=store, actor=admin, project_id=project.id,
               role=DocRole.RETAIN)  # fmt: skip
    reports = []
    for processes in (1, 2):
        config = stages.EvaluateJob(
            models="base,reinforced", utility_tasks="", eval=EvalConfig(max_new_tokens=4),
            launch=stages.Launch(num_processes=processes),
        )  # fmt: skip
        job_id = jobs.launch(store, admin, project, "evaluate", config)
        job = jobs.run_here(store, job_id)
        assert job.state == rows.SUCCEEDED, jobs.log_tail(store, job_id, 400)
        reports.append(json.loads(Path(job.outputs["report"]).with_name("report.json").read_text()))
    one, two = reports
    assert len(whp.list_artifacts(store, project.id, ArtifactKind.EVALUATION)) == 2  # once each
    assert one["models"] == two["models"]  # every figure: familiarity, perplexity, MUSE, int4/int8
    assert one["completions"] == two["completions"]
    assert one["models"][1]["verbmem"] is not None and one["models"][1]["retain_ppl"] > 1


def test_a_helper_process_that_finishes_before_the_main_one_exits_cleanly(
    store, admin, tiny_model_dir, monkeypatch
):
    """Under accelerate the main process may still be writing (review items, the report) when
    another has done its share; that one must not exit 1 and have torchrun kill the job."""
    project = small_project(store, admin, tiny_model_dir)
    job_id = jobs.launch(store, admin, project, "reinforce", long_reinforce(1))
    rows.claim_job(store, job_id)
    monkeypatch.setattr(jobs, "is_main_process", lambda: False)  # this one records nothing
    assert jobs.main([str(job_id)]) == 0
    assert rows.get_job(store, job_id).state == rows.RUNNING  # the main process's to finish


def test_claim_and_cancel_racing_never_overwrite_each_other(store, admin, tiny_model_dir):
    """Rounds of a worker's claim against a person's cancel, at the same moment on two threads:
    the job is either cancelled unstarted or running with its stop asked for, never a running
    job whose row says cancelled."""
    import threading

    project = small_project(store, admin, tiny_model_dir)
    outcomes = {"cancelled unstarted": 0, "running, stop asked": 0}
    for _ in range(60):
        job_id = jobs.launch(store, admin, project, "reinforce", long_reinforce(1))
        go = threading.Barrier(2)
        claimed = []

        def claim(go, claimed):
            go.wait()
            claimed.append(rows.claim_next_job(store))

        def cancel(go, job_id):
            go.wait()
            rows.request_cancel(store, admin, job_id)

        threads = [threading.Thread(target=claim, args=(go, claimed)),
                   threading.Thread(target=cancel, args=(go, job_id))]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        job = rows.get_job(store, job_id)
        if claimed[0] is not None:
            assert job.state == rows.RUNNING and job.cancel_requested
            outcomes["running, stop asked"] += 1
            rows.finish_job(store, job_id, rows.CANCELLED)
        else:
            assert job.state == rows.CANCELLED and job.started_at is None
            outcomes["cancelled unstarted"] += 1
    assert sum(outcomes.values()) == 60


def test_a_job_whose_process_died_reads_failed_and_resumes_and_a_cancel_reads_cancelled(
    store, admin, tiny_model_dir
):
    project = small_project(store, admin, tiny_model_dir)
    dead = subprocess.Popen(["true"])
    dead.wait()
    job_id = jobs.launch(store, admin, project, "reinforce", long_reinforce(1))
    rows.claim_job(store, job_id)
    rows.record_progress(store, job_id, pid=dead.pid)  # a foreground run killed with -9
    with pytest.raises(UnlearnError, match="only failed or cancelled"):
        rows.resume_job(store, admin, job_id)
    assert jobs.fail_dead_jobs(store) == [job_id]
    failed = rows.get_job(store, job_id)
    assert failed.state == rows.FAILED and "process is gone" in failed.error
    rows.resume_job(store, admin, job_id)  # resumable at once, no worker restart needed
    # a job ended by the signal its cancel sent is cancelled, not failed
    rows.claim_job(store, job_id)
    rows.request_cancel(store, admin, job_id)
    jobs._fail_if_still_running(store, job_id, -signal.SIGTERM)
    assert rows.get_job(store, job_id).state == rows.CANCELLED


def _wait_forever() -> None:
    time.sleep(3600)


def test_a_cancelled_stage_leaves_no_helper_process_behind(
    store, admin, tiny_model_dir, monkeypatch
):
    import multiprocessing

    from pipelines.training.loop import TrainingStopped

    project = small_project(store, admin, tiny_model_dir)
    helpers = []

    def stage_with_helpers(store, actor, project, config, ctx):
        helper = multiprocessing.get_context("spawn").Process(target=_wait_forever)
        helper.start()  # as spaCy starts its NER workers
        helpers.append(helper)
        raise TrainingStopped("cancelled while its helpers were busy")

    propose = stages.get_stage("propose")
    monkeypatch.setitem(stages.STAGES, "propose", replace(propose, run=stage_with_helpers))
    job_id = jobs.launch(store, admin, project, "propose", stages.ProposeJob())
    rows.claim_job(store, job_id)
    ended = jobs.execute(store, job_id)
    assert ended.state == rows.CANCELLED
    assert helpers and not helpers[0].is_alive()


def test_two_workers_beating_at_once_never_crash_on_each_others_heartbeat_file(store):
    import json

    beats = (  # both start at the same moment, then beat as fast as they can for two seconds
        "import sys, time\n"
        "from pipelines.runs.jobs import Worker\n"
        "from pipelines.store import open_store\n"
        "worker, start = Worker(open_store()), float(sys.argv[1])\n"
        "time.sleep(max(0.0, start - time.time()))\n"
        "while time.time() < start + 2:\n"
        "    worker._beat()\n"
    )
    env = {**os.environ, "UNLEARN_HOME": str(store.settings.home)}
    start = str(time.time() + 15)  # after both have imported torch and opened the store
    both = [subprocess.Popen([sys.executable, "-c", beats, start], env=env, stderr=subprocess.PIPE)
            for _ in range(2)]  # fmt: skip
    errors = [p.communicate(timeout=120)[1].decode() for p in both]
    assert [p.returncode for p in both] == [0, 0], errors
    beat = json.loads((store.settings.home / "worker.json").read_text())
    assert beat["pid"] in {p.pid for p in both}
    assert not list(store.settings.home.glob("worker.*.tmp"))
