"""User names that look like another: refused when an account is created or renamed.

A user name is shown everywhere in its canonical form (NFKC, trimmed, case-folded:
``accounts.canonical_username``), so fullwidth letters, compatibility forms and case already
collapse there: ``ＡＤＭＩＮ`` *is* ``admin``. What remains is refused here:

* **look-alikes**: two names whose Unicode TR39 confusable skeletons are equal (Cyrillic ``а`` for
  Latin ``a``, Greek ``ο`` for ``o``, ``0`` for ``o``, ``1`` for ``l``, mathematical letters, ...).
  The skeleton is :func:`disarm.skeleton_key` with TR39's digit classes (``digit_policy="tr39"``):
  the Unicode confusables data (version ``disarm.CONFUSABLES_VERSION``), NFKC, case folding and the
  removal of invisible and bidi characters, iterated to a fixed point. disarm leaves out TR39's
  multi-letter rows (``rn``/``m``, ``vv``/``w``, ``cl``/``d``), so those pairs are not caught.
* **invisible characters**: a character that the skeleton removes or turns into a blank (a
  combining grapheme joiner, variation selectors, Hangul fillers, zero-width and bidi controls).
* **mixed scripts**: a name in more than one script (Latin with Cyrillic, Greek with Latin, ...),
  except the combinations TR39's "highly restrictive" level allows for CJK names: Latin with Han,
  Hiragana and Katakana; with Han and Bopomofo; with Han and Hangul. Characters common to all scripts
  (digits, ``.``, ``_``, ``-``) do not count.

Existing accounts are not renamed or blocked by these rules: they apply to new names only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from .errors import AccountError

# TR39 section 5.2 "Highly Restrictive": the only mixtures a new user name may have.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


@lru_cache(maxsize=4096)
def username_skeleton(name: str) -> str:
    """The TR39 confusable skeleton of a user name (see the module docstring): two names with the
    same skeleton look alike."""
    import disarm

    return disarm.skeleton_key(name, digit_policy="tr39")


def _char_name(c: str) -> str:
    return f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}"


def _scripts(name: str) -> frozenset[str]:
    import disarm

    return frozenset(str(getattr(s, "name", s)).upper() for s in disarm.detect_scripts(name))


def _script_words(scripts: Iterable[str]) -> str:
    words = sorted(s.capitalize() for s in scripts)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def check_new_username(canon: str, existing: Iterable[str]) -> None:
    """Raise AccountError (one sentence saying what to change) unless ``canon`` — a name from
    ``canonical_username`` — may be given to a new or renamed account next to the ``existing``
    names (canonical, the account itself left out for a rename)."""
    invisible = [c for c in dict.fromkeys(canon) if not username_skeleton(c).strip()]
    if invisible:
        names = ", ".join(_char_name(c) for c in invisible[:3])
        raise AccountError(f"the user name must not contain invisible characters ({names}): type it again "
                           f"without them", f"用户名不能包含不可见字符（{names}）：请不带这些字符重新输入")
    skeleton = username_skeleton(canon)
    for other in existing:
        if other == canon:
            raise AccountError(f"the user name '{canon}' is taken", f"用户名“{canon}”已被占用")
        if username_skeleton(other) == skeleton:
            unusual = [c for c in dict.fromkeys(canon + other) if ord(c) > 0x7E][:3]
            detail = f" ({', '.join(_char_name(c) for c in unusual)})" if unusual else ""
            raise AccountError(f"the user name '{canon}' looks like the existing account '{other}'{detail}: "
                               f"choose a clearly different name",
                               f"用户名“{canon}”看起来与现有账号“{other}”相似{detail}：请选一个明显不同的名称")
    scripts = _scripts(canon)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        raise AccountError(f"the user name mixes the {_script_words(scripts)} scripts, which lets names look "
                           f"alike: write it in one script (Latin may go with Chinese, Japanese or Korean)",
                           f"用户名混用了 {_script_words(scripts)} 几种文字，容易与其他名称混淆：请只用一种文字书写"
                           f"（拉丁字母可与中文、日文或韩文同用）")
