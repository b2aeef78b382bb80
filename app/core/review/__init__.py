"""The review workflow (issue 15): tags, review status, notes, saved searches, policies and alerts,
sampling. Qt-free; every action checked against roles and scopes and recorded in the audit trail."""
