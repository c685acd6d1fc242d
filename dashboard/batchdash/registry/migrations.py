"""The registry's schema history: one function per version, applied in order at open.

A migration's DDL is written out as it was at that version and never edited afterwards; the
models in `registry_models` describe the newest schema. To change the schema, change the models
and add a function for the next version to `MIGRATIONS` (plain `ALTER TABLE` text or
`Table.create`), written for both SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from batchdash.errors import RegistryError
from batchdash.i18n import _l
from batchdash.registry.engine import WRITE_OPTION
from batchdash.registry.models import (
    API_ID_LENGTH,
    ID_LENGTH,
    NAMING_CONVENTION,
    RECIPE_NAME_LENGTH,
)

Migration = Callable[[Connection], None]
ColumnType = TypeEngine[Any] | type[TypeEngine[Any]]

#: Any fixed number: PostgreSQL's advisory lock that keeps two replicas from migrating at once.
_MIGRATION_LOCK = 0x6261746368

_versions = Table(
    "schema_versions",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def _create_version_1(conn: Connection) -> None:
    """Jobs with their rows, parts, batch snapshots, fetched results and a merged-table cache."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    stamp = DateTime(timezone=True)

    def required(name: str, type_: ColumnType, *args: SchemaItem, **kwargs: Any) -> Column[Any]:
        return Column(name, type_, *args, nullable=False, **kwargs)

    def optional(name: str, type_: ColumnType) -> Column[Any]:
        return Column(name, type_, nullable=True)

    Table(
        "jobs",
        meta,
        required("id", String(ID_LENGTH), primary_key=True),
        required("scope", String(API_ID_LENGTH)),
        required("name", Text),
        required("state", String(20)),
        required("archived", Boolean),
        required("recipe", JSON),
        required("source_name", Text),
        required("column_names", JSON),
        required("row_count", Integer),
        required("created_at", stamp),
        required("updated_at", stamp),
        Index(None, "scope", "created_at"),
    )
    job_fk = ForeignKey("jobs.id", ondelete="CASCADE")
    Table(
        "job_rows",
        meta,
        required("job_id", String(ID_LENGTH), job_fk, primary_key=True),
        required("codec", String(20)),
        required("data", LargeBinary),
    )
    Table(
        "merged_tables",
        meta,
        required(
            "job_id", String(ID_LENGTH), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
        ),
        required("batch_ids", JSON),
        required("codec", String(20)),
        required("data", LargeBinary),
        required("saved_at", stamp),
    )
    Table(
        "parts",
        meta,
        required("id", Integer, primary_key=True, autoincrement=True),
        required("job_id", String(ID_LENGTH), ForeignKey("jobs.id", ondelete="CASCADE")),
        required("number", Integer),
        required("kind", String(20)),
        optional("first_row", Integer),
        optional("stop_row", Integer),
        optional("custom_ids", JSON),
        required("requests", Integer),
        required("state", String(20)),
        optional("input_file_id", String(API_ID_LENGTH)),
        optional("batch_id", String(API_ID_LENGTH)),
        optional("estimated_input_tokens", BigInteger),
        optional("estimated_cost_usd", Float),
        optional("error", Text),
        optional("claim_token", String(ID_LENGTH)),
        optional("claimed_at", stamp),
        optional("claim_expires_at", stamp),
        required("created_at", stamp),
        optional("uploaded_at", stamp),
        optional("submitted_at", stamp),
        required("updated_at", stamp),
        UniqueConstraint("job_id", "number"),
        UniqueConstraint("batch_id"),
    )
    Table(
        "batch_snapshots",
        meta,
        required("batch_id", String(API_ID_LENGTH), primary_key=True),
        required("part_id", Integer, ForeignKey("parts.id", ondelete="CASCADE"), index=True),
        required("status", String(40)),
        required("info", JSON),
        required("updated_at", stamp),
    )
    Table(
        "results",
        meta,
        required("batch_id", String(API_ID_LENGTH), primary_key=True),
        required("part_id", Integer, ForeignKey("parts.id", ondelete="CASCADE"), index=True),
        required("output_size", BigInteger),
        required("errors_size", BigInteger),
        required("fetched_at", stamp),
    )
    Table(
        "result_chunks",
        meta,
        required(
            "batch_id",
            String(API_ID_LENGTH),
            ForeignKey("results.batch_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        required("which", String(10), primary_key=True),
        required("seq", Integer, primary_key=True),
        required("codec", String(20)),
        required("raw_size", Integer),
        required("data", LargeBinary),
    )
    meta.create_all(conn)


def _add_part_doubts_version_2(conn: Connection) -> None:
    """Parts: when a create whose answer was lost was sent, and the extra batches found since."""
    for name, type_ in (("create_doubt_since", DateTime(timezone=True)), ("extra_batches", JSON())):
        spelled = type_.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE parts ADD COLUMN {name} {spelled}"))


def _add_part_output_estimate_version_3(conn: Connection) -> None:
    """Parts: the output tokens of their answers projected from tried rows."""
    spelled = Float().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE parts ADD COLUMN estimated_output_tokens {spelled}"))


def _add_senders_version_4(conn: Connection) -> None:
    """Jobs: their fingerprint (rows and recipe) and the process sending them; parts: the
    process holding their claim."""
    stamp = DateTime(timezone=True).compile(dialect=conn.dialect)
    spelled = Text().compile(dialect=conn.dialect)
    digest = String(64).compile(dialect=conn.dialect)
    for table, name, type_ in (
        ("jobs", "fingerprint", digest),
        ("jobs", "sender", spelled),
        ("jobs", "sender_until", stamp),
        ("parts", "claim_holder", spelled),
    ):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {type_}"))
    conn.execute(text("CREATE INDEX ix_jobs_scope_fingerprint ON jobs (scope, fingerprint)"))


def _add_direct_lines_version_5(conn: Connection) -> None:
    """Direct parts: each row's answer as it arrived, and the parts' call counts."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    Table("parts", meta, Column("id", Integer, primary_key=True))  # the referred table, as is
    lines = Table(
        "direct_lines",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True, nullable=False),
        Column("part_id", Integer, ForeignKey("parts.id", ondelete="CASCADE"), nullable=False),
        Column("custom_id", Text, nullable=False),
        Column("outcome", String(20), nullable=False),
        Column("line", Text, nullable=False),
        Column("calls", Integer, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("part_id", "custom_id"),
    )
    lines.create(conn)
    for name, type_ in (
        ("direct_calls", BigInteger()),
        ("direct_in_flight", Integer()),
        ("direct_concurrency", Integer()),
    ):
        spelled = type_.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE parts ADD COLUMN {name} {spelled}"))


def _add_preferences_version_6(conn: Connection) -> None:
    """Settings saved per scope (webhooks, limits, budgets), as JSON."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    Table(
        "preferences",
        meta,
        Column("scope", String(API_ID_LENGTH), primary_key=True),
        Column("name", String(80), primary_key=True),
        Column("value", JSON, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    ).create(conn)


def _add_watchers_version_7(conn: Connection) -> None:
    """The watcher's claims on the jobs it moves, and its heartbeat."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    Table("jobs", meta, Column("id", String(ID_LENGTH), primary_key=True))  # referred, as is
    job = ForeignKey("jobs.id", ondelete="CASCADE")
    Table(
        "watch_claims",
        meta,
        Column("job_id", String(ID_LENGTH), job, primary_key=True),
        Column("holder", Text, nullable=False),
        Column("claimed_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
    ).create(conn)
    Table(
        "watchers",
        meta,
        Column("holder", Text, primary_key=True),
        Column("fingerprints", JSON, nullable=False),
        Column("every_seconds", Float, nullable=False),
        Column("seen_at", DateTime(timezone=True), nullable=False),
    ).create(conn)


def _add_notifications_version_8(conn: Connection) -> None:
    """The notifications' outbox: one row per job and event, claimed before it is sent."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    Table("jobs", meta, Column("id", String(ID_LENGTH), primary_key=True))  # referred, as is
    stamp = DateTime(timezone=True)
    Table(
        "notifications",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True, nullable=False),
        Column(
            "job_id",
            String(ID_LENGTH),
            ForeignKey("jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("scope", String(API_ID_LENGTH), nullable=False),
        Column("event", String(20), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("state", String(20), nullable=False),
        Column("reached", JSON, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text, nullable=True),
        Column("retry_at", stamp, nullable=True),
        Column("claim_token", String(ID_LENGTH), nullable=True),
        Column("claim_holder", Text, nullable=True),
        Column("claim_expires_at", stamp, nullable=True),
        Column("created_at", stamp, nullable=False),
        Column("sent_at", stamp, nullable=True),
        UniqueConstraint("job_id", "event"),
        Index(None, "state", "retry_at"),
    ).create(conn)


def _add_file_deletions_version_10(conn: Connection) -> None:
    """Files deleted on the provider (input files of finished batches, the clean-up's)."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    Table("jobs", meta, Column("id", String(ID_LENGTH), primary_key=True))  # referred, as is
    Table(
        "file_deletions",
        meta,
        Column("file_id", String(API_ID_LENGTH), primary_key=True),
        Column("job_id", String(ID_LENGTH), ForeignKey("jobs.id", ondelete="CASCADE")),
        Column("deleted_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False),
        Column("tried_at", DateTime(timezone=True), nullable=False),
        Column("error", Text),
        Index(None, "job_id"),
    ).create(conn)


def _add_saved_recipes_version_11(conn: Connection) -> None:
    """Recipes saved under a name, each save a new version, shared by the key's team."""
    meta = MetaData(naming_convention=NAMING_CONVENTION)
    Table(
        "saved_recipes",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True, nullable=False),
        Column("scope", String(API_ID_LENGTH), nullable=False),
        Column("name", String(RECIPE_NAME_LENGTH), nullable=False),
        Column("version", Integer, nullable=False),
        Column("recipe", JSON, nullable=False),
        Column("saved_by", Text, nullable=True),
        Column("saved_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("scope", "name", "version"),
    ).create(conn)


def _add_part_queue_wait_version_9(conn: Connection) -> None:
    """Parts: why one waits for room under its model's enqueued-token limit."""
    spelled = JSON().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE parts ADD COLUMN queue_wait {spelled}"))


def _add_part_direct_ceiling_version_12(conn: Connection) -> None:
    """Direct parts: the calls at once their run was asked for, so a run resumed by another
    process (after a restart) keeps to it."""
    conn.execute(text("ALTER TABLE parts ADD COLUMN direct_ceiling INTEGER"))


#: Every schema version and the function that brings the version before it there.
MIGRATIONS: dict[int, Migration] = {
    1: _create_version_1,
    2: _add_part_doubts_version_2,
    3: _add_part_output_estimate_version_3,
    4: _add_senders_version_4,
    5: _add_direct_lines_version_5,
    6: _add_preferences_version_6,
    7: _add_watchers_version_7,
    8: _add_notifications_version_8,
    9: _add_part_queue_wait_version_9,
    10: _add_file_deletions_version_10,
    11: _add_saved_recipes_version_11,
    12: _add_part_direct_ceiling_version_12,
}
LATEST_VERSION = max(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """The version the database is at; 0 for an empty database."""
    if not conn.dialect.has_table(conn, _versions.name):
        return 0
    return int(conn.execute(select(func.max(_versions.c.version))).scalar_one() or 0)


def upgrade(
    engine: Engine, migrations: Mapping[int, Migration] = MIGRATIONS, *, target: int | None = None
) -> int:
    """Apply the missing migrations up to `target` (default: all) in one transaction; the version reached."""
    newest = max(migrations)
    goal = newest if target is None else target
    try:
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            _versions.create(conn, checkfirst=True)
            version = current_version(conn)
            if version > newest:
                raise RegistryError(
                    _l(
                        "The registry database is at schema version {version}, newer than this Batchdash "
                        "knows ({newest}); upgrade Batchdash or point BATCHDASH_DB_URL at another database.",
                        version=version,
                        newest=newest,
                    )
                )
            # Parts built side by side take version numbers of their own, so a database may
            # hold a later version without an earlier one: every one not applied yet is.
            applied = set(conn.execute(select(_versions.c.version)).scalars())
            for step in sorted(v for v in migrations if v not in applied and v <= goal):
                migrations[step](conn)
                conn.execute(insert(_versions).values(version=step, applied_at=datetime.now(UTC)))
                version = max(version, step)
            return version
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else _l("no answer")
        raise RegistryError(
            _l(
                "The registry database {url} could not be opened ({reason}); check BATCHDASH_DB_URL "
                "and that the database is running.",
                url=engine.url.render_as_string(hide_password=True),
                reason=reason,
            )
        ) from error
