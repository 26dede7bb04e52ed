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


@pytest.fixture(scope="session")
def assistant(built_index, embedder):
    """The real chain over the real corpus index, shared by the tests that only read."""
    from assistant.chain import Assistant

    return Assistant.from_settings(built_index, embedder=embedder)
