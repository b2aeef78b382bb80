"""The corpus generator: realistic WeCom archive data for the SDK simulator.

    from native.corpus import generate_corpus, read_entries, ensure_demo_corpus
    truth = generate_corpus("/tmp/corpus", messages=3000, seed=1)

The CLI is ``python -m native.corpus --out DIR --messages N``. native/corpus/README.md describes
the directory layout the simulator reads.
"""

from .demo import DEMO_MESSAGES, ensure_demo_corpus
from .generate import CATALOGUE_MSGTYPES, GENERATOR_VERSION, UNKNOWN_MSGTYPES, generate_corpus
from .reader import Entry, read_entries

__all__ = [
    "CATALOGUE_MSGTYPES",
    "DEMO_MESSAGES",
    "Entry",
    "GENERATOR_VERSION",
    "UNKNOWN_MSGTYPES",
    "ensure_demo_corpus",
    "generate_corpus",
    "read_entries",
]
