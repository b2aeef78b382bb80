"""The directory: who the ids of the archive are, from WeCom's server API or an imported names file.

- names.py — :class:`Directory`: names now and at a message's time, corp tags, avatars, provenance;
- sync.py / service.py — a directory sync (staff, departments, external contacts, groups, the
  permit list, consent) through app.core.wecom.api's client; transport.py: HTTPS or the demo's
  simulated WeCom;
- store.py — writes with history; runs.py — the record of syncs and imports;
- importer.py — ``import-names`` for corps whose administrators grant no API access;
- compliance.py — the compliance views: who is under archiving, and customers' consent.
"""

from .importer import MAX_NAMES_FILE_BYTES, DirectoryFileError, import_directory, parse_names, read_names_file
from .names import Directory, DirectorySnapshot, NameAt, Person, StaffMember

__all__ = ["MAX_NAMES_FILE_BYTES", "Directory", "DirectoryFileError", "DirectorySnapshot", "NameAt", "Person",
           "StaffMember", "import_directory", "parse_names", "read_names_file"]
