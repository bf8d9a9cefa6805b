"""Quiz: client results. The server asks a client a question and awaits its answer.

    samples/run quiz                   # then open http://127.0.0.1:8080/ in two tabs

Players ``Join(name)``. A question is asked with

    answer = await clients.client(connection_id).invoke("Ask", text, result_type=str, timeout=...)

which sends an invocation to that client and waits for what its ``Ask``
handler returns (in JavaScript, ``connection.on("Ask", (text) => answer)``;
the handler may return a Promise). A handler that throws arrives here as a
``HubException`` with the client's error text, a client that is gone as a
``ClientResultError``, and no answer in time as ``TimeoutError``: all three
score as wrong.

Questions are asked from two places:

- the hub: ``QuizMe()`` asks the caller (``self.clients.caller.invoke``)
  and returns how it went;
- HTTP: ``POST /api/round`` (body ``{"question": index, "timeout": seconds}``,
  both optional) asks every player at once through the hub context
  (``signalr.get_hub_context(app, QuizHub)``), as any code outside a hub can.

Scores are pushed to everyone as ``Scores([{name, score}, ...])``. The quiz
state lives in this process (one server; see ``worker_notify`` for several).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

import pysignalr_server as signalr
from samples import common

log = logging.getLogger("samples.quiz")

HUB_PATH = "/hubs/quiz"
STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_TIMEOUT = 20.0  # seconds a player has to answer
MAX_TIMEOUT = 120.0


@attrs.frozen
class Question:
    text: str
    answer: str

    def is_right(self, reply: str) -> bool:
        return reply.strip().casefold() == self.answer.casefold()


QUESTIONS = (
    Question("What is 6 x 7?", "42"),
    Question("What is the capital of France?", "Paris"),
    Question("Which planet is known as the Red Planet?", "Mars"),
    Question("How many bits are in a byte?", "8"),
    Question("What is the chemical symbol for gold?", "Au"),
)


@attrs.define
class Player:
    connection_id: str
    name: str
    score: int = 0


@attrs.frozen
class Answer:
    """How one player did on one question (sent to clients as an object)."""

    player: str
    question: str
    answer: str | None  # None when there was no answer
    correct: bool
    error: str | None = None  # why there was no answer


@attrs.define
class Quiz:
    """The game: players by connection id (in join order) and the next question."""

    players: dict[str, Player] = attrs.field(factory=dict)
    next_question: int = 0

    def pick(self, index: int | None) -> Question:
        if index is None:
            index = self.next_question
            self.next_question = (self.next_question + 1) % len(QUESTIONS)
        if not 0 <= index < len(QUESTIONS):
            raise ValueError(f"question must be 0 to {len(QUESTIONS) - 1}")
        return QUESTIONS[index]

    def scores(self) -> list[dict[str, Any]]:
        return [{"name": p.name, "score": p.score} for p in self.players.values()]


QUIZ = web.AppKey("quiz", Quiz)


async def ask(client: Any, player: Player, question: Question, timeout: float) -> Answer:
    """Ask ``client`` (a ``SingleClientProxy``: ``clients.caller`` or
    ``clients.client(id)``) and score the reply."""
    try:
        reply = await client.invoke("Ask", question.text, result_type=str, timeout=timeout)
    except signalr.HubException as exc:  # the client's handler threw
        outcome = Answer(player.name, question.text, None, False, str(exc))
    except signalr.ClientResultError as exc:  # the connection is gone
        outcome = Answer(player.name, question.text, None, False, str(exc))
    except TimeoutError:
        outcome = Answer(player.name, question.text, None, False, f"no answer within {timeout:g} s")
    else:
        outcome = Answer(player.name, question.text, reply, question.is_right(reply))
    if outcome.correct:
        player.score += 1
    log.info("%s", outcome)
    return outcome


class QuizHub(signalr.Hub):
    @property
    def quiz(self) -> Quiz:
        # Hub instances live for one call: shared state lives on the application.
        quiz: Quiz = self.context.request.app[QUIZ]
        return quiz

    async def join(self, name: str) -> list[dict[str, Any]]:
        name = name.strip()[:40]
        if not name:
            raise signalr.HubException("a name is required")
        self.quiz.players[self.context.connection_id] = Player(self.context.connection_id, name)
        await self.clients.all.send("Scores", self.quiz.scores())
        return self.quiz.scores()

    async def quiz_me(self) -> Answer:
        """Ask the caller the next question and wait for the answer."""
        player = self.quiz.players.get(self.context.connection_id)
        if player is None:
            raise signalr.HubException("join first")
        # invoke() on the caller gives back this call's invocation slot, so the
        # connection can keep delivering the client's answer while we wait.
        outcome = await ask(self.clients.caller, player, self.quiz.pick(None), DEFAULT_TIMEOUT)
        await self.clients.all.send("Scores", self.quiz.scores())
        return outcome

    async def on_disconnected(self, exception: Exception | None) -> None:
        if self.quiz.players.pop(self.context.connection_id, None) is not None:
            await self.clients.all.send("Scores", self.quiz.scores())


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def play_round(request: web.Request) -> web.Response:
    """``POST /api/round``: ask every player one question, concurrently."""
    quiz = request.app[QUIZ]
    try:
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        question = quiz.pick(body.get("question"))
        timeout = float(body.get("timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    timeout = min(max(timeout, 0.1), MAX_TIMEOUT)
    hub = signalr.get_hub_context(request.app, QuizHub)  # the hub's clients, outside the hub
    players = list(quiz.players.values())
    answers = await asyncio.gather(
        *(ask(hub.clients.client(p.connection_id), p, question, timeout) for p in players)
    )
    await hub.clients.all.send("Scores", quiz.scores())
    return web.json_response(
        {"question": question.text, "answers": [attrs.asdict(a) for a in answers], "scores": quiz.scores()}
    )


async def scores(request: web.Request) -> web.Response:
    return web.json_response(request.app[QUIZ].scores())


def create_app(args: argparse.Namespace) -> web.Application:
    app = web.Application()
    app[QUIZ] = Quiz()
    common.setup_signalr(app, args, prefix="quiz")
    signalr.add_hub(app, HUB_PATH, QuizHub)
    common.add_client_bundles(app)
    app.router.add_get("/", index)
    app.router.add_post("/api/round", play_round)
    app.router.add_get("/api/scores", scores)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    common.run(create_app, "Quiz: client results", HUB_PATH)
