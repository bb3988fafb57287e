"""Torch threads when training processes share a machine: by default (0) torch's own count whatever else runs, so
results do not depend on it; on request ("share") all the cores alone and a fair share beside others, counted again
when they come and go; an explicit thread count is kept as given."""

import subprocess
import sys

import pytest
import torch

from ptbxl_multimodal.training.cpu_share import CpuShare

HOLD = """
import sys
from pathlib import Path
from ptbxl_multimodal.training.cpu_share import CpuShare
with CpuShare("share", Path(sys.argv[1]), cores=4):
    print("training", flush=True)
    sys.stdin.read()  # until the test closes stdin
"""


@pytest.fixture(autouse=True)
def keep_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def other_training_process(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"training"
    return proc


def test_by_default_a_process_takes_every_core_whatever_else_runs(tmp_path):
    other = other_training_process(tmp_path)
    try:
        with CpuShare(0, tmp_path, cores=4) as share:
            assert share.threads == 4 and share.apply() == 4 and torch.get_num_threads() == 4
    finally:
        other.stdin.close()
        other.wait(timeout=30)


def test_sharing_alone_a_process_takes_every_core_and_beside_another_half_of_them(tmp_path):
    with CpuShare("share", tmp_path, cores=4) as share:
        assert share.threads == 4 and torch.get_num_threads() == 4
        other = other_training_process(tmp_path)
        assert share.apply() == 2 and torch.get_num_threads() == 2  # the next epoch
        other.stdin.close()
        other.wait(timeout=30)
        assert share.apply() == 4  # the other run ended: all the cores again
    assert not list(tmp_path.glob("*.claim"))  # each process removes its own claim


def test_a_claim_left_by_a_process_that_died_is_not_counted_and_is_removed(tmp_path):
    other = other_training_process(tmp_path)
    other.kill()  # no clean exit: its claim file stays, unlocked
    other.wait(timeout=30)
    assert len(list(tmp_path.glob("*.claim"))) == 1
    with CpuShare("share", tmp_path, cores=4) as share:
        assert share.threads == 4
        assert [p.name for p in tmp_path.glob("*.claim")] == [share._path.name]


def test_an_explicit_thread_count_is_kept_whatever_else_runs(tmp_path):
    other = other_training_process(tmp_path)
    try:
        with CpuShare(3, tmp_path, cores=4) as share:
            assert share.apply() == 3 and torch.get_num_threads() == 3
    finally:
        other.stdin.close()
        other.wait(timeout=30)


def test_never_fewer_than_one_thread(tmp_path):
    others = [other_training_process(tmp_path) for _ in range(2)]
    try:
        with CpuShare("share", tmp_path, cores=2) as share:
            assert share.threads == 1  # three processes on two cores
    finally:
        for proc in others:
            proc.stdin.close()
            proc.wait(timeout=30)
