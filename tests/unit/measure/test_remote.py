"""The remote-cache client without pytest's runner: its protobuf, URLs, credentials, and
its answers to servers that misbehave (a small ``http.server`` plays the server; the real
one, nginx, is in tests/integration/test_remote_cache.py)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_sizebudget.measure.blob import BlobMeasurement
from pytest_sizebudget.measure.cache import BlobCache, seal
from pytest_sizebudget.measure.remote import (
    MAX_BODY,
    RemoteCache,
    authorization,
    decode_action_result,
    encode_action_result,
    url_problem,
)

MERKLE = "ab" * 32
DIGEST = "cd" * 32


def test_action_result_round_trip_and_its_wire_bytes() -> None:
    encoded = encode_action_result(DIGEST, 300)
    assert decode_action_result(encoded) == (DIGEST, 300)
    # ActionResult.output_files (2, length-delimited) > OutputFile.path (1) and
    # OutputFile.digest (2) > Digest.hash (1) and Digest.size_bytes (2, varint 300 = ac 02).
    path = b"\x0a\x14sizebudget-blob.json"
    digest = b"\x0a\x40" + DIGEST.encode() + b"\x10\xac\x02"
    output = path + b"\x12" + bytes([len(digest)]) + digest
    assert encoded == b"\x12" + bytes([len(output)]) + output


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff", b"\x12\x05abc", b"\x12\x02\x0a\x00", encode_action_result(DIGEST, 1, "other")],
)
def test_garbage_action_results_name_nothing(data: bytes) -> None:
    assert decode_action_result(data) is None


def test_other_fields_are_skipped() -> None:
    # exit_code (4, varint) and stdout_raw (5, bytes) around the output file.
    data = b"\x20\x00" + encode_action_result(DIGEST, 7) + b"\x2a\x03out"
    assert decode_action_result(data) == (DIGEST, 7)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://cache:8080", None),
        ("https://cache.example/prefix/", None),
        ("ftp://cache", "must start with http:// or https://"),
        ("http://", "has no host name"),
        ("http://u:secret@cache", "must not contain a user name or password"),
        ("http://cache?x=1", "must not have a query"),
        ("http://cache:99999", "not a valid URL"),
    ],
)
def test_url_problems(url: str, problem: str | None) -> None:
    found = url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
        assert "secret" not in found


def test_credentials_from_the_environment() -> None:
    assert authorization({}) is None
    assert authorization({"SIZEBUDGET_CACHE_TOKEN": "t0k"}) == "Bearer t0k"
    basic = authorization({"SIZEBUDGET_CACHE_USER": "u", "SIZEBUDGET_CACHE_PASSWORD": "p"})
    assert basic == "Basic dTpw"
    remote = RemoteCache("http://127.0.0.1:1", environ={"SIZEBUDGET_CACHE_TOKEN": "t0k"})
    assert "t0k" not in repr(remote)


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(handle: Handler) -> str:
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                handle(self)

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                handle(self)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes = b"") -> Handler:
    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return handle


def test_a_5xx_turns_the_remote_off_with_one_problem(serve: Callable[[Handler], str]) -> None:
    remote = RemoteCache(serve(reply(500)), timeout=2)
    assert remote.fetch_many("fp", [f"{i:064x}" for i in range(50)]) == {}
    assert not remote.enabled
    assert remote.problem is not None
    assert "HTTP 500 Internal Server Error; measuring locally" in remote.problem
    assert remote.counts.misses == 0
    remote.upload("fp", MERKLE, b"{}")  # ignored: the remote is off
    remote.close()
    assert remote.counts.uploads == 0


def test_a_refused_upload_turns_off_uploads_only(serve: Callable[[Handler], str]) -> None:
    remote = RemoteCache(serve(reply(403)), timeout=2)
    remote.upload("fp", MERKLE, b"{}")
    remote.flush()
    assert remote.enabled
    assert not remote.uploads_enabled
    assert remote.problem is not None
    assert "uploads refused" in remote.problem
    remote.close()


def test_a_dripping_server_is_cut_off(serve: Callable[[Handler], str]) -> None:
    def drip(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)

    remote = RemoteCache(serve(drip), timeout=0.2)
    start = time.monotonic()
    assert remote.fetch("fp", MERKLE) is None
    assert time.monotonic() - start < 5
    assert remote.problem is not None
    assert "timed out" in remote.problem
    remote.close()


def test_an_oversized_or_mismatched_answer_is_rejected(serve: Callable[[Handler], str]) -> None:
    entry = b'{"sealed": "entry"}'
    good = hashlib.sha256(entry).hexdigest()

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/ac/"):
            reply(200, encode_action_result(good, len(entry)))(h)
        elif h.path == f"/cas/{good}":
            reply(200, b'{"sealed": "entrY"}')(h)  # damaged in storage
        else:
            reply(404)(h)

    remote = RemoteCache(serve(handle), timeout=2)
    assert remote.fetch("fp", MERKLE) is None
    assert remote.counts.rejected == 1
    assert remote.enabled
    remote.close()

    big = RemoteCache(serve(reply(200, b"x" * (MAX_BODY + 10))), timeout=2)
    assert big.fetch("fp", MERKLE) is None
    assert big.counts.rejected == 1
    assert big.enabled
    big.close()


def test_blob_cache_checks_remote_entries_like_local_ones(
    serve: Callable[[Handler], str], tmp_path: Path
) -> None:
    """An intact entry for another merkle (foreign), or for other parameters, is refused."""
    store: dict[str, bytes] = {}

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        if h.command == "PUT":
            reply(201)(h)
            return
        found = store.get(h.path)
        reply(200, found)(h) if found is not None else reply(404)(h)

    url = serve(handle)
    measured = BlobMeasurement.from_sizes(MERKLE, 20_000, 5_000, "compact")
    source = BlobCache(tmp_path / "a", "compact")
    # The entry as put() uploads it: sealed, under its key and parameters.
    entry = seal(
        {"kind": "blob", "key": MERKLE, "params": source.fingerprint, "result": measured.to_dict()}
    )
    digest = hashlib.sha256(entry).hexdigest()
    store[f"/cas/{digest}"] = entry
    other = "ef" * 32
    for merkle in (MERKLE, other):
        key = RemoteCache.action_key(source.fingerprint, merkle)
        store[f"/ac/{key}"] = encode_action_result(digest, len(entry))

    remote = RemoteCache(url, timeout=2)
    cache = BlobCache(tmp_path / "b", "compact", remote=remote)
    cache.prefetch([MERKLE, other])
    assert cache.get(MERKLE) == measured
    assert cache.get(other) is None  # filed under another blob's key
    assert (remote.counts.hits, remote.counts.rejected) == (1, 1)
    cache.flush()
    assert BlobCache(tmp_path / "b", "compact").get(MERKLE) == measured  # kept locally

    padded = BlobCache(tmp_path / "c", "deprecated_padded", remote=remote)
    padded.prefetch([MERKLE])  # other parameters: another key, a miss
    assert padded.get(MERKLE) is None
    assert remote.counts.misses == 1

    memory_only = BlobCache(None, "compact", remote=remote)
    memory_only.prefetch([MERKLE])
    assert memory_only.get(MERKLE) == measured
    remote.close()
