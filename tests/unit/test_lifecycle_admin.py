"""Which jobs an admin bulk operation acts on: only administered projects, retained ones by
choice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.admin import select_jobs
from shared.documents import SearchDocument
from shared.errors import AccessDenied
from shared.principal import Principal

PROJECTS = st.sampled_from(["vision", "fraud", "nlp"])
DOCS = st.lists(
    st.builds(
        lambda i, p, r: {"job_id": f"job{i}", "project": p, "retain": r},
        st.integers(0, 10**6),
        PROJECTS,
        st.booleans(),
    ),
    max_size=20,
)
ROLES = st.sampled_from(["admin", "admin:vision", "admin:fraud", "admin:vision,admin:nlp"])


@given(DOCS, ROLES, st.booleans())
def test_bulk_operations_act_only_on_administered_projects_and_retained_jobs_by_choice(
    docs: list[SearchDocument], roles: str, include_retained: bool
) -> None:
    """Every job is either selected (administered, and not retained unless included) or skipped
    with its reason."""
    who = Principal.of("root", roles)
    selected = list(select_jobs(docs, who, include_retained=include_retained))
    assert [s.job_id for s in selected] == [d["job_id"] for d in docs]
    for job, doc in zip(selected, docs, strict=True):
        allowed = who.can_administer(doc["project"]) and (include_retained or not doc["retain"])
        assert (job.skip_reason is None) == allowed


def test_a_user_without_an_admin_role_is_refused() -> None:
    """No admin role at all: AccessDenied before any document is looked at."""
    with pytest.raises(AccessDenied, match="needs role admin"):
        list(select_jobs([], Principal.of("alice"), include_retained=False))
