"""Back up PostgreSQL, restore the backup into a scratch database and check it.

    python deploy/restore_rehearsal.py                  # DATABASE_URL's database
    python deploy/restore_rehearsal.py --database-url postgres://… --keep

The rehearsal the runbook asks for before trusting a backup: `pg_dump` in the custom
format (compressed, restorable table by table and in parallel), `pg_restore --jobs`
into a new database beside the live one, then every table's row count compared with
the source's, and the sequences' positions. It prints the times, the dump's size, the
restore rate and the recovery time that rate gives for a database of `--rto-gib`
GiB, and ends with one line of JSON. The scratch database is dropped unless --keep.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

RTO_HOURS = 4


def database_named(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def table_counts(url: str) -> dict[str, int]:
    """Exact row counts of every table in the public schema."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }


def sequence_positions(url: str) -> dict[str, int | None]:
    """Where each sequence stands: a restore that reset one would hand out ids again."""
    with psycopg.connect(url, autocommit=True) as conn:
        return dict(
            conn.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall()
        )


def backup(url: str, dump: Path) -> float:
    started = time.monotonic()
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", url], check=True)
    return time.monotonic() - started


def restore(dump: Path, url: str, jobs: int) -> float:
    started = time.monotonic()
    subprocess.run(
        ["pg_restore", f"--jobs={jobs}", "--no-owner", "--exit-on-error", f"--dbname={url}", dump],
        check=True,
    )
    return time.monotonic() - started


def rehearse(url: str, *, jobs: int = 2, keep: bool = False, rto_gib: float = 50.0) -> dict:
    source = urlsplit(url).path.strip("/")
    scratch = f"{source}_restore_{int(time.time())}"
    admin = database_named(url, "postgres")
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / f"{source}.dump"
        backup_seconds = backup(url, dump)
        size = dump.stat().st_size
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            restore_seconds = restore(dump, database_named(url, scratch), jobs)
            expected, restored = table_counts(url), table_counts(database_named(url, scratch))
            sequences_expected = sequence_positions(url)
            sequences_restored = sequence_positions(database_named(url, scratch))
        finally:
            if not keep:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(scratch)
                        )
                    )
    with psycopg.connect(url, autocommit=True) as conn:
        database_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    rate = database_bytes / restore_seconds if restore_seconds else 0.0
    projected_hours = (rto_gib * 2**30 / rate / 3600) if rate else None
    mismatched = sorted(
        table
        for table in expected.keys() | restored.keys()
        if expected.get(table) != restored.get(table)
    )
    sequences_mismatched = sorted(
        name
        for name in sequences_expected.keys() | sequences_restored.keys()
        if sequences_expected.get(name) != sequences_restored.get(name)
    )
    return {
        "database": source,
        "scratch": scratch if keep else None,
        "tables": len(expected),
        "rows": sum(expected.values()),
        "dump_bytes": size,
        "database_bytes": database_bytes,
        "backup_seconds": round(backup_seconds, 2),
        "restore_seconds": round(restore_seconds, 2),
        "restore_bytes_per_second": round(rate),
        "rto_gib": rto_gib,
        "rto_projected_hours": round(projected_hours, 2) if projected_hours else None,
        "rto_within_aim": projected_hours is not None and projected_hours < RTO_HOURS,
        "tables_mismatched": mismatched,
        "sequences_mismatched": sequences_mismatched,
        "ok": not mismatched and not sequences_mismatched,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--jobs", type=int, default=2, help="pg_restore's parallel jobs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--rto-gib",
        type=float,
        default=50.0,
        help="database size to project the recovery time for (GiB)",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("needs a PostgreSQL --database-url (or DATABASE_URL)")
    report = rehearse(args.database_url, jobs=args.jobs, keep=args.keep, rto_gib=args.rto_gib)
    print(
        f"backup {report['backup_seconds']} s ({report['dump_bytes']:,} bytes), "
        f"restore {report['restore_seconds']} s of {report['database_bytes']:,} bytes, "
        f"{report['tables']} tables and {report['rows']:,} rows compared: "
        + ("all equal" if report["ok"] else f"MISMATCH {report['tables_mismatched']}")
    )
    print(
        f"at this rate {report['rto_gib']:g} GiB restores in "
        f"{report['rto_projected_hours']} h (aim: under {RTO_HOURS} h)"
    )
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
