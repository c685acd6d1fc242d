import jsonschema
import pytest

from batchdash.preflight.schema import RESERVED_COLUMNS, field_problems, output_schema
from batchdash.recipe import OutputField

FIELDS = (
    OutputField("label", "one of", ("good", "bad", "mixed"), "Overall verdict"),
    OutputField("stars", "integer"),
    OutputField("score", "number", description="  0 to 1  "),
    OutputField("refund asked", "yes/no"),
    OutputField("要点", "text"),
)


def test_strict_schema_lists_every_field_as_required() -> None:
    assert output_schema(FIELDS) == {
        "type": "object",
        "properties": {
            "label": {
                "type": "string",
                "enum": ["good", "bad", "mixed"],
                "description": "Overall verdict",
            },
            "stars": {"type": "integer"},
            "score": {"type": "number", "description": "0 to 1"},
            "refund asked": {"type": "boolean"},
            "要点": {"type": "string"},
        },
        "required": ["label", "stars", "score", "refund asked", "要点"],
        "additionalProperties": False,
    }


def test_schema_accepts_a_fitting_answer_and_rejects_others() -> None:
    validator = jsonschema.Draft202012Validator(output_schema(FIELDS))
    good = {"label": "bad", "stars": 2, "score": 0.3, "refund asked": True, "要点": "late"}
    validator.validate(good)
    for wrong in (
        {**good, "label": "awful"},
        {**good, "stars": 2.5},
        {**good, "refund asked": "yes"},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "要点"},
    ):
        assert not validator.is_valid(wrong), wrong


def test_valid_fields_have_no_problems() -> None:
    assert field_problems(FIELDS, ["review", "id"]) == []


@pytest.mark.parametrize(
    ("fields", "columns", "wording"),
    [
        ((OutputField(" "),), [], "has no name"),
        ((OutputField("a"), OutputField("a", "integer")), [], "repeat ('a')"),
        ((OutputField("status"),), [], "'status' are taken by the result columns"),
        ((OutputField("review"),), ["review"], "already columns of the table"),
        ((OutputField("x", "one of"),), [], "needs a list of non-empty choices"),
        ((OutputField("x", "one of", ("a", " ")),), [], "needs a list of non-empty choices"),
        ((OutputField("x", "one of", ("a", "a ")),), [], "lists a choice twice"),
        ((OutputField("x", "date"),), [], "unknown type 'date'"),  # type: ignore[arg-type]
    ],
)
def test_field_problems(fields: tuple[OutputField, ...], columns: list[str], wording: str) -> None:
    problems = field_problems(fields, columns)
    assert len(problems) == 1
    assert wording in problems[0]


def test_every_merged_table_column_is_reserved() -> None:
    assert {"response", "custom_id", "status", "cost_usd", "model"} <= set(RESERVED_COLUMNS)
    problems = field_problems(tuple(OutputField(name) for name in RESERVED_COLUMNS), [])
    assert len(problems) == 1
    assert all(f"'{name}'" in problems[0] for name in RESERVED_COLUMNS)
