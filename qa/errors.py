"""One exception type for everything a user can get wrong, so callers catch one thing."""


class QAError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""


class ArticleError(QAError):
    """The article is missing, empty, binary or not decodable."""


class QuestionError(QAError):
    """The question is empty or unusable."""


class ModelError(QAError):
    """A model cannot be found, converted or verified."""
