"""Files on directives and reports: the checks an upload must pass, and how it is stored.

Rules (settings `LOOP_UPLOAD_*`): at most `LOOP_UPLOAD_MAX_FILES` per upload, each at most
`LOOP_UPLOAD_MAX_BYTES` and not empty, of a type in `LOOP_UPLOAD_TYPES`. The type is decided by the file's
name and confirmed by its first bytes (a PNG must start like a PNG; a text file must be UTF-8 without NULs):
what the browser claims is not trusted, and it is not what the download answers with. Files are stored
under MEDIA_ROOT/loop/ with random names (command_center.storage.PrivateStorage) and go out only through
the scoped endpoint.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center.errors import Refused

from .models import Attachment, Directive, TaskReport, loop_storage

log = logging.getLogger(__name__)

# The first bytes each known type starts with (offset, bytes). Types without an entry are judged by name only.
SIGNATURES: dict[str, list[tuple[int, bytes]]] = {
    "image/jpeg": [(0, b"\xff\xd8\xff")],
    "image/png": [(0, b"\x89PNG\r\n\x1a\n")],
    "image/gif": [(0, b"GIF87a"), (0, b"GIF89a")],
    "application/pdf": [(0, b"%PDF-")],
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": [(0, b"PK\x03\x04")],
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [(0, b"PK\x03\x04")],
    "video/mp4": [(4, b"ftyp")],
}
# Names mimetypes may not know on a bare machine.
EXTENSIONS = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".mp4": "video/mp4",
}


@dataclass
class CheckedFile:
    upload: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str


def type_of(name: str) -> str | None:
    lower = name.lower()
    for ext, ctype in EXTENSIONS.items():
        if lower.endswith(ext):
            return ctype
    guessed, _encoding = mimetypes.guess_type(lower)
    return guessed


def _content_matches(ctype: str, head: bytes, upload: UploadedFile) -> bool:
    if ctype == "text/plain":
        upload.seek(0)
        data = upload.read()
        if b"\x00" in data:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    signatures = SIGNATURES.get(ctype)
    if not signatures:
        return True
    return any(head[offset : offset + len(sig)] == sig for offset, sig in signatures)


def check_uploads(files: Sequence[UploadedFile], *, field: str = "files") -> list[CheckedFile]:
    """Every file's size, type and first bytes; the first problem refuses the whole upload (400 on `field`)."""
    limit = settings.LOOP_UPLOAD_MAX_BYTES
    allowed = list(settings.LOOP_UPLOAD_TYPES)
    if len(files) > settings.LOOP_UPLOAD_MAX_FILES:
        raise Refused(field, _("At most %(n)d files at a time.") % {"n": settings.LOOP_UPLOAD_MAX_FILES})
    checked = []
    for upload in files:
        name = (upload.name or "file").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
        size = upload.size or 0
        if size == 0:
            raise Refused(field, _("%(name)s is empty.") % {"name": name})
        if size > limit:
            raise Refused(
                field,
                _("%(name)s is larger than %(max)s.") % {"name": name, "max": filesizeformat(limit)},
            )
        ctype = type_of(name)
        if ctype is None or ctype not in allowed:
            raise Refused(field, _("Files like %(name)s are not accepted.") % {"name": name})
        upload.seek(0)
        head = upload.read(64)
        if not _content_matches(ctype, head, upload):
            raise Refused(field, _("The content of %(name)s does not match its type.") % {"name": name})
        digest = hashlib.sha256()
        upload.seek(0)
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        checked.append(CheckedFile(upload=upload, name=name, content_type=ctype, size=size, sha256=digest.hexdigest()))
    return checked


def store(
    checked: Sequence[CheckedFile], *, actor: Any, directive: Directive | None = None, report: TaskReport | None = None
) -> list[Attachment]:
    """Write checked files to the loop storage and record them on the directive or the report.

    Called inside the service's transaction; a rollback leaves the file on disk without a row (an orphan that
    no endpoint can reach), never a row without its file. `orphans_delete` (beat, hourly) removes those.
    """
    now = timezone.now()
    stored = []
    for c in checked:
        a = Attachment(
            directive=directive,
            report=report,
            name=c.name,
            content_type=c.content_type,
            size=c.size,
            sha256=c.sha256,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
            uploaded_at=now,
        )
        a.file.save(c.name, c.upload, save=False)
        a.save()
        stored.append(a)
    return stored


def orphans_delete(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete files under the loop storage that no Attachment names: a report whose transaction rolled back
    after its files were written, or a process that died in between. Only files older than `older_than`,
    so an upload whose transaction is still open is never touched. Returns how many were deleted."""
    root = Path(loop_storage.location)
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    old = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff}
    if not old:
        return 0
    known = set(Attachment.objects.filter(file__in=list(old)).values_list("file", flat=True))
    deleted = 0
    for name, path in old.items():
        if name not in known:
            path.unlink(missing_ok=True)
            deleted += 1
    if deleted:
        log.info("loop files: deleted %d orphans", deleted)
    return deleted
