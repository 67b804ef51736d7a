"""Input guards: what a request may carry before any view reads it, so that odd input is a 400, never a 500.

- JSON nested deeper than `JSON_MAX_DEPTH` (32) levels is refused: Python's parser recurses and fails with a
  RecursionError at about a thousand levels, and no message of ours nests past a handful. `loads()` is the
  one bounded decoder; the API's parser (`JSONParser`), multipart fields holding JSON and the board socket's
  frames use it.
- A time the client states (an incident's `reported_at`) must lie in a window around now
  (`WindowDateTimeField`, `INPUT_PAST_DAYS` back, `INPUT_FUTURE_S` ahead): year 1 overflows Python's datetime
  once shifted to UTC, and a call reported next month is a typo.
- A NUL byte in a query string is refused by `RejectNulMiddleware` for every URL (PostgreSQL's text cannot hold
  one, and no filter means it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError


class TooDeep(ValueError):
    """JSON nested deeper than allowed."""


def max_depth() -> int:
    return int(getattr(settings, "JSON_MAX_DEPTH", 32))


def check_depth(value: Any, limit: int | None = None) -> None:
    """Raise TooDeep if `value` (parsed JSON) nests lists and objects deeper than `limit` levels."""
    limit = max_depth() if limit is None else limit
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise TooDeep(_("JSON nested deeper than %(limit)d levels.") % {"limit": limit})
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def loads(text: str | bytes, *, limit: int | None = None, **kwargs: Any) -> Any:
    """json.loads with a bound on nesting: TooDeep (a ValueError) instead of a RecursionError."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise TooDeep(_("JSON nested deeper than %(limit)d levels.") % {"limit": max_depth()}) from None
    check_depth(value, limit)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the nesting bound: 400 `{"detail": "JSON nested deeper than 32 levels."}`."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON nested deeper than %(limit)d levels.") % {"limit": max_depth()}) from None
        try:
            check_depth(data)
        except TooDeep as exc:
            raise ParseError(str(exc)) from None
        return data


# --- Times a client states ------------------------------------------------------------------------------


def time_window() -> tuple[timedelta, timedelta]:
    """How far back and ahead a stated time may lie (settings INPUT_PAST_DAYS, INPUT_FUTURE_S)."""
    return timedelta(days=settings.INPUT_PAST_DAYS), timedelta(seconds=settings.INPUT_FUTURE_S)


class WindowDateTimeField(serializers.DateTimeField):
    """A DateTimeField that refuses a time outside [now − INPUT_PAST_DAYS, now + INPUT_FUTURE_S], saying the
    allowed range (in the server's time zone), and a time Python cannot shift to UTC (year 1 with an
    offset) with the same message instead of an OverflowError."""

    def _refuse(self) -> serializers.ValidationError:
        back, ahead = time_window()
        now = timezone.localtime()
        return serializers.ValidationError(
            _("Give a time between %(earliest)s and %(latest)s.")
            % {
                "earliest": (now - back).strftime("%Y-%m-%d %H:%M:%S %z"),
                "latest": (now + ahead).strftime("%Y-%m-%d %H:%M:%S %z"),
            }
        )

    def to_internal_value(self, value: Any) -> datetime:
        try:
            when = super().to_internal_value(value)
        except OverflowError:
            raise self._refuse() from None
        except serializers.ValidationError as exc:
            if "overflow" in str(exc.get_codes()):  # DRF's "datetime value out of range": say the range
                raise self._refuse() from None
            raise
        back, ahead = time_window()
        now = timezone.now()
        try:
            inside = now - back <= when <= now + ahead
        except OverflowError:  # pragma: no cover - comparing aware datetimes near the limits
            inside = False
        if not inside:
            raise self._refuse()
        return when


# --- Query strings --------------------------------------------------------------------------------------


class RejectNulMiddleware:
    """400 for a request whose query string carries a NUL byte (raw or %00): JSON for /api/, text for pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = _("A query parameter contains a NUL character.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    raw = request.META.get("QUERY_STRING", "")
    if "\x00" in raw or "%00" in raw:
        return True
    return any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.GET.lists())
