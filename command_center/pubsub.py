"""The channel layer the live screens run on: channels_redis's pub/sub layer, with direct feeds, bounded,
and honest about loss.

Why: a push is PUBLISHed once per group (realtime._fan_out); each ASGI process subscribed to the group
reads it once and writes it to its own sockets. The core layer (one message per group member in Redis,
popped one round trip per message by every consumer's receive loop) cost about 0.3 ms of daphne CPU per
delivered message, and 200 boards at 50 incidents/s fell seconds behind (bench/board.py, README).

On top of channels_redis's RedisPubSubChannelLayer:

- **Feeds.** A consumer may open a *feed* for its channel (`open_feed(channel, handler)`): the process's
  reader then hands each group message for that channel straight to `handler` (which writes the frame to
  the socket), in order, decoded once per group message — instead of queueing it for channels' per-consumer
  receive loop (a task, an `asyncio.wait` and a decode per message per socket: about half of what the plain
  pub/sub layer spent per delivery). A feed *holds* what arrives until the consumer `release()`s it (after
  its `hello`), so nothing overtakes the hello. A handler must not wait: daphne's send hands the frame to
  Twisted's buffer and returns; a server whose send waited on a slow client would hold up every socket
  of the process.
- **Bounded memory.** A feed holds at most `capacity` messages while its socket connects, and a channel's
  queue (consumers without a feed) at most `capacity`; beyond that the socket is told to close (`RESET`,
  reason "behind") and what it held is dropped: its screen reconnects and reloads over REST, as on any gap.
  Past that, nothing queues per socket in our code: a frame for a client that reads slowly waits in
  Twisted's send buffer, which daphne bounds by closing a socket that has not answered its ping for 30 s
  (pings every 20 s), and a process that falls behind as a whole leaves its messages in Redis's output
  buffer for the subscriber, which Redis caps (`client-output-buffer-limit pubsub`, 32 MB) by cutting the
  connection — a lost subscription, below.
- **A lost subscription closes the sockets.** Pub/sub drops what is published while the subscriber's
  connection is down, and Redis may come back empty (sequences restarting at 1, which a screen would take
  for old news). Whenever the subscriber connection fails or is re-established, every socket of the
  process is told to close (reason "lost"): the screens reconnect — refused until Redis answers — and
  reload. redis-py re-subscribes the process's channels when it reconnects; subscriptions of sockets that
  went away meanwhile are dropped then (`_prune`). (channels_redis's own receive loop also let a
  TimeoutError end it, and with it every delivery of the process.)
- **Push lag is measured here** (`PUSH_LAG`, `cc_push_lag_seconds` on /metrics): for each group message
  handed to this process's sockets, the time from the envelope's `at` — stamped by the web or worker
  process right after its commit — to the moment the last socket's frame was handed to daphne. Read once per
  group message from the envelope's text (its layout is fixed by realtime._fan_out), not per socket. The
  two clocks are different machines' in a cluster: keep them on NTP.
- **Sockets' own channels are local**: only groups are subscribed in Redis (see `_subscribe_to_channel`);
  `channel_layer.send()` to one consumer is not supported.

Messages use the layer's own wire format (msgpack, no encryption or prefix), so realtime.py can publish
them from synchronous code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, create_pool, decode_hosts
from prometheus_client import Histogram
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)

# The message a consumer gets when it must close its socket (consumers.py `feed_reset`); `reason` is
# "behind" (it reached capacity) or "lost" (the subscription to Redis broke).
RESET = "feed.reset"

Handler = Callable[[dict[str, Any]], Awaitable[None]]

# Commit → frame handed to the sockets, per group message delivered by this process (see the module).
PUSH_LAG = Histogram(
    "cc_push_lag_seconds",
    "Time from a push's commit (its envelope's `at`) to its frames handed to this process's board sockets.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_AT = ', "at": "'


def envelope_at(text: str) -> float | None:
    """The envelope's `at` (realtime._fan_out writes '{"event": …, "seq": N, "at": "<ISO>", "data": …}') as
    a Unix time, without decoding the JSON; None when the text does not have that layout."""
    start = text.find(_AT)
    if start < 0:
        return None
    start += len(_AT)
    end = text.find('"', start)
    try:
        return datetime.fromisoformat(text[start:end]).timestamp()
    except ValueError:
        return None


class BoardChannelLayer(RedisPubSubChannelLayer):
    """CHANNEL_LAYERS backend. CONFIG: `hosts` (one), `prefix`, `capacity` (messages held per socket)."""

    def __init__(self, *args: Any, capacity: int = 1000, **kwargs: Any) -> None:
        if kwargs.get("symmetric_encryption_keys") or kwargs.get("serializer_format", "msgpack") != "msgpack":
            raise ValueError("BoardChannelLayer speaks plain msgpack: realtime.py publishes it from Redis")
        super().__init__(*args, **kwargs)
        self.capacity = capacity
        self.prefix: str = kwargs.get("prefix", "asgi")
        self.hosts = decode_hosts(kwargs.get("hosts", args[0] if args else None))

    def group_channel_name(self, group: str) -> str:
        """The Redis channel a group's messages are published on (RedisPubSubLoopLayer's naming)."""
        return f"{self.prefix}__group__{group}"

    def open_feed(self, channel: str, handler: Handler) -> Feed:
        """Deliver `channel`'s group messages to `handler`, held until `Feed.release()`. Call it before
        group_add, from the consumer's event loop; `Feed.close()` on disconnect."""
        return self._get_layer().open_feed(channel, handler)

    def _get_layer(self) -> _LoopLayer:
        # channels_redis's own, with our loop layer: one per event loop, flushed when the loop closes.
        loop = asyncio.get_running_loop()
        try:
            layer: _LoopLayer = self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, capacity=self.capacity, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer


class Feed:
    """One socket's direct feed. `push` is called by the process's reader only, one message at a time."""

    def __init__(self, layer: _LoopLayer, channel: str, handler: Handler) -> None:
        self.layer, self.channel, self.handler = layer, channel, handler
        self.held: deque[dict[str, Any]] | None = deque()  # None once released
        self.closed = False

    async def push(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if self.held is not None:
            if len(self.held) < self.layer.capacity:
                self.held.append(message)
            else:
                self.layer.tell(self.channel, "behind")
            return
        try:
            await self.handler(message)
        except Exception as exc:  # the socket is going away (its disconnect closes the feed), or worse
            log.info("pubsub: could not write to %s (%r)", self.channel, exc)
            self.layer.tell(self.channel, "lost")

    async def release(self) -> None:
        """Send what arrived while held, in order; from then on the reader writes straight to the socket."""
        while self.held:
            await self.handler(self.held.popleft())
        self.held = None  # no await since the loop found it empty: nothing can slip in between

    def close(self) -> None:
        """The socket is gone (or never joined): forget the feed and the channel's queue."""
        self.closed = True
        self.held = None
        if self.layer.feeds.get(self.channel) is self:
            del self.layer.feeds[self.channel]
            self.layer.channels.pop(self.channel, None)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts: Any = None, *, capacity: int = 1000, **kwargs: Any) -> None:
        super().__init__(hosts, **kwargs)
        self.capacity = capacity
        self.feeds: dict[str, Feed] = {}
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]
        serialize = self.channel_layer.serialize
        self._resets = {why: serialize({"type": RESET, "reason": why}) for why in ("behind", "lost")}

    def open_feed(self, channel: str, handler: Handler) -> Feed:
        feed = self.feeds[channel] = Feed(self, channel, handler)
        return feed

    async def _subscribe_to_channel(self, channel: str) -> None:
        # A consumer's own channel stays in its process: nothing in this project sends to one channel
        # (realtime publishes to groups), so no Redis subscription per socket — one SUBSCRIBE and one
        # UNSUBSCRIBE less per connection, and none left behind when many sockets close at once (channels_redis
        # unsubscribes while its receive is being cancelled, and gives up when cancelled again).
        self.channels[channel] = asyncio.Queue()

    def enqueue(self, channel: str, data: bytes) -> None:
        """Queue `data` for `channel`'s consumer (channels' receive path), within capacity."""
        queue = self.channels.get(channel)
        if queue is None:
            return
        if queue.qsize() < self.capacity:
            queue.put_nowait(data)
        else:
            self.tell(channel, "behind")

    def tell(self, channel: str, why: str) -> None:
        """Tell `channel`'s consumer to close its socket: drop what it holds, stop its feed, queue RESET."""
        feed = self.feeds.get(channel)
        if feed is not None:
            feed.closed, feed.held = True, None
        queue = self.channels.get(channel)
        if queue is None:
            return
        if why == "behind":
            log.warning("pubsub: %s fell %d messages behind; closing it", channel, self.capacity)
            while not queue.empty():
                queue.get_nowait()
        queue.put_nowait(self._resets[why])

    def reset_all(self) -> None:
        """Tell every socket of this process (on this loop) to close: its feed may have lost messages."""
        for channel in list(self.channels):
            self.tell(channel, "lost")


class _PubSub(PubSub):
    """redis-py's PubSub, reporting each reconnection (redis-py re-subscribes in `on_connect`)."""

    def __init__(self, shard: _Shard, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shard = shard

    async def on_connect(self, connection: Any) -> None:
        # Called on reconnections only: redis-py registers it after the first connection is made.
        await super().on_connect(connection)
        self._shard.reconnected()


class _Shard(RedisSingleShardConnection):
    channel_layer: _LoopLayer
    _redis: aioredis.Redis | None
    _pubsub: _PubSub | None

    def __init__(self, host: dict[str, Any], channel_layer: _LoopLayer) -> None:
        super().__init__(host, channel_layer)
        self._tasks: set[asyncio.Task[None]] = set()

    def _ensure_redis(self) -> None:
        if self._redis is None:
            redis = aioredis.Redis(connection_pool=create_pool(self.host))
            self._redis, self._pubsub = redis, _PubSub(self, redis.connection_pool)

    async def _do_receiving(self) -> None:
        # channels_redis's loop, but a failure is a lost subscription: close the sockets (see the module).
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    if message is not None:
                        await self._dispatch(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                log.warning("pubsub: subscriber connection failed (%r); closing this process's sockets", exc)
                self.channel_layer.reset_all()
                await asyncio.sleep(1)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        layer, data = self.channel_layer, message["data"]
        members = layer.groups.get(name)
        if members is None:  # a message to one channel (channel_layer.send)
            layer.enqueue(name, data)
            return
        decoded = None
        for channel in list(members):  # a copy: a socket may leave while another is written
            feed = layer.feeds.get(channel)
            if feed is None:
                layer.enqueue(channel, data)
                continue
            if decoded is None:
                decoded = layer.channel_layer.deserialize(data)
            await feed.push(decoded)
        if decoded is not None:
            text = decoded.get("text")
            at = envelope_at(text) if isinstance(text, str) else None
            if at is not None:
                PUSH_LAG.observe(max(0.0, time.time() - at))

    def reconnected(self) -> None:
        log.warning("pubsub: subscriber reconnected; closing this process's sockets so their screens reload")
        self.channel_layer.reset_all()
        task = asyncio.ensure_future(self._prune())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prune(self) -> None:
        """Unsubscribe what redis-py re-subscribed for sockets that went away while Redis was unreachable."""
        layer = self.channel_layer
        for name in list(self._subscribed_to):
            if name not in layer.channels and name not in layer.groups:
                try:
                    await self.unsubscribe(name)
                except Exception as exc:
                    log.warning("pubsub: could not unsubscribe %s (%r)", name, exc)
                    return
