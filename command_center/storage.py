"""Private file storage: uploads (the loop's attachments, volunteers' photos) live under a folder of
MEDIA_ROOT with random names and have no URL — they go out only through a view that checks the reader may
see what they belong to. MEDIA_ROOT is read when first used, so a test's setting is honoured."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from functools import cached_property
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """MEDIA_ROOT/<folder>/, with no URL."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    @cached_property
    def base_location(self) -> str:
        return os.path.join(settings.MEDIA_ROOT, self.folder)

    def url(self, name: str | None) -> str:
        raise ValueError(f"{self.folder} files have no public URL: use the scoped endpoint")


def random_name(uploaded_at: datetime, filename: str) -> str:
    """A random name in a month folder: the original name is kept in the row, never on disk."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"{uploaded_at:%Y/%m}/{uuid.uuid4().hex}{suffix}"
