"""clashwatch: evidence-linked events from news about armed border clashes."""

from .schema import SPEC_VERSION, AnnotationError, ClashwatchError, ConfigError, Document, ModelNotFoundError, Relation, Span

__version__ = "0.1.0"

__all__ = [
    "SPEC_VERSION", "AnnotationError", "ClashwatchError", "ConfigError", "Document", "Extractor",
    "ModelNotFoundError", "Relation", "Span",
]


def __getattr__(name):
    # torch and transformers load only when the extractor is asked for
    if name == "Extractor":
        from .predict import Extractor

        return Extractor
    raise AttributeError(name)
