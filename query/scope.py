"""What a principal may see, as a term AND-ed to every query (never taken from query text)."""

from __future__ import annotations

from query.ast import AnyOf, Equals, Term
from shared.principal import Principal


def scope_term(principal: Principal) -> Term | None:
    """`user = me`; `admin:P...` → `project IN (P...) OR user = me`; `admin` → no restriction."""
    if principal.is_admin:
        return None
    mine = Equals("user", (principal.user,))
    projects = tuple(sorted(principal.admin_projects))
    if not projects:
        return mine
    return AnyOf((Equals("project", projects), mine))
