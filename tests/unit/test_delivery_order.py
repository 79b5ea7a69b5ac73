"""The outbox's order within a key (domain/delivery/rules.py, docs/delivery.md "Order"), as a property:
whatever several relays do — claims in any interleaving, sends that fail and wait for a retry, sends
refused and parked, an SMS put in a refused message's place, operators resending — the deliveries of
one key that are not parked go out in the order of their position, never two of a key at once, and
once the receivers answer again every delivery goes out (the order never deadlocks)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.delivery import rules
from domain.delivery.rules import PARKED, PENDING, Queued

DELIVERED = rules.DELIVERED
KEYS = ("notify:A", "notify:B", None)  # None: a delivery with no order (a node's)
RELAYS = 3


@dataclass
class World:
    rows: dict[int, Queued] = field(default_factory=dict)
    holder: dict[int, int] = field(default_factory=dict)  # delivery id -> relay sending it
    sent: list[int] = field(default_factory=list)  # ids, in the order the receiver took them
    ever_parked: set[int] = field(default_factory=set)
    next_id: int = 1

    def add(self, key: str | None, position: int | None) -> None:
        self.rows[self.next_id] = Queued(self.next_id, key, position, PENDING, False)
        self.next_id += 1

    def claim(self, relay: int, pick: int) -> None:
        if relay in self.holder.values():
            return
        free = rules.sendable(list(self.rows.values()))
        if not free:
            return
        chosen = self.rows[free[pick % len(free)]]
        # what the rule promises at the moment of a claim
        for other in self.rows.values():
            if other.ordering_key is not None and other.ordering_key == chosen.ordering_key:
                assert not other.leased, (chosen, other)
                if rules.precedes(other, chosen):
                    assert other.status != PENDING, (chosen, other)
        self.rows[chosen.id] = replace(chosen, leased=True)
        self.holder[chosen.id] = relay

    def finish(self, relay: int, outcome: str) -> None:
        mine = [i for i, r in self.holder.items() if r == relay]
        if not mine:
            return
        row = self.rows[mine[0]]
        del self.holder[row.id]
        if outcome == "delivered":
            self.sent.append(row.id)
            self.rows[row.id] = replace(row, status=DELIVERED, leased=False)
        elif outcome == "retry":
            self.rows[row.id] = replace(row, leased=False)
        else:  # refused: parked, and an SMS takes its place (same key, same position)
            self.rows[row.id] = replace(row, status=PARKED, leased=False)
            self.ever_parked.add(row.id)
            if outcome == "refused_sms":
                self.add(row.ordering_key, row.position)

    def resend(self, pick: int) -> None:
        parked = sorted(i for i, r in self.rows.items() if r.status == PARKED)
        if parked:
            chosen = self.rows[parked[pick % len(parked)]]
            self.rows[chosen.id] = replace(chosen, status=PENDING)


steps = st.lists(st.one_of(
    st.tuples(st.just("add"), st.sampled_from(KEYS), st.integers(0, 3)),
    st.tuples(st.just("claim"), st.integers(0, RELAYS - 1), st.integers(0, 20)),
    st.tuples(st.just("finish"), st.integers(0, RELAYS - 1),
              st.sampled_from(["delivered", "delivered", "retry", "refused", "refused_sms"])),
    st.tuples(st.just("resend"), st.integers(0, 20), st.just(0)),
), max_size=80)


@settings(max_examples=400, deadline=None)
@given(steps)
def test_deliveries_of_a_key_go_out_in_order_and_all_go_out_in_the_end(plan):
    world = World()
    positions = {key: 0 for key in KEYS}
    for action, a, b in plan:
        if action == "add":
            positions[a] += 1 + b  # a later status change: a later message (ids and positions grow)
            world.add(a, positions[a] if a else None)
        elif action == "claim":
            world.claim(a, b)
        elif action == "finish":
            world.finish(a, b)
        else:
            world.resend(a)
    for relay in range(RELAYS):  # the sends in flight end; then the receivers say yes to everything
        world.finish(relay, "retry")
    for _ in range(1000):
        world.claim(0, 0)
        world.finish(0, "delivered")
    assert all(row.status != PENDING for row in world.rows.values()), "the order held something back for good"
    for key in KEYS[:2]:
        kept = [world.rows[i] for i in world.sent if world.rows[i].ordering_key == key and i not in world.ever_parked]
        order = [(r.position, r.id) for r in kept]
        assert order == sorted(order), (key, order)


def test_other_keys_and_unordered_deliveries_are_never_held_back():
    waiting = Queued(1, "notify:A", 1, PENDING, False)  # failed once, waiting for its retry
    rows = [waiting, Queued(2, "notify:A", 2, PENDING, False), Queued(3, "notify:B", 1, PENDING, False),
            Queued(4, None, None, PENDING, False), Queued(5, "notify:B", 2, DELIVERED, False)]
    assert rules.sendable(rows) == [1, 3, 4]
    rows[0] = replace(waiting, leased=True)  # being sent by a relay
    assert rules.sendable(rows) == [3, 4]
    rows[0] = replace(waiting, status=PARKED)  # given up: the next goes
    assert rules.sendable(rows) == [2, 3, 4]


def test_a_stand_in_waits_for_the_refused_one_it_replaces_to_be_parked():
    refused = Queued(1, "notify:A", 7, PENDING, True)  # WeChat refused it; the relay records that next
    sms = Queued(2, "notify:A", 7, PENDING, False)
    later = Queued(3, "notify:A", 9, PENDING, False)
    assert rules.sendable([refused, sms, later]) == []
    assert rules.sendable([replace(refused, status=PARKED, leased=False), sms, later]) == [2]
