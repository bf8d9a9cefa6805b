"""Three real server processes share one Postgres; official JavaScript clients
(json and messagepack) on different nodes see one server.

``cluster.mjs`` runs every check against the three nodes and reports what
each client received, step by step; the assertions here are on exact values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from backplane_e2e_support import HERE, ServerNode, cluster, logs, run_node_script, with_params

pytestmark = pytest.mark.node

PREFIX = f"e2e_cluster_{uuid.uuid4().hex[:8]}"
CLIENTS = ("a1", "a2", "b1", "b2", "c1", "c2")
LARGE = 100 * 1024


def only(**received: list[Any]) -> dict[str, list[Any]]:
    """Every client's inbox: the named ones hold what is given, the others nothing."""
    return {name: received.get(name, []) for name in CLIENTS}


@pytest.fixture(scope="module")
def nodes(pg_dsn: str) -> Iterator[dict[str, ServerNode]]:
    dsns = {name: with_params(pg_dsn, application_name=f"{PREFIX}-{name}") for name in "ABC"}
    with cluster(dsns, PREFIX) as started:
        yield started


@pytest.fixture(scope="module")
def report(nodes: dict[str, ServerNode], node: str) -> dict[str, Any]:
    try:
        return run_node_script(HERE / "cluster.mjs", [nodes[n].url for n in "ABC"], timeout=60.0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs(nodes)}") from None


def test_three_nodes_share_one_backplane(nodes: dict[str, ServerNode]) -> None:
    servers = {name: n.backplane() for name, n in nodes.items()}
    assert all(s["backplane"] == "postgres" and s["healthy"] is True for s in servers.values()), servers
    assert len({s["server"] for s in servers.values()}) == 3


def test_mixed_protocols_on_every_node(report: dict[str, Any]) -> None:
    assert report["clients"] == {
        "a1": {"node": "A", "protocol": "json"},
        "a2": {"node": "A", "protocol": "messagepack"},
        "b1": {"node": "B", "protocol": "messagepack"},
        "b2": {"node": "B", "protocol": "json"},
        "c1": {"node": "C", "protocol": "json"},
        "c2": {"node": "C", "protocol": "messagepack"},
    }
    assert report["distinctConnectionIds"] == 6


def test_broadcast_reaches_every_node_exactly_once(report: dict[str, Any]) -> None:
    assert report["broadcast"] == {name: ["broadcast-from-a1"] for name in CLIENTS}


def test_group_joined_on_a_sent_from_c(report: dict[str, Any]) -> None:
    assert report["groupJoinedOnA"] == only(a2=["group-from-c1"])


def test_group_add_and_remove_through_the_hub_context_of_another_node(report: dict[str, Any]) -> None:
    assert report["remoteAdd"] == {"status": 200, "body": {"ok": True}}
    assert report["afterRemoteAdd"] == only(a1=["after-remote-add"])
    assert report["remoteRemove"] == {"status": 200, "body": {"ok": True}}
    assert report["afterRemoteRemove"] == only()


def test_user_on_two_nodes_receives_send_user_from_the_third(report: dict[str, Any]) -> None:
    user = report["user"]
    assert report["userIdentifiers"] == {"a1": user, "b1": user}
    assert report["sendUser"] == only(a1=["to-user"], b1=["to-user"])


def test_client_result_across_nodes(report: dict[str, Any]) -> None:
    assert report["askJsonToMessagepack"] == "result: 42"
    assert report["askMessagepackToJson"] == "result: 42"
    assert report["asked"] == {"a1": [], "a2": [], "b1": [41], "b2": [41], "c1": [], "c2": []}


def test_client_result_for_a_connection_that_exists_nowhere(report: dict[str, Any]) -> None:
    missing = report["missingId"]
    assert report["askMissing"] == f"ConnectionNotFoundError: Connection '{missing}' does not exist."
    # No receipt within receipt_timeout (2 s by default) decides it, not the 5 s timeout.
    assert 1500 <= report["askMissingMs"] < 4500, report["askMissingMs"]


def test_100_kb_broadcast_arrives_intact_on_every_node(report: dict[str, Any]) -> None:
    sent = report["largeSent"]
    assert sent["length"] == LARGE
    assert report["largeSend"] == {"status": 200, "body": {"ok": True}}
    expected = [{"length": LARGE, "sha256": sent["sha256"], "intact": True}]
    assert report["largeReceived"] == {name: expected for name in CLIENTS}
    assert report["largeSpilledOnA"] >= 1  # too big for NOTIFY: it went through the spill table


def test_group_name_of_200_non_ascii_characters(report: dict[str, Any]) -> None:
    name = report["longName"]["name"]
    assert len(name) == 200 and not name.isascii()
    assert report["longName"]["chars"] == 200
    assert report["longName"]["utf8Bytes"] == len(name.encode())
    assert report["longNameAdd"] == {"status": 200, "body": {"ok": True}}
    assert report["longNameGroup"] == only(a2=["to-long-name"], b2=["to-long-name"])


def test_no_gaps_after_the_checks(report: dict[str, Any], nodes: dict[str, ServerNode]) -> None:
    for name, n in nodes.items():
        server = n.backplane()
        assert server["healthy"] is True, name
        metrics = server["metrics"]
        assert metrics["gaps"] == 0 and metrics["missed_batches"] == 0, (name, metrics)
        assert metrics["inbox_overflows"] == 0 and metrics["listener_reconnects"] == 0, (name, metrics)
        assert metrics["batches_published"] >= 1, (name, metrics)
