"""The review workflow (issue 15): what a compliance officer decides about the archive, kept in the
archive database beside it (SQLite or MySQL; migration 0010) and never in the messages themselves.

- **Tags** (tags.py): the archive's tag set (需关注 Needs attention, 违规 Violation, 无问题 No issue,
  特权 Privileged, 已上报 Escalated by default; an administrator edits it) on messages, selections,
  whole sessions or all results of a query.
- **Review status** (status.py): unreviewed / in review / reviewed per message and per session,
  each reviewer's "reviewed up to here" mark, and what is new since my last review.
- **Notes** (notes.py): a reviewer's note on a message or session; edits are versions.
- **Saved searches** (searches.py): named queries, private or shared, with new hits since I last ran them.
- **Policies and alerts** (policies.py, alerts.py): saved queries evaluated on every sync batch (or
  daily) through the search journal, raising one alert per policy, session and day; triage.
- **Sampling** (sampling.py): N % or N conversations of a staff group a week, drawn with a kept
  seed among those without alerts, reproducible by an auditor.
- **Query terms** (facts.py): ``tag:``, ``status:``, ``reviewed:``, ``alert:``, ``policy:``,
  ``has:note|tag|alert`` in the search language, exact like every other term.

Permissions (app/core/auth/roles.py): ``review.manage`` (administrators: tag set, policies,
sampling rules), ``review.write`` (reviewers: tag, note, mark, triage, draw — within their scope),
``review.read`` (reviewers and auditors; auditors see who reviewed what and when, but neither
message content nor the text of notes and reasons). Every change is recorded in the audit trail in
the transaction that makes it. :class:`Review` bundles the services for one archive.
"""

from __future__ import annotations

from datetime import tzinfo

from app.core.auth.audit import AuditTrail
from app.core.store.db import Database

from .alerts import AlertRow, AlertService
from .common import ReviewError, reviewer_key
from .notes import NoteRow, NoteService, NoteVersion
from .policies import PolicyEngine, PolicyFollower, PolicyRow, PolicyService, RunReport
from .sampling import DrawRow, Reproduction, RuleRow, SampleItem, SamplingService
from .searches import SavedSearchRow, SavedSearchService, SearchCounts
from .status import CLEAR, STATUSES, MessageReview, SessionReview, StatusService
from .tags import TagRow, TagService


class Review:
    """The review services of one archive: ``tags``, ``status``, ``notes``, ``searches``,
    ``policies``, ``alerts``, ``sampling`` — sharing its database and audit trail. ``tz``: the
    zone of days and weeks (alerts' days, sampling weeks; default: this computer's)."""

    def __init__(self, db: Database, trail: AuditTrail | None = None, *, tz: tzinfo | None = None):
        trail = trail or AuditTrail(db)
        self.db, self.trail = db, trail
        self.tags = TagService(db, trail, tz=tz)
        self.status = StatusService(db, trail, tz=tz)
        self.notes = NoteService(db, trail, tz=tz)
        self.searches = SavedSearchService(db, trail, tz=tz)
        self.policies = PolicyService(db, trail, tz=tz)
        self.alerts = AlertService(db, trail, tz=tz)
        self.sampling = SamplingService(db, trail, tz=tz)


__all__ = ["CLEAR", "STATUSES", "AlertRow", "AlertService", "DrawRow", "MessageReview", "NoteRow", "NoteService",
           "NoteVersion", "PolicyEngine", "PolicyFollower", "PolicyRow", "PolicyService", "Reproduction", "Review",
           "ReviewError", "RuleRow", "RunReport", "SampleItem", "SamplingService", "SavedSearchRow",
           "SavedSearchService", "SearchCounts", "SessionReview", "StatusService", "TagRow", "TagService",
           "reviewer_key"]
