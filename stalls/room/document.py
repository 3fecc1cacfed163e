"""Each stall's shared document: one server-authoritative CRDT (pycrdt) per stall.

Browsers hold read-only Y.js replicas. The server writes the document only inside
the database transaction that commits the change it describes (a chat message,
an offer, someone arriving), under the document's row lock, and stores the
binary update in order. Any replica (another process, this one after a restart)
is rebuilt by replaying the stored updates of the current epoch, never by
re-deriving entries from the chat rows. Compaction replaces the log with one
update holding the current content and starts a new epoch; browsers holding an
older epoch drop their copy and sync afresh.
"""

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.utils import timezone
from pycrdt import Array, Doc, Map

from analytics.shared import redis_or_local
from bazaar.broadcast import broadcast_on_commit
from bazaar.jobs import enqueue_on_commit
from bazaar.prepared import Prepared, PreparedInsert

from ..models import StallDocument, StallDocumentUpdate

CHAT_KEEP = 200
COMPACT_AFTER = 2000
REPLICAS_KEPT = 512


def stall_group(stall_public_id: str) -> str:
    """The channel-layer group of everyone connected to one stall."""
    return f"stall.{stall_public_id}"


def new_doc() -> Doc:
    """The document's shape: `chat` and `offers` arrays, a `presence` map."""
    doc = Doc()
    doc["chat"] = Array()
    doc["offers"] = Array()
    doc["presence"] = Map()
    return doc


@dataclass
class Replica:
    """This process's copy of one stall's document, as of update `seq` of `epoch`."""

    doc: Doc
    epoch: int
    seq: int = 0
    updates_in_epoch: int = 0
    # False between a write and its commit: a rolled-back write would leave the
    # copy ahead of the database, so an invalid copy is rebuilt before use.
    valid: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)


_replicas: OrderedDict[int, Replica] = OrderedDict()
_registry_lock = threading.Lock()
_document_ids: dict[int, int] = {}  # stall id -> its document's id, for `_current_replica`


# Where each stall's document stands, published after every commit that moves it, so
# that a heartbeat's answer and a join need no database read. Sequence numbers are the
# update rows' ids, which rise across epochs too, so a position only ever moves up
# (commits that finish out of order cannot move it back).
POSITION_SECONDS = 24 * 3600


class LocalPositions:
    def __init__(self):
        self._lock = threading.Lock()
        self._known: dict[int, tuple[int, int]] = {}

    def publish(self, stall_id: int, epoch: int, seq: int, *, correct: bool = False) -> None:
        with self._lock:
            if correct or seq > self._known.get(stall_id, (0, 0))[1]:
                self._known[stall_id] = (epoch, seq)

    def get_many(self, stall_ids: list[int]) -> dict[int, tuple[int, int]]:
        with self._lock:
            return {i: self._known[i] for i in stall_ids if i in self._known}

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


class RedisPositions:
    """`bazaar:doc:<stall id>:position` = "seq:epoch", raised only, by a script."""

    RAISE = """
    local current = redis.call('GET', KEYS[1])
    if current and tonumber(string.match(current, '^(%d+)')) >= tonumber(ARGV[1]) then
        return 0
    end
    redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
    return 1
    """

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._raise = self._redis.register_script(self.RAISE)

    @staticmethod
    def _key(stall_id: int | str) -> str:
        # Stall ids repeat across databases (a test run's, a bench's) sharing one Redis.
        database = connections["default"].settings_dict["NAME"]
        return f"bazaar:doc:{database}:{stall_id}:position"

    def publish(self, stall_id: int, epoch: int, seq: int, *, correct: bool = False) -> None:
        if correct:
            self._redis.set(self._key(stall_id), f"{seq}:{epoch}", ex=POSITION_SECONDS)
        else:
            self._raise(keys=[self._key(stall_id)], args=[seq, epoch, POSITION_SECONDS])

    def clear(self) -> None:
        """This database's positions (a test database is rebuilt under the same Redis)."""
        keys = list(self._redis.scan_iter(match=self._key("*"), count=1000))
        if keys:
            self._redis.delete(*keys)

    def get_many(self, stall_ids: list[int]) -> dict[int, tuple[int, int]]:
        if not stall_ids:
            return {}
        found = self._redis.mget([self._key(i) for i in stall_ids])
        positions = {}
        for stall_id, raw in zip(stall_ids, found, strict=True):
            if raw is not None:
                seq, epoch = raw.decode().split(":")
                positions[stall_id] = (int(epoch), int(seq))
        return positions


positions = redis_or_local(RedisPositions, LocalPositions)


def _publish_position_on_commit(stall_id: int, epoch: int, seq: int) -> None:
    transaction.on_commit(lambda: positions().publish(stall_id, epoch, seq), robust=True)


def _publish_position_read(stall_id: int, replica: Replica) -> None:
    """A position just read from the database, published unless a transaction is open
    (its own uncommitted writes would be published as committed). One published ahead
    of the database (left by a database since rebuilt) is corrected."""
    if transaction.get_connection().in_atomic_block:
        return
    published = positions().get_many([stall_id]).get(stall_id)
    ahead = published is not None and published[1] > replica.seq
    positions().publish(stall_id, replica.epoch, replica.seq, correct=ahead)


def document_positions(*, stall_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(epoch, seq) of each stall's committed document as last published: no database
    read. A stall whose position is not known (none published since a restart of the
    embedded market) is left out; `document_position_read` reads it."""
    return positions().get_many(stall_ids)


# A crowd joining asks for the position hundreds of times a second; it is published
# after each commit anyway, so reading it this much later changes nothing in kind (a
# socket that missed a change this way is told by its next heartbeat's `pong`).
POSITION_FRESH_SECONDS = 0.2
_fresh_positions: dict[int, tuple[float, tuple[int, int] | None]] = {}


def _published_position(stall_id: int) -> tuple[int, int] | None:
    now = time.monotonic()
    kept = _fresh_positions.get(stall_id)
    if kept is not None and now - kept[0] < POSITION_FRESH_SECONDS:
        return kept[1]
    published = positions().get_many([stall_id]).get(stall_id)
    if len(_fresh_positions) > REPLICAS_KEPT:
        _fresh_positions.clear()
    _fresh_positions[stall_id] = (now, published)
    return published


def _current_replica(stall_id: int, published: tuple[int, int] | None) -> Replica | None:
    """This process's copy of the stall's document if it holds everything `published`
    as committed, so a join can be answered without the database; else None."""
    replica = _replicas.get(_document_ids.get(stall_id, -1))
    if published is None or replica is None or not replica.valid:
        return None
    epoch, seq = published
    return replica if replica.epoch == epoch and replica.seq >= seq else None


def _state_of(replica: Replica, state_vector: bytes | None) -> "DocumentState":
    with replica.lock:
        update = replica.doc.get_update(state_vector) if state_vector else replica.doc.get_update()
        return DocumentState(epoch=replica.epoch, seq=replica.seq, update=update)


def document_state_kept(*, stall_id: int, state_vector: bytes | None = None):
    """`document_state` from this process's copy and a position read moments ago, with
    no I/O at all (a socket's handler may call it on the event loop, sparing a crowd's
    joins the queue for the database thread); None when that cannot be known."""
    kept = _fresh_positions.get(stall_id)
    if kept is None or time.monotonic() - kept[0] >= POSITION_FRESH_SECONDS:
        return None
    replica = _current_replica(stall_id, kept[1])
    return None if replica is None else _state_of(replica, state_vector)


# Every write's two reads, compiled once (`bazaar.prepared`): compiling them cost more
# than running them.
_UPDATES_AFTER = Prepared(
    lambda document_id, epoch, seq: (
        StallDocumentUpdate.objects.filter(document_id=document_id, epoch=epoch, id__gt=seq)
        .order_by("id")
        .values_list("id", "update")
    )
)
_NEW_UPDATE = PreparedInsert(StallDocumentUpdate)
_DOCUMENT_LOCKED = Prepared(
    lambda stall_id: StallDocument.objects.select_for_update().filter(stall_id=stall_id)[:1]
)


def _catch_up(replica: Replica, document: StallDocument) -> None:
    """Apply the stored updates this copy has not seen yet, in commit order."""
    rows = _UPDATES_AFTER.rows(document.pk, replica.epoch, replica.seq)
    # A plain fetch, not a server-side cursor: an epoch's log is bounded by
    # compaction, and a named cursor held across pooled connections crashed
    # psycopg in a thread (seen in CI).
    for row_id, update in rows:
        replica.doc.apply_update(bytes(update))
        replica.seq = row_id
        replica.updates_in_epoch += 1


def _replica_for(document: StallDocument) -> Replica:
    """The up-to-date copy for a document, rebuilt when stale, invalid or of an old epoch."""
    with _registry_lock:
        replica = _replicas.get(document.pk)
        if replica is None or not replica.valid or replica.epoch != document.epoch:
            replica = Replica(doc=new_doc(), epoch=document.epoch)
            _replicas[document.pk] = replica
        _replicas.move_to_end(document.pk)
        _document_ids[document.stall_id] = document.pk
        while len(_replicas) > REPLICAS_KEPT:
            _replicas.popitem(last=False)
    _catch_up(replica, document)
    return replica


def document_for_stall(*, stall_id: int) -> StallDocument:
    document, _ = StallDocument.objects.get_or_create(stall_id=stall_id)
    return document


def _document_locked(*, stall_id: int) -> StallDocument:
    """The document row under its lock: one query once the row exists (every write
    after the stall's first)."""
    document = _DOCUMENT_LOCKED.first(stall_id)
    if document is not None:
        return document
    document_for_stall(stall_id=stall_id)
    return StallDocument.objects.select_for_update().get(stall_id=stall_id)


@dataclass(frozen=True)
class DocumentState:
    """What a joining client needs: the epoch, the last update applied, and a diff."""

    epoch: int
    seq: int
    update: bytes


def document_state(*, stall_id: int, state_vector: bytes | None = None) -> DocumentState:
    """The committed document as an update relative to a client's state vector: from
    this process's copy when it is current (a crowd joining reads no database)."""
    replica = _current_replica(stall_id, _published_position(stall_id))
    if replica is None:
        replica = _replica_for(document_for_stall(stall_id=stall_id))
        _publish_position_read(stall_id, replica)
    return _state_of(replica, state_vector)


def document_position_read(*, stall_id: int) -> tuple[int, int]:
    """(epoch, seq) of the committed document from the database (and published), for
    a stall whose position is not published."""
    replica = _replica_for(document_for_stall(stall_id=stall_id))
    _publish_position_read(stall_id, replica)
    return replica.epoch, replica.seq


def document_snapshot(*, stall_id: int) -> dict:
    """The committed document as plain data (tests, compaction, the admin)."""
    document = document_for_stall(stall_id=stall_id)
    replica = _replica_for(document)
    with replica.lock:
        return {name: replica.doc[name].to_py() for name in ("chat", "offers", "presence")}


def document_presence(*, stall_id: int) -> list[dict]:
    """The signed-in visitors the document lists as present."""
    document = document_for_stall(stall_id=stall_id)
    replica = _replica_for(document)
    with replica.lock:
        return list(replica.doc["presence"].to_py().values())


def document_change(*, stall_id: int, stall_public_id: str, change: Callable[[Doc], None]) -> int:
    """Apply `change` to the document inside the caller's transaction.

    Takes the document's row lock (writers to one stall are serialized across
    processes), catches the copy up, applies the change, stores the update and
    publishes it after commit. Returns the update's sequence number.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("document_change must run inside the transaction it describes")
    document = _document_locked(stall_id=stall_id)
    replica = _replica_for(document)
    with replica.lock:
        before = replica.doc.get_state()
        replica.valid = False
        with replica.doc.transaction():
            change(replica.doc)
        update = replica.doc.get_update(before)
        row = _NEW_UPDATE.create(document=document, epoch=document.epoch, update=update)
        replica.seq = row.id
        replica.updates_in_epoch += 1
        needs_compaction = replica.updates_in_epoch >= COMPACT_AFTER

    def committed() -> None:
        replica.valid = True

    transaction.on_commit(committed)
    _publish_position_on_commit(stall_id, document.epoch, row.id)
    # The frame is encoded once here, not once per socket: a stall of a thousand
    # visitors would otherwise base64 and JSON-encode the same update a thousand times.
    frame = {
        "type": "doc",
        "epoch": document.epoch,
        "seq": row.id,
        "update": base64.b64encode(update).decode("ascii"),
    }
    broadcast_on_commit(
        stall_group(stall_public_id), {"type": "doc.update", "frame": json.dumps(frame)}
    )
    if needs_compaction:
        enqueue_on_commit("stalls.tasks.compact_stall_document", stall_id=stall_id)
    return row.id


@transaction.atomic
def document_compact(
    *, stall_id: int, stall_public_id: str, dropping_chat: Collection[str] = ()
) -> int:
    """Replace the update log with the current content and start a new epoch.

    The new epoch's first update is built in a fresh document, so deleted chat
    entries and their tombstones are gone, and so are the chat messages
    `dropping_chat` names (their text leaves the log too). Returns the new epoch.
    """
    document = _document_locked(stall_id=stall_id)
    content = document_snapshot(stall_id=stall_id)
    fresh = new_doc()
    with fresh.transaction():
        for entry in content["chat"]:
            if entry["id"] not in dropping_chat:
                fresh["chat"].append(Map(entry))
        for entry in content["offers"]:
            fresh["offers"].append(Map(entry))
        for key, value in content["presence"].items():
            fresh["presence"][key] = value
    document.updates.all().delete()
    document.epoch += 1
    document.compacted_at = timezone.now()
    document.save(update_fields=["epoch", "compacted_at"])
    row = StallDocumentUpdate.objects.create(
        document=document, epoch=document.epoch, update=fresh.get_update()
    )
    _publish_position_on_commit(stall_id, document.epoch, row.id)
    broadcast_on_commit(
        stall_group(stall_public_id), {"type": "doc.epoch", "epoch": document.epoch}
    )
    return document.epoch


# Changes the stall room makes. Each runs inside `document_change`.


def chat_entry_insert(doc: Doc, entry: dict) -> None:
    """Insert a chat entry in message-id order and keep only the recent ones."""
    chat = doc["chat"]
    index = len(chat)
    while index > 0 and chat[index - 1]["id"] > entry["id"]:
        index -= 1
    chat.insert(index, Map(entry))
    if len(chat) > CHAT_KEEP:
        del chat[0 : len(chat) - CHAT_KEEP]


def chat_entry_remove(doc: Doc, message_id: str) -> None:
    chat = doc["chat"]
    for index in range(len(chat) - 1, -1, -1):
        if chat[index]["id"] == message_id:
            del chat[index]
            return


def presence_set(doc: Doc, user_public_id: str, info: dict | None) -> None:
    """Add (info) or remove (None) one signed-in visitor."""
    presence = doc["presence"]
    if info is None:
        if user_public_id in presence:
            del presence[user_public_id]
    else:
        presence[user_public_id] = info
