import numpy as np
import pandas as pd
import pytest

from batchdash.errors import InputError
from batchdash.preflight.template import (
    Placeholder,
    closest_column,
    parse,
    placeholders,
    render,
    rendered_length,
    starting_template,
    unknown_placeholder_message,
    unknown_placeholders,
)


def test_parse_splits_text_and_placeholders() -> None:
    assert parse("Rate {review} of {product name}.") == (
        "Rate ",
        Placeholder("review"),
        " of ",
        Placeholder("product name"),
        ".",
    )


def test_double_braces_are_literal() -> None:
    assert parse('Answer {{"label": ...}} for {x}') == (
        'Answer {"label": ...} for ',
        Placeholder("x"),
    )
    # A placeholder wrapped in literal braces: {{ then {x} then }}.
    assert parse("{{{x}}}") == ("{", Placeholder("x"), "}")


def test_placeholders_in_order_of_first_use() -> None:
    assert placeholders("{b} {a} {b} {城市} {{c}}") == ["b", "a", "城市"]
    assert placeholders("no placeholders") == []


@pytest.mark.parametrize(
    ("template", "wording"),
    [
        ("Rate {review", "never closed"),
        ("Rate {re{view}", "never closed"),
        ("Rate review}", "no opening"),
        ("Rate {}", "empty placeholder"),
        ("Rate {  }", "empty placeholder"),
    ],
)
def test_stray_braces_are_errors_that_say_how_to_write_a_brace(template: str, wording: str) -> None:
    with pytest.raises(InputError, match=wording) as caught:
        parse(template)
    assert "{{" in str(caught.value) or "}}" in str(caught.value)


def test_render_fills_every_row_and_keeps_the_index() -> None:
    frame = pd.DataFrame(
        {"product name": ["Lamp", "Kettle"], "城市": ["北京", "Zürich"]}, index=[10, 11]
    )
    rendered = render("{product name} in {城市} {{ok}}", frame)
    assert rendered.tolist() == ["Lamp in 北京 {ok}", "Kettle in Zürich {ok}"]
    assert rendered.index.tolist() == [10, 11]


def test_empty_missing_and_non_text_cells() -> None:
    frame = pd.DataFrame(
        {
            "a": pd.Series(["x", "", np.nan, None], dtype=object),
            "n": pd.Series([1, 2.5, np.nan, 4], dtype=object),
        }
    )
    assert render("[{a}|{n}]", frame).tolist() == ["[x|1]", "[|2.5]", "[|]", "[|4]"]


@pytest.mark.parametrize(
    "template", ["[{a}|{n}]", "{a}{a} {{x}} 价格 {n}", "Same {{text}}", "{n}", ""]
)
def test_rendered_length_is_the_length_of_the_rendered_rows(template: str) -> None:
    frame = pd.DataFrame(
        {
            "a": pd.Series(["x", "", np.nan, None, "Zoë 😀"], dtype=object),
            "n": pd.Series([1, 2.5, np.nan, 4, -7], dtype=object),
        }
    )
    assert rendered_length(template, frame) == render(template, frame).str.len().sum()
    assert rendered_length(template, frame.iloc[:0]) == 0


def test_template_without_placeholders_repeats_itself() -> None:
    frame = pd.DataFrame({"a": ["1", "2", "3"]})
    assert render("Same {{text}}", frame).tolist() == ["Same {text}"] * 3
    assert render("x", frame.iloc[:0]).tolist() == []


def test_unknown_column_is_named_with_the_closest_column() -> None:
    frame = pd.DataFrame({"review text": ["a"], "Product": ["b"]})
    with pytest.raises(InputError) as caught:
        render("{review txt} {product} {zzz}", frame)
    message = str(caught.value)
    assert "'{review txt}' (did you mean '{review text}'?)" in message
    assert "'{product}' (did you mean '{Product}'?)" in message
    assert "'{zzz}'," in message
    assert unknown_placeholders("{review txt} {Product}", frame.columns) == ["review txt"]


def test_closest_column() -> None:
    assert closest_column(" Review ", ["review", "title"]) == "review"
    assert closest_column("titel", ["review", "title"]) == "title"
    assert closest_column("price", ["review", "title"]) is None


def test_large_render_equals_row_by_row_formatting() -> None:
    rng = np.random.default_rng(1)
    words = np.array(["alpha", "Beta", "γάμμα", "😀", "", "x y", "{", "}"])
    frame = pd.DataFrame(
        {
            "first col": rng.choice(words, 20_000),
            "second": rng.choice(words, 20_000),
        }
    )
    rendered = render("A {first col} and {second}! {{}}", frame)
    expected = [
        f"A {a} and {b}! {{}}" for a, b in zip(frame["first col"], frame["second"], strict=True)
    ]
    assert rendered.tolist() == expected


def test_one_unknown_placeholder_matches_and_two_match() -> None:
    one = unknown_placeholder_message(["prompt"], ["text"])
    two = unknown_placeholder_message(["prompt", "lang"], ["text"])
    assert "the placeholder '{prompt}', which matches no column" in one
    assert "the placeholders '{prompt}', '{lang}', which match no column" in two


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        # A column named like a prompt wins, in English or Chinese, whatever its place.
        ({"id": ["001"], "lang": ["en"], "Review": ["Great"]}, "{Review}"),
        ({"编号": ["1"], "评论": ["房间很干净"], "城市": ["北京"]}, "{评论}"),
        # Otherwise the wordiest column that is not numbers.
        ({"n": ["1234567"], "name": ["Ann"], "notes": ["Called twice, no answer"]}, "{notes}"),
        ({"amount": ["12.50"], "code": ["A"]}, "{code}"),
        # Only numbers: the first column; a brace in a name cannot be a placeholder.
        ({"a{b": ["x"], "n": ["1"], "m": ["22"]}, "{n}"),
        ({"{x}": ["a"]}, ""),
    ],
)
def test_the_starting_template_is_the_likeliest_text_column(
    columns: dict[str, list[str]], expected: str
) -> None:
    assert starting_template(pd.DataFrame(columns)) == expected
