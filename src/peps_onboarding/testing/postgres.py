"""A throwaway PostgreSQL cluster on loopback, for tests and benchmarks.

``initdb`` and ``pg_ctl`` are looked for on ``PATH``, then under
``/usr/lib/postgresql/*/bin`` (Debian's packages). The cluster listens on 127.0.0.1
and a free port with trust authentication, and is deleted when the context ends.
``initdb`` refuses to run as root: under root the cluster runs as the ``postgres``
user (or ``nobody``) through ``runuser``. ``durable=False`` turns fsync off: faster,
and fine for data that is thrown away.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["postgres_binaries", "throwaway_cluster"]


def postgres_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_cluster_owner() -> tuple[list[str], str | None]:
    """The command prefix that runs a program as a non-root user, and that user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], name
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL")


@contextmanager
def throwaway_cluster(*, durable: bool = False, max_connections: int = 200) -> Iterator[int]:
    """Starts a cluster, yields its port (user ``postgres``, database ``postgres``)."""
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb/pg_ctl)")
    prefix, owner = _as_cluster_owner()
    root = Path(tempfile.mkdtemp(prefix="peps-pg-"))
    data = root / "data"
    data.mkdir()
    if owner is not None:
        entry = pwd.getpwnam(owner)
        for path in (root, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    fast = [] if durable else ["--no-sync"]
    subprocess.run(  # noqa: S603 - our own arguments
        [*prefix, *initdb, *fast, "--encoding=UTF8", "--locale=C"], check=True, capture_output=True
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c max_connections={max_connections}"
    )
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = str(binaries / "pg_ctl")
    log = str(data / "server.log")
    subprocess.run(  # noqa: S603
        [*prefix, pg_ctl, "-D", str(data), "-l", log, "-w", "-o", options, "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield port
    finally:
        subprocess.run(  # noqa: S603
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
