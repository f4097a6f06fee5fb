"""A real Bazel HTTP remote cache for tests: nginx with its WebDAV module on 127.0.0.1.

nginx serves ``/ac/`` and ``/cas/`` from a directory as plain files (GET, and PUT through
``dav_methods``), which is how teams put a Bazel cache behind nginx.  It runs in the
foreground as one process (no master, no workers, no change of user), so the test can
kill it at any moment.  Extra locations give the failures a cache can have: every
request answered 503 (``/broken``), uploads forbidden (``/readonly``), and basic auth
(``/auth``, user ``ci``, password ``s3cret-pw``, stored in nginx's ``{PLAIN}`` form).
Debian's nginx is installed by ``.ci/run``; without it these tests skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

AUTH_USER = "ci"
AUTH_PASSWORD = "s3cret-pw"

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/data;
        client_max_body_size 16m;
        location / {{
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
        location /broken/ {{
            return 503;
        }}
        location /readonly/ {{
            limit_except GET HEAD {{ deny all; }}
        }}
        location /auth/ {{
            auth_basic "cache";
            auth_basic_user_file {dir}/htpasswd;
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class NginxCache:
    def __init__(self, directory: Path) -> None:
        binary = nginx_binary()
        assert binary is not None
        self.binary = binary
        self.dir = directory
        self.data = directory / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        for sub in ("data", "tmp", "data/readonly", "data/auth"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        (directory / "htpasswd").write_text(f"{AUTH_USER}:{{PLAIN}}{AUTH_PASSWORD}\n")
        (directory / "nginx.conf").write_text(CONFIG.format(dir=directory, port=self.port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "-p",
                str(self.dir),
                "-e",
                str(self.dir / "error.log"),
                "-c",
                str(self.dir / "nginx.conf"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"nginx exited: {err}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening in 15 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def files(self, kind: str, base: str = "") -> list[Path]:
        """The entries stored under ``<base>/ac`` or ``<base>/cas``."""
        where = self.data / base.strip("/") / kind
        return sorted(p for p in where.rglob("*") if p.is_file()) if where.exists() else []
