"""Resuming runs: in-process after a simulated interruption, and for real after a SIGKILL.

A resumed run must continue *exactly* where it stopped: the same weights, optimizer moments,
RNG streams and data order as a run that was never interrupted, to the bit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.engine import resume_run, start_run
from ganzoo.engine.checkpoint import list_checkpoints


TINY = {"g_hidden": 32, "d_hidden": 32, "latent_dim": 16, "batch_size": 32, "log_every": 2,
        "sample_every": 1000}


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def losses_only(records: list[dict]) -> list[dict]:
    """Log records without the timing, which legitimately differs between runs."""
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "time")} for r in records]


def assert_same_checkpoint(a: Path, b: Path) -> None:
    """Every network, the EMA, both optimizers, the sampler and the RNG are bit-identical."""
    ta, tb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert ta.keys() == tb.keys()
    assert any(k.startswith("recipe.generators.") for k in ta)
    assert any(k.startswith("ema.") for k in ta)
    for key in ta:
        assert torch.equal(ta[key], tb[key]), f"{key} differs between {a} and {b}"
    sa = torch.load(a / "trainer.pt", weights_only=True)
    sb = torch.load(b / "trainer.pt", weights_only=True)
    for key in ("step", "ema_updates", "batches"):
        assert sa[key] == sb[key], key
    assert torch.equal(sa["rng_cpu"], sb["rng_cpu"])
    for opt in ("opt_g", "opt_d"):
        assert sa[opt]["state"].keys() == sb[opt]["state"].keys()
        for index, moments in sa[opt]["state"].items():
            for name, value in moments.items():
                assert torch.equal(value, sb[opt]["state"][index][name]), f"{opt} {index} {name}"


# -- in process -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mnist_dir):
    """An uninterrupted 16-step run that keeps every checkpoint."""
    run_dir = tmp_path_factory.mktemp("resume") / "reference"
    start_run("mlp", mnist_dir, run_dir, progress=False,
              settings={**TINY, "steps": 16, "checkpoint_every": 4, "keep_checkpoints": 100}).fit()
    return run_dir


def test_resume_after_interruption_is_bit_identical(mnist_dir, tmp_path, reference):
    run_dir = tmp_path / "run"
    start_run("mlp", mnist_dir, run_dir, progress=False,
              settings={**TINY, "steps": 10, "checkpoint_every": 4}).fit()
    # Pretend the process died while writing the checkpoint of step 10: the finished checkpoint
    # is not there, a temporary directory is, and the log already has steps 6 to 10.
    shutil.rmtree(run_dir / "checkpoints" / "step_00000010")
    partial = run_dir / "checkpoints" / ".tmp-step_00000010-4242"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"half a file")
    assert [r["step"] for r in read_log(run_dir)] == [2, 4, 6, 8, 10]

    trainer = resume_run(run_dir, steps=16, progress=False)
    assert trainer.step == 8
    assert not partial.exists()
    assert [r["step"] for r in read_log(run_dir)] == [2, 4, 6, 8], "log lines after the checkpoint stay"
    assert json.loads((run_dir / "run.json").read_text())["train_config"]["steps"] == 16
    trainer.fit()

    assert losses_only(read_log(run_dir)) == losses_only(read_log(reference))
    assert_same_checkpoint(run_dir / "checkpoints" / "step_00000016",
                           reference / "checkpoints" / "step_00000016")


def test_resume_before_the_first_checkpoint_starts_over(mnist_dir, tmp_path, reference):
    run_dir = tmp_path / "run"
    start_run("mlp", mnist_dir, run_dir, progress=False,
              settings={**TINY, "steps": 16, "checkpoint_every": 4, "keep_checkpoints": 100})
    # killed after logging step 2, before the first checkpoint
    (run_dir / "log.jsonl").write_text(json.dumps({"step": 2, "d_loss": 9.0, "g_loss": 9.0}) + "\n")
    trainer = resume_run(run_dir, progress=False)
    assert trainer.step == 0
    assert (run_dir / "log.jsonl").read_text() == ""
    trainer.fit()
    assert losses_only(read_log(run_dir)) == losses_only(read_log(reference))
    assert_same_checkpoint(run_dir / "checkpoints" / "step_00000016",
                           reference / "checkpoints" / "step_00000016")


def test_resume_drops_a_torn_last_log_line(mnist_dir, tmp_path, reference):
    # a last line cut short (a crash while appending, a full disk) must not break the resume
    # or the loss plot: lines that do not parse are dropped like lines after the checkpoint.
    run_dir = tmp_path / "run"
    start_run("mlp", mnist_dir, run_dir, progress=False,
              settings={**TINY, "steps": 8, "checkpoint_every": 4, "keep_checkpoints": 100}).fit()
    shutil.rmtree(run_dir / "checkpoints" / "step_00000008")
    with open(run_dir / "log.jsonl", "a") as handle:
        handle.write('{"step": 10, "d_lo')
    trainer = resume_run(run_dir, steps=16, progress=False)
    assert trainer.step == 4
    assert [r["step"] for r in read_log(run_dir)] == [2, 4]
    trainer.fit()
    assert losses_only(read_log(run_dir)) == losses_only(read_log(reference))


def test_finished_run_resumed_with_more_steps(mnist_dir, tmp_path, reference):
    run_dir = tmp_path / "run"
    start_run("mlp", mnist_dir, run_dir, progress=False,
              settings={**TINY, "steps": 8, "checkpoint_every": 4}).fit()
    trainer = resume_run(run_dir, steps=16, progress=False)
    assert trainer.step == 8
    summary = trainer.fit()
    assert summary["steps"] == 16
    assert_same_checkpoint(run_dir / "checkpoints" / "step_00000016",
                           reference / "checkpoints" / "step_00000016")
    assert [s for s, _ in list_checkpoints(run_dir)] == [12, 16]


# -- a real SIGKILL -------------------------------------------------------------------------------
# Sizes and steps are tuned so that on two busy CPU cores the whole test takes under a minute
# (mostly the three interpreters importing torch); the kill is aimed at the moment a checkpoint's
# temporary directory appears, so it usually lands in the middle of writing one.

EVERY = 50  # checkpoint interval
LOG_EVERY = 25
FINAL = 200  # steps of the resumed run and of the reference run
KILLED_STEPS = 1500  # the killed run is asked for far more than it will get to
SETTINGS = [f"checkpoint_every={EVERY}", f"log_every={LOG_EVERY}", "sample_every=1000",
            "g_hidden=128", "d_hidden=128"]
POLL = 0.02


def ganzoo_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ganzoo", *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GANZOO_PLUGINS", None)
    # The same intra-op thread count in every process (bit-identical results), and one thread is
    # far faster than two oversubscribed ones on a busy machine.
    env["OMP_NUM_THREADS"] = "1"
    return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for(predicate, proc: subprocess.Popen, timeout: float, what: str, stderr: Path,
             poll: float = POLL) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"training exited (code {proc.returncode}) before {what}; it must still be "
                        f"running to be killed. stderr:\n{stderr.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(mnist_dir, tmp_path):
    run_dir, ref_dir = tmp_path / "killed", tmp_path / "reference"
    env = child_env()
    sets = [a for s in SETTINGS for a in ("--set", s)]

    # The uninterrupted reference: the same settings, asked for FINAL steps (the learning rate is
    # constant, so --steps changes nothing before the end), keeping all its checkpoints so the
    # survivors of the kill can be compared with it. It runs alongside, to save time.
    log_ref = tmp_path / "reference.stderr"
    with open(log_ref, "wb") as err:
        ref = subprocess.Popen(
            ganzoo_cmd("train", "mlp", "--data", str(mnist_dir), "-o", str(ref_dir), "--steps", str(FINAL),
                       *sets, "--set", "keep_checkpoints=1000", "--no-progress"),
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
    try:
        _kill_resume_and_compare(tmp_path, mnist_dir, run_dir, ref_dir, ref, log_ref, env, sets)
    finally:
        if ref.poll() is None:
            ref.kill()
            ref.wait()


def _kill_resume_and_compare(tmp_path, mnist_dir, run_dir, ref_dir, ref, log_ref, env, sets):
    ckpts = run_dir / "checkpoints"
    log_killed = tmp_path / "killed.stderr"
    with open(log_killed, "wb") as err:
        proc = subprocess.Popen(
            ganzoo_cmd("train", "mlp", "--data", str(mnist_dir), "-o", str(run_dir),
                       "--steps", str(KILLED_STEPS), *sets, "--no-progress"),
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
    try:
        first, second = ckpts / f"step_{EVERY:08d}", ckpts / f"step_{2 * EVERY:08d}"
        third = ckpts / f"step_{3 * EVERY:08d}"
        wait_for(first.exists, proc, 120, f"the first checkpoint {first.name}", log_killed)
        wait_for(second.exists, proc, 120, f"the second checkpoint {second.name}", log_killed)

        # Now aim for the middle of the next checkpoint write: kill as soon as its temporary
        # directory shows up (or, if the write was too quick to see, once it is done).
        def writing_or_written() -> bool:
            return third.exists() or any(p.name.startswith(".tmp-") for p in ckpts.iterdir())

        wait_for(writing_or_written, proc, 120, "the third checkpoint", log_killed, poll=0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"training was not killed by SIGKILL but exited with {proc.returncode}:\n"
        f"{log_killed.read_text()[-3000:]}")

    mid_write = sorted(p.name for p in ckpts.iterdir() if p.name.startswith("."))
    steps_left = [s for s, _ in list_checkpoints(run_dir)]
    assert steps_left, "no checkpoint survived"
    latest = steps_left[-1]
    assert latest >= 2 * EVERY
    assert latest < FINAL, f"the kill landed too late (step {latest}); make the run slower"
    # The checkpoint the run resumes from is complete. (An older one can be half-deleted if the
    # kill lands while the rotation deletes it in place, so only the latest is checked here.)
    latest_dir = ckpts / f"step_{latest:08d}"
    assert sorted(p.name for p in latest_dir.iterdir()) == ["checksums.json", "model.safetensors", "trainer.pt"]
    checksums = {s: sha256(ckpts / f"step_{s:08d}" / "model.safetensors") for s in steps_left
                 if (ckpts / f"step_{s:08d}" / "model.safetensors").is_file()}
    assert latest in checksums

    resumed = subprocess.run(
        ganzoo_cmd("train", "mlp", "-o", str(run_dir), "--resume", "--steps", str(FINAL),
                   "--no-progress"),
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    ref.wait(timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert ref.returncode == 0, log_ref.read_text()
    match = re.search(r"resuming (.+) at step (\d+)", resumed.stderr)
    assert match, resumed.stderr
    assert int(match.group(2)) == latest, f"resumed at {match.group(2)}, not the latest checkpoint {latest}"
    assert f"trained {FINAL} steps" in resumed.stdout

    # the surviving checkpoints were intact: byte-identical to the reference's at the same step
    for step, digest in checksums.items():
        assert digest == sha256(ref_dir / "checkpoints" / f"step_{step:08d}" / "model.safetensors"), step

    # nothing half-written is left, and the final state equals the uninterrupted run to the bit
    assert not [p for p in ckpts.iterdir() if p.name.startswith(".")]
    assert_same_checkpoint(ckpts / f"step_{FINAL:08d}", ref_dir / "checkpoints" / f"step_{FINAL:08d}")
    final = load_file(ckpts / f"step_{FINAL:08d}" / "model.safetensors")
    final_ref = load_file(ref_dir / "checkpoints" / f"step_{FINAL:08d}" / "model.safetensors")
    recipe_keys = [k for k in final if k.startswith("recipe.generators.")]
    assert recipe_keys and all(torch.equal(final[k], final_ref[k]) for k in recipe_keys)

    records = read_log(run_dir)
    steps = [r["step"] for r in records]
    assert all(a < b for a, b in zip(steps, steps[1:])), f"log steps not strictly increasing: {steps}"
    assert steps == list(range(LOG_EVERY, FINAL + 1, LOG_EVERY))
    assert losses_only(records) == losses_only(read_log(ref_dir))
    print(f"killed after checkpoint {latest}; in-flight at the kill: {mid_write or 'nothing'}")
