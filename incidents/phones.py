"""What a caller's number may be (来电号码): a Chinese mobile, a landline with its area code, or a short
service number — or, said outright, none (无号码) or not known (号码不详). The intake API refuses anything
else (400 on `caller_phone`); the intake page checks the same rule while the call-taker types
(static/js/intake-desk.js mirrors `PATTERNS`).

Spaces and hyphens between digit groups are allowed and kept as typed: matching (selectors.phone_key)
reads the digits only."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

# Said instead of a number: the record keeps which, and repeat hints never match on either.
NO_NUMBER = "无号码"
NUMBER_UNKNOWN = "号码不详"
MARKERS = (NO_NUMBER, NUMBER_UNKNOWN)

PATTERNS = {
    # 1[3-9] and nine more digits, optionally after +86 / 0086.
    "mobile": re.compile(r"(?:\+?86|0086)?1[3-9]\d{9}"),
    # Area code 0xx or 0xxx, then 7–8 digits (the '-' between them is optional, stripped before this).
    "landline": re.compile(r"0[1-9]\d{1,2}\d{7,8}"),
    # 110, 119, 120, 122, 114 (three digits from 1); 12345, 12315, 10086, 95555 (five from 1 or 9). No
    # four-digit numbers: none is in service, and four digits are more often a number cut short.
    "service": re.compile(r"1\d{2}|[19]\d{4}"),
}


def phone_kind(value: str) -> str | None:
    """'mobile', 'landline', 'service', 'marker' (无号码 / 号码不详), 'blank', or None for anything else."""
    raw = value.strip()
    if not raw:
        return "blank"
    if raw in MARKERS:
        return "marker"
    compact = re.sub(r"[\s-]", "", raw)
    if compact.startswith("+") and not compact.startswith("+86"):
        return None
    for kind, pattern in PATTERNS.items():
        if pattern.fullmatch(compact):
            return kind
    return None


def phone_error() -> str:
    return _(
        "Give a mobile number (11 digits, 1[3-9]…), a landline with its area code (0571-87654321) or a service "
        "number (110, 12345); if the caller has none, mark it 无号码 or 号码不详."
    )
