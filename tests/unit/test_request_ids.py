"""Request ids: unique across requests and processes (a forked child draws a new prefix), 32 hex
characters as before, made without a system call each."""
from __future__ import annotations

import os

from bff.app import RequestIds


def test_ids_are_unique_32_hex_characters_and_a_new_process_draws_a_new_prefix():
    ids = RequestIds()
    made = [ids.next() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in made)
    prefix = made[0][:16]
    ids.draw_prefix()  # what a forked child does (os.register_at_fork)
    assert ids.next()[:16] != prefix


def test_a_forked_child_does_not_repeat_its_parents_ids():
    ids = RequestIds()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its first id, to the parent
        os.write(write, ids.next().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert from_child[:16] != ids.next()[:16]
