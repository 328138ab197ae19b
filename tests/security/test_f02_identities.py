"""Finding 2: an identity maps to exactly one user (a configured claim, an explicit map or the
documented rule); look-alike names, other domains and collisions are refused, never folded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.jobid import is_valid_name
from shared.principal import Principal
from shared.settings import load_settings
from web.auth import (
    IdentityRules,
    NotAuthenticated,
    encode_client_principal,
    principal_from_header,
)

CONTOSO = IdentityRules(domain="contoso.com")


def user_of(identity: str, rules: IdentityRules = CONTOSO) -> str:
    return principal_from_header(encode_client_principal(identity), rules).user


def test_dave_of_the_configured_domain_is_dave() -> None:
    """`dave@contoso.com` (in any ASCII case: UPNs are case-insensitive) is dave."""
    assert user_of("dave@contoso.com") == "dave"
    assert user_of("Dave@Contoso.com") == "dave"


@pytest.mark.parametrize(
    "identity",
    [
        "dave@evil.example",
        "ｄａｖｅ@contoso.com",
        "ｄａｖｅ",
        "Dåve@contoso.com",
        "d.ave@contoso.com",
        "da-ve",
        "dave@contoso.com.evil.example",
        "dave@",
    ],
)
def test_look_alikes_and_other_domains_never_become_dave(identity: str) -> None:
    """Another domain, full-width letters, accents or punctuation are refused, never folded."""
    with pytest.raises(NotAuthenticated):
        user_of(identity)


def test_without_a_configured_domain_an_email_is_refused() -> None:
    """No ASCEND_USER_DOMAIN: only a bare Ascend user name is accepted by the rule."""
    with pytest.raises(NotAuthenticated, match="domain"):
        user_of("dave@contoso.com", IdentityRules())
    assert user_of("dave", IdentityRules()) == "dave"


def test_the_explicit_map_wins_and_its_users_are_reachable_only_through_it() -> None:
    """A mapped user signs in only through the mapped identity (e.g. an object ID)."""
    rules = IdentityRules(
        claim="http://schemas.microsoft.com/identity/claims/objectidentifier",
        mapping={"0f1e-oid": "dave"},
    )
    header = encode_client_principal("x", object_id="0f1e-oid")
    assert principal_from_header(header, rules).user == "dave"
    assert (
        principal_from_header(
            encode_client_principal("x", object_id="other"),
            IdentityRules(mapping={"0f1e-oid": "dave"}),
        ).user
        == "x"
    )
    with pytest.raises(NotAuthenticated, match="another identity"):
        principal_from_header(
            encode_client_principal("dave"), IdentityRules(mapping={"oid": "dave"})
        )


def test_a_map_with_two_identities_for_one_user_is_refused_at_startup() -> None:
    """ASCEND_USER_MAP with a collision is a configuration error naming both identities."""
    with pytest.raises(InvalidInput, match="ASCEND_USER_MAP"):
        load_settings(user_map={"oid-1": "dave", "oid-2": "dave"})
    with pytest.raises(InvalidInput, match="ASCEND_USER_MAP"):
        load_settings(user_map={"oid-1": "Dåve"})


def test_a_principal_with_two_different_user_claims_is_refused() -> None:
    """Two values of the configured claim are ambiguous: refused, not the first one taken."""
    import base64

    import orjson

    doc = {
        "auth_typ": "aad",
        "claims": [
            {"typ": "preferred_username", "val": "dave"},
            {"typ": "preferred_username", "val": "alice"},
        ],
    }
    with pytest.raises(NotAuthenticated, match="exactly one"):
        principal_from_header(base64.b64encode(orjson.dumps(doc)).decode())


@given(st.text(max_size=40))
def test_any_identity_text_is_one_exact_user_or_refused(identity: str) -> None:
    """Whatever the claim holds, the user is its exact lower-case ASCII form or it is refused."""
    try:
        user = user_of(identity)
    except NotAuthenticated:
        return
    local = identity.strip().partition("@")[0]
    assert is_valid_name(user)
    assert local.isascii()
    assert user == local.lower()


FOLDABLE_ROLES = [
    "admin:Proj-X",
    "admin:PROJ_X",
    "admin:proj-x",
    "admin:proj x",
    "admin:pröj_x",
    "admin:ｐｒｏｊ_ｘ",
    "admin:_proj_x_",
    "admin:proj_x_and_more_than_16",
]


@pytest.mark.parametrize("role", FOLDABLE_ROLES)
def test_a_role_naming_a_project_inexactly_grants_nothing(role: str) -> None:
    """In the header App Service sends, `admin:Proj-X` (and other spellings that would fold into
    `proj_x`) is ignored, never a grant of `proj_x`; the exact `admin:proj_x` is one."""
    header = encode_client_principal("dave", (role, "admin:other"))
    principal = principal_from_header(header)
    assert principal.admin_projects == frozenset({"other"})
    assert not principal.can_see("alice", "proj_x")
    assert principal_from_header(
        encode_client_principal("dave", ("admin:proj_x",))
    ).admin_projects == frozenset({"proj_x"})


@pytest.mark.parametrize("role", FOLDABLE_ROLES)
def test_ascend_roles_naming_a_project_inexactly_are_refused(
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the CLI, ASCEND_ROLES=admin:Proj-X is a one-line error naming the role, not proj_x."""
    monkeypatch.setenv("ASCEND_ROLES", role)
    settings = load_settings()
    with pytest.raises(InvalidInput, match="exactly as in job IDs") as caught:
        Principal.of("dave", settings.roles)
    assert role.strip() in str(caught.value)
