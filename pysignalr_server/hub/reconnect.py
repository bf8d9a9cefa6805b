"""Stateful reconnect: the replay buffer (ASP.NET Core's ``MessageBuffer``).

When both sides opt in (negotiate flag and handshake version 2), messages of
types 1-5 are numbered from 1 in each direction. The sender keeps each one
until the peer acknowledges it (``Ack``), so that after an ungraceful
transport loss it can resend what may have been lost, after a ``Sequence``
message that tells the peer the id of the first resent message. The
receiver drops ids it has already processed.

The buffer holds up to ``limit`` bytes; past that, producers that can wait
(streams) pause until acks free space, and a connection whose unacknowledged
output grows past the send buffer limit is dropped, like any slow client.
"""

from __future__ import annotations

import asyncio
import collections

from ..errors import InvalidDataError

__all__ = ["ReplayBuffer", "SEQUENCE_TOO_HIGH"]

SEQUENCE_TOO_HIGH = "Sequence ID greater than amount of messages we've received."


class ReplayBuffer:
    __slots__ = (
        "_entries",
        "_space",
        "acked_sent",
        "limit",
        "next_incoming_id",
        "received_count",
        "sent_count",
        "size",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: collections.deque[tuple[int, bytes]] = collections.deque()
        self.size = 0
        self.sent_count = 0
        """Numbered messages sent so far (the id of the last one)."""
        self.received_count = 0
        """Highest numbered message id received and processed."""
        self.acked_sent = 0
        """Highest id we told the peer we received (our last Ack)."""
        self.next_incoming_id = 1
        self._space: asyncio.Event | None = None

    # ------------------------------------------------------------ sending

    def add(self, data: bytes) -> int:
        """Record an outgoing numbered message; returns its id."""
        self.sent_count += 1
        self._entries.append((self.sent_count, data))
        self.size += len(data)
        return self.sent_count

    def ack(self, sequence_id: int) -> None:
        """The peer has everything up to ``sequence_id``: forget it."""
        entries = self._entries
        while entries and entries[0][0] <= sequence_id:
            _, data = entries.popleft()
            self.size -= len(data)
        if self._space is not None and self.size <= self.limit:
            self._space.set()
            self._space = None

    async def wait_writable(self) -> None:
        """Pause while more than ``limit`` bytes await acknowledgement."""
        while self.size > self.limit:
            if self._space is None:
                self._space = asyncio.Event()
            await self._space.wait()

    def replay(self) -> tuple[int, list[bytes]]:
        """What to send after a reconnect: the Sequence id and the messages."""
        if self._entries:
            first = self._entries[0][0]
        else:
            first = self.sent_count + 1
        return first, [data for _, data in self._entries]

    # ---------------------------------------------------------- receiving

    def should_process(self) -> bool:
        """Called for each incoming numbered message: False for a duplicate."""
        sequence_id = self.next_incoming_id
        self.next_incoming_id += 1
        if sequence_id <= self.received_count:
            return False
        self.received_count = sequence_id
        return True

    def on_sequence(self, sequence_id: int) -> None:
        """The peer resends from ``sequence_id``."""
        if sequence_id > self.received_count + 1:
            raise InvalidDataError(SEQUENCE_TOO_HIGH)
        self.next_incoming_id = sequence_id

    def ack_due(self) -> int | None:
        """The id to acknowledge, if anything arrived since the last Ack."""
        if self.received_count > self.acked_sent:
            self.acked_sent = self.received_count
            return self.received_count
        return None
