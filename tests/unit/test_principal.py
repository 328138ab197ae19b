"""Who may see what: a user sees their own jobs, `admin:P` every job of P, `admin` everything;
roles are parsed strictly, with one-line errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.principal import Principal


def test_a_user_sees_only_their_own_jobs() -> None:
    """Without roles, a principal sees its own jobs in any project and nobody else's."""
    alice = Principal.of("Alice")
    assert alice.user == "alice"
    assert alice.can_see("alice", "frauddetect")
    assert not alice.can_see("bob", "frauddetect")
    assert not alice.is_any_admin
    assert not alice.can_administer("frauddetect")


def test_a_project_admin_sees_every_job_of_that_project_only() -> None:
    """`admin:fraud_detection` grants exactly that project."""
    admin = Principal.of("carol", "admin:fraud_detection")
    assert admin.admin_projects == frozenset({"fraud_detection"})
    assert admin.can_see("bob", "fraud_detection")
    assert not admin.can_see("bob", "recsys")
    assert admin.can_administer("fraud_detection")
    assert not admin.is_admin


def test_a_global_admin_sees_everything() -> None:
    """`admin` (any case, among blanks) sees and administers every project."""
    admin = Principal.of("root", " ADMIN ,, ")
    assert admin.is_admin
    assert admin.can_see("anyone", "anything")
    assert admin.can_administer("anything")


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ("root", "role 'root': must be 'admin' or 'admin:PROJECT'"),
        ("admin:frauddetect,superuser", "role 'superuser': must be 'admin' or 'admin:PROJECT'"),
        ("administrator", "role 'administrator': must be 'admin' or 'admin:PROJECT'"),
    ],
)
def test_unknown_roles_are_refused_with_one_line(roles: str, message: str) -> None:
    """A role that is neither admin nor admin:PROJECT is an InvalidInput naming it."""
    with pytest.raises(InvalidInput) as caught:
        Principal.of("alice", roles)
    assert str(caught.value) == message


def test_a_user_that_sanitizes_to_nothing_is_refused() -> None:
    """ASCEND_USER='!!!' cannot act as anyone."""
    with pytest.raises(InvalidInput, match=r"^user '!!!': has no letters or digits"):
        Principal.of("!!!")


def test_an_admin_role_without_a_project_is_refused() -> None:
    """`admin:` names no project and must not silently grant admin of `default`."""
    with pytest.raises(InvalidInput):
        Principal.of("alice", "admin:")


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.text(max_size=30), st.text(max_size=40))
def test_any_user_and_roles_text_builds_a_principal_or_one_line_error(
    user: str, roles: str
) -> None:
    """Arbitrary text never crashes: a principal or an InvalidInput without newlines."""
    try:
        principal = Principal.of(user, roles)
    except InvalidInput as exc:
        assert "\n" not in str(exc)  # noqa: PT017 - hypothesis: any input, two outcomes
    else:
        assert principal.can_see(principal.user, "any_project")
