"""Quick pickling for the small frozen dataclasses that cross process pipes by the thousand.

A frozen dataclass with ``slots=True`` pickles through ``dataclasses``' own ``__getstate__`` /
``__setstate__``, which call ``dataclasses.fields()`` for every object: in a sync that was the
largest single cost of the main process (each entry crosses two pipes, from the GetChatData host and
back from a decrypt host). :func:`compact_pickle` gives the class a ``__reduce__`` that rebuilds it
through its constructor from a tuple of its fields, the field names computed once.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="type[DataclassInstance]")


def compact_pickle(cls: _D) -> _D:
    """Class decorator (put it above ``@dataclass``): pickle ``cls`` as its constructor and fields."""
    names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    get = attrgetter(*names)
    if len(names) == 1:
        def __reduce__(self: object) -> tuple[Any, ...]:
            return (cls, (get(self),))
    else:
        def __reduce__(self: object) -> tuple[Any, ...]:
            return (cls, get(self))
    cls.__reduce__ = __reduce__  # type: ignore[method-assign]  # installing it is the point
    return cls
