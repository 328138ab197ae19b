"""Finding 1: the API trusts `X-MS-CLIENT-PRINCIPAL` only behind App Service authentication with
Entra ID, reads roles the way App Service really sends them, and the infra turns that on."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from web.auth import (
    HEADER,
    IdentityRules,
    NotAuthenticated,
    encode_client_principal,
    resolve_principal,
)

INFRA = Path(__file__).resolve().parents[2] / "infra"
IN_AZURE_AUTH_ON = {"WEBSITE_SITE_NAME": "ascend-func", "WEBSITE_AUTH_ENABLED": "True"}

# The header App Service sends for an Entra ID (v2) sign-in, as Microsoft documents its shape:
# claims go through the default mapping, so app roles arrive as `roles` while `role_typ` is the
# long URI (see AzureAD/microsoft-identity-web#2166).
DOCUMENTED: dict[str, Any] = {
    "auth_typ": "aad",
    "claims": [
        {"typ": "aud", "val": "11111111-2222-3333-4444-555555555555"},
        {"typ": "iss", "val": "https://login.microsoftonline.com/tenant-id/v2.0"},
        {
            "typ": "http://schemas.microsoft.com/identity/claims/objectidentifier",
            "val": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        },
        {"typ": "name", "val": "Alice Example"},
        {"typ": "preferred_username", "val": "alice@contoso.com"},
        {"typ": "roles", "val": "admin:fraud_detection"},
        {"typ": "roles", "val": "Reader"},
        {"typ": "ver", "val": "2.0"},
    ],
    "name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
}


def header_of(document: Mapping[str, object]) -> str:
    return base64.b64encode(orjson.dumps(document)).decode()


def test_in_azure_every_request_is_refused_when_platform_auth_is_off() -> None:
    """On App Service without WEBSITE_AUTH_ENABLED, even a well-formed admin header is refused."""
    forged = encode_client_principal("mallory", ("admin",))
    with pytest.raises(NotAuthenticated, match="authentication is off"):
        resolve_principal(forged, IdentityRules(), {"WEBSITE_SITE_NAME": "ascend-func"})
    assert resolve_principal(forged, IdentityRules(), IN_AZURE_AUTH_ON).is_admin


def test_the_api_answers_401_in_azure_without_platform_auth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the ASGI app: the check runs before any service is touched."""
    from fastapi.testclient import TestClient

    from api import create_app

    monkeypatch.setenv("WEBSITE_SITE_NAME", "ascend-func")
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    with TestClient(create_app()) as client:
        forged = {HEADER: encode_client_principal("x", ("admin",))}
        response = client.get("/api/jobs", headers=forged)
    assert response.status_code == 401
    assert "authentication is off" in response.json()["detail"]


def test_a_principal_of_another_identity_provider_is_refused() -> None:
    """Only Entra ID (`aad`) principals are accepted: a github or twitter sign-in is not a user."""
    for provider in ("github", "twitter", "google", None):
        header = encode_client_principal("alice", auth_typ=provider or "")
        with pytest.raises(NotAuthenticated, match="identity provider"):
            resolve_principal(header, IdentityRules(), IN_AZURE_AUTH_ON)


def test_roles_are_read_from_the_header_app_service_really_sends() -> None:
    """App roles arrive as `roles` claims although `role_typ` names the long URI; non-Ascend
    roles are ignored and the user comes from the configured claim and domain."""
    rules = IdentityRules(domain="contoso.com")
    principal = resolve_principal(header_of(DOCUMENTED), rules, IN_AZURE_AUTH_ON)
    assert principal.user == "alice"
    assert principal.roles == frozenset({"admin:fraud_detection"})


def test_roles_under_the_declared_role_typ_also_count() -> None:
    """A principal whose roles use `role_typ` itself (the documented general form) works too."""
    document = dict(
        DOCUMENTED,
        role_typ="roles_uri",
        claims=[*DOCUMENTED["claims"], {"typ": "roles_uri", "val": "admin"}],
    )
    principal = resolve_principal(
        header_of(document), IdentityRules(domain="contoso.com"), IN_AZURE_AUTH_ON
    )
    assert principal.is_admin


def test_the_infra_turns_on_entra_id_authentication_for_the_function_app() -> None:
    """authsettingsV2: platform on, login required with 401, Entra ID the only provider, the Event
    Grid webhook path excluded, the app registration passed in as parameters."""
    bicep = (INFRA / "functions.bicep").read_text()
    block = bicep[bicep.index("'Microsoft.Web/sites/config@") :]
    block = block[: block.index("\n}\n")]
    assert "name: 'authsettingsV2'" in block
    assert re.search(r"platform:\s*{\s*enabled:\s*true", block)
    assert "requireAuthentication: true" in block
    assert "unauthenticatedClientAction: 'Return401'" in block
    assert "'/runtime/webhooks/EventGrid'" in block
    assert "azureActiveDirectory:" in block
    assert "clientId: authClientId" in block
    for other in ("facebook", "gitHub", "google", "twitter", "apple", "customOpenIdConnect"):
        assert other not in block
    main = (INFRA / "main.bicep").read_text()
    assert re.search(r"^param authClientId string", main, flags=re.MULTILINE)
    assert "authClientId: authClientId" in main
