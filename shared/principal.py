"""Who is asking: a user and their roles, and what that lets them see.

Roles: `admin` sees every job; `admin:PROJECT` sees every job of that project; everyone sees
their own jobs. PROJECT must be a project name exactly as in job IDs (`proj_x`): `admin:Proj-X` is
refused, never folded into `admin:proj_x` (two spellings must not grant the same project). The
query module adds this scope to every query; nothing in a query can widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import InvalidInput
from shared.jobid import is_valid_name, sanitize_user


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
    role = raw.strip()
    if role.lower() == "admin":
        return "admin"
    if role.lower().startswith("admin:"):
        # The project is taken exactly as written, never sanitized: a grant is not folded (case,
        # accents, punctuation) into another project's name, nor a blank one into `default`.
        project = role.split(":", 1)[1]
        if not project.strip():
            raise InvalidInput(f"role {role!r}", "admin:PROJECT needs a project name")
        if not is_valid_name(project):
            raise InvalidInput(
                f"role {role!r}",
                "the project must be named exactly as in job "
                "IDs (1-16 of a-z, 0-9, _, not at the ends)",
            )
        return f"admin:{project}"
    raise InvalidInput(f"role {role!r}", "must be 'admin' or 'admin:PROJECT'")
