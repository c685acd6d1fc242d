"""Messages looked up in the language in use, now (`_`, `n_`) or when shown (`_l`, `n_l`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, overload

from batchdash.i18n.catalog import translations
from batchdash.i18n.language import PSEUDO, current_language, use_language

# Marks around every translated text in the pseudo-language (see language.Language).
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


def _lookup(singular: str, plural: str | None, n: int | None) -> str:
    language = current_language()
    catalog = translations(language)
    if plural is None:
        text = catalog.gettext(singular) if catalog else singular
    elif catalog:
        text = catalog.ngettext(singular, plural, n or 0)
    else:
        text = singular if n == 1 else plural
    if language == PSEUDO:
        return f"{PSEUDO_OPEN}{text}{PSEUDO_CLOSE}"
    return text


def _render(template: str, params: Mapping[str, Any]) -> str:
    values = {k: str(v) if isinstance(v, Message) else v for k, v in params.items()}
    return template.format(**values)


@dataclass(frozen=True, eq=False)
class Message:
    """A sentence to be translated when it is shown: `str(message)` is its text in the language
    in use at that moment, so a message computed once and cached never freezes a language.

    Where the core used to hand out plain text (an error, a reading note, a problem), it hands
    out Messages, so a Message reads like that text: it equals a `str` holding its text in the
    language in use, `in`, `len`, indexing and sorting look at that text, and the methods of
    `str` that are not the Message's own (`startswith`, `split`...) are called on it.
    """

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    n: int | None = None

    def __str__(self) -> str:
        return _render(_lookup(self.msgid, self.plural, self.n), self.params)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        if isinstance(other, Message):
            return (self.msgid, self.plural, self.n, dict(self.params)) == (
                other.msgid,
                other.plural,
                other.n,
                dict(other.params),
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.msgid, self.plural, self.n))

    def __contains__(self, text: str) -> bool:
        return text in str(self)

    def __len__(self) -> int:
        return len(str(self))

    def __getitem__(self, index: int | slice) -> str:
        return str(self)[index]

    def __lt__(self, other: object) -> bool:
        return str(self) < str(other)

    def __getattr__(self, name: str) -> Any:
        # Only for names a Message lacks: str's methods, on the text in the language in use.
        if name.startswith("_") or name in _FIELDS:  # a half-built copy has no fields yet
            raise AttributeError(name)
        return getattr(str(self), name)

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)


def english(text: str | Message) -> str:
    """`text` in English whatever the language in use: for data other programs read (the CLI's
    JSON), which must not change with the reader's language."""
    with use_language("en"):
        return str(text)


def _(msgid: str, **params: Any) -> str:
    """`msgid` in the language in use, its `{name}` fields filled from `params`."""
    return _render(_lookup(msgid, None, None), params)


def _l(msgid: str, **params: Any) -> Message:
    """`msgid` as a `Message`, translated each time it is shown."""
    return Message(msgid, dict(params))


def n_(singular: str, plural: str, n: int, **params: Any) -> str:
    """The form of the message that fits the number `n` (also passed as the field `{n}`)."""
    return _render(_lookup(singular, plural, n), {"n": n, **params})


def n_l(singular: str, plural: str, n: int, **params: Any) -> Message:
    """`n_` as a `Message`, translated each time it is shown."""
    return Message(singular, {"n": n, **params}, plural, n)


_FIELDS = frozenset(field.name for field in fields(Message))


class Words(Mapping[str, str]):
    """A mapping of keys (status values, codes) to Messages that reads as text in the language
    in use at each lookup: a module-level table of words that never freezes a language."""

    def __init__(self, words: Mapping[str, Message | str]) -> None:
        self._words = dict(words)

    def __getitem__(self, key: str) -> str:
        return str(self._words[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)


class WordList(Sequence[str]):
    """A sequence of Messages read as text in the language in use at each access."""

    def __init__(self, words: Iterable[Message | str]) -> None:
        self._words = tuple(words)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [str(word) for word in self._words[index]]
        return str(self._words[index])

    def __len__(self) -> int:
        return len(self._words)
