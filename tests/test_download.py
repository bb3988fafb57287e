"""The download against a real HTTP server on 127.0.0.1 (and a local folder): verify, retry, resume, fail clearly."""

import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from helpers import settings
from helpers.project import committed_params_text, set_params
from helpers.sample import ROOT, SAMPLE, sha256
from ptbxl_multimodal.data.fetch import fetch_ptbxl, staging_dir
from ptbxl_multimodal.errors import FetchError


def expected_files(mirror, rate=100):
    """The source's files of one rate, plus the (here empty) list of records the source lacked."""
    folder = "records100" if rate == 100 else "records500"
    return sorted(
        [
            p.relative_to(mirror).as_posix()
            for p in mirror.rglob("*")
            if p.is_file()
            and (p.parts[len(mirror.parts)] == folder or p.parent == mirror)
            and p.name not in ("LICENSE.txt",)
        ]
        + ["missing_records.json"]
    )


def check_tree(dest, mirror, rate=100):
    got = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert got == expected_files(mirror, rate)
    for rel in got:
        if rel != "missing_records.json":
            assert sha256(dest / rel) == sha256(mirror / rel), rel


def test_http_download_fetches_and_verifies_only_the_requested_rate(mini_mirror, serve, tmp_path):
    server = serve(mini_mirror)
    summary = fetch_ptbxl(settings.download(server.url, 100, workers=4), tmp_path / "raw")
    check_tree(tmp_path / "raw", mini_mirror, 100)
    assert summary["files"] == 2 + 2 * 20
    assert not any("records500" in r for r in server.requests)
    assert not staging_dir(tmp_path / "raw").exists()


def test_500hz_records_on_request(mini_mirror, tmp_path):
    fetch_ptbxl(settings.download(str(mini_mirror), 500, workers=2), tmp_path / "raw")
    check_tree(tmp_path / "raw", mini_mirror, 500)


def test_interrupted_transfer_is_retried(mini_mirror, serve, tmp_path):
    server = serve(mini_mirror)
    victim = "records100/00000/00007_lr.dat"
    server.cut_once(victim)
    server.fail("records100/00000/00003_lr.hea", times=2)  # 500 twice, then fine
    fetch_ptbxl(settings.download(server.url, 100, workers=4, retries=3), tmp_path / "raw", backoff=0.01)
    check_tree(tmp_path / "raw", mini_mirror, 100)
    assert server.requests.count(victim) == 2


def test_corrupt_file_fails_clearly_and_keeps_nothing_at_the_destination(mini_mirror, serve, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(mini_mirror, bad)
    (bad / "records100/00000/00005_lr.dat").write_bytes(b"\0" * 24000)  # right size, wrong content
    server = serve(bad)
    with pytest.raises(FetchError) as err:
        fetch_ptbxl(settings.download(server.url, 100, workers=4, retries=1), tmp_path / "raw", backoff=0.01)
    message = str(err.value)
    assert "records100/00000/00005_lr.dat" in message and "checksum mismatch" in message
    assert "download.source" in message  # says how to point the stage elsewhere
    assert not (tmp_path / "raw").exists()
    assert not list(staging_dir(tmp_path / "raw").rglob("*.part"))


def test_resume_does_not_fetch_verified_files_again(mini_mirror, serve, tmp_path):
    server = serve(mini_mirror)
    dest = tmp_path / "raw"
    # first run dies on one file that fails every time
    server.fail("records100/00000/00020_lr.dat", times=100)
    with pytest.raises(FetchError):
        fetch_ptbxl(settings.download(server.url, 100, workers=2, retries=0), dest)
    kept = [p for p in staging_dir(dest).rglob("*") if p.is_file()]
    assert len(kept) > 3  # verified files survive the failed run
    server.httpd.fail_times.clear()
    server.requests.clear()
    summary = fetch_ptbxl(settings.download(server.url, 100, workers=2), dest)
    check_tree(dest, mini_mirror, 100)
    refetched = [r for r in server.requests if r.startswith("records100")]
    assert len(refetched) == summary["fetched"] < summary["files"] - 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_download_resumes(mini_mirror, serve, tmp_path, sig):
    """Kill the download stage mid-transfer; the rerun completes and skips what was verified."""
    server = serve(mini_mirror)
    server.slow_down(0.05)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "params.yaml").write_text(committed_params_text())
    # every download key the test relies on, set here: a user's committed params (another source, rate or worker
    # count) must not change what it tests
    set_params(project, {"download.source": server.url, "download.workers": 1, "download.sampling_rate": 100,
                         "download.allow_missing": False, "download.retries": 3})  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "stages.download"],
        cwd=project,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline and len([r for r in server.requests if r.endswith(".dat")]) < 5:
        time.sleep(0.01)
    proc.send_signal(sig)
    proc.wait()
    if sig == signal.SIGTERM:  # a terminated run removes its partial transfers itself
        assert not list((project / "data").rglob("*.part"))
    assert not (project / "data/raw").exists()  # nothing half-done at the output path
    before = len(server.requests)
    done = subprocess.run(
        [sys.executable, "-m", "stages.download"],
        cwd=project,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    check_tree(project / "data/raw", mini_mirror, 100)
    assert len(server.requests) - before < 3 + 2 * 20  # something was reused


def test_404_and_unreachable_sources_say_what_to_do(mini_mirror, serve, tmp_path):
    server = serve(mini_mirror)
    with pytest.raises(FetchError, match=r"nope/SHA256SUMS.txt: HTTP 404.*download.source"):
        fetch_ptbxl(settings.download(server.url + "nope/", 100, retries=0), tmp_path / "a")
    port = server.httpd.server_address[1]
    server.close()
    with pytest.raises(FetchError, match=rf"127.0.0.1:{port}/SHA256SUMS.txt.*could not be reached.*download.source"):
        fetch_ptbxl(settings.download(f"http://127.0.0.1:{port}/", 100, retries=1), tmp_path / "b", backoff=0.01)
    with pytest.raises(FetchError, match="no such folder"):
        fetch_ptbxl(settings.download(str(tmp_path / "missing"), 100), tmp_path / "c")


def test_file_missing_from_checksums_is_refused(mini_mirror, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(mini_mirror, bad)
    sums = (bad / "SHA256SUMS.txt").read_text().splitlines()
    (bad / "SHA256SUMS.txt").write_text("\n".join(line for line in sums if "00004_lr.hea" not in line) + "\n")
    with pytest.raises(FetchError, match="00004_lr.hea: not listed in SHA256SUMS.txt"):
        fetch_ptbxl(settings.download(str(bad), 100), tmp_path / "raw")


def test_a_trickling_server_hits_the_whole_file_deadline(mini_mirror, serve, tmp_path):
    """download.timeout bounds one read; a server sending a byte at a time must still give up in bounded time."""
    server = serve(mini_mirror)
    server.trickle(0.05)  # 20 bytes/s: hours for one record, each read well within the per-read timeout
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"not complete after 1 s \(download.file_deadline\).*too slowly"):
        fetch_ptbxl(settings.download(server.url, 100, retries=1, file_deadline=1.0), tmp_path / "raw", backoff=0.01)
    assert time.monotonic() - start < 10
    assert not (tmp_path / "raw").exists()


def test_gzip_content_encoding_is_decoded_and_unknown_ones_refused(mini_mirror, serve, tmp_path):
    server = serve(mini_mirror)
    server.encode("gzip")  # a mirror that compresses whatever it sends
    fetch_ptbxl(settings.download(server.url, 100, workers=4), tmp_path / "raw")
    check_tree(tmp_path / "raw", mini_mirror, 100)
    server.encode("br")
    with pytest.raises(FetchError, match="Content-Encoding 'br'.*gzip and deflate are supported"):
        fetch_ptbxl(settings.download(server.url, 100), tmp_path / "other")


def test_an_html_page_instead_of_the_checksum_list_says_what_happened(mini_mirror, serve, tmp_path):
    server = serve(mini_mirror)
    server.serve_instead("SHA256SUMS.txt", b"<!DOCTYPE html><html><body>PTB-XL landing page</body></html>\n")
    with pytest.raises(FetchError, match="SHA256SUMS.txt: line 1 .*an HTML page.*download.source points at the"):
        fetch_ptbxl(settings.download(server.url, 100), tmp_path / "raw")


def _partial_copy(mirror, dest, drop):
    """The mirror without some records' 500 Hz files (and their checksum lines), like a partial real mirror."""
    shutil.copytree(mirror, dest)
    for eid in drop:
        for ext in ("hea", "dat"):
            (dest / f"records500/00000/{eid:05d}_hr.{ext}").unlink()
    sums = (dest / "SHA256SUMS.txt").read_text().splitlines()
    kept = [line for line in sums if not any(f"{eid:05d}_hr" in line for eid in drop)]
    (dest / "SHA256SUMS.txt").write_text("\n".join(kept) + "\n")
    return dest


@pytest.mark.parametrize("over_http", [False, True], ids=["local", "http"])
def test_partial_source_stops_by_default_and_is_used_without_the_gaps_on_request(
    mini_mirror, serve, tmp_path, over_http
):
    import json

    source = _partial_copy(mini_mirror, tmp_path / "partial", drop=())
    (source / "records500/00000/00018_hr.dat").unlink()  # listed in the checksums, yet absent
    location = serve(source).url if over_http else str(source)
    with pytest.raises(FetchError, match=r"record 18: .*00018_hr.dat.*incomplete.*download.allow_missing: true"):
        fetch_ptbxl(settings.download(location, 500, workers=2), tmp_path / "strict")
    shutil.rmtree(source)
    _partial_copy(mini_mirror, source, drop=(19, 20))  # not even listed
    (source / "records500/00000/00018_hr.dat").unlink()
    with pytest.raises(FetchError, match=r"record 19: .*00019_hr.hea: not listed in SHA256SUMS.txt.*allow_missing"):
        fetch_ptbxl(settings.download(location, 500, workers=2), tmp_path / "strict")
    assert not (tmp_path / "strict").exists()
    summary = fetch_ptbxl(settings.download(location, 500, workers=2, allow_missing=True), tmp_path / "raw")
    missing = json.loads((tmp_path / "raw/missing_records.json").read_text())
    assert summary["missing_records"] == 3 and [m["ecg_id"] for m in missing["records"]] == [18, 19, 20]
    assert not list((tmp_path / "raw").rglob("00018_hr.*"))  # no half record either
    assert len(list((tmp_path / "raw/records500").rglob("*.dat"))) == 17


def test_the_readme_500hz_example_works_on_the_sample(tmp_path):
    """The test sample's 500 Hz folder covers ecg_id 1-20 only: with allow_missing, the other 76 are listed."""
    import json

    summary = fetch_ptbxl(settings.download(str(SAMPLE), 500, workers=4, allow_missing=True), tmp_path / "raw")
    missing = json.loads((tmp_path / "raw/missing_records.json").read_text())["records"]
    ids = pd.read_csv(SAMPLE / "ptbxl_database.csv")["ecg_id"]
    assert summary["missing_records"] == 76 and [m["ecg_id"] for m in missing] == sorted(set(ids) - set(range(1, 21)))
