"""The shape of a decoded cursor, checked strictly (a pydantic model, imported by
`query.cursor` only when a cursor comes back, so a first page needs no pydantic)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    s: str
    d: bool
    v: str | int | float | None
    c: str
    j: str
