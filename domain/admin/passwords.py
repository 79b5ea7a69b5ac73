"""Password hashing with argon2id (argon2-cffi), off the event loop.

Hashing costs a fraction of a second of CPU and 64 MiB of memory by design (argon2-cffi's
defaults, RFC 9106's low-memory profile). argon2-cffi releases the GIL while it works, so a thread
keeps the event loop serving other requests; a semaphore bounds how many run at once, so a burst
of logins queues instead of exhausting memory.
"""
from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT = 4  # hashes at once per process


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._decoy: str | None = None
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                matches = self._hasher.verify(stored_hash or self._decoy_hash(), password)
                return matches and stored_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        async with self._slots:
            return await asyncio.to_thread(check)

    def _decoy_hash(self) -> str:
        # Verified against when the username is unknown, so that "no such user" takes as long as
        # "wrong password" and response times do not reveal which usernames exist. Made on first
        # need: CLI commands that build the services never log anyone in.
        if self._decoy is None:
            self._decoy = self._hasher.hash("decoy password, never valid")
        return self._decoy

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored_hash)
