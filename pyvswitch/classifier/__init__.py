"""The priority classifier: tuple space search with staged lookup, prefix tracking and conjunctive matches.

See ``classifier.py`` for the design and ``docs/classifier.md`` for an overview.
"""

from pyvswitch.classifier.classifier import (
    DEFAULT_PREFIX_FIELDS,
    MIN_PRIORITY,
    STAGE_MASKS,
    STAGES,
    Classifier,
    ClassifierRule,
)
from pyvswitch.classifier.trie import PrefixTrie

__all__ = [
    "DEFAULT_PREFIX_FIELDS",
    "MIN_PRIORITY",
    "STAGES",
    "STAGE_MASKS",
    "Classifier",
    "ClassifierRule",
    "PrefixTrie",
]
