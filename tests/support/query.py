"""Builders and hypothesis strategies for the query tests: documents and query texts.

Values come from small vocabularies so random queries match random documents often; a few are
awkward on purpose (a quote in a function name, a space in a tag, an unnormalized package name,
prereleases and local versions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from shared.documents import SearchDocument, as_document, empty_document, format_datetime

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
USERS = ("alice", "bob", "carol")
PROJECTS = ("fraud", "vision", "default")
STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FUNCTIONS = ("train_model", "evaluate", 'o\'neil "x"')
NODES = ("gpu_small", "cpu_small")
PYTHONS = ("3.10", "3.11")
IMAGES = ("a3f5d2c8e9b1", "0badf00d1234")
PACKAGES = (
    "torch==1.13.1",
    "torch==2.0.0",
    "torch==2.1.0+cu118",
    "torch==2.2.0rc1",
    "numpy==1.24.0",
    "Scikit_Learn==1.3.0",
    "pandas",
)
TAGS = ("experiment=baseline", "experiment=ablation", "retain=true", "note=a b", "empty=")
METRICS = ("loss", "acc")


def job(
    n: int,
    *,
    user: str = "alice",
    project: str = "fraud",
    hours_ago: float = 0,
    image: str = IMAGES[0],
    **fields: Any,
) -> SearchDocument:
    """A complete search document for job number `n`, created `hours_ago` before NOW."""
    created = NOW - timedelta(hours=hours_ago)
    job_id = f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{image[:8]}-{n:08x}"
    doc: dict[str, Any] = dict(empty_document(job_id))
    doc.update(
        created_at=format_datetime(created),
        updated_at=format_datetime(created),
        user=user,
        project=project,
        status="completed",
        function_name="train_model",
        node_type="cpu_small",
        dep_hash=image[:8],
        image_hash=image,
        python_version="3.11",
        use_gpu=False,
        source_version="v1",
    )
    doc.update(fields)
    return as_document(doc)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


@st.composite
def documents(draw: st.DrawFn, n: int) -> SearchDocument:
    """A random document (job number `n`) from the vocabularies."""
    numbers = st.sampled_from([0.0, 0.5, 1.0, 2.5, 10.0, 3600.0])
    return job(
        n,
        user=draw(st.sampled_from(USERS)),
        project=draw(st.sampled_from(PROJECTS)),
        hours_ago=draw(st.integers(0, 24 * 20)),
        image=draw(st.sampled_from(IMAGES)),
        status=draw(st.sampled_from(STATUSES)),
        function_name=draw(st.sampled_from(FUNCTIONS)),
        node_type=draw(_maybe(st.sampled_from(NODES))),
        python_version=draw(st.sampled_from(PYTHONS)),
        packages=draw(st.lists(st.sampled_from(PACKAGES), max_size=3, unique=True)),
        tags=draw(st.lists(st.sampled_from(TAGS), max_size=2, unique_by=lambda t: t.split("=")[0])),
        use_gpu=draw(_maybe(st.booleans())),
        duration_seconds=draw(_maybe(numbers)),
        cost_usd=draw(_maybe(numbers)),
        metrics_last=draw(st.dictionaries(st.sampled_from(METRICS), numbers, max_size=2)),
    )


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_OPS = st.sampled_from(["", "=", ">", ">=", "<", "<="])
_NUMBERS = st.sampled_from(["0", "0.5", "1", "2.5", "10", "3600", "-1"])
_DATES = st.sampled_from(
    ["2026-03-01", "2026-03-10", "2026-03-14", "2026-03-05T06:00:00Z", "-1d", "-7d", "-12h", "-2w"]
)

_TERMS = st.one_of(
    st.builds(
        lambda v: f"status:{','.join(v)}",
        st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3),
    ),
    st.builds(lambda v: f"user:{v}", st.sampled_from(USERS)),
    st.builds(
        lambda v: f"project:{','.join(v)}",
        st.lists(st.sampled_from(PROJECTS), min_size=1, max_size=2),
    ),
    st.builds(lambda v: f"function:{quoted(v)}", st.sampled_from(FUNCTIONS)),
    st.builds(lambda v: f"node:{v}", st.sampled_from(NODES)),
    st.builds(lambda v: f"python:{v}", st.sampled_from(PYTHONS)),
    st.builds(lambda v: f"dep:{v[:8]}", st.sampled_from(IMAGES)),
    st.builds(lambda u, i: f"image:{u}-{i}", st.sampled_from(USERS), st.sampled_from(IMAGES)),
    st.builds(
        lambda v: f"package:{quoted(v)}",
        st.sampled_from(
            [
                "torch",
                "torch>=2.0.0",
                "torch<2.1",
                "torch==2.1.0",
                "torch>=2.2.0rc1",
                "scikit-learn==1.3.0",
                "pandas",
                "pandas>=1",
                "numpy!=1.24.0",
            ]
        ),
    ),
    st.builds(
        lambda v: f"tag:{quoted(v)}",
        st.sampled_from(
            ["experiment=baseline", "experiment", "retain", "note=a b", "empty=", "empty"]
        ),
    ),
    st.builds(lambda v: f"gpu:{v}", st.sampled_from(["true", "false"])),
    st.builds(
        lambda o, d: (
            f"created:{o.strip('=') or '>='}{d}" if d.startswith("-") else f"created:{o}{d}"
        ),
        _OPS,
        _DATES,
    ),
    st.builds(lambda o, v: f"duration:{o}{v}", _OPS, _NUMBERS),
    st.builds(lambda o, v: f"cost:{o}{v}", _OPS, _NUMBERS),
    st.builds(
        lambda m, o, v: f"metric:{m}{o}{v}" if o else f"metric:{m}",
        st.sampled_from(METRICS),
        _OPS,
        _NUMBERS,
    ),
)
_SORTS = st.sampled_from(
    [
        "",
        "sort:created",
        "sort:-created",
        "sort:cost",
        "sort:-cost",
        "sort:duration",
        "sort:-user",
        "sort:project",
        "sort:-updated",
    ]
)


@st.composite
def query_texts(draw: st.DrawFn) -> str:
    """A random valid query: up to 4 terms, some negated, maybe a sort."""
    terms = [
        ("-" if draw(st.booleans()) else "") + draw(_TERMS) for _ in range(draw(st.integers(0, 4)))
    ]
    return " ".join([*terms, draw(_SORTS)]).strip()
