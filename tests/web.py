"""What the tests of the running app share: app.py on a free 127.0.0.1 port, plain HTTP,
and pages in Debian's chromium (Playwright). The `browser` fixture is in conftest.py."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


# -- the server ------------------------------------------------------------------------------
@dataclass
class Server:
    url: str
    port: int
    feedback_db: Path
    index_dir: Path
    process: subprocess.Popen
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def raw_get(server: Server, path: str) -> tuple[int, dict, bytes]:
    """GET `path` sent exactly as written: no client-side normalisation of '..'."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    conn.close()
    return result


def start_server(tmp: Path, *, corpus_dir: Path, index_dir: Path, env: dict | None = None) -> Server:
    """app.py on a free port; `env` adds, overrides or (value None) removes variables."""
    port = free_port()
    log = tmp / "server.log"
    env = {**os.environ, "CART_CORPUS_DIR": str(corpus_dir), "CART_INDEX_DIR": str(index_dir),
           "CART_FEEDBACK_DB": str(tmp / "feedback.sqlite3"), "CART_CHROMA_URL": "",
           "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    env = {name: value for name, value in env.items() if value is not None}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, tmp / "feedback.sqlite3", index_dir, process, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()}")
        try:
            if http_get(server.url + "/", timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(server)
    pytest.fail(f"app.py did not start in time:\n{log.read_text()}")


def stop_process(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `grace` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def stop_server(server: Server) -> None:
    stop_process(server.process)


# -- the browser -------------------------------------------------------------------------------
def ensure_chromium() -> None:
    if not Path(CHROMIUM).exists():
        subprocess.run("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium",
                       shell=True, check=True, capture_output=True)


@contextmanager
def open_page(browser, url: str, *, width: int = 1280, requests_seen: list[str] | None = None,
              timeout_ms: int = 30_000, ready: bool = True):
    """A page on the app in a fresh browser context, closed afterwards. `requests_seen`
    collects every URL the context (or a tab it opens) requests; `ready` waits for the form."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    if requests_seen is not None:
        context.on("request", lambda request: requests_seen.append(request.url))
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(url.rstrip("/") + "/", wait_until="domcontentloaded")
        if ready:
            page.wait_for_selector("#question textarea")
        yield page
    finally:
        context.close()


def assert_all_local(urls: list[str]) -> None:
    outside = [u for u in urls if urlparse(u).scheme not in ("data", "blob")
               and urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert not outside, f"requests left 127.0.0.1: {outside}"


def ask(page, question: str) -> str:
    """Type a question, press Enter, wait for the reply; returns the reply's text."""
    before = page.locator("#chat [data-testid=bot]").count()
    page.get_by_label("Your question", exact=True).fill(question)
    page.get_by_label("Your question", exact=True).press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat [data-testid=bot]').length > n"
        " && !document.querySelector('#send').disabled", arg=before)
    return last_reply(page).inner_text()


def last_reply(page):
    return page.locator("#chat [data-testid=bot]").last
