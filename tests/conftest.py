"""Shared fixtures. Slow fixtures use the real parts: the packaged model and real Chroma."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT / "pdf_sources"))

from assistant.settings import load_settings  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright (never `playwright install`), one per test module."""
    from playwright.sync_api import sync_playwright

    from tests.web import CHROMIUM, CHROMIUM_ARGS, ensure_chromium

    ensure_chromium()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def embedder():
    """The real packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    from assistant.embedding import SentenceEmbedder
    from assistant.settings import packaged_model_path

    return SentenceEmbedder(packaged_model_path())


def make_starter_corpus(folder: Path) -> Path:
    """3 text documents and 1 multi-page PDF (rendered from its source) in `folder`."""
    import build  # pdf_sources/build.py

    shutil.copytree(FIXTURES / "starter", folder, dirs_exist_ok=True)
    for source in (FIXTURES / "pdf_sources").glob("*.md"):
        build.render(source, folder)
    return folder


def write_approved(folder: Path, doc_id: str, body: str, *, review_due: str = "2030-01-01",
                   audience: str = "patient") -> Path:
    """One approved Markdown document with `body` under its title heading."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc_id}.md"
    path.write_text(f"---\nid: {doc_id}\ntitle: {doc_id}\naudience: {audience}\nowner: Team\nversion: \"1.0\"\n"
                    f"approved_by: Dr Example\napproved_on: 2026-01-01\nreview_due: {review_due}\n"
                    f"status: approved\n---\n# {doc_id}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def starter_corpus(tmp_path) -> Path:
    return make_starter_corpus(tmp_path / "corpus")


@pytest.fixture
def starter_settings(starter_corpus, tmp_path):
    return load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, embedder):
    """Settings for an index of the real corpus/, built once per test run."""
    from assistant.indexing import ingest

    settings = load_settings(corpus_dir=ROOT / "corpus",
                             index_dir=tmp_path_factory.mktemp("corpus-index"))
    ingest(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="module")
def server(built_index, tmp_path_factory):
    """app.py on a free 127.0.0.1 port over the real corpus index, one per test module."""
    from tests.web import start_server, stop_server

    srv = start_server(tmp_path_factory.mktemp("web"), corpus_dir=built_index.corpus_dir,
                       index_dir=built_index.index_dir)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def assistant(built_index, embedder):
    """The real chain over the real corpus index, shared by the tests that only read."""
    from assistant.chain import Assistant

    return Assistant.from_settings(built_index, embedder=embedder)


# -- a real Chroma server (`chroma run`), for server mode and its faults ------------------------
def _parent_death_signal():
    """A preexec_fn that makes the child get SIGTERM if pytest dies, so no server outlives the
    run; None where prctl is missing. Resolved here, so the forked child only makes the call
    (other threads may hold the import lock at fork time)."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ChromaServer:
    """`chroma run` on 127.0.0.1 with its own data folder; can be stopped and started again
    on the same port and folder (what an operator restarting it would do)."""

    def __init__(self, folder: Path, port: int | None = None):
        from tests.web import free_port

        self.port = port or free_port()
        self.path = folder / "chroma-data"
        self.log = folder / "chroma.log"
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "ChromaServer":
        import os
        import subprocess
        import time
        import urllib.request

        chroma = Path(sys.executable).with_name("chroma")
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(chroma), "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)],
                stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=_parent_death_signal())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"chroma run exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"chroma run did not answer its heartbeat in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        from tests.web import stop_process

        if self.process is not None:
            stop_process(self.process)


@pytest.fixture
def chroma_server(tmp_path):
    """A real Chroma server on a free 127.0.0.1 port and a temp folder, stopped at the end."""
    server = ChromaServer(tmp_path).start()
    yield server
    server.stop()


class OutboundRecorder:
    """A stand-in proxy on 127.0.0.1 that records every connection made to it and answers none.

    An app started with HTTP(S)_PROXY pointing here sends any request for the outside world
    (analytics, update checks, model downloads) to this recorder instead.
    """

    def __init__(self):
        import socket
        import threading

        self.seen: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.5)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(512) or b"(connected, sent nothing)")
                except OSError:
                    self.seen.append(b"(connected)")

    def env(self) -> dict:
        return {name: self.url for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                                             "http_proxy", "https_proxy", "all_proxy")} | {
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


@pytest.fixture(scope="session")
def outbound():
    recorder = OutboundRecorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="session")
def live_app(built_index, tmp_path_factory, outbound):
    """app.py over the real corpus index, shared by the load, hostile-input and privacy tests.

    It runs as deployed: GRADIO_ANALYTICS_ENABLED and the offline switches are not set for it
    (the app must turn them off itself), and any request for the outside world goes to the
    `outbound` recorder. GRADIO_TEMP_DIR is inside its folder, so a test can search
    everything it wrote.
    """
    from tests.web import start_server, stop_server

    folder = tmp_path_factory.mktemp("live-app")
    unset = dict.fromkeys(("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                           "ANONYMIZED_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY"))
    server = start_server(folder, corpus_dir=built_index.corpus_dir, index_dir=built_index.index_dir,
                          env={**unset, **outbound.env(), "GRADIO_TEMP_DIR": str(folder / "gradio-tmp")})
    server.folder = folder
    yield server
    stop_server(server)
