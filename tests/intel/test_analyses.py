"""研判: drafts, edits, publishing, and directives issued from a published analysis."""

from intel.models import Analysis, AnalysisTransition, Directive

from .conftest import api_as


def test_an_analysis_from_draft_to_directive(coded):
    analyst = api_as(coded.analyst)
    r = analyst.post("/api/analyses/", {"title": "夜间盗窃上升", "body": "两周上升四成"}, format="json")
    assert r.status_code == 201, r.content
    a = r.json()
    assert a["state"] == "draft" and a["author"]["username"] == "analyst" and a["org"] == coded.city.pk
    assert a["allowed"] == ["edit", "publish"]
    r = analyst.patch(f"/api/analyses/{a['id']}/", {"body": "两周上升四成，集中在车棚"}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["body"].endswith("车棚")
    directive = {"title": "加强巡防", "content": "见研判", "recipients": [coded.station_a1.pk], "analysis": a["id"]}
    r = analyst.post("/api/directives/", directive, format="json")
    assert r.status_code == 400 and "analysis" in r.json()  # a draft issues nothing
    r = analyst.post(f"/api/analyses/{a['id']}/publish/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "published" and r.json()["published_at"]
    assert analyst.patch(f"/api/analyses/{a['id']}/", {"title": "x"}, format="json").status_code == 409
    assert analyst.post(f"/api/analyses/{a['id']}/publish/", {}, format="json").status_code == 409
    r = analyst.post("/api/directives/", directive, format="json")
    assert r.status_code == 201 and r.json()["source"] == "analysis" and r.json()["analysis"] == a["id"]
    assert analyst.get(f"/api/analyses/{a['id']}/").json()["directives"] == [r.json()["id"]]
    assert [t.event for t in AnalysisTransition.objects.filter(subject_id=a["id"])] == ["create", "publish"]


def test_analyses_are_scoped_and_need_the_role(coded):
    r = api_as(coded.station_a1_officer).post("/api/analyses/", {"title": "x"}, format="json")
    assert r.status_code == 403
    a = api_as(coded.analyst).post("/api/analyses/", {"title": "x"}, format="json").json()
    assert api_as(coded.station_a1_officer).get(f"/api/analyses/{a['id']}/").status_code == 404
    assert api_as(coded.county_a_duty).get("/api/analyses/").json()["count"] == 0
    assert api_as(coded.supervisor).get("/api/analyses/").json()["count"] == 1
    assert api_as(coded.analyst).put(f"/api/analyses/{a['id']}/", {"title": "y"}, format="json").status_code == 405


def test_bad_input(coded):
    analyst = api_as(coded.analyst)
    r = analyst.post("/api/analyses/", {"title": "", "x": 1}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"x"}  # unknown fields are refused first
    r = analyst.post("/api/analyses/", {"title": ""}, format="json")
    assert r.status_code == 400 and set(r.json()) == {"title"}
    r = analyst.post("/api/analyses/", {"title": "t", "incidents": [999999]}, format="json")
    assert r.status_code == 400 and "999999" in r.json()["incidents"][0]
    assert not Analysis.objects.exists() and not Directive.objects.exists()
