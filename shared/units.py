"""Sizes for a human to read: bytes as B, KiB, MiB, GiB or TiB (powers of 1024)."""

from __future__ import annotations

BYTES_PER_KIB = 1024
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(value: float, *, grouped: bool = True) -> str:
    """`1.2 GiB`: whole bytes below 1 KiB, one decimal above, thousands grouped unless not
    `grouped` (`1,536.0 TiB`)."""
    amount = float(value)
    for unit in _UNITS[:-1]:
        if abs(amount) < BYTES_PER_KIB:
            return _format(amount, unit, grouped)
        amount /= BYTES_PER_KIB
    return _format(amount, _UNITS[-1], grouped)


def _format(amount: float, unit: str, grouped: bool) -> str:
    decimals = 0 if unit == "B" else 1
    return f"{amount:,.{decimals}f} {unit}" if grouped else f"{amount:.{decimals}f} {unit}"
