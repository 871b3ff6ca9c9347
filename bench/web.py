"""Benchmarks of the reference screens over uvicorn on loopback, each figure a ratio
against a baseline of the same run.

Run from the project's root: ``python bench/web.py`` (or ``make bench``). It prints a
header line, then one line per figure with its target and PASS or FAIL:

a. requests per second for the step-1 page (« Inscrire un établissement »: a security
   check issued, a session and its CSRF token, the template rendered) against a bare
   Starlette endpoint answering a short text, both served by the same uvicorn process
   on the same connections: the page must reach at least half the bare rate.
b. logins running concurrently (the production Argon2id parameters) against argon2-cffi's
   own verify run on as many threads as the machine has cores: the screens must reach
   at least 90 % of the raw verifies per second, which they only do if every verify
   runs off the event loop.
c. meanwhile, the step-1 page's 99th percentile latency, one request at a time: under
   50 ms, so a login storm never stalls the pages.

The server runs in a child process (``--serve``), so client and server do not share a
GIL; the client is a minimal HTTP/1.1 keep-alive client on asyncio streams, so that its
own cost stays far below the server's. The exit status is 1 when a figure misses.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform as machine
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from urllib.parse import urlencode

import argon2

PAGE_TARGET = 0.5
LOGIN_TARGET = 0.9
P99_TARGET_MS = 50.0
RATE_SECONDS = 5.0
LOGIN_SECONDS = 12.0
_CSRF = re.compile(rb'name="csrf" value="([^"]+)"')
_COOKIE = re.compile(rb"peps_session=([^;]+)")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- the server (child process) ------------------------------------------------------


def serve(port: int) -> None:
    """The screens on in-memory adapters with the production hasher, and a bare endpoint,
    on one uvicorn worker; prints the accounts to log in with, then serves."""
    import uvicorn
    from attrs import evolve, fields
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    from peps_onboarding import Argon2PasswordHasher, RateLimit, RateLimits, build_in_memory
    from peps_onboarding.adapters.clock import FakeClock
    from peps_onboarding.domain.policy import Policy
    from peps_onboarding.testing import PASSWORD, START, Journey, holder_form
    from peps_onboarding.testing.samples import sample_directory
    from peps_onboarding.web import WebSettings, create_app

    # Far above what a run reaches: the bench measures the screens, not P1.
    unlimited = RateLimits(
        **{f.name: RateLimit(1_000_000, timedelta(seconds=1)) for f in fields(RateLimits)}
    )
    clock = FakeClock(START)
    world = build_in_memory(
        clock=clock,
        hasher=Argon2PasswordHasher(),
        directory=sample_directory(),
        policy=evolve(Policy(), rate_limits=unlimited),
    )
    journey = Journey(world, clock)
    identifier = journey.enrolled_administrator(holder=holder_form())
    screens = create_app(
        world.platform,
        WebSettings(secret_key="bench " * 8, secure_cookies=False),
    )

    async def bare(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/bare", bare), Mount("/peps", app=screens)])
    print(json.dumps({"identifier": identifier, "password": PASSWORD}), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- a minimal HTTP/1.1 client --------------------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, *, cookie: bytes | None = None, body: bytes = b""
    ) -> tuple[int, bytes, bytes]:
        """Status, headers, body."""
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        if cookie:
            lines.append(f"Cookie: peps_session={cookie.decode()}")
        if body:
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, head, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def rate(port: int, path: str, seconds: float, connections: int = 8) -> float:
    """Requests per second on ``connections`` keep-alive connections."""
    deadline = time.perf_counter() + seconds
    counts = [0] * connections

    async def worker(index: int) -> None:
        connection = await Connection.open(port)
        while time.perf_counter() < deadline:
            status, _, _ = await connection.request("GET", path)
            assert status == 200, status
            counts[index] += 1
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return sum(counts) / (time.perf_counter() - started)


async def login_storm(
    port: int, identifier: str, password: str, seconds: float, concurrency: int
) -> tuple[float, list[float]]:
    """Logins per second with ``concurrency`` at once, and the step-1 page's latencies
    (milliseconds) measured one at a time meanwhile."""
    deadline = time.perf_counter() + seconds
    logins = 0
    latencies: list[float] = []

    async def login_worker() -> None:
        nonlocal logins
        connection = await Connection.open(port)
        while time.perf_counter() < deadline:
            _, head, page = await connection.request("GET", "/peps/connexion")
            cookie, csrf = _COOKIE.search(head), _CSRF.search(page)
            assert cookie and csrf
            form = urlencode(
                {
                    "csrf": csrf.group(1).decode(),
                    "identifiant": identifier,
                    "mot_de_passe": password,
                }
            ).encode()
            status, _, _ = await connection.request(
                "POST", "/peps/connexion", cookie=cookie.group(1), body=form
            )
            assert status == 303, status  # signed in, sent to « Mon espace »
            logins += 1
        connection.close()

    async def page_watcher() -> None:
        connection = await Connection.open(port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _, _ = await connection.request("GET", "/peps/inscription")
            assert status == 200
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)  # a person browsing, not a second load
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(page_watcher(), *(login_worker() for _ in range(concurrency)))
    return logins / (time.perf_counter() - started), latencies


def raw_verifies(seconds: float, threads: int) -> float:
    """argon2-cffi's verify, default parameters, on ``threads`` threads at once."""
    hasher = argon2.PasswordHasher()
    stored = hasher.hash("Motdepasse-1")
    deadline = time.perf_counter() + seconds

    def worker() -> int:
        count = 0
        while time.perf_counter() < deadline:
            hasher.verify(stored, "Motdepasse-1")
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the bench server did not start")


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["--serve"]:
        serve(int(argv[1]))
        return 0
    cores = os.cpu_count() or 1
    print(
        f"# peps_onboarding web bench: {machine.platform()}, Python "
        f"{machine.python_version()}, {cores} CPUs, {date.today().isoformat()}",
        flush=True,
    )
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - this very script, as the server
        [sys.executable, __file__, "--serve", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        assert server.stdout is not None
        account = json.loads(server.stdout.readline())
        wait_until_up(port)
        asyncio.run(rate(port, "/bare", 1.0))  # warm both paths
        asyncio.run(rate(port, "/peps/inscription", 1.0))
        bare = asyncio.run(rate(port, "/bare", RATE_SECONDS))
        page = asyncio.run(rate(port, "/peps/inscription", RATE_SECONDS))
        ratio = page / bare
        lines.append(
            f"a. step-1 page {page:.0f} req/s, bare endpoint {bare:.0f} req/s: ratio "
            f"{ratio:.2f} (target >= {PAGE_TARGET}) {verdict(ratio >= PAGE_TARGET)}"
        )
        print(lines[-1], flush=True)
        raw = raw_verifies(LOGIN_SECONDS, cores)
        logins, latencies = asyncio.run(
            login_storm(
                port,
                account["identifier"],
                account["password"],
                LOGIN_SECONDS,
                concurrency=4 * cores,
            )
        )
        share = logins / raw
        lines.append(
            f"b. concurrent logins {logins:.1f}/s, raw Argon2 verifies on {cores} threads "
            f"{raw:.1f}/s: ratio {share:.2f} (target >= {LOGIN_TARGET}) "
            f"{verdict(share >= LOGIN_TARGET)}"
        )
        print(lines[-1], flush=True)
        p99 = statistics.quantiles(latencies, n=100)[98]
        lines.append(
            f"c. step-1 page during the logins: p99 {p99:.1f} ms over {len(latencies)} "
            f"requests, median {statistics.median(latencies):.1f} ms (target < "
            f"{P99_TARGET_MS:.0f} ms) {verdict(p99 < P99_TARGET_MS)}"
        )
        print(lines[-1], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0 if all(line.endswith("PASS") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
