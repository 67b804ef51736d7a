"""WebSocket /ws/board/: a logged-in person's live feed of their org's group.

Read-only: actions go through the API. On connect the client gets a `hello` with the group's current
`seq`; it then loads its state over REST and applies events with higher seqs, reloading on any gap.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from . import inputs, metrics, realtime
from .orgs import person_of
from .pubsub import Feed

# Close code for "your feed lost messages, reconnect and reload" (pubsub.RESET): the page reconnects on any
# close, and its hello makes it reload over REST.
CLOSE_RESYNC = 4000
# A frame the socket cannot take: binary (1003, unsupported data), or text that is not a small JSON message
# (1007, invalid payload). The screens only ever send `{"type": "ping"}`.
CLOSE_UNSUPPORTED = 1003
CLOSE_INVALID = 1007
MAX_FRAME = 4096

log = logging.getLogger(__name__)


class BoardConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    feed: Feed | None = None
    closing = False
    counted = False

    async def connect(self) -> None:
        info = await database_sync_to_async(self._who)()
        if info is None:
            self.closing = True
            await self.close(code=4403)  # before accept: the handshake is refused (HTTP 403)
            return
        org_id, org_name = info
        self.group = realtime.org_group(org_id)
        # The group's pushes come through a feed: the process's reader writes each to this socket as it
        # arrives (pubsub.py), holding them until the hello below is out.
        self.feed = self.channel_layer.open_feed(self.channel_name, self._write)
        try:
            await self.channel_layer.group_add(self.group, self.channel_name)
        except Exception:  # Redis is away: the handshake fails, the page retries; leave nothing behind
            self.feed.close()
            raise
        await self.accept()
        metrics.socket_opened()
        self.counted = True
        seq = await database_sync_to_async(realtime.current_seq)(self.group)
        await self.send_json(
            {
                "event": "hello",
                "seq": seq,
                "at": timezone.now().isoformat(),
                "data": {"org": {"id": org_id, "name": org_name}, "group": self.group},
            }
        )
        await self.feed.release()

    def _who(self) -> tuple[int, str] | None:
        person = person_of(self.scope.get("user"))
        if person is None:
            return None
        return person.org_id, person.org.name

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            metrics.socket_closed()
        if self.feed is not None:
            self.feed.close()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """A frame from the screen: only small JSON text. Anything else closes the socket with a log line
        (no traceback: a malformed frame is the client's fault, not an error of ours)."""
        if text_data is None:
            await self._refuse(CLOSE_UNSUPPORTED, "a binary frame")
            return
        if len(text_data) > MAX_FRAME:
            await self._refuse(CLOSE_INVALID, f"a frame of {len(text_data)} characters")
            return
        try:
            content = inputs.loads(text_data)
        except ValueError as exc:  # not JSON, or nested too deep (inputs.TooDeep)
            await self._refuse(CLOSE_INVALID, f"a frame that is not acceptable JSON ({str(exc)[:80]})")
            return
        await self.receive_json(content)

    async def _refuse(self, code: int, what: str) -> None:
        user = self.scope.get("user")
        log.warning("ws: %s from %s; closing with %d", what, getattr(user, "username", "?"), code)
        self.closing = True
        await self.close(code=code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong", "at": timezone.now().isoformat()})

    async def _write(self, message: dict[str, Any]) -> None:
        """The feed's handler, run by the process's reader: the envelope's JSON text, encoded once by the web
        process for every socket of the group, goes out as it is. It must not wait (pubsub.py)."""
        if not self.closing:
            await self.send(text_data=message["text"])

    async def board_event(self, message: dict[str, Any]) -> None:
        """A push that came through channels' queue instead of the feed (not in normal operation)."""
        await self._write(message)

    async def feed_reset(self, message: dict[str, Any]) -> None:
        """pubsub.RESET: this socket's feed lost messages (it fell behind, or Redis went away): close, so the
        screen reconnects and reloads."""
        if not self.closing:
            self.closing = True
            await self.close(code=CLOSE_RESYNC)
