"""The remote measurement cache against a real server: nginx with WebDAV on 127.0.0.1.

"Machine A" and "machine B" are two runs with different local cache directories that
share only the server.  Every run's verdicts and reports (less the ``measurement``
section, which says how sizes were obtained) must be what a run without the remote gives.
"""

from __future__ import annotations

import json
import random
import socket
import textwrap
import time
from collections.abc import Iterator

import pytest

from tests.conftest import Product
from tests.integration.test_measure import write_package
from tests.nginx_cache import AUTH_PASSWORD, AUTH_USER, NginxCache, nginx_binary

pytestmark = pytest.mark.skipif(
    nginx_binary() is None, reason="nginx is not installed (.ci/run installs it)"
)


@pytest.fixture
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxCache]:
    server = NginxCache(tmp_path_factory.mktemp("nginx"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def text(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    words = [b"blob", b"zircon", b"component", b"route", b"fidl", b"driver", b"vmo"]
    out = bytearray()
    while len(out) < n:
        out += b" ".join(rng.choice(words) for _ in range(10)) + b"\n"
    return bytes(out[:n])


def remote_product(product: Product, files: int = 6, budget_files: int = 1) -> None:
    """Packages of real files: compressible ones above 8 KiB, a small one, a random one."""
    for f in range(budget_files):
        blobs = {f"lib{i}.so": text(100 * f + i, 20_000 + 3_000 * i) for i in range(files)}
        blobs["small.txt"] = text(999 + f, 500)
        blobs["media.bin"] = random.Random(7 + f).randbytes(12_000)
        pkg = write_package(product.root, f"pkg{f}", blobs)
        product.budget_file(
            {
                "package_set_budgets": [
                    {"name": f"Set {f}", "budget_bytes": 200_000, "packages": [pkg]},
                    {"name": f"Tight {f}", "budget_bytes": 8192, "packages": [pkg]},
                ]
            },
            f"b{f}.sizebudget.json",
        )


def run(
    pytester: pytest.Pytester, name: str, cache: str, *extra: str
) -> tuple[pytest.RunResult, dict[str, object]]:
    result = pytester.runpytest(
        "--sizebudget",
        f"--sizebudget-cache-dir={cache}",
        f"--sizebudget-json={name}.json",
        *extra,
    )
    data: dict[str, object] = json.loads((pytester.path / f"{name}.json").read_text())
    return result, data


def without_measurement(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k != "measurement"}


def counts(data: dict[str, object]) -> dict[str, int]:
    found = data["measurement"]
    assert isinstance(found, dict)
    return found


def warnings_about_remote(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("WARNING: remote cache")]


def test_cold_on_a_then_warm_on_b_compresses_nothing(
    pytester: pytest.Pytester, pt_product: Product, nginx: NginxCache
) -> None:
    remote_product(pt_product)
    url = f"--sizebudget-cache-url={nginx.url}"
    local, local_data = run(pytester, "local", "cache-local")  # no remote: the reference
    a, a_data = run(pytester, "a", "cache-a", url)
    assert a.ret == local.ret == 1
    assert a.parseoutcomes() == local.parseoutcomes()
    assert without_measurement(a_data) == without_measurement(local_data)
    a_counts = counts(a_data)
    assert a_counts["blobs_compressed"] == 7  # six libraries and the random file
    assert a_counts["remote_uploads"] == a_counts["blobs_measured"] == 8
    assert a_counts["remote_hits"] == 0
    a.stdout.fnmatch_lines(
        [
            "blob measurement: 8 blobs measured (7 compressed), *",
            "remote cache: 0 hits, 8 uploaded, 0 rejected*",
        ]
    )
    assert len(nginx.files("ac")) == len(nginx.files("cas")) == 8

    b, b_data = run(pytester, "b", "cache-b", url)
    assert b.parseoutcomes() == a.parseoutcomes()
    assert (pytester.path / "b.json").read_text() != (pytester.path / "a.json").read_text()
    assert without_measurement(b_data) == without_measurement(a_data)
    b_counts = counts(b_data)
    assert b_counts["blobs_measured"] == b_counts["blobs_compressed"] == 0
    assert b_counts["bytes_read"] == 0
    assert b_counts["remote_hits"] == 8
    b.stdout.fnmatch_lines(
        [
            "blob measurement: 0 blobs measured (0 compressed), 8 cache hits, *",
            "remote cache: 8 hits, 0 uploaded, 0 rejected*",
        ]
    )
    assert not warnings_about_remote(b)
    # The hits were kept locally: B's next run does not ask the server.
    nginx.stop()
    again, again_data = run(pytester, "again", "cache-b", url)
    assert counts(again_data)["blobs_compressed"] == 0
    assert counts(again_data)["remote_hits"] == 0
    assert not warnings_about_remote(again)


def test_corrupt_and_foreign_remote_entries_are_measured_again(
    pytester: pytest.Pytester, pt_product: Product, nginx: NginxCache
) -> None:
    remote_product(pt_product)
    url = f"--sizebudget-cache-url={nginx.url}"
    _, a_data = run(pytester, "a", "cache-a", url)
    # Damage every stored entry's content: one digit of a size, which still parses.
    damaged = 0
    for path in nginx.files("cas"):
        raw = path.read_bytes()
        entry = json.loads(raw)
        size = entry["result"]["size_on_disk"]
        path.write_bytes(
            raw.replace(
                f'"size_on_disk": {size}'.encode(), f'"size_on_disk": {size + 4096}'.encode()
            )
        )
        damaged += path.read_bytes() != raw
    assert damaged == 8
    b, b_data = run(pytester, "b", "cache-b", url)
    assert without_measurement(b_data) == without_measurement(a_data)
    assert counts(b_data)["remote_rejected"] == 8
    assert counts(b_data)["remote_hits"] == 0
    assert counts(b_data)["blobs_compressed"] == 7
    assert counts(b_data)["remote_uploads"] == 8  # good entries replace the damaged ones
    assert not warnings_about_remote(b)
    _, c_data = run(pytester, "c", "cache-c", url)
    assert counts(c_data)["remote_hits"] == 8
    assert counts(c_data)["blobs_compressed"] == 0

    # Foreign: each action result now names another blob's (intact, sealed) entry.
    results = nginx.files("ac")
    contents = [p.read_bytes() for p in results]
    for path, other in zip(results, contents[1:] + contents[:1], strict=True):
        path.write_bytes(other)
    _, d_data = run(pytester, "d", "cache-d", url)
    assert without_measurement(d_data) == without_measurement(a_data)
    assert counts(d_data)["remote_rejected"] == 8
    assert counts(d_data)["blobs_compressed"] == 7


KILLER = """
import os, signal

killed = []

def pytest_runtest_logreport(report):
    # After the first budget file's measurement, the server goes away.
    if report.when == "call" and not killed:
        killed.append(report.nodeid)
        os.kill({pid}, signal.SIGKILL)
"""


def test_server_killed_mid_run_degrades_to_local_with_one_warning(
    pytester: pytest.Pytester, pt_product: Product, nginx: NginxCache
) -> None:
    remote_product(pt_product, budget_files=3)
    local, local_data = run(pytester, "local", "cache-local")
    assert nginx.proc is not None
    pytester.makeconftest(textwrap.dedent(KILLER.format(pid=nginx.proc.pid)))
    start = time.monotonic()
    a, a_data = run(pytester, "a", "cache-a", f"--sizebudget-cache-url={nginx.url}")
    assert time.monotonic() - start < 60
    assert a.ret == local.ret
    assert a.parseoutcomes() == local.parseoutcomes()
    assert without_measurement(a_data) == without_measurement(local_data)
    (warning,) = warnings_about_remote(a)
    assert "connection refused" in warning
    assert "measuring locally" in warning
    # Everything was measured, and the first file's blobs reached the server first.
    assert counts(a_data)["blobs_compressed"] == 21
    assert counts(a_data)["remote_uploads"] == 8


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one-process", "n2"])
@pytest.mark.parametrize(
    ("base", "expect"),
    [
        ("/broken", "GET answered HTTP 503 Service Unavailable; measuring locally"),
        ("/readonly", "uploads refused (PUT answered HTTP 403 Forbidden)"),
        ("/auth", "GET answered HTTP 401 Unauthorized; measuring locally"),
    ],
)
def test_error_answers_give_one_warning_and_the_same_results(
    pytester: pytest.Pytester,
    pt_product: Product,
    nginx: NginxCache,
    base: str,
    expect: str,
    xdist: list[str],
) -> None:
    remote_product(pt_product, budget_files=2)
    local, local_data = run(pytester, "local", "cache-local")
    a, a_data = run(pytester, "a", "cache-a", f"--sizebudget-cache-url={nginx.url}{base}", *xdist)
    assert a.ret == local.ret
    assert a.parseoutcomes() == local.parseoutcomes()
    assert without_measurement(a_data) == without_measurement(local_data)
    (warning,) = warnings_about_remote(a)
    assert expect in warning
    assert counts(a_data)["remote_uploads"] == 0


def test_credentials_come_from_the_environment_and_are_never_shown(
    pytester: pytest.Pytester,
    pt_product: Product,
    nginx: NginxCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote_product(pt_product)
    url = f"--sizebudget-cache-url={nginx.url}/auth"
    monkeypatch.setenv("SIZEBUDGET_CACHE_USER", AUTH_USER)
    monkeypatch.setenv("SIZEBUDGET_CACHE_PASSWORD", AUTH_PASSWORD)
    a, a_data = run(pytester, "a", "cache-a", url)
    assert counts(a_data)["remote_uploads"] == 8
    assert not warnings_about_remote(a)
    b, b_data = run(pytester, "b", "cache-b", url)
    assert counts(b_data)["remote_hits"] == 8
    assert len(nginx.files("ac", "auth")) == 8
    # In the URL they are refused, without repeating them.
    refused = pytester.runpytest(
        "--sizebudget", f"--sizebudget-cache-url=http://{AUTH_USER}:{AUTH_PASSWORD}@127.0.0.1:1"
    )
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*--sizebudget-cache-url: must not contain a user name*"])
    for result in (a, b, refused):
        assert AUTH_PASSWORD not in "\n".join(result.outlines + result.errlines)
    for report in ("a.json", "b.json"):
        assert AUTH_PASSWORD not in (pytester.path / report).read_text()


def test_a_server_that_never_answers_cannot_hang_the_run(
    pytester: pytest.Pytester, pt_product: Product
) -> None:
    """The kernel accepts the connection (a listening socket nobody serves): only the
    timeout can end the wait."""
    remote_product(pt_product)
    local, local_data = run(pytester, "local", "cache-local")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        pytester.makeini(
            "[pytest]\nconsole_output_style = classic\nsizebudget_cache_timeout = 0.5\n"
        )
        start = time.monotonic()
        a, a_data = run(pytester, "a", "cache-a", f"--sizebudget-cache-url=http://127.0.0.1:{port}")
        elapsed = time.monotonic() - start
    assert elapsed < 30
    assert a.parseoutcomes() == local.parseoutcomes()
    assert without_measurement(a_data) == without_measurement(local_data)
    (warning,) = warnings_about_remote(a)
    assert "timed out" in warning


def test_ini_key_and_bad_urls(
    pytester: pytest.Pytester, pt_product: Product, nginx: NginxCache
) -> None:
    remote_product(pt_product)
    pytester.makeini(
        f"[pytest]\nconsole_output_style = classic\nsizebudget_cache_url = {nginx.url}\n"
    )
    _, data = run(pytester, "a", "cache-a")
    assert counts(data)["remote_uploads"] == 8
    bad = pytester.runpytest("--sizebudget", "--sizebudget-cache-url=ftp://example.invalid/")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--sizebudget-cache-url: must start with http:// or https://*"])
    pytester.makeini("[pytest]\nsizebudget_cache_timeout = soon\n")
    bad = pytester.runpytest("--sizebudget")
    bad.stderr.fnmatch_lines(["*sizebudget_cache_timeout: expected seconds*got 'soon'*"])


def test_no_cache_turns_the_remote_off_too(
    pytester: pytest.Pytester, pt_product: Product, nginx: NginxCache
) -> None:
    remote_product(pt_product)
    result = pytester.runpytest(
        "--sizebudget", "--sizebudget-no-cache", f"--sizebudget-cache-url={nginx.url}"
    )
    assert nginx.files("ac") == []
    assert not any(line.startswith("remote cache:") for line in result.outlines)


def test_xdist_gateways_sharing_the_remote_give_the_reports_of_one_process(
    pytester: pytest.Pytester, pt_product: Product, nginx: NginxCache
) -> None:
    """``--tx`` popen gateways stand in for ssh hosts.  They run without a local cache
    (``-p no:cacheprovider``), so the remote is all they share, as separate machines."""
    remote_product(pt_product, budget_files=3)
    url = f"--sizebudget-cache-url={nginx.url}"
    common = ["--sizebudget", url, "--sizebudget-gerrit=g.json", "--junitxml=j.xml"]
    one = pytester.runpytest(*common, "--sizebudget-json=one.json", "-p", "no:xdist")
    one_data = json.loads((pytester.path / "one.json").read_text())
    assert counts(one_data)["remote_uploads"] == 24
    (pytester.path / "g.json").rename(pytester.path / "g-one.json")
    hosts = pytester.runpytest(
        *common,
        "--sizebudget-json=hosts.json",
        "-p",
        "no:cacheprovider",
        "--dist=load",
        "--tx=popen",
        "--tx=popen",
    )
    hosts_data = json.loads((pytester.path / "hosts.json").read_text())
    assert hosts.parseoutcomes() == one.parseoutcomes()
    assert hosts.ret == one.ret == 1
    assert without_measurement(hosts_data) == without_measurement(one_data)
    assert (pytester.path / "g.json").read_bytes() == (pytester.path / "g-one.json").read_bytes()
    hosts_counts = counts(hosts_data)
    assert hosts_counts["blobs_compressed"] == hosts_counts["blobs_measured"] == 0
    # Each worker fetches what its budgets need: a blob may be fetched by both.
    assert 24 <= hosts_counts["remote_hits"] <= 48
    assert not warnings_about_remote(hosts)
    summary = [line for line in one.outlines if "%" in line and ("ok" in line or "OVER" in line)]
    assert len(summary) == 6
    assert all(line in hosts.outlines for line in summary)
