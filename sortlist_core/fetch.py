"""Fetch the original challenge model: ARENA's `sorted_list_model.pt` for the October 2023
monthly algorithmic problem "Sorted List".

ARENA's repositories carry no licence, so the file is never shipped: the learner's own machine
downloads it on request, checks its size and sha256, and keeps it in the user's cache directory.
The download is plain `http.client` so that nothing but http(s) is ever opened (urllib would
follow redirects to ftp:// and open file:// URLs), with a connect timeout, a stall timeout on
every read, one deadline for the whole fetch, and a size cap checked while reading.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import ssl
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from . import settings
from .checkpoint import LoadedModel, load_checkpoint

_ARENA_DIR = "exercises/monthly_algorithmic_problems/october23_sorted_list/sorted_list_model.pt"
# ARENA_3.0 first; the same file in ARENA_2.0 if that one is gone.
DEFAULT_URLS: tuple[str, ...] = (
    f"https://raw.githubusercontent.com/callummcdougall/ARENA_3.0/main/chapter1_transformer_interp/{_ARENA_DIR}",
    f"https://raw.githubusercontent.com/callummcdougall/ARENA_2.0/main/chapter1_transformers/{_ARENA_DIR}",
)
URL_ENV = settings.ORIGINAL_URL
FILE_NAME = "sorted_list_model.pt"
EXPECTED_SHA256 = "d981231d29a5102377f0f3e936895980a76bea719f78b4d02ab191b84f0d50e3"
EXPECTED_SIZE = 205_879
MAX_BYTES = 1_000_000  # about 5x the real file: a wrong URL cannot fill the disk or memory
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
MODEL_NAME = "original challenge model"

MANUAL_ROUTE = (
    f"Download {FILE_NAME} from ARENA's GitHub repository yourself ({DEFAULT_URLS[0]}) "
    "and upload it on the Model page instead."
)

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class FetchError(Exception):
    """Fetching the original model failed; `str(exc)` is one learner-facing sentence or two that
    ends with the manual route (upload the file)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem} {MANUAL_ROUTE}")


class FetchUnreachable(FetchError):
    """No connection: offline, a firewall, DNS failure, refused or timed-out connect."""


class FetchTimeout(FetchError):
    """The server stopped sending (stall) or the whole fetch ran past its deadline."""


class FetchHTTPStatus(FetchError):
    """The server answered with an error status (e.g. 404)."""

    def __init__(self, problem: str, status: int) -> None:
        self.status = status
        super().__init__(problem)


class FetchTooLarge(FetchError):
    """The body is (or announces itself as) larger than the size cap."""


class FetchWrongHash(FetchError):
    """The bytes arrived but are not the original model (sha256 differs)."""


class FetchBadURL(FetchError):
    """A URL, or a redirect's target, that is not http(s)."""


class FetchCacheError(FetchError):
    """The file could not be written to the cache directory or `--out`."""


@dataclass(frozen=True)
class FetchLimits:
    """connect_s: to open the connection; stall_s: the longest wait for any bytes once connected;
    deadline_s: the whole fetch, redirects and fallback URLs included; max_bytes: the size cap."""

    connect_s: float = 10.0
    stall_s: float = 15.0
    deadline_s: float = 60.0
    max_bytes: int = MAX_BYTES


def original_urls(url: str | None = None) -> tuple[str, ...]:
    """The URLs to try in order: `url` if given, else $SORTLIST_ORIGINAL_URL, else the defaults."""
    if url:
        return (url,)
    configured = settings.text(URL_ENV)
    return (configured,) if configured else DEFAULT_URLS


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/sortlist`, or `~/.cache/sortlist`."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "sortlist"


def cached_original_path() -> Path:
    return cache_dir() / FILE_NAME


def cached_original() -> Path | None:
    """The verified cached copy if there is one (no network): lets the app say "already here"."""
    path = cached_original_path()
    return path if sha256_of(path) == EXPECTED_SHA256 else None


def is_original(model: LoadedModel) -> bool:
    """Whether `model` was loaded from ARENA's original file, whatever its name or route (an
    upload, a fetch, `$SORTLIST_MODEL_PATH`): its file's sha256 is the original's."""
    return model.sha256 == EXPECTED_SHA256


def sha256_of(path: Path) -> str | None:
    """The file's sha256, or None if it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _check_url(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchBadURL(
            f"Refused to fetch {url!r}: only http:// and https:// URLs with a host are allowed."
        )
    try:
        port = parts.port
    except ValueError:
        raise FetchBadURL(f"Refused to fetch {url!r}: its port is not a number.") from None
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return parts.scheme, parts.hostname, port, path


def _connection(
    scheme: str, host: str, port: int | None, timeout: float
) -> tuple[http.client.HTTPConnection, bool]:
    """A connection to the URL's host, or through the environment's proxy for that scheme (a
    learner behind a corporate proxy): https is tunnelled with CONNECT, http sent to the proxy
    (then the request names the absolute URL: the second item is True)."""
    proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(scheme)
    if proxy:
        pparts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if pparts.hostname is None:
            raise FetchBadURL(f"The {scheme} proxy setting {proxy!r} names no host.")
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                pparts.hostname, pparts.port or 8080, timeout=timeout, context=ssl.create_default_context()
            )
            conn.set_tunnel(host, port or 443)
            return conn, False
        return http.client.HTTPConnection(pparts.hostname, pparts.port or 8080, timeout=timeout), True
    if scheme == "https":
        return http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        ), False
    return http.client.HTTPConnection(host, port, timeout=timeout), False


@contextlib.contextmanager
def _socket_errors(deadline: float, past_deadline: str, stalled: str, failed: str) -> Iterator[None]:
    """Socket failures inside the block as fetch errors: a timed-out wait is `FetchTimeout`
    (`past_deadline` when the whole fetch ran out of time, `stalled` when the server went
    quiet), any other failure `FetchUnreachable`: `failed`, then the error in brackets."""
    try:
        yield
    except TimeoutError:
        raise FetchTimeout(past_deadline if time.monotonic() >= deadline else stalled) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchUnreachable(f"{failed} ({exc}).") from None


def _download_one(url: str, limits: FetchLimits, deadline: float, progress: Progress | None) -> bytes:
    """The body at `url` (following up to MAX_REDIRECTS http(s) redirects) within the limits."""
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _check_url(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(f"Fetching {url} took longer than {limits.deadline_s:g} s.")
        conn, absolute_form = _connection(scheme, host, port, min(limits.connect_s, remaining))
        try:
            try:
                conn.connect()
            except TimeoutError:
                raise FetchUnreachable(
                    f"Could not connect to {host} within {limits.connect_s:g} s (offline or behind a firewall?)."
                ) from None
            except OSError as exc:
                raise FetchUnreachable(
                    f"Could not connect to {host} ({exc.strerror or exc}); you may be offline or behind a firewall."
                ) from None
            sock = conn.sock  # kept: http.client drops it from `conn` once the response owns it
            assert sock is not None
            sock.settimeout(min(limits.stall_s, max(0.01, deadline - time.monotonic())))
            with _socket_errors(
                deadline,
                f"Fetching {url} took longer than {limits.deadline_s:g} s.",
                f"{host} accepted the connection but sent no answer within {limits.stall_s:g} s.",
                f"The connection to {host} failed",
            ):
                conn.request("GET", url if absolute_form else path, headers={"User-Agent": "sortlist-fetch"})
                resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise FetchHTTPStatus(f"{url} redirected (HTTP {resp.status}) to nowhere.", resp.status)
                target = urljoin(url, location)
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchBadURL(
                        f"{url} redirected to {target!r}, which is not an http(s) URL: refused."
                    )
                url = target
                continue
            if resp.status != 200:
                raise FetchHTTPStatus(
                    f"{url} answered HTTP {resp.status} {resp.reason}.".strip(), resp.status
                )
            return _read_body(resp, sock, url, limits, deadline, progress)
        finally:
            conn.close()
    raise FetchHTTPStatus(f"{url} redirected more than {MAX_REDIRECTS} times.", 310)


def _read_body(
    resp: http.client.HTTPResponse,
    sock: socket.socket,
    url: str,
    limits: FetchLimits,
    deadline: float,
    progress: Progress | None,
) -> bytes:
    length = resp.getheader("Content-Length")
    total = int(length) if length and length.isdigit() else None
    if total is not None and total > limits.max_bytes:
        raise FetchTooLarge(f"{url} announces {total:,} bytes, more than the {limits.max_bytes:,}-byte cap.")
    body = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(f"Downloading {url} took longer than {limits.deadline_s:g} s.")
        # every read waits at most the stall limit (or what is left of the deadline)
        sock.settimeout(min(limits.stall_s, remaining))
        with _socket_errors(
            deadline,
            f"Downloading {url} took longer than {limits.deadline_s:g} s.",
            f"{url} stopped sending for {limits.stall_s:g} s after {len(body):,} bytes.",
            f"The download from {url} broke off after {len(body):,} bytes",
        ):
            chunk = resp.read1(CHUNK)
        if not chunk:
            break
        body += chunk
        if len(body) > limits.max_bytes:
            raise FetchTooLarge(f"{url} sent more than the {limits.max_bytes:,}-byte cap.")
        if progress is not None:
            progress(len(body), total)
    if total is not None and len(body) < total:
        raise FetchUnreachable(f"The download from {url} broke off after {len(body):,} of {total:,} bytes.")
    return bytes(body)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise FetchCacheError(f"Could not write {path} ({exc.strerror or exc}).") from None


def download_original(
    url: str | None = None,
    out: str | os.PathLike | None = None,
    *,
    limits: FetchLimits = FetchLimits(),
    expected_sha256: str = EXPECTED_SHA256,
    progress: Progress | None = None,
) -> Path:
    """The path of a verified copy of the original model, downloading it only when needed.

    A copy already at `out` (default: the cache, `cached_original_path()`) or in the cache whose
    sha256 matches is reused without any network access. Otherwise the URLs of
    `original_urls(url)` are tried in order until one gives the right bytes, all within
    `limits.deadline_s`; the file is written atomically to the cache (and copied to `out`).
    Raises a `FetchError` subclass whose message ends with the manual route; when several URLs
    fail, the first URL's error is raised.
    """
    cache = cached_original_path()
    dest = Path(out) if out is not None else cache
    if sha256_of(dest) == expected_sha256:
        return dest
    if dest != cache and sha256_of(cache) == expected_sha256:
        _write_atomically(dest, cache.read_bytes())
        return dest
    deadline = time.monotonic() + limits.deadline_s
    errors: list[FetchError] = []
    for candidate in original_urls(url):
        try:
            data = _download_one(candidate, limits, deadline, progress)
        except FetchError as exc:
            errors.append(exc)
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256:
            errors.append(
                FetchWrongHash(
                    f"{candidate} gave {len(data):,} bytes with sha256 {digest[:12]}…, not the original "
                    f"model ({expected_sha256[:12]}…, {EXPECTED_SIZE:,} bytes)."
                )
            )
            continue
        if dest == cache:
            _write_atomically(cache, data)
        else:
            try:  # a cache that cannot be written must not stop an explicit --out
                _write_atomically(cache, data)
            except FetchCacheError:
                pass
            _write_atomically(dest, data)
        return dest
    raise errors[0]


def load_original_model(
    url: str | None = None, *, limits: FetchLimits = FetchLimits(), progress: Progress | None = None
) -> LoadedModel:
    """The original challenge model, fetched (or reused from the cache) and loaded like any
    checkpoint. Raises `FetchError` (or `CheckpointError` if the verified file does not load)."""
    path = download_original(url, limits=limits, progress=progress)
    return load_checkpoint(path, name=MODEL_NAME)
