"""Move one file from a PhysioNet-style tree (HTTP(S) or a local folder) to disk, verified, with retries.

Each file is written as `<name>.part` and renamed once its SHA-256 matches. Failures are sorted by what the
user can do about them: a network hiccup or a corrupt transfer is retried; a file the source does not have
is `MissingAtSource`; a failed write here (full disk, file-size limit, permissions) is an OutputError at once.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ptbxl_multimodal.errors import FetchError, OutputError
from ptbxl_multimodal.io.atomic import output_error

log = logging.getLogger(__name__)

BLOCK = 1 << 16
LOCAL_HINT = (
    "To use a copy already on this machine, point the stage at it, e.g. "
    "`dvc exp run -S download.source=/path/to/ptb-xl` (the folder that holds ptbxl_database.csv)."
)


class Transient(Exception):
    """A failure worth retrying (connection reset, timeout, 5xx, too slow, checksum mismatch)."""


class MissingAtSource(Exception):
    """The source has no such file (local: absent; HTTP: 404 or 410)."""


@dataclass(frozen=True)
class Source:
    """Where the PTB-XL tree lives: an HTTP(S) base URL or a local folder."""

    location: str

    @property
    def is_http(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def locate(self, rel: str) -> str:
        """The URL or local path of one file of the tree."""
        if self.is_http:
            base = self.location if self.location.endswith("/") else self.location + "/"
            return urllib.parse.urljoin(base, urllib.parse.quote(rel))
        return str(Path(self.location.removeprefix("file://")) / rel)


@dataclass(frozen=True)
class Limits:
    """How long to wait: per read (`timeout`), per whole file (`deadline`), and how often to retry."""

    retries: int
    timeout: float
    deadline: float
    backoff: float = 0.5  # first retry's wait in seconds, doubling with each retry


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _decoder(encoding: str | None, where: str):  # noqa: ANN202 - a zlib decompress object or None
    """A decompressor for the response's Content-Encoding (gzip, deflate), None for identity."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(
        f"{where}: the server sends Content-Encoding {encoding!r}, which this download cannot decode "
        "(gzip and deflate are supported); use another mirror"
    )


def _stream(read: BinaryIO, part: Path, where: str, started: float, deadline: float, encoding: str | None) -> None:
    """Copy `read` into `part`: reads that fail or outlast the deadline are Transient, writes are OutputError."""
    decoder = _decoder(encoding, where)
    read_some = getattr(read, "read1", read.read)  # read1: whatever has arrived, so a trickle cannot block us
    try:
        out = open(part, "wb")  # noqa: SIM115 - closed below; write errors are told apart from read errors
    except OSError as exc:
        raise output_error(part, exc) from None
    with out:
        while True:
            if time.monotonic() - started > deadline:
                raise Transient(f"{where}: not complete after {deadline:g} s (download.file_deadline)")
            try:
                block = read_some(BLOCK)
            except (http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
                raise Transient(f"{where}: {exc}") from None
            data = block
            if decoder is not None:
                try:
                    data = decoder.decompress(block) if block else decoder.flush()
                except zlib.error as exc:
                    raise Transient(f"{where}: corrupt {encoding} data ({exc})") from None
            if data:
                try:
                    out.write(data)
                except OSError as exc:
                    raise output_error(part, exc) from None
            if not block:
                return


def _copy_once(source: Source, rel: str, part: Path, limits: Limits) -> None:
    where = source.locate(rel)
    started = time.monotonic()
    if not source.is_http:
        if not Path(where).is_file():
            raise MissingAtSource(f"{where}: not in the local source")
        try:
            src = open(where, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise FetchError(f"{where}: cannot read the local source ({exc.strerror})") from None
        with src:
            _stream(src, part, where, started, limits.deadline, None)
        return
    try:
        response = urllib.request.urlopen(where, timeout=limits.timeout)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise MissingAtSource(f"{where}: HTTP {exc.code} {exc.reason}") from None
        if exc.code in (408, 429) or exc.code >= 500:
            raise Transient(f"{where}: HTTP {exc.code}") from None
        raise FetchError(f"{where}: HTTP {exc.code} {exc.reason}. Check download.source. {LOCAL_HINT}") from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
        raise Transient(f"{where}: {getattr(exc, 'reason', exc)}") from None
    with response:
        _stream(response, part, where, started, limits.deadline, response.headers.get("Content-Encoding"))


def fetch_file(source: Source, rel: str, dest: Path, expected: str | None, limits: Limits) -> bool:
    """Fetch one file to dest/rel unless already there and verified; return True if it was fetched.

    Raises MissingAtSource if the source lacks it, FetchError when retries are used up, OutputError when it
    cannot be written here.
    """
    target = dest / rel
    if target.exists() and expected is not None and sha256_of(target) == expected:
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(target, exc) from None
    part = target.with_name(target.name + ".part")
    last = ""
    for attempt in range(limits.retries + 1):
        if attempt:
            time.sleep(limits.backoff * 2 ** (attempt - 1))
        try:
            _copy_once(source, rel, part, limits)
            if expected is not None:
                got = sha256_of(part)
                if got != expected:
                    raise Transient(f"{source.locate(rel)}: checksum mismatch (expected {expected}, got {got})")
            os.replace(part, target)
            return True
        except Transient as exc:
            last = str(exc)
            log.warning("attempt %d/%d failed: %s", attempt + 1, limits.retries + 1, last)
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise output_error(target, exc) from None
        finally:
            part.unlink(missing_ok=True)
    if "checksum mismatch" in last:
        advice = (
            f"The file keeps arriving different from SHA256SUMS.txt: the source copy is corrupt or the wrong "
            f"version. Repair or re-download it there, or use another source. {LOCAL_HINT}"
        )
    elif "download.file_deadline" in last:
        advice = "The source keeps sending too slowly; raise download.file_deadline or use another mirror."
    else:
        advice = f"The source could not be reached. {LOCAL_HINT}"
    raise FetchError(f"{rel}: failed after {limits.retries + 1} attempts ({last}). {advice}")
