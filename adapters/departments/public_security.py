"""The public-security identity verification service (公安部身份核验), as an offline stub.

The stub holds a small population register of documented test identities (docs/identities.md):
a name and ID number pass only if they belong together there. Production plugs the real service
in behind the same ``RealNameVerifier`` port.
"""
from __future__ import annotations

import csv
from pathlib import Path

from domain.identity.ports import RealNameCheck

# ID number -> (name in the register, status)
TEST_REGISTER: dict[str, tuple[str, str]] = {
    "110105199003070017": ("张丽", "normal"),  # alice: passes real name and face
    "330106198805120023": ("王强", "normal"),  # bob: passes real name and face
    "310115199208150037": ("李娜", "normal"),  # carol: passes real name, fails the face scan
    "440305199511110051": ("陈晶", "normal"),  # erin registers as 陈静: name mismatch
    "110101194501010019": ("刘德", "deceased"),  # a cancelled registration
}
# dave 赵伟 110101197501010047 is deliberately absent: "not found".


def load_register(extra_csv: str = "") -> dict[str, tuple[str, str]]:
    """The test register, plus the identities of a CSV (id_number,name) when one is given: a
    benchmark needs hundreds of citizens at L2, not five."""
    register = dict(TEST_REGISTER)
    if extra_csv:
        with Path(extra_csv).open(newline="", encoding="utf-8") as rows:
            register.update({id_number: (name, "normal") for id_number, name in csv.reader(rows)})
    return register


class StubRealNameVerifier:
    def __init__(self, register: dict[str, tuple[str, str]] | None = None) -> None:
        self._register = TEST_REGISTER if register is None else register

    async def verify(self, *, name: str, id_number: str) -> RealNameCheck:
        entry = self._register.get(id_number)
        if entry is None:
            return RealNameCheck(matched=False, reason="not_found")
        registered_name, status = entry
        if status == "deceased":
            return RealNameCheck(matched=False, reason="deceased")
        if registered_name != name:
            return RealNameCheck(matched=False, reason="mismatch")
        return RealNameCheck(matched=True)
