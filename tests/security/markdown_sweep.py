"""Every place the UI hands Streamlit text that Markdown would read: found in the source.

Streamlit reads Markdown in bodies (`st.markdown`, `st.caption`, alerts, headers), in widget
labels and help, progress and spinner texts, metric labels, tab and expander titles. A value
from outside (a file or job name, a cell, a URL, a server's message or id) must pass through
`ui.text.plain` there, or `**bold**`, links, images and `:red[...]` in it would render.

`drawn_values` lists each value interpolated or passed into such a text, with where it is; the
test checks that each one is escaped or is Batchdash's own text, reviewed by name.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "dashboard"
#: The code that draws: the entry script, the pages and the UI package.
DRAWING_CODE = [ROOT / "streamlit_app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
DRAWING_CODE += sorted((ROOT / "ui").glob("*.py"))

#: Calls whose first argument (the body or label) Streamlit reads as Markdown.
MARKDOWN_FIRST_ARGUMENT = {
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "write",
    "title",
    "header",
    "subheader",
    "metric",
    "expander",
    "popover",
    "button",
    "download_button",
    "link_button",
    "page_link",
    "form_submit_button",
    "menu_button",
    "spinner",
    "status",
    "dialog",
    "text_input",
    "text_area",
    "number_input",
    "selectbox",
    "multiselect",
    "radio",
    "segmented_control",
    "pills",
    "checkbox",
    "toggle",
    "slider",
    "select_slider",
    "file_uploader",
    "date_input",
    "time_input",
}
#: Calls whose Markdown text comes only as a keyword (`bar.progress(0.5, text=...)`).
MARKDOWN_KEYWORD_ONLY = {"progress"}
#: Keyword arguments Streamlit reads as Markdown, whatever the call.
MARKDOWN_KEYWORDS = {"body", "label", "help", "text"}
#: Objects of Batchdash's own whose methods share a name with a Streamlit call.
NOT_STREAMLIT = {"board", "board.service", "service"}
#: Calls that make a value safe to draw: Markdown escaped, or a number or money in words.
ESCAPING_CALLS = {"plain", "usd", "usd_all", "_size", "_rows", "describe_rows"}
#: Calls that look a message up in the catalog (batchdash.i18n): their written-out template is
#: Batchdash's own text; the values filling its fields are drawn like any other.
TRANSLATING_CALLS = {"_", "_l", "n_", "n_l"}


@dataclass(frozen=True)
class DrawnValue:
    """One value drawn inside a Markdown text."""

    #: File, relative to dashboard/.
    file: str
    #: Line of the call.
    line: int
    #: The Streamlit call (`st.caption`, `bar.progress`).
    call: str
    #: The expression drawn, as written.
    expression: str
    #: Whether it passes through an escaping call (directly or by a name assigned from one),
    #: or is a number formatted with a format spec.
    escaped: bool


def _escaped(node: ast.expr, safe: frozenset[str]) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in safe
    if isinstance(node, ast.Subscript):
        # `shown[1]` of `shown = usd_all(...)`: an item of an escaped list.
        return _escaped(node.value, safe)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "replace"
        and all(isinstance(argument, ast.Constant) for argument in node.args)
    ):
        # `plain(text).replace("\n", "  \n")`: constant text put into escaped text.
        return _escaped(node.func.value, safe)
    if _translating(node):
        return all(_escaped(value, safe) for value in _values(node))
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        return name in ESCAPING_CALLS
    if isinstance(node, ast.IfExp):
        return _escaped(node.body, safe) and _escaped(node.orelse, safe)
    if isinstance(node, ast.BinOp):
        return _escaped(node.left, safe) and _escaped(node.right, safe)
    if isinstance(node, ast.JoinedStr):
        return all(_escaped(value, safe) for value in _values(node))
    return False


def _safe_names(scope: ast.AST) -> frozenset[str]:
    """Names every assignment of which in `scope` is escaped (`name = plain(status.name)`)."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
                elif isinstance(target, ast.Tuple):
                    # `a, b = usd_all(...)`: each name gets an item of the escaped value.
                    for element in target.elts:
                        if isinstance(element, ast.Name):
                            assigned.setdefault(element.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            value = node.value if node.value is not None else ast.Constant(None)
            assigned.setdefault(node.target.id, []).append(value)
    safe: frozenset[str] = frozenset()
    # Names assigned from other safe names become safe too: a few passes reach the fixpoint.
    for _ in range(3):
        safe = frozenset(
            name
            for name, values in assigned.items()
            if all(_escaped(value, safe) for value in values)
        )
    return safe


def _call_name(call: ast.Call) -> tuple[str, str] | None:
    """(`st.caption`, `caption`) for a call of a Streamlit function or container method."""
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = ast.unparse(func.value)
        return f"{owner}.{func.attr}", func.attr
    return None


def _marked_arguments(call: ast.Call, method: str) -> Iterator[ast.expr]:
    if method in MARKDOWN_FIRST_ARGUMENT and call.args:
        yield call.args[0]
    for keyword in call.keywords:
        if keyword.arg in MARKDOWN_KEYWORDS:
            yield keyword.value


def _translating(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in TRANSLATING_CALLS
    )


def _message_values(call: ast.Call) -> Iterator[ast.expr]:
    """The values filling a message's fields, but those its template formats as numbers
    (`{rows:,}`) and the count of a plural message."""
    templates = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
    numeric = {
        name
        for template in templates
        if isinstance(template, str)
        for _, name, spec, _ in string.Formatter().parse(template)
        if name and spec
    }
    for keyword in call.keywords:
        if keyword.arg not in numeric:
            yield from _values(keyword.value)


def _values(node: ast.expr) -> Iterator[ast.expr]:
    """The non-literal parts of a text argument: f-string fields, operands, message fields,
    the expression."""
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.Call) and _translating(node):
        yield from _message_values(node)
        return
    if isinstance(node, ast.JoinedStr):
        for part in node.values:
            if not isinstance(part, ast.FormattedValue):
                continue
            # A field with a number format (`{rows:,}`, `{share:.0%}`) prints digits only.
            if part.format_spec is not None:
                continue
            yield from _values(part.value)
        return
    if isinstance(node, ast.BinOp):
        yield from _values(node.left)
        yield from _values(node.right)
        return
    if isinstance(node, ast.IfExp):
        yield from _values(node.body)
        yield from _values(node.orelse)
        return
    yield node


def _scopes(tree: ast.Module) -> Iterator[tuple[ast.AST, list[ast.Call]]]:
    """Each function (and the module's top level) with the calls directly in it."""
    functions = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    inner = {id(call) for function in functions for call in ast.walk(function)}
    yield (
        tree,
        [node for node in ast.walk(tree) if isinstance(node, ast.Call) and id(node) not in inner],
    )
    for function in functions:
        nested = {
            id(call)
            for other in ast.walk(function)
            if other is not function and isinstance(other, ast.FunctionDef | ast.AsyncFunctionDef)
            for call in ast.walk(other)
        }
        yield (
            function,
            [
                node
                for node in ast.walk(function)
                if isinstance(node, ast.Call) and id(node) not in nested
            ],
        )


def drawn_values() -> list[DrawnValue]:
    """Every value drawn inside a Markdown text of the UI, in source order."""
    found: list[DrawnValue] = []
    for path in DRAWING_CODE:
        tree = ast.parse(path.read_text(), filename=str(path))
        found += values_in(tree, str(path.relative_to(ROOT)))
    return sorted(found, key=lambda value: (value.file, value.line, value.expression))


def values_in(tree: ast.Module, file: str) -> list[DrawnValue]:
    """The values drawn inside Markdown texts by the code of `tree`."""
    found: list[DrawnValue] = []
    module_safe = _safe_names(tree)
    for scope, calls in _scopes(tree):
        safe = module_safe if scope is tree else module_safe | _safe_names(scope)
        for node in calls:
            named = _call_name(node)
            if named is None:
                continue
            call, method = named
            owner = call.rsplit(".", 1)[0]
            if owner in NOT_STREAMLIT or not (
                method in MARKDOWN_FIRST_ARGUMENT | MARKDOWN_KEYWORD_ONLY or call.startswith("st.")
            ):
                continue
            for argument in _marked_arguments(node, method):
                for value in _values(argument):
                    found.append(
                        DrawnValue(
                            file,
                            node.lineno,
                            call,
                            ast.unparse(value),
                            _escaped(value, safe),
                        )
                    )
    return sorted(found, key=lambda value: (value.line, value.call))
