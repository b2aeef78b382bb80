"""Retrying quarantined entries: after a private key was added or the parser fixed, entries that
failed can be archived from the encrypted item we kept (DecryptData works offline)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.sdk.hosted import LibrarySpec
from app.core.store.db import Database, now_ms
from app.core.store.models import Corp, QuarantineEntry

from .decrypt import DecryptPool
from .writer import quarantine, store_narrowing

PAGE = 500


@dataclass
class RetryResult:
    tried: int = 0
    resolved: int = 0
    still_failing: int = 0


def retry_quarantine(actor: Actor, db: Database, *, corpid: str, private_keys: dict[int, str],
                     library: LibrarySpec) -> RetryResult:
    """Try every unresolved quarantined entry of ``corpid`` again with ``private_keys``. Needs
    ``sync.run`` (PermissionDenied, recorded, otherwise); records a ``sync.run`` entry with the
    counts."""
    trail = AuditTrail(db)
    trail.require(actor, R.SYNC_RUN, action=Action.SYNC_RUN, object_type="corp", object=corpid,
                  detail={"what": "quarantine retry"})
    pool = DecryptPool(library, private_keys, workers=1)  # Tencent's library only in an SDK host
    try:
        result = _retry(db, corpid, pool)
    finally:
        pool.close()
    trail.record(actor, Action.SYNC_RUN, object_type="corp", object=corpid,
                 detail={"what": "quarantine retry", "tried": result.tried, "resolved": result.resolved,
                         "still_failing": result.still_failing})
    return result


def _retry(db: Database, corpid: str, pool: DecryptPool) -> RetryResult:
    result = RetryResult()
    with db.read() as conn:
        corp_id = conn.execute(select(Corp.id).where(Corp.corpid == corpid)).scalar()
    if corp_id is None:
        return result
    last_seq = -1
    while True:
        with db.read() as conn:
            rows = conn.execute(select(QuarantineEntry.seq, QuarantineEntry.encrypted_item)
                                .where(QuarantineEntry.corp_id == corp_id, QuarantineEntry.resolved_at.is_(None),
                                       QuarantineEntry.seq > last_seq)
                                .order_by(QuarantineEntry.seq).limit(PAGE)).all()
        if not rows:
            return result
        last_seq = rows[-1].seq
        outcomes = pool.submit([ChatDataItem(**json.loads(r.encrypted_item)) for r in rows]).result()
        decrypted = [o for o in outcomes if isinstance(o, Decrypted)]
        bad = [o for o in outcomes if not isinstance(o, Decrypted)]
        with db.write() as conn:
            _, refused = store_narrowing(db, conn, corp_id, decrypted, run_id=None)
            bad += refused  # e.g. a msgid archived already with other content: still a conflict
            refused_seqs = {r.item.seq for r in refused}
            ok = [o for o in decrypted if o.item.seq not in refused_seqs]
            if ok:
                conn.execute(update(QuarantineEntry)
                             .where(QuarantineEntry.corp_id == corp_id,
                                    QuarantineEntry.seq.in_([o.item.seq for o in ok]))
                             .values(resolved_at=now_ms(), last_tried_at=now_ms(),
                                     attempts=QuarantineEntry.attempts + 1))
            quarantine(db, conn, corp_id, bad, run_id=None)
        result.tried += len(rows)
        result.resolved += len(ok)
        result.still_failing += len(bad)
