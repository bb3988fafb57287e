"""A full disk or a file-size limit mid-stage: one documented line, exit 1, nothing half-written, no crash.

ENOSPC comes from a 256 kB tmpfs mounted over the output folder inside a user and mount namespace of the test's
own (`unshare`, no root needed; skipped where the kernel forbids it); EFBIG from RLIMIT_FSIZE (`ulimit -f`).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys

import pytest

from helpers.project import committed_params_text, env, set_params
from helpers.sample import ROOT


def _can_unshare() -> bool:
    probe = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


CAN_UNSHARE = _can_unshare()


@pytest.fixture
def project(mini_mirror, tmp_path):
    """A project folder with params (staged version) pointing at a 20-record mirror."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "params.yaml").write_text(committed_params_text())
    set_params(proj, {"download.source": str(mini_mirror), "download.workers": 2, "preprocess.workers": 2})
    return proj


def run_full(
    project, stage: str, out_dir: str, how: str, limit: int = 200_000
) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `python -m stages.<stage>` with too little room in `out_dir`; return the run and what out_dir holds."""
    (project / out_dir).mkdir(parents=True, exist_ok=True)
    script = f'"{sys.executable}" -m stages.{stage}; rc=$?; echo "LEFT:$(ls -A {out_dir} | tr "\\n" " ")"; exit $rc'
    e = {**env(), "PYTHONPATH": str(ROOT)}
    if how == "ENOSPC":
        cmd = [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=256k tmpfs {out_dir} && {script}",
        ]
        done = subprocess.run(cmd, cwd=project, env=e, capture_output=True, text=True, timeout=120)
    else:

        def cap_file_size() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        done = subprocess.run(
            ["sh", "-c", script],
            cwd=project,
            env=e,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=cap_file_size,
        )
    left = done.stdout.rsplit("LEFT:", 1)[-1].split()
    return done, left


MESSAGES = {
    "ENOSPC": "no space left on the device; free some disk space and run the stage again",
    "EFBIG": "outgrew this process's file-size limit",
}
HOW = [
    pytest.param("ENOSPC", marks=pytest.mark.skipif(not CAN_UNSHARE, reason="no user/mount namespaces here")),
    "EFBIG",
]


def check(done, left, how):
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Segmentation" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and MESSAGES[how] in errors[0], done.stderr[-2000:]
    return errors[0]


@pytest.mark.parametrize("how", HOW)
def test_download_from_a_local_folder(project, how):
    done, left = run_full(project, "download", "data", how, limit=10_000)  # smaller than one record's .dat
    check(done, left, how)
    assert "raw" not in left  # the verified files wait in data/.raw.partial for the rerun


@pytest.mark.parametrize("how", HOW)
def test_download_over_http(project, mini_mirror, serve, how):
    set_params(project, {"download.source": serve(mini_mirror).url})
    done, left = run_full(project, "download", "data", how, limit=10_000)
    line = check(done, left, how)
    assert "could not be reached" not in line


@pytest.mark.parametrize("how", HOW)
def test_preprocess(project, mini_mirror, how):
    shutil.copytree(mini_mirror, project / "data/raw")
    done, left = run_full(project, "preprocess", "data/processed", how)
    check(done, left, how)
    assert left == []


@pytest.mark.parametrize("how", HOW)
def test_features(project, mini_mirror, how):
    shutil.copytree(mini_mirror, project / "data/raw")
    e = {**env(), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "stages.preprocess"], cwd=project, env=e, check=True, capture_output=True)
    done, left = run_full(project, "features", "data/features", how)
    check(done, left, how)
    assert left == []


@pytest.mark.parametrize(
    "stage,missing", [("features", "data/processed/signals.h5"), ("split", "data/processed/records.h5")]
)
def test_a_missing_input_is_named_not_a_traceback(project, stage, missing):
    done = subprocess.run(
        [sys.executable, "-m", f"stages.{stage}"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**env(), "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{missing}: not found; run the stages that make it first" in done.stderr
