"""The connection machinery of the Postgres backplane, shared by every hub of
an application.

- **One LISTEN channel** per application prefix, whatever the number of
  connections, groups or users: every server receives everything and routes
  by the keys inside each message (Postgres up to 18 wakes every listener on
  every NOTIFY and scans channel lists linearly, so channel count matters).
- **A dedicated listener connection** outside the pool, probed with
  ``SELECT 1`` every ``keepalive_interval``, watched by a termination
  listener, and reconnected with exponential backoff and jitter; the
  callback only enqueues, and one consumer task processes notifications in
  order.
- **Batched publishing**: whatever is published while a notification is
  being committed goes out together in the next one, so NOTIFY's
  cluster-wide commit lock is taken once per batch, not per message.
- **Spill**: a batch whose text would reach 8000 bytes is stored in a table
  and only its id is notified; old rows are deleted after ``spill_ttl``.
- **No silent loss**: each server numbers its batches; a receiver that
  misses some (a listener outage) logs the gap and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from ..errors import SignalRError
from .options import PostgresOptions
from .protocol import (
    channel_name,
    decode_batch,
    encode_batch,
    notification_origin,
    packed_batch,
    spill_header,
)

__all__ = ["PostgresBus", "BackplaneUnavailableError", "BackplaneMetrics"]

log = logging.getLogger("pysignalr_server.postgres")

Handler = Callable[[str, list[Any]], None]


class BackplaneUnavailableError(SignalRError, ConnectionError):
    """A send could not be published to Postgres (it is down or too slow)."""


class BackplaneMetrics:
    """Counters an application can export."""

    __slots__ = (
        "batches_published",
        "batches_received",
        "gaps",
        "inbox_overflows",
        "listener_reconnects",
        "messages_published",
        "missed_batches",
        "spilled",
    )

    def __init__(self) -> None:
        self.batches_published = 0
        self.messages_published = 0
        self.batches_received = 0
        self.gaps = 0
        """Times a server's batch numbers jumped (something was missed)."""
        self.missed_batches = 0
        """Batches known to be missed (the sum of the jumps)."""
        self.spilled = 0
        self.listener_reconnects = 0
        self.inbox_overflows = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class _Pending:
    __slots__ = ("deadline", "future", "message")

    def __init__(self, message: list[Any], future: asyncio.Future[None], deadline: float) -> None:
        self.message = message
        self.future = future
        self.deadline = deadline


class PostgresBus:
    def __init__(self, options: PostgresOptions) -> None:
        self.options = options
        self.server_id = uuid.uuid4().hex
        self.channel = channel_name(options.prefix)
        self.metrics = BackplaneMetrics()
        self._handlers: dict[str, Handler] = {}
        self._users = 0
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._inbox: asyncio.Queue[str] = asyncio.Queue(maxsize=options.inbox_size)
        self._pending: list[_Pending] = []
        self._in_flight: list[_Pending] = []
        self._expiry: asyncio.TimerHandle | None = None
        self._wake_publisher = asyncio.Event()
        self._seq = 0
        self._last_seq: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._connected = asyncio.Event()
        self._listener_lost = asyncio.Event()

    # ------------------------------------------------------------ lifecycle

    @property
    def healthy(self) -> bool:
        """True while the listener connection is up."""
        return self._connected.is_set() and not self._closing

    def register(self, hub_key: str, handler: Handler) -> None:
        self._handlers[hub_key] = handler

    async def start(self) -> None:
        """Idempotent: the first hub starts the bus, later ones share it.

        If connecting fails, the error propagates and nothing stays open, so
        a later ``start()`` tries again."""
        self._users += 1
        if self._users > 1:
            return
        self._closing = False
        try:
            await self._start()
        except BaseException:
            self._users -= 1
            await self._disconnect()
            raise

    async def _start(self) -> None:
        o = self.options
        self._pool = await asyncpg.create_pool(o.dsn, min_size=o.pool_min_size, max_size=o.pool_max_size)
        async with self._pool.acquire() as conn, conn.transaction():
            # Servers starting together would race on CREATE ... IF NOT EXISTS
            # (it is not atomic: the loser fails with a unique violation).
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", "pysignalr_spill:" + o.spill_table
            )
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_quote(o.spill_table)} ("
                "id bigserial PRIMARY KEY, payload bytea NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {_quote(o.spill_table + '_created_at')} "
                f"ON {_quote(o.spill_table)} (created_at)"
            )
        await self._connect_listener()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._consume(), name="signalr-pg-consumer"),
            loop.create_task(self._publish_forever(), name="signalr-pg-publisher"),
            loop.create_task(self._watch_listener(), name="signalr-pg-listener"),
            loop.create_task(self._clean_spill(), name="signalr-pg-spill-cleaner"),
        ]

    async def close(self) -> None:
        if self._users > 1:
            self._users -= 1
            return
        self._users = 0
        self._closing = True
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for pending in self._pending:
            if not pending.future.done():
                pending.future.set_exception(BackplaneUnavailableError("The backplane is shutting down."))
        self._pending.clear()
        await self._disconnect()

    async def _disconnect(self) -> None:
        self._connected.clear()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.close(), 2.0)
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 5.0)

    # ------------------------------------------------------------- listener

    async def _connect_listener(self) -> None:
        conn = await asyncpg.connect(self.options.dsn)
        await conn.add_listener(self.channel, self._on_notification)
        conn.add_termination_listener(self._on_termination)
        self._listener = conn
        self._listener_lost.clear()
        self._connected.set()
        log.info("Postgres backplane listening on %r as server %s", self.channel, self.server_id)

    def _on_notification(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        # Runs on the event loop in arrival order: only enqueue.
        try:
            self._inbox.put_nowait(payload)
        except asyncio.QueueFull:
            self.metrics.inbox_overflows += 1
            log.error("Postgres backplane inbox full: a notification was dropped")

    def _on_termination(self, connection: Any) -> None:
        if connection is self._listener:
            self._connected.clear()
            self._listener_lost.set()

    async def _watch_listener(self) -> None:
        """Probe the listener and reconnect it when it is lost."""
        o = self.options
        while True:
            try:
                await asyncio.wait_for(self._listener_lost.wait(), o.keepalive_interval)
            except TimeoutError:
                listener = self._listener
                try:
                    if listener is None or listener.is_closed():
                        raise ConnectionError("listener closed")
                    await asyncio.wait_for(listener.fetchval("SELECT 1"), o.probe_timeout)
                    continue
                except Exception as exc:  # noqa: BLE001 - any probe failure means reconnect
                    log.warning("Postgres backplane listener probe failed: %s", exc)
            self._connected.clear()
            await self._reconnect()

    async def _reconnect(self) -> None:
        o = self.options
        old, self._listener = self._listener, None
        if old is not None:
            old.terminate()
        delay = o.reconnect_initial_delay
        while True:
            try:
                await self._connect_listener()
                self.metrics.listener_reconnects += 1
                log.warning("Postgres backplane listener reconnected")
                return
            except Exception as exc:  # noqa: BLE001
                jitter = delay * o.reconnect_jitter * (2 * random.random() - 1)
                log.warning(
                    "Postgres backplane listener reconnect failed (%s); retrying in %.2fs", exc, delay
                )
                await asyncio.sleep(max(0.0, delay + jitter))
                delay = min(delay * 2, o.reconnect_max_delay)

    # ------------------------------------------------------------- consumer

    async def _consume(self) -> None:
        while True:
            payload = await self._inbox.get()
            origin, body = notification_origin(payload)
            if origin == self.server_id:
                self.metrics.batches_received += 1
                continue  # our own batch: delivered locally when it was sent
            try:
                if body.startswith("S"):
                    data = await self._fetch_spilled(int(body[1:]))
                    if data is None:
                        self.metrics.gaps += 1
                        self.metrics.missed_batches += 1
                        log.error("Spilled backplane batch %s is gone (older than spill_ttl?)", body[1:])
                        continue
                    server_id, seq, messages = decode_batch(data)
                else:
                    server_id, seq, messages = decode_batch(body)
            except Exception:
                log.exception("Undecodable backplane notification dropped")
                continue
            self.metrics.batches_received += 1
            last = self._last_seq.get(server_id)
            if last is not None and seq > last + 1:
                self.metrics.gaps += 1
                self.metrics.missed_batches += seq - last - 1
                log.error(
                    "Backplane gap: missed %d batch(es) from server %s (%d -> %d)",
                    seq - last - 1,
                    server_id,
                    last,
                    seq,
                )
            if last is None or seq > last:
                self._last_seq[server_id] = seq
            for message in messages:
                handler = self._handlers.get(message[0])
                if handler is None:
                    continue
                try:
                    handler(server_id, message)
                except Exception:
                    log.exception("Error handling a backplane message")

    async def _fetch_spilled(self, row_id: int) -> bytes | None:
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            data = await conn.fetchval(
                f"SELECT payload FROM {_quote(self.options.spill_table)} WHERE id = $1", row_id
            )
        return None if data is None else bytes(data)

    # ------------------------------------------------------------ publisher

    def publish(self, message: list[Any]) -> asyncio.Future[None]:
        """Queue ``message``; the future resolves once it is committed to
        Postgres, or fails with ``BackplaneUnavailableError`` (at the latest
        about ``publish_timeout`` after this call)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if self._closing or self._pool is None:
            future.set_exception(BackplaneUnavailableError("The Postgres backplane is not running."))
            return future
        if len(self._pending) >= self.options.max_pending_publishes:
            future.set_exception(
                BackplaneUnavailableError("Too many messages are waiting for Postgres; the send was refused.")
            )
            return future
        self._pending.append(_Pending(message, future, loop.time() + self.options.publish_timeout))
        if self._expiry is None:
            self._expiry = loop.call_later(self._expiry_interval(), self._expire)
        self._wake_publisher.set()
        return future

    def _expiry_interval(self) -> float:
        return max(0.01, min(0.25, self.options.publish_timeout / 4))

    def _expire(self) -> None:
        """Fail the sends older than ``publish_timeout``. One timer for the
        whole queue instead of one per message: at tens of thousands of sends
        a second a timeout per send was a tenth of the sending server's time.
        Expired sends still queued are dropped (their senders were told they
        failed); a batch in flight cannot be recalled."""
        self._expiry = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        timeout = self.options.publish_timeout
        for group in (self._in_flight, self._pending):
            for pending in group:
                if pending.deadline > now:
                    break  # queued in order: the rest expire later
                if not pending.future.done():
                    pending.future.set_exception(
                        BackplaneUnavailableError(
                            f"Postgres did not commit the notification within {timeout}s; the send failed."
                        )
                    )
        expired = 0
        for pending in self._pending:
            if not pending.future.done():
                break
            expired += 1
        del self._pending[:expired]
        if self._pending or self._in_flight:
            self._expiry = loop.call_later(self._expiry_interval(), self._expire)

    async def _publish_forever(self) -> None:
        o = self.options
        while True:
            await self._wake_publisher.wait()
            self._wake_publisher.clear()
            while self._pending:
                batch = self._pending[: o.batch_max_messages]
                del self._pending[: len(batch)]
                # Sends that expired or were cancelled while queued are not published.
                batch = [p for p in batch if not p.future.done()]
                if not batch:
                    continue
                self._in_flight = batch
                try:
                    await self._publish_batch([p.message for p in batch])
                except asyncio.CancelledError:
                    # close() while this batch was in flight: its senders
                    # must not wait forever.
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(
                                BackplaneUnavailableError("The backplane is shutting down.")
                            )
                    raise
                except Exception as exc:  # noqa: BLE001 - reported to every sender of the batch
                    log.warning("Postgres backplane publish failed: %s", exc)
                    error = BackplaneUnavailableError(f"Could not publish to Postgres: {exc}")
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(error)
                    continue
                finally:
                    self._in_flight = []
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_result(None)

    async def _publish_batch(self, messages: list[list[Any]]) -> None:
        assert self._pool is not None
        o = self.options
        seq = self._seq + 1
        text = encode_batch(self.server_id, seq, messages)
        async with self._pool.acquire(timeout=o.publish_timeout) as conn:
            # The number is taken only once a connection is in hand: a batch
            # that never reached Postgres leaves no gap for receivers to
            # report (one that failed later keeps it: it may have committed).
            self._seq = seq
            if len(text) < o.spill_threshold:
                await asyncio.wait_for(
                    conn.execute("SELECT pg_notify($1, $2)", self.channel, text), o.publish_timeout
                )
            else:
                # One statement, one transaction: the row and its notification
                # commit together.
                await asyncio.wait_for(
                    conn.execute(
                        f"WITH row AS (INSERT INTO {_quote(o.spill_table)} (payload) "
                        "VALUES ($2) RETURNING id) SELECT pg_notify($1, $3 || row.id) FROM row",
                        self.channel,
                        packed_batch(self.server_id, seq, messages),
                        spill_header(self.server_id),
                    ),
                    o.publish_timeout,
                )
                self.metrics.spilled += 1
        self.metrics.batches_published += 1
        self.metrics.messages_published += len(messages)

    async def clean_spill_once(self) -> int:
        """Delete spilled rows older than ``spill_ttl``; returns how many."""
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                f"DELETE FROM {_quote(self.options.spill_table)} "
                "WHERE created_at < now() - make_interval(secs => $1)",
                float(self.options.spill_ttl),
            )
        return int(status.split()[-1])

    async def _clean_spill(self) -> None:
        interval = max(1.0, self.options.spill_ttl / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.clean_spill_once()
            except Exception as exc:  # noqa: BLE001
                log.warning("Cleaning the spill table failed: %s", exc)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
