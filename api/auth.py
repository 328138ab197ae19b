"""Who calls the API: the principal App Service authentication puts in `X-MS-CLIENT-PRINCIPAL`.

The header is base64 of `{"auth_typ": ..., "claims": [{"typ": ..., "val": ...}], "name_typ": ...,
"role_typ": ...}`. The user is the first claim of type `name_typ` (an e-mail-like name keeps its
part before `@`, which is how Ascend user names are formed); roles are the claims of type
`role_typ` that are Ascend roles (`admin`, `admin:PROJECT`); other application roles are ignored.
Anything missing or malformed is `NotAuthenticated`, never a guess.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import AscendError, InvalidInput
from shared.principal import Principal

HEADER = "X-MS-CLIENT-PRINCIPAL"
MAX_HEADER_CHARS = 64 * 1024


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
    name_typ: str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
    role_typ: str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


def decode_client_principal(header: str | None) -> ClientPrincipal:
    """The header's JSON as a model, or `NotAuthenticated` saying what is wrong."""
    if not header or not header.strip():
        raise NotAuthenticated(f"{HEADER} header is missing: sign in through App Service")
    if len(header) > MAX_HEADER_CHARS:
        raise NotAuthenticated(f"{HEADER} header is longer than {MAX_HEADER_CHARS} characters")
    try:
        raw = base64.b64decode(header.strip(), validate=True)
        return ClientPrincipal.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError):
        raise NotAuthenticated(f"{HEADER} header is not base64 of a client principal") from None


def principal_from_header(header: str | None) -> Principal:
    """The Ascend principal of a request, or `NotAuthenticated`."""
    client = decode_client_principal(header)
    names = [c.val for c in client.claims if c.typ == client.name_typ and c.val.strip()]
    if not names:
        raise NotAuthenticated(f"{HEADER} has no {client.name_typ!r} claim")
    user = names[0].strip().split("@", 1)[0]
    roles = [c.val for c in client.claims if c.typ == client.role_typ and _is_ascend_role(c.val)]
    try:
        return Principal.of(user, tuple(roles))
    except InvalidInput as exc:
        raise NotAuthenticated(f"{HEADER} names no usable user ({exc.reason})") from None


def _is_ascend_role(value: str) -> bool:
    role = value.strip().lower()
    if role != "admin" and not role.startswith("admin:"):
        return False
    try:
        Principal.of("x", (role,))
    except InvalidInput:
        return False
    return True


def encode_client_principal(user: str, roles: tuple[str, ...] = (), *,
                            auth_typ: str = "aad") -> str:
    """The header App Service would send for `user` with `roles` (for tests and local tools)."""
    client = ClientPrincipal(auth_typ=auth_typ, claims=[Claim(typ="name", val=user)]
                             + [Claim(typ="roles", val=r) for r in roles],
                             name_typ="name", role_typ="roles")
    return base64.b64encode(client.model_dump_json().encode()).decode()
