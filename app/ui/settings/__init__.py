"""The settings dialog (corps with their secrets and keys, archive database, media storage, language)."""

from .corp_page import CorpDraft, CorpPage, SecretState
from .dialog import SettingsDialog, read_secret_states
from .keys import PrivateKeyImportDialog
from .pages import ArchivePage, LanguagePage
from .storage_page import MediaStoragePage

__all__ = ["ArchivePage", "CorpDraft", "CorpPage", "LanguagePage", "MediaStoragePage", "PrivateKeyImportDialog",
           "SecretState", "SettingsDialog", "read_secret_states"]
