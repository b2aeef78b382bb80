"""The settings dialog (corps with their secrets and keys, archive database, media folder, language)."""

from .corp_page import CorpDraft, CorpPage, SecretState
from .dialog import SettingsDialog, read_secret_states
from .keys import PrivateKeyImportDialog
from .pages import ArchivePage, LanguagePage, MediaPage

__all__ = ["ArchivePage", "CorpDraft", "CorpPage", "LanguagePage", "MediaPage", "PrivateKeyImportDialog",
           "SecretState", "SettingsDialog", "read_secret_states"]
