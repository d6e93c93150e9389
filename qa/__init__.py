"""tanya-artikel: ask Indonesian questions about a news article.

    from qa import ArticleQA
    qa = ArticleQA.default()
    qa.ask("Siapa yang menyerahkan penghargaan?").text
"""

from .errors import ArticleError, ModelError, QAError, QuestionError
from .pipeline import ArticleQA
from .reader import Reader
from .settings import Settings
from .types import Answer, Passage

__all__ = ["Answer", "ArticleError", "ArticleQA", "ModelError", "Passage", "QAError", "QuestionError", "Reader",
           "Settings"]
__version__ = "0.1.0"
