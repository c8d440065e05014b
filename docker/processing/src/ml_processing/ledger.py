"""The item ids of a month, on disk: which items were expected, which were answered, which
twice, which never, in memory bounded whatever the month's volume.

A month is millions of ids; two Python sets of them cost hundreds of megabytes and grow with
the volume. SQLite (the standard library's) keeps them in a scratch file next to the job's
staging area, with a page cache of ``CACHE_KIB``; ids are inserted in batches of ``BATCH``.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from ml_common.contract import ContractError

BATCH = 20_000
CACHE_KIB = 16 * 1024


class ItemLedger:
    """``expect`` the month's items, ``answered`` each answer's item; ``close`` removes the
    file. An item answered twice is a ContractError naming it."""

    def __init__(self, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        self._dir = tempfile.TemporaryDirectory(prefix="item-ledger-", dir=scratch)
        self._db = sqlite3.connect(Path(self._dir.name) / "items.sqlite", isolation_level=None)
        # The rollback journal stays (on disk): a batch with a repeated id is rolled back.
        # Nothing needs to survive a crash: no fsync.
        for pragma in ("synchronous=OFF", f"cache_size=-{CACHE_KIB}"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE expected (item_id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._db.execute("CREATE TABLE answered (item_id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._expected: list[tuple[str]] = []
        self._answered: list[tuple[str]] = []
        self.answered_items = 0

    def __enter__(self) -> ItemLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def expect(self, item_id: str) -> None:
        """An item of the month (the same id listed twice counts once)."""
        self._expected.append((item_id,))
        if len(self._expected) >= BATCH:
            self._flush_expected()

    def answered(self, item_id: str) -> None:
        self._answered.append((item_id,))
        if len(self._answered) >= BATCH:
            self._flush_answered()

    def _flush_expected(self) -> None:
        self._db.execute("BEGIN")  # one transaction a batch
        self._db.executemany("INSERT OR IGNORE INTO expected VALUES (?)", self._expected)
        self._db.execute("COMMIT")
        self._expected.clear()

    def _flush_answered(self) -> None:
        batch, self._answered = self._answered, []
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT INTO answered VALUES (?)", batch)
        except sqlite3.IntegrityError:
            self._db.execute("ROLLBACK")
            raise ContractError(
                f"predictions: item {self._first_repeat(batch)} answered twice"
            ) from None
        self._db.execute("COMMIT")
        self.answered_items += len(batch)

    def _first_repeat(self, batch: list[tuple[str]]) -> str:
        """The first id of ``batch`` answered before it or earlier in it (the table is as it
        was before the batch)."""
        within: set[str] = set()
        for (item_id,) in batch:
            known = self._db.execute("SELECT 1 FROM answered WHERE item_id = ?", (item_id,))
            if item_id in within or known.fetchone() is not None:
                return item_id
            within.add(item_id)
        raise AssertionError("an IntegrityError without a repeated id")

    def _count(self, table: str) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    def missing(self, examples: int = 3) -> tuple[int, list[str]]:
        """How many expected items were never answered, and the first few of them by id."""
        self._flush_expected()
        self._flush_answered()
        missing = "FROM expected WHERE item_id NOT IN (SELECT item_id FROM answered)"
        count = int(self._db.execute(f"SELECT count(*) {missing}").fetchone()[0])  # noqa: S608
        rows = self._db.execute(
            f"SELECT item_id {missing} ORDER BY item_id LIMIT ?",  # noqa: S608
            (examples,),
        ).fetchall()
        return count, [row[0] for row in rows]

    def totals(self) -> tuple[int, int]:
        """(distinct expected items, answers)."""
        self._flush_expected()
        self._flush_answered()
        return self._count("expected"), self.answered_items
