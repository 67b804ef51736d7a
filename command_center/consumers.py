"""WebSocket /ws/board/: a logged-in person's live feed of their org's group.

Read-only: actions go through the API. On connect the client gets a `hello` with the group's current
`seq`; it then loads its state over REST and applies events with higher seqs, reloading on any gap.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from . import realtime
from .orgs import person_of


class BoardConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        info = await database_sync_to_async(self._who)()
        if info is None:
            await self.close(code=4403)  # before accept: the handshake is refused (HTTP 403)
            return
        org_id, org_name = info
        self.group = realtime.org_group(org_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        seq = await database_sync_to_async(realtime.current_seq)(self.group)
        await self.send_json(
            {
                "event": "hello",
                "seq": seq,
                "at": timezone.now().isoformat(),
                "data": {"org": {"id": org_id, "name": org_name}, "group": self.group},
            }
        )

    def _who(self) -> tuple[int, str] | None:
        person = person_of(self.scope.get("user"))
        if person is None:
            return None
        return person.org_id, person.org.name

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong", "at": timezone.now().isoformat()})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # A board event touches no database: skip channels' close_old_connections() before it, a thread
        # hop for every message to every socket — about a quarter of daphne's CPU per delivered message
        # with 200 boards (bench/board.py).
        if message.get("type") == realtime.MESSAGE_TYPE:
            await self.board_event(message)
            return
        await super().dispatch(message)

    async def board_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["envelope"])
