"""The registry's tables as SQLAlchemy models: the newest schema.

The database itself is only ever built by the migrations in `registry_migrations`; a test checks
that a migrated database has exactly these tables, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names fixed by rule, so a later migration can alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Identifier lengths: ours (`job_` + 12 hex) and OpenAI's file and batch ids, with room to spare.
ID_LENGTH = 40
API_ID_LENGTH = 200
#: A job's fingerprint: SHA-256 in hex.
FINGERPRINT_LENGTH = 64
#: The longest name a saved recipe may have.
RECIPE_NAME_LENGTH = 120


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no zone, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the registry stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobModel(Base):
    """One analyst's unit of work: a table of rows and the recipe that turns them into requests."""

    __tablename__ = "jobs"
    __table_args__ = (Index(None, "scope", "created_at"), Index(None, "scope", "fingerprint"))

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    scope: Mapped[str] = mapped_column(String(API_ID_LENGTH))
    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    archived: Mapped[bool] = mapped_column(Boolean)
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_name: Mapped[str] = mapped_column(Text)
    column_names: Mapped[list[str]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Digest of the rows and the recipe: the same table and recipe give the same one.
    fingerprint: Mapped[str | None] = mapped_column(String(FINGERPRINT_LENGTH))
    #: The process sending the job's parts (`registry.holders`), while it sends them.
    sender: Mapped[str | None] = mapped_column(Text)
    #: Until when that sender holds the job unless its heartbeat renews it.
    sender_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class JobRowsModel(Base):
    """The job's input table, one compressed blob (kept apart so listing jobs never loads it)."""

    __tablename__ = "job_rows"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    codec: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MergedModel(Base):
    """A cached merged table, valid while the job's fetched batches are exactly `batch_ids`."""

    __tablename__ = "merged_tables"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    batch_ids: Mapped[list[str]] = mapped_column(JSON)
    codec: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PartModel(Base):
    """One batch's worth of a job: planned, then uploaded (file id), then created (batch id)."""

    __tablename__ = "parts"
    __table_args__ = (UniqueConstraint("job_id", "number"), UniqueConstraint("batch_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    first_row: Mapped[int | None] = mapped_column(Integer)
    stop_row: Mapped[int | None] = mapped_column(Integer)
    custom_ids: Mapped[list[str] | None] = mapped_column(JSON)
    requests: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    input_file_id: Mapped[str | None] = mapped_column(String(API_ID_LENGTH))
    batch_id: Mapped[str | None] = mapped_column(String(API_ID_LENGTH))
    estimated_input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float)
    #: Output tokens of the part's answers projected from tried rows (None: no try).
    estimated_output_tokens: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The process holding the claim (`registry.holders`): gone, it holds nothing.
    claim_holder: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    uploaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When the first create whose answer was lost was sent (it may land late: watch for it).
    create_doubt_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Batches the API made for the part besides its own: batch id -> what became of it.
    extra_batches: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: A direct part: calls made so far, retries included (None: none yet, or not direct).
    direct_calls: Mapped[int | None] = mapped_column(BigInteger)
    #: A direct part: calls its runner had under way at its last record.
    direct_in_flight: Mapped[int | None] = mapped_column(Integer)
    #: A direct part: how many calls at once its runner allowed at its last record.
    direct_concurrency: Mapped[int | None] = mapped_column(Integer)
    direct_ceiling: Mapped[int | None] = mapped_column(Integer)
    #: Why an unsent part waits for room under its model's enqueued-token limit, with the
    #: figures (`jobs.token_queue.QueueWait`); None: it does not wait.
    queue_wait: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DirectLineModel(Base):
    """The answer (or error) of one row of a direct part, recorded as it arrived, as a line of
    the Batch API's output format: the merge reads it like a batch's result line."""

    __tablename__ = "direct_lines"
    __table_args__ = (UniqueConstraint("part_id", "custom_id"),)

    #: Arrival order (the merge reads the lines in it).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    custom_id: Mapped[str] = mapped_column(Text)
    #: "ok", "error" or "cancelled".
    outcome: Mapped[str] = mapped_column(String(20))
    #: The output line (JSON, no newline).
    line: Mapped[str] = mapped_column(Text)
    #: Calls made for the row, retries included.
    calls: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SnapshotModel(Base):
    """The latest Batch object seen for a batch, as the gateway described it."""

    __tablename__ = "batch_snapshots"

    batch_id: Mapped[str] = mapped_column(String(API_ID_LENGTH), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(40))
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ResultModel(Base):
    """A batch's output and error files, fetched once; their bytes live in `result_chunks`."""

    __tablename__ = "results"

    batch_id: Mapped[str] = mapped_column(String(API_ID_LENGTH), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    output_size: Mapped[int] = mapped_column(BigInteger)
    errors_size: Mapped[int] = mapped_column(BigInteger)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ResultChunkModel(Base):
    """A compressed run of whole lines of one result file."""

    __tablename__ = "result_chunks"

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("results.batch_id", ondelete="CASCADE"), primary_key=True
    )
    #: "output" or "errors".
    which: Mapped[str] = mapped_column(String(10), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    codec: Mapped[str] = mapped_column(String(20))
    raw_size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class PreferenceModel(Base):
    """A setting an analyst saved in Settings for one scope (webhooks, limits, budgets), as
    JSON: kept in the registry so a watcher with no page open reads the same values."""

    __tablename__ = "preferences"

    scope: Mapped[str] = mapped_column(String(API_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FileDeletionModel(Base):
    """A file Batchdash made on the provider and deleted (or tried to): the input file of a
    batch that is over, or one the Settings clean-up removed. A deleted file is never tried
    again; a failed try is retried by a later refresh."""

    __tablename__ = "file_deletions"

    file_id: Mapped[str] = mapped_column(String(API_ID_LENGTH), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    #: When the provider confirmed it gone; None while the delete keeps failing.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Tries so far.
    attempts: Mapped[int] = mapped_column(Integer)
    tried_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Why the last try failed (English, as data).
    error: Mapped[str | None] = mapped_column(Text)


class WatchClaimModel(Base):
    """A watcher moving a job this round (`registry.watch_claims`): the others leave it alone
    until the holder releases it, its lease runs out or its process is gone."""

    __tablename__ = "watch_claims"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    #: The watcher's process (`registry.holders`).
    holder: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Until when the claim holds unless the holder renews it.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WatcherModel(Base):
    """A running watcher's heartbeat, recorded each round: the Jobs page says jobs move on
    their own while one serving its key was seen lately."""

    __tablename__ = "watchers"

    #: The watcher's process (`registry.holders`).
    holder: Mapped[str] = mapped_column(Text, primary_key=True)
    #: The key fingerprints whose jobs it moves (every scope of each).
    fingerprints: Mapped[list[str]] = mapped_column(JSON)
    #: Seconds between two of its rounds.
    every_seconds: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SavedRecipeModel(Base):
    """One version of a recipe saved under a name; a team on one key shares its names."""

    __tablename__ = "saved_recipes"
    __table_args__ = (UniqueConstraint("scope", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The key's fingerprint (never the signed-in user: the team shares its recipes).
    scope: Mapped[str] = mapped_column(String(API_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(RECIPE_NAME_LENGTH))
    #: 1 for the first save under the name, one more for each later save.
    version: Mapped[int] = mapped_column(Integer)
    #: `Recipe.to_dict()`.
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The signed-in user who saved it, or None without sign-in.
    saved_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NotificationModel(Base):
    """A notification about a job (finished, failed, nearing expiry), recorded once and sent
    once: the outbox a watcher, a page or the CLI delivers from (`batchdash.notify`)."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("job_id", "event"), Index(None, "state", "retry_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    #: The job's scope: whose saved webhooks and addresses it goes to.
    scope: Mapped[str] = mapped_column(String(API_ID_LENGTH))
    #: "finished", "failed" or "expiring".
    event: Mapped[str] = mapped_column(String(20))
    #: What it tells: the plain JSON body (event, job_id, name, state, counts, cost_usd), and
    #: `expires_at` apart for the expiry's sentence.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: "pending", "sent", or "given_up" after too many failed sends.
    state: Mapped[str] = mapped_column(String(20))
    #: Digests of the targets it already reached, so a retry skips them.
    reached: Mapped[list[str]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer)
    #: Why the last send failed (no secret of a target in it).
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Not tried again before this moment (after a failed send).
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    claim_holder: Mapped[str | None] = mapped_column(Text)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
