"""``ganzoo runs``: each run's architecture, progress, best metric and state (running, finished,
stopped, diverged), read from its files alone."""

from __future__ import annotations

import json
import shutil

from ganzoo.engine import start_run
from ganzoo.engine.lock import RunLock
from ganzoo.engine.runs import describe_run, find_runs

TINY = {"g_hidden": 8, "d_hidden": 8, "latent_dim": 4, "batch_size": 8, "checkpoint_every": 2, "log_every": 2,
        "eval_metrics": "swd", "eval_every": 2, "eval_n": 16}


def test_states_progress_and_best(tmp_path, mnist_dir, run_ganzoo):
    start_run("mlp", mnist_dir, tmp_path / "runs" / "done", settings={**TINY, "steps": 4}, progress=False).fit()
    stopped = tmp_path / "runs" / "stopped"
    shutil.copytree(tmp_path / "runs" / "done", stopped)
    record = json.loads((stopped / "run.json").read_text())
    record["train_config"]["steps"] = 10
    (stopped / "run.json").write_text(json.dumps(record))
    diverged = tmp_path / "runs" / "diverged"
    shutil.copytree(stopped, diverged)
    with open(diverged / "log.jsonl", "a") as log:
        log.write(json.dumps({"step": 5, "d_loss": float("nan"), "g_loss": 1.0}) + "\n")
    runs = find_runs([tmp_path / "runs"])
    assert [r.name for r in runs] == ["diverged", "done", "stopped"]
    done = describe_run(tmp_path / "runs" / "done")
    assert done["state"] == "finished" and done["step"] == 4 and done["checkpoints"] == [2, 4]
    assert done["architecture"] == "mlp" and done["best"]["swd"]["step"] in (0, 2, 4)
    assert describe_run(stopped)["state"] == "stopped" and describe_run(diverged)["state"] == "diverged"
    lock = RunLock(stopped).acquire()  # as a training process holds it
    try:
        assert describe_run(stopped)["state"] == "running"
        listed = run_ganzoo(["runs", str(tmp_path / "runs"), "--json"])
        assert listed.returncode == 0, listed.stderr
        states = {r["run"].rsplit("/", 1)[-1]: r["state"] for r in json.loads(listed.stdout)}
        assert states == {"diverged": "diverged", "done": "finished", "stopped": "running"}
    finally:
        lock.release()
    table = run_ganzoo(["runs", str(tmp_path / "runs" / "done")])
    assert table.returncode == 0 and "finished" in table.stdout and "swd" in table.stdout


def test_no_runs_is_one_line(tmp_path, run_ganzoo, one_line_error):
    (tmp_path / "empty").mkdir()
    assert "no training runs" in one_line_error(run_ganzoo(["runs", str(tmp_path / "empty")]))
