"""The query module's typed tree: `shared.querytree`, which every `SearchIndex` takes.

Kept under this name so callers of the query module read the tree where they read the parser.
"""

from shared.querytree import (
    After,
    AllOf,
    AnyOf,
    Compare,
    Equals,
    IsTrue,
    Measure,
    Metric,
    Missing,
    Not,
    Op,
    Package,
    Query,
    Relative,
    Sort,
    Tag,
    Term,
)

__all__ = [
    "After",
    "AllOf",
    "AnyOf",
    "Compare",
    "Equals",
    "IsTrue",
    "Measure",
    "Metric",
    "Missing",
    "Not",
    "Op",
    "Package",
    "Query",
    "Relative",
    "Sort",
    "Tag",
    "Term",
]
