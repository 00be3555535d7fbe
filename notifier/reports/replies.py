"""Replies as the reports need them, from the replies package (issue 5) when it is installed.

Kept behind this one module so the reports work (with zeros) on a platform without replies.
"""
from sqlalchemy import select

from notifier.extensions import db
from notifier.sql import id_in

EMPTY_TALLY = {"confirmed": 0, "declined": 0, "received": 0, "other": 0, "opted_out": 0, "none": 0, "late": 0}


def _replies():
    try:
        from notifier.replies import models, service
    except ImportError:  # the replies issue is not part of this installation
        return None, None
    return models, service


def tally(notice_id):
    """Counts of confirmed, declined, received (only acknowledged), other, opted_out, none (and late)
    for a notice."""
    _models, service = _replies()
    if service is None:
        return dict(EMPTY_TALLY)
    counted = service.tally(notice_id)  # the notice page's numbers, opt-outs included
    return {key: counted.get(key, 0) for key in EMPTY_TALLY}


def for_messages(pairs):
    """{(notice_id, deputy_id): InboundMessage} of the reply that counts for each pair: the latest
    answer (confirm, decline, text), else the latest opt-out (the rule of replies.service.answers)."""
    models, _service = _replies()
    pairs = {(n, d) for n, d in pairs if n is not None and d is not None}
    if models is None or not pairs:
        return {}
    inbound = models.InboundMessage
    answers = tuple(models.ANSWERS)
    # The notices' and deputies' replies (two array parameters, not a pair of binds per text),
    # narrowed to the pairs asked for here.
    rows = db.session.scalars(
        select(inbound).where(id_in(inbound.notice_id, sorted({n for n, _ in pairs})),
                              id_in(inbound.deputy_id, sorted({d for _, d in pairs})),
                              inbound.kind.in_((*answers, models.OPT_OUT)))
        .order_by(inbound.received_at, inbound.id)).all()
    latest = {}
    for row in rows:
        key = (row.notice_id, row.deputy_id)
        if key not in pairs:
            continue
        held = latest.get(key)
        if held is None or row.kind in answers or held.kind not in answers:
            latest[key] = row
    return latest


def reply_dict(row):
    if row is None:
        return None
    return {"id": row.id, "kind": row.kind, "kind_label": str(row.kind_label), "body": row.body,
            "received_at": row.received_at.isoformat() if row.received_at else None, "late": bool(row.late)}
