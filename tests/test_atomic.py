"""Outputs appear whole or not at all; unwritable folders and full disks give a clear error."""

import errno

import pytest

from ptbxl_multimodal.errors import OutputError
from ptbxl_multimodal.io.atomic import atomic_path, write_json


def test_success_renames_into_place(tmp_path):
    target = tmp_path / "out" / "a.json"
    write_json(target, {"b": 1, "a": 2})
    assert target.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_stale_temporaries_of_a_killed_run_are_cleared(tmp_path):
    (tmp_path / ".a.txt.tmp-99999").write_text("left by SIGKILL")
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_full_disk_is_explained(tmp_path):
    with pytest.raises(OutputError, match=r"a.h5: no space left on the device; free some disk space"):
        with atomic_path(tmp_path / "a.h5"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_explained(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"data/processed/signals.h5: cannot write"):
        with atomic_path(blocker / "processed" / "signals.h5") as tmp:
            tmp.write_text("x")
    with pytest.raises(OutputError, match="cannot write here .* make .* writable"):
        with atomic_path(tmp_path / "ro.txt"):
            raise PermissionError(errno.EACCES, "Permission denied")


def test_a_live_process_temporary_is_left_alone(tmp_path):
    """A parallel run still writing its temporary must not lose it to another run's clean-up."""
    import subprocess
    import sys

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f".a.txt.tmp-{live.pid}").write_text("being written")
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("new")
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".a.txt.tmp-{live.pid}", "a.txt"]
    finally:
        live.kill()
        live.wait()
    with atomic_path(tmp_path / "a.txt") as tmp:  # its owner is gone now: stale
        tmp.write_text("newer")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
