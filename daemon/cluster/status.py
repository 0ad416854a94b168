"""The cluster as the database shows it, for `/readyz` and `paywatch cluster status`:
each instance (live or seen in the last hour) with the chains it leads and whether it
holds the jobs lease, and each lease's holder."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from daemon.cluster import instances, leases


def cluster_view(conn: Connection) -> dict[str, Any]:
    """``{"instances": [{id, host, pid, started_at, heartbeat_at, stopped_at, live,
    chains: [...], jobs: bool}], "chains": {name: leader id or None}, "jobs": id or
    None}``. Leases exist on PostgreSQL only: on SQLite the one live instance leads."""
    listed = instances.listed(conn)
    held: dict[str, str | None] = {}
    if conn.dialect.name == "postgresql":
        for lease in leases.read(conn):
            held[lease.name] = lease.holder if lease.free_for < 0 else None
    else:
        live = [i.id for i in listed if i.live]
        held = {leases.JOBS: live[0] if live else None}
    chains = {
        name.removeprefix("chain:"): holder
        for name, holder in held.items()
        if name.startswith("chain:")
    }
    rows = []
    for instance in listed:
        row = instance.view()
        row["chains"] = sorted(c for c, holder in chains.items() if holder == instance.id)
        row["jobs"] = held.get(leases.JOBS) == instance.id
        rows.append(row)
    return {"instances": rows, "chains": chains, "jobs": held.get(leases.JOBS)}
