"""A shared measurement cache on a Bazel remote-cache HTTP server (pytest-free).

The protocol is the one Bazel's HTTP remote cache speaks, as bazel-remote, nginx with
WebDAV and hosted caches serve it: ``GET``/``PUT`` of ``<base>/cas/<sha256>`` (content,
named by its SHA-256) and ``<base>/ac/<key>`` (action results: 64 hex digits chosen by the
client).  A blob measurement is stored as Bazel stores an action's output:

- the sealed cache entry (the very bytes a local entry holds: key, parameter fingerprint,
  result, checksum) goes to the CAS under its SHA-256;
- an ``ActionResult`` protobuf naming it as its one output file goes to the AC, under
  ``sha256("pytest-sizebudget blob", fingerprint, merkle)``; bazel-remote validates AC
  values as ``ActionResult`` messages by default, so a bare entry there would be refused.

A reader checks the CAS bytes against their digest, then unseals and checks them exactly
as a local entry (``BlobCache``): anything else is a miss, and the blob is measured.

The server is an accelerator, never a dependency: a timeout, a refused connection, a 5xx
or an unexpected 4xx turns the remote off for the rest of the process with one message
(``problem``); a refused upload (401, 403, 405, 413...) turns off uploads only.  Every
request has a socket timeout and an overall deadline, so a server that stops answering
or drips bytes cannot hang the run.  Credentials come from the environment
(``SIZEBUDGET_CACHE_TOKEN``, or ``SIZEBUDGET_CACHE_USER`` and ``SIZEBUDGET_CACHE_PASSWORD``)
and are only ever written into the ``Authorization`` header: a URL with a user name or
password in it is refused, so that no log that shows the URL shows a secret.

The standard library's ``http.client`` is enough: small bodies, keep-alive connections
(one per thread), no retries beyond one reconnect of a connection the server closed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import http.client

DEFAULT_TIMEOUT: Final = 5.0  # seconds per socket operation
# Requests in flight at once: round trips, not bandwidth, bound a cache of small entries.
DEFAULT_CONNECTIONS: Final = 8
# An entry is a few hundred bytes; anything much larger is not ours.
MAX_BODY: Final = 1 << 20
# Uploads waiting for a connection before ``upload`` waits: bounds memory on a slow server.
MAX_PENDING_UPLOADS: Final = 4096
OUTPUT_PATH: Final = "sizebudget-blob.json"
TOKEN_ENV: Final = "SIZEBUDGET_CACHE_TOKEN"
USER_ENV: Final = "SIZEBUDGET_CACHE_USER"
PASSWORD_ENV: Final = "SIZEBUDGET_CACHE_PASSWORD"


# A reused keep-alive connection that the server closed meanwhile fails like this; the
# request is idempotent (GET, or a PUT of content-named bytes), so it is sent once more.
def _stale() -> tuple[type[BaseException], ...]:
    import http.client  # here, not at the top: only runs with a remote cache need it

    return (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class RemoteFailure(Exception):
    """The server did not answer as a cache should; ``uploads_only`` for a refused PUT."""

    def __init__(self, reason: str, *, uploads_only: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.uploads_only = uploads_only


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a remote cache's base URL, or ``None``."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host name"
    if parts.username is not None or parts.password is not None:
        return (
            "must not contain a user name or password (they would show wherever the URL "
            f"does); set {TOKEN_ENV}, or {USER_ENV} and {PASSWORD_ENV}, instead"
        )
    if parts.query or parts.fragment:
        return "must not have a query (?...) or a fragment (#...)"
    return None


def authorization(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``Authorization`` header value the environment asks for, if any."""
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV, "")
    if token:
        return f"Bearer {token}"
    user, password = env.get(USER_ENV, ""), env.get(PASSWORD_ENV, "")
    if user or password:
        pair = f"{user}:{password}".encode()
        return f"Basic {base64.b64encode(pair).decode('ascii')}"
    return None


# -- the two protobuf messages this needs, by hand (field numbers from the REAPI v2
# remote_execution.proto: ActionResult.output_files = 2; OutputFile.path = 1,
# OutputFile.digest = 2; Digest.hash = 1, Digest.size_bytes = 2) --------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_action_result(digest: str, size: int, path: str = OUTPUT_PATH) -> bytes:
    """An ``ActionResult`` with one output file, ``path``, whose content is in the CAS."""
    digest_msg = _field(1, digest.encode("ascii")) + _varint(2 << 3 | 0) + _varint(size)
    output_file = _field(1, path.encode()) + _field(2, digest_msg)
    return _field(2, output_file)


def _fields(data: bytes) -> list[tuple[int, int | bytes]] | None:
    """Top-level fields of a protobuf message, or ``None`` if it does not parse."""
    out: list[tuple[int, int | bytes]] = []
    i = 0

    def varint() -> int | None:
        nonlocal i
        value = shift = 0
        while i < len(data) and shift < 64:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        return None

    while i < len(data):
        key = varint()
        if key is None:
            return None
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
            if value is None:
                return None
            out.append((number, value))
        elif wire == 2:
            length = varint()
            if length is None or i + length > len(data):
                return None
            out.append((number, data[i : i + length]))
            i += length
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            return None
        if i > len(data):
            return None
    return out


def decode_action_result(data: bytes, path: str = OUTPUT_PATH) -> tuple[str, int] | None:
    """The CAS digest (hash, size) of output file ``path``, or ``None``."""
    top = _fields(data)
    if top is None:
        return None
    for number, value in top:
        if number != 2 or not isinstance(value, bytes):
            continue
        output = _fields(value)
        if output is None:
            return None
        named = digest_msg = None
        for n, v in output:
            if n == 1 and isinstance(v, bytes):
                named = v
            elif n == 2 and isinstance(v, bytes):
                digest_msg = v
        if named != path.encode() or digest_msg is None:
            continue
        digest = _fields(digest_msg)
        if digest is None:
            return None
        found_hash: str | None = None
        found_size = 0
        for n, v in digest:
            if n == 1 and isinstance(v, bytes):
                found_hash = v.decode("ascii", "replace")
            elif n == 2 and isinstance(v, int):
                found_size = v
        if found_hash is None or len(found_hash) != 64:
            return None
        return found_hash.lower(), found_size
    return None


@dataclass(slots=True)
class RemoteCounts:
    hits: int = 0  # entries fetched and accepted
    misses: int = 0  # not on the server
    rejected: int = 0  # on the server but damaged or foreign: measured again
    uploads: int = 0  # entries written to the server


class RemoteCache:
    """One remote cache server, shared by every layout's ``BlobCache`` in a process."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connections: int = DEFAULT_CONNECTIONS,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(f"remote cache URL {url!r}: {problem}")
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.connections = max(1, connections)
        self._auth = authorization(environ)
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []  # every thread's, for close()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._uploads: list[Future[None]] = []
        self._upload_slots = threading.BoundedSemaphore(MAX_PENDING_UPLOADS)
        self.counts = RemoteCounts()
        self.enabled = True
        self.uploads_enabled = True
        self.problem: str | None = None  # the one message about this server, once it failed

    def __repr__(self) -> str:  # never the credentials
        return f"RemoteCache({self.url!r}, enabled={self.enabled})"

    # -- keys -------------------------------------------------------------------------

    @staticmethod
    def action_key(fingerprint: str, merkle: str) -> str:
        text = f"pytest-sizebudget blob\0{fingerprint}\0{merkle.lower()}"
        return hashlib.sha256(text.encode()).hexdigest()

    # -- HTTP ---------------------------------------------------------------------------

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        import http.client
        import ssl

        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and fresh:
            conn.close()  # (stays in _open: closing twice is harmless)
            conn = None
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(
                    self._host,
                    self._port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._open.append(conn)
        return conn

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Accept": "application/octet-stream"}
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        if self._auth is not None:
            headers["Authorization"] = self._auth
        target = f"{self._prefix}{path}"
        try:
            return self._send(self._connection(), method, target, body, headers)
        except _stale():
            return self._send(self._connection(fresh=True), method, target, body, headers)

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> tuple[int, bytes]:
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, self._read(conn, response)
        except BaseException:
            conn.close()
            raise

    def _read(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> bytes:
        # The socket timeout bounds each read; the deadline bounds a server that drips
        # (read1: one system call at a time, so the deadline is checked as bytes come).
        deadline = time.monotonic() + 3 * self.timeout
        parts: list[bytes] = []
        size = 0
        while True:
            piece = response.read1(64 << 10)
            if not piece:
                break
            size += len(piece)
            if size > MAX_BODY or time.monotonic() > deadline:
                conn.close()
                if size > MAX_BODY:
                    return b""  # not an entry of ours: the caller rejects it
                raise TimeoutError("the response took too long")
            parts.append(piece)
        # read1 does not mark a fully read body done; closing the response does, and
        # leaves a keep-alive connection open for the next request.
        response.close()
        if response.will_close:
            conn.close()
        return b"".join(parts)

    def _fail(self, failure: RemoteFailure) -> None:
        with self._lock:
            if failure.uploads_only:
                if not self.uploads_enabled or not self.enabled:
                    return
                self.uploads_enabled = False
                if self.problem is None:
                    self.problem = (
                        f"remote cache {self.url}: uploads refused ({failure.reason}); "
                        "entries are still read from it, new measurements stay local"
                    )
                return
            if not self.enabled:
                return
            self.enabled = False
            self.uploads_enabled = False
            if self.problem is None:
                self.problem = (
                    f"remote cache {self.url}: {failure.reason}; measuring locally for the "
                    "rest of this run (sizes are not affected)"
                )

    @staticmethod
    def _describe(error: BaseException) -> str:
        import ssl

        if isinstance(error, TimeoutError):
            return "no answer in time (timed out)"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, ssl.SSLError):
            return f"TLS error: {error.reason or error}"
        if isinstance(error, OSError):
            return f"cannot connect: {error.strerror or type(error).__name__}"
        return f"bad HTTP answer ({type(error).__name__})"

    def _get(self, path: str) -> bytes | None:
        """The body at ``path``, ``None`` when absent; ``RemoteFailure`` otherwise."""
        import http.client

        try:
            status, body = self._request("GET", path)
        except (OSError, http.client.HTTPException) as error:
            raise RemoteFailure(self._describe(error)) from None
        if status == 200:
            return body
        if status == 404:
            return None
        raise RemoteFailure(f"GET answered HTTP {status} {_reason(status)}")

    def _put(self, path: str, body: bytes) -> None:
        import http.client

        try:
            status, _ = self._request("PUT", path, body)
        except (OSError, http.client.HTTPException) as error:
            raise RemoteFailure(self._describe(error)) from None
        if 200 <= status < 300:
            return
        raise RemoteFailure(
            f"PUT answered HTTP {status} {_reason(status)}", uploads_only=400 <= status < 500
        )

    # -- entries ------------------------------------------------------------------------

    def fetch(self, fingerprint: str, merkle: str) -> bytes | None:
        """The sealed entry the server holds for ``merkle``, checked against its CAS
        digest; ``None`` for a miss, a damaged entry or a server that failed.  The caller
        unseals and checks the entry and reports what it rejects (``reject``)."""
        if not self.enabled:
            return None
        try:
            result = self._get(f"/ac/{self.action_key(fingerprint, merkle)}")
            if result is None:
                with self._lock:
                    self.counts.misses += 1
                return None
            digest = decode_action_result(result)
            if digest is None:
                self.reject()
                return None
            content = self._get(f"/cas/{digest[0]}")
        except RemoteFailure as failure:
            self._fail(failure)
            return None
        if content is None or hashlib.sha256(content).hexdigest() != digest[0]:
            self.reject()  # the action result names content the server lost or damaged
            return None
        return content

    def reject(self) -> None:
        with self._lock:
            self.counts.rejected += 1

    def accept(self) -> None:
        with self._lock:
            self.counts.hits += 1

    def fetch_many(self, fingerprint: str, merkles: Iterable[str]) -> dict[str, bytes]:
        """``fetch`` of many entries, ``connections`` at a time."""
        todo = list(dict.fromkeys(merkles))
        found: dict[str, bytes] = {}
        if not todo or not self.enabled:
            return found
        pool = self._executor()
        batch = 64 * self.connections  # bounded: a million misses are never a million futures
        for start in range(0, len(todo), batch):
            if start and not self._still_enabled():
                break
            part = todo[start : start + batch]
            for merkle, raw in zip(
                part, pool.map(lambda m: self.fetch(fingerprint, m), part), strict=True
            ):
                if raw is not None:
                    found[merkle] = raw
        return found

    def upload(self, fingerprint: str, merkle: str, entry: bytes) -> None:
        """Send ``entry`` in the background: content to the CAS first, then the action
        result that names it, so that no reader finds a result without its content."""
        if not self.uploads_enabled:
            return
        self._upload_slots.acquire()
        try:
            future = self._executor().submit(self._upload, fingerprint, merkle, entry)
        except BaseException:
            self._upload_slots.release()
            raise
        future.add_done_callback(lambda _: self._upload_slots.release())
        with self._lock:
            self._uploads.append(future)

    def _upload(self, fingerprint: str, merkle: str, entry: bytes) -> None:
        if not self.uploads_enabled:
            return
        digest = hashlib.sha256(entry).hexdigest()
        try:
            self._put(f"/cas/{digest}", entry)
            self._put(
                f"/ac/{self.action_key(fingerprint, merkle)}",
                encode_action_result(digest, len(entry)),
            )
        except RemoteFailure as failure:
            self._fail(failure)
            return
        with self._lock:
            self.counts.uploads += 1

    def flush(self) -> None:
        """Wait for the uploads sent so far (each bounded by the timeouts)."""
        with self._lock:
            pending, self._uploads = self._uploads, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Finish the uploads, stop the threads and close every connection."""
        self.flush()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()

    def _still_enabled(self) -> bool:  # a method: another thread may turn it off
        return self.enabled

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.connections, thread_name_prefix="sizebudget-remote"
                )
            return self._pool


def _reason(status: int) -> str:
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
