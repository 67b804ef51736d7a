"""The API's patterns grouped by first segment (command_center/urlgroups.py): every path resolves to the view
it resolved to before, with the same arguments, and a path no pattern takes is still a 404."""

from __future__ import annotations

import uuid

import pytest
from django.urls import NoReverseMatch, Resolver404, URLPattern, URLResolver, include, path, re_path
from django.urls.resolvers import RegexPattern, RoutePattern

from command_center import urlgroups
from command_center.urls import api_patterns


def _view(request):  # pragma: no cover - never called
    raise AssertionError


def resolver(patterns):
    return URLResolver(RegexPattern(r"^/"), [path("api/", include(patterns))])


def every_path(r: URLResolver) -> list[str]:
    """A path for every named API route, its arguments filled with a value its converters take."""
    out = []
    for name in sorted(k for k in r.reverse_dict if isinstance(k, str)):
        params = {p for possibilities, *_rest in r.reverse_dict.getlist(name) for _s, ps in possibilities for p in ps}
        for value in ("5", "x5", str(uuid.UUID(int=5)), "2026-12"):
            try:
                out.append("/" + r.reverse(name, **dict.fromkeys(params, value)))
                break
            except NoReverseMatch:
                continue
        else:
            raise AssertionError(f"no path for {name}")
    return out


def test_the_api_is_grouped_and_every_route_resolves_as_before():
    before, after = resolver(api_patterns), resolver(urlgroups.by_first_segment(api_patterns))
    grouped = [p for p in after.url_patterns[0].url_patterns]
    assert urlgroups.grouped(grouped)  # a pattern added with a non-literal first segment would undo it
    paths = every_path(before)
    assert len(paths) > 150 and "/api/incidents/" in paths and "/api/incidents/5/eido/" in paths
    extra = ["/api/incidents", "/api/incidents.json", "/api/nothing/", "/api/", "/api/incidents/5/nothing/",
             "/api/me/x/", "/api/incidentsx/"]  # fmt: skip
    for p in paths + extra:
        try:
            a = before.resolve(p)
        except Resolver404:
            with pytest.raises(Resolver404):
                after.resolve(p)
            continue
        b = after.resolve(p)
        assert (b.func, b.args, b.kwargs, b.url_name) == (a.func, a.args, a.kwargs, a.url_name), p
        assert b.route == a.route, p  # the metrics' route label and the schema read it
        assert after.reverse(a.url_name, *a.args, **a.kwargs) == before.reverse(a.url_name, *a.args, **a.kwargs)


def test_first_segments():
    seg = urlgroups.first_segment
    assert seg(re_path(r"^incidents/(?P<pk>[^/.]+)/$", _view)) == "incidents"
    assert seg(re_path(r"^incidents\.(?P<format>[a-z0-9]+)/?$", _view)) == "incidents"
    assert seg(path("diversion-rules/", _view)) == "diversion-rules"
    assert seg(path("healthz", _view)) == "healthz"
    assert seg(path("<int:pk>/", _view)) is None
    assert seg(re_path(r"^(?P<kind>\w+)/$", _view)) is None
    assert seg(path("abc<int:pk>/", _view)) is None  # the segment does not end before the converter


def test_a_segment_matches_itself_only():
    m = urlgroups.FirstSegment("incidents").match
    assert m("incidents/5/") == ("incidents/5/", (), {})
    assert m("incidents") is not None and m("incidents.json") is not None
    assert m("incidents-x/") is None and m("incident/") is None and m("x/incidents/") is None


def test_a_non_literal_first_segment_leaves_the_patterns_as_they_were():
    patterns: list[URLPattern | URLResolver] = [path("a/", _view, name="a"), path("<int:pk>/", _view, name="b")]
    assert urlgroups.by_first_segment(patterns) == patterns
    grouped = urlgroups.by_first_segment([path("a/", _view, name="a"), path("", include([path("b/", _view)]))])
    assert [getattr(p.pattern, "segment", None) for p in grouped] == ["a", "b"]
    assert isinstance(grouped[0].pattern, RoutePattern)
