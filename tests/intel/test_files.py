"""Files on reports and directives: the size cap and the type allow-list (checked against the bytes), the
storage under MEDIA_ROOT with a random name, and the scoped download — station B cannot fetch station A's
file (404), nobody gets it from MEDIA_URL."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from intel.models import Attachment, Task

from .conftest import PDF, PNG, answers, api_as, issue, png, task_of


@pytest.fixture
def task(coded):
    t = task_of(issue(coded, coded.station_a1, coded.station_b1), coded.station_a1)
    station = api_as(coded.station_a1_officer)
    station.post(f"/api/tasks/{t.pk}/sign/", {}, format="json")
    station.post(f"/api/tasks/{t.pk}/start/", {}, format="json")
    return Task.objects.get(pk=t.pk)


def report(client, task, files):
    import json

    return client.post(
        f"/api/tasks/{task.pk}/report/",
        {"text": "已落实，见附件", "checklist": json.dumps(answers(task)), "files": files},
        format="multipart",
    )


def test_a_report_with_files_is_stored_privately_and_downloaded_in_scope(coded, task, media):
    station = api_as(coded.station_a1_officer)
    r = report(
        station, task, [png("现场照片.png"), SimpleUploadedFile("说明.pdf", PDF, content_type="application/pdf")]
    )
    assert r.status_code == 200, r.content
    files = r.json()["reports"][0]["attachments"]
    assert [(f["name"], f["content_type"], f["size"]) for f in files] == [
        ("现场照片.png", "image/png", len(PNG)),
        ("说明.pdf", "application/pdf", len(PDF)),
    ]
    a = Attachment.objects.get(pk=files[0]["id"])
    on_disk = Path(a.file.path)
    assert on_disk.is_file() and str(on_disk).startswith(str(media / "loop"))
    assert "现场照片" not in on_disk.name  # a random name on disk
    with pytest.raises(ValueError):
        a.file.url  # no public URL  # noqa: B018
    # Who may see the task may fetch the file: the station, the county above, the issuer, the supervisor.
    for user in (coded.station_a1_officer, coded.county_a_duty, coded.analyst, coded.supervisor):
        got = api_as(user).get(files[0]["url"])
        assert got.status_code == 200, user
        assert b"".join(got.streaming_content) == PNG  # type: ignore[attr-defined]
        assert got["Content-Type"] == "image/png"
        assert got["Content-Disposition"].startswith("attachment;")
        assert got["X-Content-Type-Options"] == "nosniff"
    # Station B has a task of the same directive, but not this one: 404, as for a file that does not exist.
    assert api_as(coded.station_b1_officer).get(files[0]["url"]).status_code == 404
    assert api_as(coded.partner_agent).get(files[0]["url"]).status_code == 404
    assert api_as(coded.station_b1_officer).get("/api/attachments/999999/").status_code == 404
    # Never from MEDIA_URL.
    client = api_as(coded.station_a1_officer)
    assert client.get(f"/media/loop/{a.file.name}").status_code == 404


def test_a_directive_file_reaches_every_recipient(coded, media):
    d = issue(coded, coded.station_a1, files=[png("布控图.png")])
    a = Attachment.objects.get(directive=d)
    assert api_as(coded.station_a1_officer).get(f"/api/attachments/{a.pk}/").status_code == 200
    assert api_as(coded.station_b1_officer).get(f"/api/attachments/{a.pk}/").status_code == 404


def test_the_size_cap(coded, task, settings):
    settings.LOOP_UPLOAD_MAX_BYTES = 1000
    station = api_as(coded.station_a1_officer)
    r = report(station, task, [png("大图.png", size=1001)])
    assert r.status_code == 400 and "大图.png" in r.json()["files"][0]
    assert Task.objects.get(pk=task.pk).state == "in_progress" and not Attachment.objects.exists()
    assert report(station, task, [png("正好.png", size=1000)]).status_code == 200


@pytest.mark.parametrize(
    "name,content",
    [
        ("脚本.exe", b"MZ\x90\x00" + b"\x00" * 60),  # not on the list
        ("page.html", b"<html><script>alert(1)</script></html>"),  # not on the list
        ("假图.png", b"<html><script>alert(1)</script></html>"),  # a PNG name on other bytes
        ("假文档.pdf", PNG),  # a PDF name on a PNG
        ("二进制.txt", b"\x00\x01\x02binary"),  # text that is not text
        ("无后缀", PNG),  # no type at all
        ("空.png", b""),  # empty
    ],
)
def test_the_type_allow_list_is_checked_against_the_bytes(coded, task, name, content):
    upload = SimpleUploadedFile(name, content, content_type="image/png")  # what the browser claims is ignored
    r = report(api_as(coded.station_a1_officer), task, [upload])
    assert r.status_code == 400 and "files" in r.json(), r.content
    assert not Attachment.objects.exists()


def test_the_number_of_files(coded, task, settings):
    settings.LOOP_UPLOAD_MAX_FILES = 2
    r = report(api_as(coded.station_a1_officer), task, [png("1.png"), png("2.png"), png("3.png")])
    assert r.status_code == 400 and "files" in r.json()


def test_utf8_text_and_a_configured_type(coded, task, settings):
    settings.LOOP_UPLOAD_TYPES = [*settings.LOOP_UPLOAD_TYPES, "image/gif"]
    files = [
        SimpleUploadedFile("记录.txt", "巡逻记录：二十二时至六时。".encode(), content_type="text/plain"),
        SimpleUploadedFile("动图.gif", b"GIF89a" + b"\x00" * 20, content_type="image/gif"),
    ]
    r = report(api_as(coded.station_a1_officer), task, files)
    assert r.status_code == 200, r.content
    assert [a["content_type"] for a in r.json()["reports"][0]["attachments"]] == ["text/plain", "image/gif"]


def test_files_a_rolled_back_report_left_behind_are_deleted_by_the_hourly_sweep(coded, task, media):
    """A report whose transaction fails after its files were written leaves orphans on disk (no endpoint can
    reach them); the sweep deletes old orphans and never a stored attachment or a file still being saved."""
    import os
    import time

    from intel import files
    from intel.models import loop_storage

    station = api_as(coded.station_a1_officer)
    assert report(station, task, [png("现场照片.png")]).status_code == 200
    kept = Path(Attachment.objects.get().file.path)
    root = Path(loop_storage.location)
    orphan, fresh = root / "2026" / "11" / "orphan.png", root / "2026" / "11" / "fresh.png"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(PNG)
    fresh.write_bytes(PNG)
    two_hours_ago = time.time() - 7200
    for path in (orphan, kept):
        os.utime(path, (two_hours_ago, two_hours_ago))

    assert files.orphans_delete() == 1
    assert not orphan.exists() and kept.is_file() and fresh.is_file()
    assert files.orphans_delete() == 0


def test_beat_runs_the_orphan_sweep_hourly():
    from command_center.celery import app

    app.loader.import_default_modules()
    app.finalize()
    entry = app.conf.beat_schedule["intel.delete_orphan_files"]
    assert entry["schedule"] == 3600.0 and entry["task"] in app.tasks
