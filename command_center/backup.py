"""Backups: the database (pg_dump, custom format) and MEDIA_ROOT (a tar), in one folder with a manifest.

    <out>/backup-20261207T114500Z/
        database.dump    pg_dump --format=custom of the configured database
        media.tar.gz     every file under MEDIA_ROOT, paths relative to it
        manifest.json    when, which server and pg_dump, the migrations head per app, row counts, media files

`manage.py backup` and `manage.py restore` call `backup_create` and `backup_restore` (docs/operations.md).
The dump is one consistent snapshot; the media tar is taken right after it, so a file uploaded in between may
be in the tar without its row (harmless: nothing points at it).

Both connect as the owner role when `DATABASE_OWNER_URL` is set (it owns every table; dbroles.py), else as
DATABASE_URL's role. The PostgreSQL client tools are the ones whose major version matches the server's:
`PG_BIN_DIR` when set, then the embedded server's (pgserver, `make run` without DATABASE_URL), then
/usr/lib/postgresql/<major>/bin and PATH; a newer major than the server's is taken when none matches.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
from django.conf import settings
from psycopg2 import sql

DUMP, MEDIA, MANIFEST = "database.dump", "media.tar.gz", "manifest.json"


class BackupError(Exception):
    """A backup or restore could not be done; the message says why."""


@dataclass(frozen=True)
class Database:
    """Where pg_dump / pg_restore connect (a Django DATABASES entry, or one parsed from a URL)."""

    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def of(cls, conf: dict[str, Any]) -> Database:
        return cls(
            name=str(conf["NAME"]),
            user=str(conf.get("USER") or ""),
            password=str(conf.get("PASSWORD") or ""),
            host=str(conf.get("HOST") or ""),
            port=str(conf.get("PORT") or ""),
        )

    def connect(self) -> Any:
        kwargs = {"dbname": self.name, "user": self.user, "password": self.password, "host": self.host}
        return psycopg2.connect(**{k: v for k, v in kwargs.items() if v}, port=self.port or None)

    def args(self) -> list[str]:
        out = ["--dbname", self.name]
        if self.host:
            out += ["--host", self.host]
        if self.port:
            out += ["--port", self.port]
        if self.user:
            out += ["--username", self.user]
        return [*out, "--no-password"]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def configured() -> Database:
    """The configured database, with the owner's credentials when there is an owner role."""
    conf = dict(settings.DATABASES["default"])
    if settings.DATABASE_OWNER is not None:
        for key in ("USER", "PASSWORD", "HOST", "PORT"):
            conf[key] = settings.DATABASE_OWNER.get(key, "")
    return Database.of(conf)


# --- The client tools ----------------------------------------------------------------------------------------


def _major(version_text: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if found is None:
        raise BackupError(f"cannot read a version in {version_text!r}")
    return int(found.group(1))


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("PG_BIN_DIR"):
        dirs.append(Path(os.environ["PG_BIN_DIR"]))
    # The embedded server's own binaries (devstack/stack.py); not installed or laid out otherwise: the others.
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import: not ours to fix
        from pgserver._commands import POSTGRES_BIN_PATH

        dirs.append(Path(POSTGRES_BIN_PATH))
    dirs.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    for name in ("pg_dump",):
        found = shutil.which(name)
        if found:
            dirs.append(Path(found).parent)
    return dirs


def tool(name: str, server_major: int) -> Path:
    """The `name` (pg_dump, pg_restore) whose major version is the server's, else the nearest newer one."""
    versions: list[tuple[int, Path]] = []
    for folder in _candidate_dirs():
        path = folder / name
        if not path.is_file() or any(p == path for _m, p in versions):
            continue
        try:
            out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            continue
        versions.append((_major(out.stdout.partition(")")[2]), path))  # "pg_dump (PostgreSQL) 15.20 (Debian …)"
    for major, path in versions:
        if major == server_major:
            return path
    newer = sorted((m, p) for m, p in versions if m > server_major)
    if newer:
        return newer[0][1]
    found = ", ".join(f"{p} ({m})" for m, p in versions) or "none"
    raise BackupError(f"no {name} for PostgreSQL {server_major} (found: {found}); set PG_BIN_DIR")


def _run(cmd: list[str], db: Database) -> None:
    done = subprocess.run(cmd, env=db.env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


# --- Backup --------------------------------------------------------------------------------------------------


def _facts(db: Database) -> dict[str, Any]:
    """The server's version, the migrations head per app and every table's row count."""
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version_num")
            version_num = int(cur.fetchone()[0])
            cur.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
            migrations = dict(cur.fetchall())
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            counts: dict[str, int] = {}
            for (table,) in cur.fetchall():
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                counts[table] = int(cur.fetchone()[0])
    finally:
        conn.close()
    return {"server_version_num": version_num, "migrations": migrations, "counts": counts}


def backup_create(*, out: Path, db: Database | None = None, media_root: Path | None = None) -> Path:
    """Write a backup of `db` (the configured one) and `media_root` (MEDIA_ROOT) into a new folder under
    `out`; returns the folder. A failed backup leaves no folder behind."""
    db = db or configured()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    at = datetime.now(UTC)
    folder = Path(out) / f"backup-{at:%Y%m%dT%H%M%SZ}"
    if folder.exists():
        raise BackupError(f"{folder} exists already")
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True)
    try:
        facts = _facts(db)
        pg_dump = tool("pg_dump", facts["server_version_num"] // 10000)
        _run([str(pg_dump), *db.args(), "--format=custom", "--file", str(partial / DUMP)], db)
        files = 0
        with tarfile.open(partial / MEDIA, "w:gz") as tar:
            if media_root.is_dir():
                for path in sorted(media_root.rglob("*")):
                    tar.add(path, arcname=str(path.relative_to(media_root)), recursive=False)
                    files += path.is_file()
        manifest = {
            "format": 1,
            "created_at": at.isoformat(),
            "database": db.name,
            "server_version_num": facts["server_version_num"],
            "pg_dump": str(pg_dump),
            "migrations": facts["migrations"],
            "counts": facts["counts"],
            "media_files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


# --- Restore -------------------------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not (path / MANIFEST).is_file() or not (path / DUMP).is_file() or not (path / MEDIA).is_file():
        raise BackupError(f"{path} is not a backup folder (it needs {MANIFEST}, {DUMP} and {MEDIA})")
    manifest: dict[str, Any] = json.loads((path / MANIFEST).read_text())
    return manifest


def backup_restore(*, path: Path, db: Database | None = None, media_root: Path | None = None) -> dict[str, Any]:
    """Replace `db`'s contents (the configured database) with the backup's, and `media_root`'s files
    (MEDIA_ROOT) with the backup's; returns the manifest. Stop the web, ws and worker processes first.

    The database is restored in one transaction (pg_restore --clean --if-exists --single-transaction): it
    is either all the backup's or left as it was. Objects are owned by the restoring role and its grants
    redone by `migrate`'s grant step (dbroles.grant_app_role) when there is an app role. The media folder is
    emptied and filled from the tar only after the database came back."""
    manifest = read_manifest(path)
    db = db or configured()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version_num")
            server_major = int(cur.fetchone()[0]) // 10000
    finally:
        conn.close()
    pg_restore = tool("pg_restore", server_major)
    _run(
        [
            str(pg_restore),
            *db.args(),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            str(Path(path) / DUMP),
        ],
        db,
    )
    media_root.mkdir(parents=True, exist_ok=True)
    for child in media_root.iterdir():  # emptied, not replaced: MEDIA_ROOT may be a mounted volume
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    with tarfile.open(Path(path) / MEDIA, "r:gz") as tar:
        tar.extractall(media_root, filter="data")  # no absolute paths, no `..`, no links out
    return manifest
