"""Who is asking: a user and their roles, and what that lets them see.

Roles: `admin` sees every job; `admin:PROJECT` sees every job of that project; everyone sees
their own jobs. The query module adds this scope to every query; nothing in a query can widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import InvalidInput
from shared.jobid import sanitize_name, sanitize_user


@dataclass(frozen=True, slots=True)
class Principal:
    user: str
    roles: frozenset[str] = frozenset()

    @classmethod
    def of(cls, user: str, roles: str | tuple[str, ...] | frozenset[str] = ()) -> Principal:
        """Build from raw names: the user is sanitized, each role checked."""
        raw = roles.split(",") if isinstance(roles, str) else list(roles)
        return cls(sanitize_user(user), frozenset(_role(r) for r in raw if r.strip()))

    @property
    def is_admin(self) -> bool:
        """Admin of everything."""
        return "admin" in self.roles

    @property
    def admin_projects(self) -> frozenset[str]:
        """Projects this principal administers (empty for a global admin: see `is_admin`)."""
        return frozenset(r.split(":", 1)[1] for r in self.roles if r.startswith("admin:"))

    @property
    def is_any_admin(self) -> bool:
        return self.is_admin or bool(self.admin_projects)

    def can_see(self, user: str, project: str) -> bool:
        """May this principal read a job of `user` in `project`?"""
        return self.is_admin or project in self.admin_projects or user == self.user

    def can_administer(self, project: str) -> bool:
        """May this principal run admin operations (bulk delete, policies) on `project`?"""
        return self.is_admin or project in self.admin_projects


def _role(raw: str) -> str:
    role = raw.strip().lower()
    if role == "admin":
        return role
    if role.startswith("admin:"):
        # Project names are sanitized as everywhere else, but a blank one is refused: unlike a
        # job's project, a grant must never fall back to `default` (a silent widening).
        project = role.split(":", 1)[1]
        if project.strip():
            return f"admin:{sanitize_name(project, what='project in role')}"
        raise InvalidInput(f"role {raw.strip()!r}", "admin:PROJECT needs a project name")
    raise InvalidInput(f"role {raw.strip()!r}", "must be 'admin' or 'admin:PROJECT'")
