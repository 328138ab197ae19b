"""Who calls the API: the principal App Service authentication puts in `X-MS-CLIENT-PRINCIPAL`.

`resolve_principal` is the one place a request becomes a `Principal` (the API and the dashboard
both call it). The rules, in order:

1. In Azure (`WEBSITE_SITE_NAME` is set) every request is refused unless platform
   authentication is on (`WEBSITE_AUTH_ENABLED=True`): without it the header is whatever the
   client sent.
2. The header is base64 of `{"auth_typ", "claims": [{"typ", "val"}], "name_typ", "role_typ"}`;
   `auth_typ` must be the configured provider (`ASCEND_AUTH_PROVIDER`, `aad`).
3. The user comes from one configured claim (`ASCEND_USER_CLAIM`, `preferred_username`): an
   explicit entry of `ASCEND_USER_MAP` wins; otherwise the value, lower-cased (ASCII only: UPNs are
   case-insensitive), must be an Ascend user name as it stands, or `NAME@ASCEND_USER_DOMAIN`.
   Nothing is folded: accents, other scripts, punctuation or a foreign domain are refused, and a
   user named in the map is reachable only through its mapped identity (never two identities to
   one user).
4. Roles are the claims of type `role_typ` or `roles` (Entra's app roles arrive as `roles` whatever
   `role_typ` says) that are Ascend roles (`admin`, `admin:PROJECT` with PROJECT exactly a project
   name); others (`Reader`, `admin:Proj-X`) are ignored, never folded into a grant.
Anything missing or malformed is `NotAuthenticated`, never a guess.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import AscendError, InvalidInput
from shared.jobid import is_valid_name
from shared.principal import Principal
from shared.settings import Settings

HEADER = "X-MS-CLIENT-PRINCIPAL"
MAX_HEADER_CHARS = 64 * 1024
ROLES_CLAIM = "roles"
OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
NAME_TYP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
ROLE_TYP = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


class NotAuthenticated(AscendError):
    """The request carries no usable client principal."""


class Claim(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    typ: str
    val: str


class ClientPrincipal(BaseModel):
    """The decoded header, as App Service writes it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    auth_typ: str | None = None
    claims: list[Claim] = Field(default_factory=list, max_length=1000)
    name_typ: str = NAME_TYP
    role_typ: str = ROLE_TYP


@dataclass(frozen=True)
class IdentityRules:
    """How a client principal maps to an Ascend user (from `ASCEND_AUTH_*`/`ASCEND_USER_*`)."""

    provider: str = "aad"
    claim: str = "preferred_username"
    domain: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityRules:
        return cls(
            settings.auth_provider,
            settings.user_claim,
            settings.user_domain.lower() if settings.user_domain else None,
            dict(settings.user_map),
        )

    def user_of(self, client: ClientPrincipal) -> str:
        """The one Ascend user of this principal, or `NotAuthenticated` saying why not."""
        values = [c.val.strip() for c in client.claims if c.typ == self.claim and c.val.strip()]
        if len(set(values)) != 1:
            raise NotAuthenticated(f"{HEADER} needs exactly one {self.claim!r} claim")
        identity = values[0]
        if identity in self.mapping:
            return self.mapping[identity]
        user = self._by_rule(identity)
        if user in self.mapping.values():
            raise NotAuthenticated(f"user {user!r} signs in through another identity only")
        return user

    def _by_rule(self, identity: str) -> str:
        name, at, domain = identity.partition("@")
        if at and (self.domain is None or domain.lower() != self.domain):
            raise NotAuthenticated(f"identity {identity!r} is not of the configured domain")
        user = name.lower() if name.isascii() else name
        if not is_valid_name(user):
            raise NotAuthenticated(
                f"identity {identity!r} is not an Ascend user name (add it to ASCEND_USER_MAP)"
            )
        return user


def decode_client_principal(header: str | None) -> ClientPrincipal:
    """The header's JSON as a model, or `NotAuthenticated` saying what is wrong."""
    if not header or not header.strip():
        raise NotAuthenticated(
            f"{HEADER} header is missing: sign in through App Service "
            "(locally: `ascend serve --as-cli-user`, or send the header as "
            "the README's curl example does)"
        )
    if len(header) > MAX_HEADER_CHARS:
        raise NotAuthenticated(f"{HEADER} header is longer than {MAX_HEADER_CHARS} characters")
    try:
        raw = base64.b64decode(header.strip(), validate=True)
        return ClientPrincipal.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError):
        raise NotAuthenticated(f"{HEADER} header is not base64 of a client principal") from None


def require_platform_auth(environ: Mapping[str, str]) -> None:
    """In Azure, refuse when App Service authentication is off (the header is then forgeable)."""
    platform_on = environ.get("WEBSITE_AUTH_ENABLED", "").lower() == "true"
    if environ.get("WEBSITE_SITE_NAME") and not platform_on:
        raise NotAuthenticated(
            "App Service authentication is off on this app: every request "
            "is refused until it is turned on"
        )


def resolve_principal(
    header: str | None, rules: IdentityRules, environ: Mapping[str, str] | None = None
) -> Principal:
    """The Ascend principal of a request, or `NotAuthenticated` (the rules above)."""
    require_platform_auth(os.environ if environ is None else environ)
    client = decode_client_principal(header)
    if client.auth_typ != rules.provider:
        raise NotAuthenticated(
            f"{HEADER} comes from identity provider {client.auth_typ!r}, not {rules.provider!r}"
        )
    user = rules.user_of(client)
    role_types = {client.role_typ, ROLES_CLAIM}
    roles = [c.val for c in client.claims if c.typ in role_types and _is_ascend_role(c.val)]
    return Principal(user, Principal.of("x", tuple(roles)).roles)


def principal_from_header(header: str | None, rules: IdentityRules | None = None) -> Principal:
    """`resolve_principal` with the default rules, outside Azure's checks (tests, tools)."""
    return resolve_principal(header, rules or IdentityRules(), environ={})


def _is_ascend_role(value: str) -> bool:
    """`admin` or `admin:PROJECT` with PROJECT exactly a project name; anything else (another
    app's role, `admin:Proj-X`) is ignored, never folded into a project's grant."""
    role = value.strip().lower()
    if role != "admin" and not role.startswith("admin:"):
        return False
    try:
        Principal.of("x", (value,))
    except InvalidInput:
        return False
    return True


def encode_client_principal(
    user: str,
    roles: tuple[str, ...] = (),
    *,
    auth_typ: str = "aad",
    object_id: str = "00000000-0000-0000-0000-000000000000",
) -> str:
    """The header App Service sends for an Entra ID user (for tests and local tools): the
    documented shape, with the user as `preferred_username` and app roles as `roles` claims."""
    claims = [
        Claim(typ=OBJECT_ID_CLAIM, val=object_id),
        Claim(typ="name", val=user),
        Claim(typ="preferred_username", val=user),
        Claim(typ="ver", val="2.0"),
    ]
    claims += [Claim(typ=ROLES_CLAIM, val=r) for r in roles]
    client = ClientPrincipal(auth_typ=auth_typ, claims=claims, name_typ=NAME_TYP, role_typ=ROLE_TYP)
    return base64.b64encode(client.model_dump_json().encode()).decode()
