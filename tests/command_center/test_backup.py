"""A round trip: back up the test database and media, spoil both, restore into a throw-away database and the
media folder, and find the rows and files as they were. The test database is only ever read (pg_dump)."""

import json
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from command_center import backup
from tests.testapp.models import Widget

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump sees only what is committed


@pytest.fixture
def scratch_db():
    """An empty database beside the test database, dropped afterwards."""
    name = f"scratch_restore_{uuid.uuid4().hex[:10]}"
    conf = connection.settings_dict
    admin = backup.Database.of({**conf, "NAME": "postgres"}).connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield backup.Database.of({**conf, "NAME": name})
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def url_of(db: backup.Database) -> str:
    host = db.host.replace("/", "%2F")
    return f"postgres://{db.user}:{db.password}@{host}:{db.port or 5432}/{db.name}"


def test_backup_then_restore_brings_back_rows_and_files(world, settings, tmp_path, scratch_db):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    media = Path(settings.MEDIA_ROOT)
    (media / "loop" / "7").mkdir(parents=True)
    (media / "loop" / "7" / "报告.txt").write_text("现场照片说明")
    Widget.objects.create(org=world.station_a1, name="kept")
    changed = Widget.objects.create(org=world.station_a1, name="before")

    call_command("backup", "--out", str(tmp_path / "backups"))
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["testapp_widget"] == 2
    assert manifest["media_files"] == 1
    assert manifest["migrations"]["command_center"].startswith("00")
    assert not list((tmp_path / "backups").glob("*.partial"))

    # What happens after the backup: a row changed, one deleted, the file gone, another one added.
    Widget.objects.filter(pk=changed.pk).update(name="after")
    Widget.objects.filter(name="kept").delete()
    (media / "loop" / "7" / "报告.txt").unlink()
    (media / "stray.bin").write_bytes(b"x")

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(folder), "--into", url_of(scratch_db))
    call_command("restore", str(folder), "--yes", "--into", url_of(scratch_db))

    conn = scratch_db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM testapp_widget ORDER BY name")
            assert [r[0] for r in cur.fetchall()] == ["before", "kept"]
            cur.execute("SELECT count(*) FROM command_center_org")
            assert cur.fetchone()[0] == manifest["counts"]["command_center_org"]
    finally:
        conn.close()
    assert (media / "loop" / "7" / "报告.txt").read_text() == "现场照片说明"
    assert not (media / "stray.bin").exists()
    # The test database itself was only read.
    assert sorted(Widget.objects.values_list("name", flat=True)) == ["after"]


def test_restoring_twice_over_a_database_replaces_it(settings, tmp_path, scratch_db, world):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    Widget.objects.create(org=world.station_a1, name="one")
    folder = backup.backup_create(out=tmp_path)
    backup.backup_restore(path=folder, db=scratch_db)
    conn = scratch_db.connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("UPDATE testapp_widget SET name = 'spoilt'")
    conn.close()
    backup.backup_restore(path=folder, db=scratch_db)  # --clean --if-exists over what is there
    conn = scratch_db.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM testapp_widget")
        assert [r[0] for r in cur.fetchall()] == ["one"]
    conn.close()


def test_a_folder_that_is_no_backup_is_refused(tmp_path, db):
    with pytest.raises(CommandError, match="not a backup folder"):
        call_command("restore", str(tmp_path), "--yes")


def test_the_client_tools_match_the_server():
    with connection.cursor() as cur:
        cur.execute("SHOW server_version_num")
        major = int(cur.fetchone()[0]) // 10000
    path = backup.tool("pg_dump", major)
    assert path.is_file()
    with pytest.raises(backup.BackupError, match="no pg_dump for PostgreSQL 99"):
        backup.tool("pg_dump", 99)
