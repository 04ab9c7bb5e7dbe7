"""Hostile input against runs and exports: nothing the user did not ask to replace is lost, and a
diverging run stops before it writes NaN weights over good checkpoints."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from safetensors.torch import load_file

TINY = ["--set", "g_hidden=8", "--set", "d_hidden=8", "--set", "latent_dim=4", "--batch-size", "8"]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_dir):
    from ganzoo.engine import start_run

    run = tmp_path_factory.mktemp("hostile") / "run"
    start_run("mlp", mnist_dir, run, settings={"steps": 2, "checkpoint_every": 2, "g_hidden": 8, "d_hidden": 8,
                                               "latent_dim": 4, "batch_size": 8}, progress=False).fit()
    return run


@pytest.mark.parametrize("target", ["run", "parent"])
def test_export_over_its_own_run_is_refused(tiny_run, ganzoo_here, one_line_error, target):
    before = digest(tiny_run.parent)
    out = tiny_run if target == "run" else tiny_run.parent
    line = one_line_error(ganzoo_here("export", str(tiny_run), "-o", str(out), "--overwrite"))
    assert "would replace the run" in line
    assert digest(tiny_run.parent) == before


def test_overwrite_replaces_only_a_pretrained_directory(tiny_run, ganzoo_here, one_line_error, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    line = one_line_error(ganzoo_here("export", str(tiny_run), "-o", str(mine), "--overwrite"))
    assert "not a pretrained directory" in line
    assert (mine / "thesis.tex").read_text() == "years of work"
    other_run = one_line_error(ganzoo_here("export", str(tiny_run), "-o", str(tmp_path), "--overwrite"))
    assert "not a pretrained directory" in other_run
    exported = tmp_path / "exported"
    assert ganzoo_here("export", str(tiny_run), "-o", str(exported)).returncode == 0
    assert ganzoo_here("export", str(tiny_run), "-o", str(exported), "--overwrite").returncode == 0


@pytest.mark.parametrize("setting", ["lr_g=Infinity", "lr_d=NaN", "r1_weight=Infinity"])
def test_non_finite_settings_are_refused_before_anything_is_written(ganzoo_here, one_line_error, mnist_dir,
                                                                  tmp_path, setting):
    result = ganzoo_here("train", "mlp", "--data", str(mnist_dir), "-o", str(tmp_path / "run"), "--set", setting,
                         *TINY)
    assert "finite" in one_line_error(result)
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_stops_before_checkpointing_nan_weights(run_ganzoo, one_line_error, mnist_dir, tmp_path):
    run = tmp_path / "run"
    result = run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o", str(run), "--steps", "40",
                         "--set", "lr_g=1e30", "--set", "lr_d=1e30", "--set", "log_every=1",
                         "--set", "checkpoint_every=1", "--set", "keep_checkpoints=50", "--no-progress", *TINY])
    line = one_line_error(result)
    assert "training diverged at step" in line and "not finite" in line
    checkpoints = sorted((run / "checkpoints").glob("step_*"))
    for checkpoint in checkpoints:  # every checkpoint that was written holds finite weights
        assert all(t.isfinite().all() for t in load_file(checkpoint / "model.safetensors").values()), checkpoint
    step = int(line.split("training diverged at step ")[1].split(":")[0])
    assert all(int(c.name.split("_")[1]) < step for c in checkpoints)


def test_one_training_per_run_directory_and_a_killed_one_does_not_block_resume(tmp_path, mnist_dir, run_ganzoo,
                                                                               one_line_error):
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    args = [sys.executable, "-m", "ganzoo", "train", "mlp", "--data", str(mnist_dir), "-o", str(run),
            "--steps", "100000", "--set", "checkpoint_every=5", "--no-progress", *TINY]
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while not list((run / "checkpoints").glob("step_*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list((run / "checkpoints").glob("step_*")), "the first run wrote no checkpoint"
        second = one_line_error(run_ganzoo(["train", "mlp", "-o", str(run), "--resume", "--steps", "3"]))
        assert f"is being trained by process {first.pid}" in second
        log = (run / "log.jsonl").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    assert (run / "log.jsonl").read_text().startswith(log[: len(log) // 2])  # nobody else wrote into it
    latest = max(int(p.name.split("_")[1]) for p in (run / "checkpoints").glob("step_*"))
    resumed = run_ganzoo(["train", "mlp", "-o", str(run), "--resume", "--steps", str(latest + 2), "--no-progress"])
    assert resumed.returncode == 0, resumed.stderr  # the dead process's lock did not block it
    assert (run / "checkpoints" / f"step_{latest + 2:08d}").is_dir()


def test_a_corrupt_checkpoint_is_never_loaded_and_resume_falls_back(tmp_path, mnist_dir, run_ganzoo,
                                                                    one_line_error):
    run = tmp_path / "run"
    trained = run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o", str(run), "--steps", "4",
                          "--set", "checkpoint_every=2", "--no-progress", *TINY])
    assert trained.returncode == 0, trained.stderr
    newest = run / "checkpoints" / "step_00000004" / "model.safetensors"
    data = bytearray(newest.read_bytes())
    data[-100] ^= 0xFF  # a flipped byte inside a tensor: still valid safetensors
    newest.write_bytes(bytes(data))

    line = one_line_error(run_ganzoo(["export", str(run), "-o", str(tmp_path / "out")]))
    assert "step_00000004 is corrupt: model.safetensors does not match its sha256" in line
    assert not (tmp_path / "out").exists()

    resumed = run_ganzoo(["train", "mlp", "-o", str(run), "--resume", "--steps", "6", "--no-progress"])
    assert resumed.returncode == 0, resumed.stderr
    assert "warning: checkpoint" in resumed.stderr and "resuming from step_00000002" in resumed.stderr
    assert "resuming" in resumed.stderr and "at step 2" in resumed.stderr
    assert run_ganzoo(["export", str(run), "-o", str(tmp_path / "out")]).returncode == 0  # step 6, intact


def test_resume_with_every_checkpoint_corrupt_is_one_line(tmp_path, mnist_dir, run_ganzoo, one_line_error):
    run = tmp_path / "run"
    assert run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o", str(run), "--steps", "2",
                       "--set", "checkpoint_every=2", "--no-progress", *TINY]).returncode == 0
    state = run / "checkpoints" / "step_00000002" / "trainer.pt"
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0xFF
    state.write_bytes(bytes(data))
    line = one_line_error(run_ganzoo(["train", "mlp", "-o", str(run), "--resume", "--steps", "4"]))
    assert "trainer.pt does not match its sha256" in line and "no intact checkpoint" in line


def test_resume_to_fewer_steps_than_done_is_refused(tiny_run, run_ganzoo, one_line_error):
    before = (tiny_run / "run.json").read_bytes()
    line = one_line_error(run_ganzoo(["train", "mlp", "-o", str(tiny_run), "--resume", "--steps", "1"]))
    assert "already at step 2" in line
    assert (tiny_run / "run.json").read_bytes() == before


def test_an_unwritable_run_directory_is_one_line(tmp_path, mnist_dir, run_ganzoo, one_line_error):
    (tmp_path / "a-file").write_text("x")
    line = one_line_error(run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o", str(tmp_path / "a-file" / "run"),
                                      *TINY]))
    assert "cannot write the run directory" in line
    assert "is a file" in one_line_error(run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o",
                                                     str(tmp_path / "a-file"), *TINY]))


def _train_until_logging(run: Path, mnist_dir: Path):
    import os
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "ganzoo", "train", "mlp", "--data", str(mnist_dir), "-o", str(run),
                                "--steps", "1000000", "--set", "checkpoint_every=100000", "--set", "log_every=5",
                                "--no-progress", *TINY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not (run / "log.jsonl").is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    return process


@pytest.mark.parametrize(("signame", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_run_checkpoints_its_step_and_says_how_to_resume(tmp_path, mnist_dir, signame, code):
    import signal

    run = tmp_path / "run"
    process = _train_until_logging(run, mnist_dir)  # before any scheduled checkpoint
    try:
        process.send_signal(getattr(signal, signame))
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # never leave a training process behind
            process.kill()
            process.wait()
    assert process.returncode == code, err
    assert "Traceback" not in err and "stopping after this step, with a checkpoint" in err
    (line,) = [l for l in err.splitlines() if l.startswith("interrupted at step")]
    step = int(line.split()[3].rstrip(";"))
    assert f"the last checkpoint is step_{step:08d}" in line and f"ganzoo train mlp -o {run} --resume" in line
    assert (run / "checkpoints" / f"step_{step:08d}" / "model.safetensors").is_file()


def test_a_second_ctrl_c_aborts_at_once(tmp_path, mnist_dir):
    import signal

    run = tmp_path / "run"
    process = _train_until_logging(run, mnist_dir)
    try:
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130 and "Traceback" not in err, err
    assert any(l.startswith("interrupted at step") for l in err.splitlines())


def test_a_full_disk_during_a_checkpoint_loses_nothing(tmp_path, mnist_dir, monkeypatch):
    import errno

    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine import start_run
    from ganzoo.errors import GanzooError

    run = tmp_path / "run"
    trainer = start_run("mlp", mnist_dir, run, settings={"steps": 4, "checkpoint_every": 2, "g_hidden": 8,
                                                         "d_hidden": 8, "latent_dim": 4, "batch_size": 8},
                        progress=False)
    real_save = ckpt.save_file
    calls = []

    def save_then_fill_the_disk(tensors, path):
        calls.append(path)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(tensors, path)

    monkeypatch.setattr(ckpt, "save_file", save_then_fill_the_disk)
    with pytest.raises(GanzooError, match="No space left on device; step_00000002 is the last complete one"):
        trainer.fit()
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step_00000002"]  # no half-written one
    ckpt.verify_checkpoint(run / "checkpoints" / "step_00000002")


def test_resume_with_another_width_is_one_line_and_changes_nothing(tiny_run, run_ganzoo, one_line_error, tmp_path):
    import json
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    record = json.loads((run / "run.json").read_text())
    record["model_config"]["g_hidden"] = 16  # edited by hand, as people do to branch a run
    (run / "run.json").write_text(json.dumps(record))
    before = digest(run)
    line = one_line_error(run_ganzoo(["train", "mlp", "-o", str(run), "--resume", "--steps", "4"]))
    assert "does not fit the networks built from the run's settings" in line and "is [8, 4] in the file but [16, 4]" in line
    after = digest(run)
    assert after.pop(".lock") and after == {k: v for k, v in before.items() if k != ".lock"}  # the lock names its holder
