"""The base of the small flat tables (accounts, audit entries, queue jobs, sync runs): one object per
row, one named column key per column, read-only, selectable.

A subclass sets :attr:`RowTableModel.COLUMNS` and :attr:`RowTableModel.OBJECT_ROLE`, returns its
translated headers from ``_header_texts`` (``self.tr`` there, so the translation context stays the
subclass's name), the cell text from ``_display`` and any other role (colours, tooltips, alignment,
sort keys) from ``_role_data``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

T = TypeVar("T")


class RowTableModel(QAbstractTableModel, Generic[T]):
    """A table of row objects of type ``T`` held in ``self._rows`` (GUI thread only)."""

    COLUMNS: ClassVar[tuple[str, ...]]  # the column keys, left to right
    OBJECT_ROLE: ClassVar[int]  # data(index, OBJECT_ROLE) is the row's object itself

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[T] = []
        self._headers: tuple[str, ...] = tuple(self._header_texts())
        if len(self._headers) != len(self.COLUMNS):
            raise ValueError(f"{type(self).__name__}: {len(self._headers)} headers for "
                             f"{len(self.COLUMNS)} columns")

    # -------------------------------------------------------------- for subclasses

    def _header_texts(self) -> Iterable[str]:
        """The translated header of each column, in :attr:`COLUMNS` order (called once, from __init__)."""
        raise NotImplementedError

    def _display(self, obj: T, column: str) -> str:
        raise NotImplementedError

    def _role_data(self, obj: T, column: str, role: int) -> Any:
        """The data of any role but DisplayRole and :attr:`OBJECT_ROLE`; None when there is none."""
        return None

    @contextmanager
    def _resetting(self) -> Iterator[None]:
        """Wrap a change of the rows (and of whatever else the cells are drawn from) in a model reset."""
        self.beginResetModel()
        try:
            yield
        finally:
            self.endResetModel()

    def _find_row(self, predicate: Callable[[T], bool]) -> int:
        """The first row whose object satisfies ``predicate``; -1 if none does."""
        return next((i for i, obj in enumerate(self._rows) if predicate(obj)), -1)

    # -------------------------------------------------------------- rows

    def set_rows(self, rows: Iterable[T]) -> None:
        """Replace every row (a model reset: views drop their selection)."""
        with self._resetting():
            self._rows = list(rows)

    def row_object(self, row: int) -> T:
        """The object shown in ``row``; IndexError outside 0..rowCount()-1."""
        return self._rows[row]

    # -------------------------------------------------------------- QAbstractItemModel

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return self._headers[section]
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.COLUMNS):
            return None
        obj, column = self._rows[index.row()], self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(obj, column)
        if role == self.OBJECT_ROLE:
            return obj
        return self._role_data(obj, column, role)
