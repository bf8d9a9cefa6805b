"""Faults of a real Postgres backplane: a terminated listener connection, a
full Postgres restart in the middle of a stream, a node killed with SIGKILL.

The shared Postgres is only touched through this module's own objects: node
A's listener (found by the application_name of this module's prefix), a role
of its own (created and dropped here). The restart happens on a throwaway
cluster of this test's own (initdb into a temp dir).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from backplane_e2e_support import (
    Deadline,
    HttpResult,
    ServerNode,
    client_driver,
    cluster,
    poll_until,
    sql,
    throwaway_postgres,
    with_params,
)

pytestmark = pytest.mark.node

PREFIX = f"e2e_faults_{uuid.uuid4().hex[:8]}"
ROLE = f"{PREFIX}_a"

# The listener of a node: its connections carry application_name
# "<prefix>-<node>" (set in the DSN), and of those the listener is the one
# whose last statement is its LISTEN or its keepalive probe. (The LISTEN
# text, which names the channel "<prefix>_backplane", is only shown until
# the first probe replaces it a second later, so the channel cannot be the
# filter; the application_name is as specific, and never matches other
# listeners on the shared server.)
LISTENER_SQL = """
    SELECT pid FROM pg_stat_activity
    WHERE application_name = $1 AND (query ILIKE 'LISTEN%' OR query = 'SELECT 1')
"""


def listener_pid(dsn: str, application_name: str, terminated: tuple[int, ...] = ()) -> int:
    """The pid of the listener backend (one terminated a moment ago may still be listed)."""
    rows = [r for r in sql(dsn, LISTENER_SQL, application_name) if r["pid"] not in terminated]
    assert len(rows) == 1, f"expected one listener connection for {application_name}, found {rows}"
    pid: int = rows[0]["pid"]
    return pid


def terminate(dsn: str, pid: int) -> None:
    assert sql(dsn, "SELECT pg_terminate_backend($1) AS done", pid)[0]["done"] is True


def metrics(node: ServerNode) -> dict[str, int]:
    result: dict[str, int] = node.backplane()["metrics"]
    return result


@pytest.fixture
def role(pg_dsn: str) -> Iterator[str]:
    """A login role of this module only, so node A's logins can be refused
    (ALTER ROLE ... NOLOGIN) without touching anyone else on the shared server."""
    sql(pg_dsn, f'CREATE ROLE "{ROLE}" LOGIN SUPERUSER')
    try:
        yield ROLE
    finally:
        sql(pg_dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", ROLE)
        sql(pg_dsn, f'REASSIGN OWNED BY "{ROLE}" TO postgres')  # a spill table it may have created
        sql(pg_dsn, f'DROP OWNED BY "{ROLE}"')
        sql(pg_dsn, f'DROP ROLE "{ROLE}"')


def test_terminated_listener_reconnects_and_counts_what_it_missed(
    pg_dsn: str, node: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app_a = f"{PREFIX}-A"
    dsns = {
        "A": with_params(pg_dsn, user=role, application_name=app_a),
        "B": with_params(pg_dsn, application_name=f"{PREFIX}-B"),
    }
    with cluster(dsns, PREFIX) as nodes, client_driver() as clients:
        a, b = nodes["A"], nodes["B"]
        clients.connect("wa", a.url, "json")
        clients.connect("wb", b.url, "messagepack")
        assert b.send("before").status == 200
        clients.wait_received("wa", "before")
        assert a.backplane()["healthy"] is True
        assert metrics(a)["listener_reconnects"] == 0

        # 1. pg_terminate_backend alone: A reconnects at once, by itself.
        first = listener_pid(pg_dsn, app_a)
        terminate(pg_dsn, first)
        cut = time.monotonic()
        poll_until(  # polled: the health a server reports has no event to wait on
            lambda: (s := a.backplane())["healthy"] and s["metrics"]["listener_reconnects"] == 1,
            10.0,
            "A's listener to reconnect",
        )
        second = listener_pid(pg_dsn, app_a, terminated=(first,))
        assert second != first
        assert b.send("after-terminate").status == 200
        event = clients.wait_received("wa", "after-terminate", timeout=5.0)
        quick_recovery = event["t"] - cut

        # 2. Terminated while A may not log in: unhealthy until logins are
        #    allowed again; what B publishes meanwhile is missed by A, and
        #    counted as one gap of exactly that many batches.
        sql(pg_dsn, f'ALTER ROLE "{role}" NOLOGIN')
        try:
            terminate(pg_dsn, second)
            _, went_down = poll_until(lambda: a.backplane()["healthy"] is False, 5.0, "A to report unhealthy")
            for i in range(3):
                assert b.send(f"during-outage-{i}").status == 200  # B's own publishing is unaffected
            clients.wait_received("wb", "during-outage-2")
            clients.invoke("wa", "Broadcast", "from-a-during-outage")  # A still publishes (its pool)
            clients.wait_received("wb", "from-a-during-outage")
            assert a.backplane()["healthy"] is False
        finally:
            sql(pg_dsn, f'ALTER ROLE "{role}" LOGIN')
        allowed = time.monotonic()
        _, back_up = poll_until(
            lambda: (s := a.backplane())["healthy"] and s["metrics"]["listener_reconnects"] == 2,
            10.0,
            "A's listener to reconnect after logins are allowed again",
        )
        assert b.send("after-outage").status == 200
        event = clients.wait_received("wa", "after-outage", timeout=5.0)
        slow_recovery = event["t"] - allowed

        assert clients.received("wa") == ["before", "after-terminate", "from-a-during-outage", "after-outage"]
        assert clients.received("wb") == [
            "before",
            "after-terminate",
            "during-outage-0",
            "during-outage-1",
            "during-outage-2",
            "from-a-during-outage",
            "after-outage",
        ]
        a_metrics, b_metrics = metrics(a), metrics(b)
        assert a_metrics["gaps"] == 1 and a_metrics["missed_batches"] == 3, a_metrics
        assert b_metrics["gaps"] == 0 and b_metrics["missed_batches"] == 0, b_metrics
        assert a_metrics["listener_reconnects"] == 2 and b_metrics["listener_reconnects"] == 0
        assert quick_recovery < 5.0 and slow_recovery < 5.0
        with capsys.disabled():
            print(
                f"\n[listener] terminate -> message flows again: {quick_recovery:.3f} s; "
                f"unhealthy seen after {went_down:.3f} s; logins allowed -> healthy {back_up:.3f} s, "
                f"-> message flows {slow_recovery:.3f} s; A metrics {a_metrics}"
            )


class Stream(threading.Thread):
    """Broadcasts ``s-1``, ``s-2``, ... through ``POST /api/send`` of one
    node, one at a time (so each is one batch of its own), recording every
    outcome; failures are expected while Postgres is down."""

    PACE = 0.02  # seconds between two sends: a rate, not a synchronization

    def __init__(self, node: ServerNode) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.sent: list[tuple[int, HttpResult, float]] = []  # (n, outcome, monotonic start)
        self._cond = threading.Condition()
        self._halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self._halt.is_set():
            n += 1
            started = time.monotonic()
            result = self.node.send(f"s-{n}", timeout=10.0)
            with self._cond:
                self.sent.append((n, result, started))
                self._cond.notify_all()
            self._halt.wait(self.PACE)

    def next_number(self) -> int:
        with self._cond:
            return len(self.sent) + 2  # the one in flight may have started before

    def wait(
        self, predicate: Callable[[list[tuple[int, HttpResult, float]]], bool], timeout: float, what: str
    ) -> None:
        deadline = Deadline(timeout)
        with self._cond:
            while not predicate(self.sent):
                if deadline.expired() or not self.is_alive():
                    raise AssertionError(
                        f"timed out after {timeout} s waiting for {what}; sent {len(self.sent)}"
                    )
                self._cond.wait(deadline.remaining())

    def finish(self) -> None:
        self._halt.set()
        self.join(15.0)
        assert not self.is_alive(), "the sender thread did not stop"


def stream_number(event: dict[str, Any]) -> int:
    value = event.get("value")
    if event["event"] != "receive" or not isinstance(value, str) or not value.startswith("s-"):
        return -1
    return int(value[2:])


def test_postgres_restart_mid_stream(node: str, capsys: pytest.CaptureFixture[str]) -> None:
    with throwaway_postgres() as pg, cluster({"A": pg.dsn, "B": pg.dsn}, PREFIX) as nodes:
        a, b = nodes["A"], nodes["B"]
        with client_driver() as clients:
            clients.connect("wa", a.url, "messagepack")
            stream = Stream(b)
            stream.start()
            try:
                clients.wait_event(lambda e: stream_number(e) >= 20, 15.0, "wa to receive s-20")
                stopped = time.monotonic()
                pg.stop("fast")
                down = time.monotonic()
                stream.wait(
                    lambda sent: sum(1 for _, r, t in sent if t > down and r.status != 200) >= 10,
                    15.0,
                    "ten sends to fail while Postgres is down",
                )
                pg.start()
                up = time.monotonic()
                after = stream.next_number()
                first = clients.wait_event(
                    lambda e: stream_number(e) >= after, 15.0, f"wa to receive s-{after} or later"
                )
                first_after = stream_number(first)
                clients.wait_event(
                    lambda e: stream_number(e) >= first_after + 30, 15.0, "30 more messages after recovery"
                )
            finally:
                stream.finish()
            assert b.send("end").status == 200
            clients.wait_received("wa", "end")
            seen = [stream_number(e) for e in clients.events if stream_number(e) > 0 and e["client"] == "wa"]
            a_metrics, b_metrics = metrics(a), metrics(b)
            a_health = poll_until(lambda: a.backplane()["healthy"], 10.0, "A healthy")

    sent = stream.sent
    ok = {n for n, r, _ in sent if r.status == 200}
    failed = [(n, r) for n, r, _ in sent if r.status != 200]
    # Sends while Postgres is down fail fast with an HTTP error.
    assert len(failed) >= 10
    assert all(r.status == 500 for _, r in failed), failed
    slowest_failure = max(r.seconds for _, r in failed)
    assert slowest_failure < 3.0, failed
    # Received in order, once each, and only what was committed.
    assert seen == sorted(set(seen)), seen
    assert set(seen) <= ok, sorted(set(seen) - ok)
    lost = sorted(ok - set(seen))
    last_before = max(n for n in seen if n < failed[0][0])
    # Nothing is lost before the outage or after recovery.
    assert all(last_before < n < first_after for n in lost), (lost, last_before, first_after)
    assert all(n in seen for n in ok if n >= first_after)
    # Whatever was lost is counted: A got every batch B committed but the
    # lost ones, and counts them all as missed, in one gap. The only other
    # batches it may count are sends that failed while Postgres was stopping
    # (they reached it, so they keep their number: they might have committed);
    # a send made while Postgres was down takes no number and leaves no gap.
    failed_while_stopping = [n for n, r, t in sent if r.status != 200 and t < down]
    missed = a_metrics["missed_batches"]
    assert b_metrics["batches_published"] == len(ok) + 1  # + "end"
    assert a_metrics["batches_received"] == len(seen) + 1
    assert len(lost) <= missed <= len(lost) + len(failed_while_stopping), (a_metrics, lost, failed)
    assert a_metrics["gaps"] == (1 if missed else 0), a_metrics
    assert a_metrics["listener_reconnects"] >= 1 and a_health[0]
    with capsys.disabled():
        print(
            f"\n[restart] sent {len(sent)}, failed {len(failed)} (slowest {slowest_failure:.3f} s), "
            f"lost {len(lost)} {lost}; Postgres down {up - stopped:.2f} s "
            f"(stop took {down - stopped:.2f} s, failed while stopping {len(failed_while_stopping)}); "
            f"start -> first message on A {first['t'] - up:.3f} s; A metrics {a_metrics}"
        )


def test_killed_node_leaves_the_others_working(
    pg_dsn: str, node: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsns = {n: with_params(pg_dsn, application_name=f"{PREFIX}-kill-{n}") for n in "ABC"}
    with cluster(dsns, PREFIX) as nodes, client_driver() as clients:
        a, b, c = nodes["A"], nodes["B"], nodes["C"]
        id_a = clients.connect("wa", a.url, "json")
        id_b = clients.connect("wb", b.url, "messagepack")
        id_c = clients.connect("wc", c.url, "json")
        assert clients.invoke("wa", "AskClient", id_c, "GetNumber", 5) == "result: 42"

        c.kill()
        clients.wait_event(lambda e: e["event"] == "closed" and e["client"] == "wc", 10.0, "wc to be closed")
        _, c_gone = poll_until(  # polled: nothing announces a backend's exit
            lambda: (
                not sql(
                    pg_dsn, "SELECT 1 FROM pg_stat_activity WHERE application_name = $1", f"{PREFIX}-kill-C"
                )
            ),
            10.0,
            "C's Postgres connections to end",
        )

        started = time.monotonic()
        answer = clients.invoke("wa", "AskClient", id_c, "GetNumber", 5)
        elapsed = time.monotonic() - started
        assert answer == f"ConnectionNotFoundError: Connection '{id_c}' does not exist."
        assert 1.5 <= elapsed < 4.5, elapsed  # decided by the 2 s receipt timeout

        clients.invoke("wa", "Broadcast", "after-kill-from-a")
        clients.wait_received("wb", "after-kill-from-a")
        assert b.send("after-kill-from-b").status == 200
        clients.wait_received("wa", "after-kill-from-b")
        group = f"after-kill-{uuid.uuid4().hex[:6]}"
        added = a.request("POST", f"/api/groups/{id_b}/{group}")
        assert (added.status, added.body) == (200, {"ok": True})
        clients.invoke("wa", "SendGroup", group, "to-group")
        clients.wait_received("wb", "to-group")
        assert clients.invoke("wb", "AskClient", id_a, "GetNumber", 5) == "result: 42"
        clients.invoke("wa", "Broadcast", "fence")
        clients.wait_received("wb", "fence")

        assert clients.received("wa") == ["after-kill-from-a", "after-kill-from-b", "fence"]
        assert clients.received("wb") == ["after-kill-from-a", "after-kill-from-b", "to-group", "fence"]
        assert clients.received("wc") == []
        for survivor in (a, b):
            server = survivor.backplane()
            assert server["healthy"] is True
            assert server["metrics"]["gaps"] == 0 and server["metrics"]["missed_batches"] == 0, server
        with capsys.disabled():
            print(
                f"\n[sigkill] C's backends gone {c_gone:.3f} s after the kill; "
                f"AskClient to the dead connection answered in {elapsed:.3f} s"
            )
