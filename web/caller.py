"""The caller of a request as a FastAPI dependency: `Caller` is the `Principal` of the request.

The API and the dashboard annotate a route parameter with `Caller`; both read the rules from the
app's composition root (`app.state.services`) and, for `ascend serve --as-cli-user` only, take
`app.state.anonymous_as` for a request without the principal header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from shared.principal import Principal
from web.auth import IdentityRules, resolve_principal


def caller_of(
    request: Request, x_ms_client_principal: Annotated[str | None, Header()] = None
) -> Principal:
    """The principal of this request (`NotAuthenticated` when there is none)."""
    anonymous: Principal | None = request.app.state.anonymous_as
    if x_ms_client_principal is None and anonymous is not None:
        return anonymous
    rules = IdentityRules.from_settings(request.app.state.services().settings)
    return resolve_principal(x_ms_client_principal, rules)


Caller = Annotated[Principal, Depends(caller_of)]
