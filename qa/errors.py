"""One exception type for everything a user can get wrong, so callers catch one thing."""


class QAError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""


class ArticleError(QAError):
    """The article is missing, empty, binary or not decodable.

    ``reason`` is a stable code (missing, empty, binary, pdf, encoding, no_text, not_text, too_large; for pages
    fetched by URL also bad_url, refused, unreachable, redirects, not_html) that user interfaces
    translate into their own language.
    """

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


class FetchError(ArticleError):
    """A web page could not be fetched or used (``reason`` as in :class:`ArticleError`)."""


class QuestionError(QAError):
    """The question is empty, not text, or too long (``reason``: empty, not_text, too_long, unusable)."""

    def __init__(self, message: str, reason: str = "unusable") -> None:
        super().__init__(message)
        self.reason = reason


class ModelError(QAError):
    """A model cannot be found, converted or verified."""


class CollectionError(QAError):
    """A collection cannot be made, opened or changed as asked.

    ``reason``: not_collection, exists, id_taken, no_article, bad_date, bad_line, unreachable,
    fixed_setting, bad_backend, write_failed.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
