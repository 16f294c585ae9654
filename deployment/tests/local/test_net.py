"""Ports for local servers: outside the kernel's ephemeral range, so no outgoing connection can take one
between the moment it is found free and the moment a server binds it, and never the same one twice."""

from __future__ import annotations

import socket

import pytest

from shopctl.local import net


def test_server_ports_come_from_below_the_ephemeral_range_and_are_not_handed_out_twice() -> None:
    ports = [net.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(net.SERVER_PORTS_FROM <= port < net._ephemeral_start() for port in ports)


def test_a_port_in_use_or_claimed_by_another_of_our_processes_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    low = net.SERVER_PORTS_FROM
    busy_port = next(p for p in range(low + 5000, low + 6000) if net._bindable(p))
    claimed_port = next(p for p in range(busy_port + 1, low + 7000) if net._bindable(p) and net._reserve(p))
    offers = iter([busy_port, claimed_port])
    randint = net.random.randint
    offered: list[int] = []

    def offer(a: int, b: int) -> int:  # these two first, then random ones as usual
        offered.append(next(offers, None) or randint(a, b))
        return offered[-1]

    monkeypatch.setattr(net.random, "randint", offer)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", busy_port))  # a server of someone else, on the loopback address only
        busy.listen()
        port = net.free_port()
    assert offered[:2] == [busy_port, claimed_port] and port == offered[-1]
    assert port not in (busy_port, claimed_port)
