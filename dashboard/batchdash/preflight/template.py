"""Prompt templates (DESIGN.md contract 5): `{column name}` placeholders, `{{` and `}}` braces.

Rendering is vectorised: one pandas string concatenation per piece of the template, whatever the
number of rows, so 50,000 rows cost a handful of column operations rather than 50,000 calls.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import Message, _l, n_l
from batchdash.wording import listing

#: What the parse errors call the analyst's prompt template (the system prompt's say so).
THE_TEMPLATE = _l("The template")


@dataclass(frozen=True)
class Placeholder:
    """A `{column name}` slot of a template."""

    #: The column name exactly as written between the braces.
    column: str


#: A parsed template: literal text and placeholders, in order.
Piece = str | Placeholder


def parse(template: str, *, what: Message = THE_TEMPLATE) -> tuple[Piece, ...]:
    """Split `template` into literal text and placeholders; a stray brace is an InputError
    whose message calls the template `what`."""
    pieces: list[Piece] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        char = template[i]
        if char in "{}" and template.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "}":
            raise InputError(
                _l(
                    "{what} has a '}}' with no opening '{{' (after '{context}'). Write '}}}}' "
                    "for a literal brace.",
                    what=what,
                    context=_context(template, i),
                )
            )
        elif char == "{":
            close = template.find("}", i + 1)
            opened = template.find("{", i + 1)
            if close == -1 or (opened != -1 and opened < close):
                raise InputError(
                    _l(
                        "{what} has a '{{' that is never closed (after '{context}'). Close the "
                        "placeholder with '}}', or write '{{{{' for a literal brace.",
                        what=what,
                        context=_context(template, i),
                    )
                )
            name = template[i + 1 : close]
            if not name.strip():
                raise InputError(
                    _l(
                        "{what} has an empty placeholder '{{}}'. Put a column name between the "
                        "braces, or write '{{{{}}}}' for literal braces.",
                        what=what,
                    )
                )
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(Placeholder(name))
            i = close + 1
        else:
            # Copy the run of plain text up to the next brace in one slice.
            stop = min(
                (p for p in (template.find("{", i), template.find("}", i)) if p != -1), default=n
            )
            literal.append(template[i:stop])
            i = stop
    if literal:
        pieces.append("".join(literal))
    return tuple(pieces)


def _context(template: str, position: int) -> str:
    """A short excerpt of the template before `position`, to help the analyst find the brace."""
    start = max(0, position - 20)
    return ("..." if start else "") + template[start:position]


def placeholders(template: str) -> list[str]:
    """The column names the template uses, each once, in order of first use."""
    names = (piece.column for piece in parse(template) if isinstance(piece, Placeholder))
    return list(dict.fromkeys(names))


def closest_column(name: str, columns: Iterable[str]) -> str | None:
    """The column the analyst most likely meant by `name`, or None when none is close."""
    columns = [str(column) for column in columns]
    folded = name.strip().casefold()
    for column in columns:
        if column.strip().casefold() == folded:
            return column
    matches = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_placeholder_message(
    names: Sequence[str], columns: Iterable[str], *, what: Message = THE_TEMPLATE
) -> Message:
    """One sentence naming the placeholders that match no column, with the closest columns."""
    columns = list(columns)
    described: list[Message] = []
    for name in names:
        guess = closest_column(name, columns)
        if guess:
            described.append(
                _l("'{{{name}}}' (did you mean '{{{guess}}}'?)", name=name, guess=guess)
            )
        else:
            described.append(_l("'{{{name}}}'", name=name))
    return n_l(
        "{what} uses the placeholder {which}, which matches no column of the table. Use a "
        "column name exactly as in the header, or write '{{{{' and '}}}}' for literal braces.",
        "{what} uses the placeholders {which}, which match no column of the table. Use a "
        "column name exactly as in the header, or write '{{{{' and '}}}}' for literal braces.",
        len(names),
        what=what,
        which=listing(described),
    )


def unknown_placeholders(template: str, columns: Iterable[str]) -> list[str]:
    """The placeholders of `template` that name no column."""
    known = {str(column) for column in columns}
    return [name for name in placeholders(template) if name not in known]


def render(template: str, frame: pd.DataFrame) -> pd.Series:
    """The template filled in for every row of `frame`, as a str Series on the frame's index.

    Empty cells (NaN or "") render as empty text; non-text cells render as their str().
    """
    pieces = parse(template)
    missing = unknown_placeholders(template, frame.columns)
    if missing:
        raise InputError(unknown_placeholder_message(missing, frame.columns))
    texts = {name: _as_text(frame[name]) for name in placeholders(template)}
    # Adjacent literals stay plain str until the first column joins them into a Series.
    result: pd.Series | str = ""
    for piece in pieces:
        result = result + (texts[piece.column] if isinstance(piece, Placeholder) else piece)
    if isinstance(result, str):
        return pd.Series(result, index=frame.index, dtype="str")
    return result


def rendered_length(template: str, frame: pd.DataFrame) -> int:
    """Characters of `template` filled in for every row of `frame`, summed, without rendering:
    the literal text once per row plus the length of every cell a placeholder names.

    `template` must parse and name only columns of `frame`.
    """
    column_lengths: dict[str, int] = {}
    total = 0
    for piece in parse(template):
        if isinstance(piece, Placeholder):
            if piece.column not in column_lengths:
                lengths = _as_text(frame[piece.column]).str.len()
                column_lengths[piece.column] = int(lengths.sum())
            total += column_lengths[piece.column]
        else:
            total += len(piece) * len(frame)
    return total


def _as_text(column: pd.Series) -> pd.Series:
    if column.dtype != "str":
        column = column.astype("str")
    return column.fillna("")


#: Column names (casefolded) that usually hold the text to send, in English and Chinese.
_PROMPT_NAMES = frozenset(
    {"prompt", "text", "question", "input", "review", "content", "message", "comment", "tweet"}
    | {"body", "description", "query", "提示", "问题", "文本", "内容", "评论", "评价", "留言"}
)
#: Rows looked at to tell a text column from an ID or number column.
_SAMPLE_ROWS = 200


def starting_template(frame: pd.DataFrame) -> str:
    """A template that works for `frame` as it is: its likeliest text column as the prompt.

    That is a column named like a prompt ("text", "review", "问题"...), else the column with the
    longest cells that are not all numbers, else the first. "" when no column can be named in
    a placeholder (no columns, or every name holds a brace).
    """
    columns = [str(column) for column in frame.columns if not set("{}") & set(str(column))]
    if not columns:
        return ""
    named = [column for column in columns if column.strip().casefold() in _PROMPT_NAMES]
    if named:
        return f"{{{named[0]}}}"
    sample = frame.head(_SAMPLE_ROWS)

    def wordiness(column: str) -> float:
        cells = _as_text(sample[column]).str.strip()
        if cells.str.fullmatch(r"[-+.,\d\s%]*").all():
            return -1.0  # IDs, counts and amounts are rarely the prompt
        return float(cells.str.len().mean())

    return f"{{{max(columns, key=wordiness)}}}"
