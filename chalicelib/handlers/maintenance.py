"""Periodic work: on Lambda a scheduled function, in `aihub serve` a background task."""
from __future__ import annotations

from chalicelib.credentials import recheck


async def run() -> None:
    await recheck.recheck_due()
    rekey_credentials()


def rekey_credentials() -> int:
    """After a rotation of the master secret, seal every credential with the new one; returns
    how many. Free when nothing is left to do: the old secret is asked for only if a row needs it."""
    from chalicelib.config import previous_secret, settings
    from chalicelib.credentials import crypto, pool
    from chalicelib.store import providers as rows
    from chalicelib.store.shared import store

    secret, done = settings().secret, 0
    if not secret:
        return 0
    for row in rows.list_credentials(store(), with_secret=True):
        if crypto.decrypt_with(crypto.check_secret(secret), row["secret"], row["id"]) is not None:
            continue
        sealed = crypto.rekey(secret, previous_secret(), row["secret"], row["id"])
        if sealed is not None:  # compare-and-set: an admin's new value written meanwhile wins
            done += store().write(lambda conn, row=row, sealed=sealed: conn.execute(
                "UPDATE credentials SET secret = ? WHERE id = ? AND secret = ?",
                (sealed, row["id"], row["secret"])).rowcount)
    if done:
        pool.invalidate()
    return done
