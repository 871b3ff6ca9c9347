"""How a typed answer is compared (rule C1): loosely for a person, in constant time."""

from __future__ import annotations

import hmac
import unicodedata

__all__ = ["folded", "same_key", "same_word"]


def folded(text: str) -> str:
    """« Clé », « CLE », « c l é » and « clés » all read ``cle``: letters only, no accents,
    no case, no final plural mark. What the sound version asks is a word someone heard,
    not a spelling test."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if c.isascii() and c.isalpha()).lower()
    return letters[:-1] if len(letters) > 3 and letters[-1] in "sx" else letters


def same_key(response: str, key: str) -> bool:
    """The posted key is the expected one, compared in constant time."""
    return hmac.compare_digest(_bytes(response), _bytes(key))


def same_word(response: str, word: str) -> bool:
    """The typed word is the expected one once both are :func:`folded`."""
    typed = folded(response)
    return bool(typed) and hmac.compare_digest(_bytes(typed), _bytes(folded(word)))


def _bytes(text: str) -> bytes:
    # compare_digest refuses non-ASCII str; lone surrogates must not raise either.
    return text.encode("utf-8", "replace")
