"""Shared fixtures: real models (converted once into a session cache), the bundled article."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TANYA_ARTIKEL_CACHE", str(ROOT / ".cache-test"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# apps launched inside the test process keep gradio's files under the test cache, not in /tmp
os.environ.setdefault("GRADIO_TEMP_DIR", str(ROOT / ".cache-test" / "gradio"))


@pytest.fixture(scope="session")
def article() -> str:
    from qa.settings import DEFAULT_ARTICLE

    return DEFAULT_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def pairs() -> list[dict]:
    return [json.loads(line) for line in (ROOT / "eval" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.fixture(scope="session")
def embedder():
    from qa.embedder import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def default_qa():
    from qa import ArticleQA

    return ArticleQA.default()


@pytest.fixture()
def output_dir(request) -> Path:
    out = ROOT / "test-output" / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    return out
