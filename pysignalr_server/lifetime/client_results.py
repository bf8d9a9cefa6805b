"""Pending client results (ASP.NET Core's ``ClientResultsManager``).

When the server invokes a client method and awaits its answer, the pending
invocation is recorded here with the connection it was sent to and the type
the result must convert to. The client's Completion resolves it; a
Completion from any other connection is refused.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from ..errors import HubException, InvalidOperationError
from ..protocol.base import NO_TYPE
from ..protocol.messages import CompletionMessage

__all__ = ["ClientResultsManager", "new_invocation_id"]


def new_invocation_id() -> str:
    """Unique across servers: a random GUID in base64 without padding (22 chars)."""
    return base64.b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


class _Pending:
    __slots__ = ("connection_id", "future", "result_type")

    def __init__(self, connection_id: str, result_type: Any, future: asyncio.Future[Any]) -> None:
        self.connection_id = connection_id
        self.result_type = result_type
        self.future = future


class ClientResultsManager:
    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, connection_id: str, invocation_id: str, result_type: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[invocation_id] = _Pending(connection_id, result_type, future)
        return future

    def remove(self, invocation_id: str) -> None:
        self._pending.pop(invocation_id, None)

    def try_get_return_type(self, invocation_id: str) -> Any:
        pending = self._pending.get(invocation_id)
        return NO_TYPE if pending is None else pending.result_type

    def set_result(self, connection_id: str, completion: CompletionMessage) -> None:
        """Resolve a pending invocation. Unknown ids (late, cancelled) are ignored."""
        invocation_id = completion.invocation_id
        pending = self._pending.get(invocation_id)
        if pending is None:
            return
        if pending.connection_id != connection_id:
            raise InvalidOperationError(
                f"Connection ID '{connection_id}' is not valid for invocation ID '{invocation_id}'."
            )
        del self._pending[invocation_id]
        if pending.future.done():
            return
        if completion.error is not None:
            pending.future.set_exception(HubException(completion.error))
        else:
            pending.future.set_result(completion.result)

    def fail_connection(self, connection_id: str, error: BaseException) -> None:
        """Fail every invocation pending on ``connection_id`` (it disconnected)."""
        for invocation_id, pending in list(self._pending.items()):
            if pending.connection_id == connection_id:
                del self._pending[invocation_id]
                if not pending.future.done():
                    pending.future.set_exception(error)
