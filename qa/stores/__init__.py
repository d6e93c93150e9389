"""Where a :class:`~qa.collection.Collection` keeps its articles: one interface, two backends."""

from .base import DocumentStore, NewArticle, StoredPassage

__all__ = ["DocumentStore", "NewArticle", "StoredPassage"]
