"""tanya-artikel: ask Indonesian questions about a news article.

    from qa import ArticleQA
    qa = ArticleQA.default()
    qa.ask("Siapa yang menyerahkan penghargaan?").text
"""

from typing import TYPE_CHECKING, Any

from .errors import ArticleError, CollectionError, FetchError, ModelError, QAError, QuestionError
from .settings import Settings
from .types import Answer, ArticleInfo, Passage

if TYPE_CHECKING:
    from .collection import Collection
    from .pipeline import ArticleQA
    from .reader import Reader


def __getattr__(name: str) -> Any:
    """``ArticleQA``, ``Collection`` and ``Reader`` pull in torch: imported on first use (``--help`` is instant)."""
    if name == "ArticleQA":
        from .pipeline import ArticleQA

        return ArticleQA
    if name == "Collection":
        from .collection import Collection

        return Collection
    if name == "Reader":
        from .reader import Reader

        return Reader
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


__all__ = [
    "Answer",
    "ArticleError",
    "ArticleInfo",
    "ArticleQA",
    "Collection",
    "CollectionError",
    "FetchError",
    "ModelError",
    "Passage",
    "QAError",
    "QuestionError",
    "Reader",
    "Settings",
]
__version__ = "0.1.0"
