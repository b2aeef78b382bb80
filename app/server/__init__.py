"""The headless server (``wecom-auditor serve``), Qt-free: the REST API (api.py: msg-server's /api/v1,
the app's /api/v2, /health, /metrics, /openapi.json) served by waitress, and the background jobs of
the queue (scheduled syncs, media downloads, and every other registered kind) on worker threads —
several instances on several machines share one database and one Redis queue (the queue leases each
job to one consumer). Tencent's SDK runs only in the sync and SDK host child processes."""
