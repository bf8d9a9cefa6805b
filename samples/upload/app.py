"""File upload: a client-to-server stream, hashed on the server.

    samples/run upload                 # then open http://127.0.0.1:8080/

``Upload(name, chunks)`` takes an upload stream: its ``chunks`` parameter is
annotated ``AsyncIterator[bytes]``, so the client passes a ``Subject`` and
calls ``subject.next(chunk)`` for each piece and ``subject.complete()`` at
the end. With the JSON protocol a ``bytes`` item travels as a base64 string;
with MessagePack, as binary (a ``Uint8Array`` in JavaScript). The server
hashes the chunks as they arrive (nothing is kept in memory) and returns
``{"name", "size", "sha256", "chunks"}`` when the stream completes.

Each chunk is one SignalR message, so it must fit in
``HubOptions.maximum_receive_message_size`` (32 KiB by default): the page
sends 16 KiB chunks, which are about 22 KB once in base64.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

import attrs
from aiohttp import web

import pysignalr_server as signalr
from samples import common

log = logging.getLogger("samples.upload")

HUB_PATH = "/hubs/upload"
STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@attrs.frozen
class UploadResult:
    name: str
    size: int
    sha256: str
    chunks: int


class UploadHub(signalr.Hub):
    async def upload(self, name: str, chunks: AsyncIterator[bytes]) -> UploadResult:
        """Hash a file streamed up in chunks; return its size and SHA-256."""
        name = PurePosixPath(name.replace("\\", "/")).name or "unnamed"  # never trust a client's path
        digest = hashlib.sha256()
        size = count = 0
        try:
            # Items arrive converted to bytes. The stream is bounded
            # (stream_buffer_capacity): a client sending faster than this
            # loop reads simply waits.
            async for chunk in chunks:
                size += len(chunk)
                count += 1
                if size > MAX_UPLOAD_BYTES:
                    raise signalr.HubException(f"{name} is larger than {MAX_UPLOAD_BYTES} bytes")
                digest.update(chunk)  # a real application would also write the chunk to storage here
        except signalr.HubException as exc:
            # Also raised when the client ends the stream with an error
            # (subject.error(...)): the text is the client's message.
            log.warning("upload of %s failed after %d bytes: %s", name, size, exc)
            raise
        result = UploadResult(name=name, size=size, sha256=digest.hexdigest(), chunks=count)
        log.info("received %s", result)
        return result


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def create_app(args: argparse.Namespace) -> web.Application:
    app = web.Application()
    common.setup_signalr(app, args, prefix="upload")
    signalr.add_hub(app, HUB_PATH, UploadHub)
    common.add_client_bundles(app)
    app.router.add_get("/", index)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    common.run(create_app, "File upload: client-to-server streaming", HUB_PATH)
