import pandas as pd
import pytest

from batchdash.errors import InputError
from batchdash.preflight import pricing
from batchdash.preflight.ids import custom_ids
from batchdash.recipe import OutputField, Recipe
from batchdash.wording import describe_rows


def test_default_ids_are_one_based() -> None:
    frame = pd.DataFrame({"prompt": ["a", "b", "c"]})
    assert custom_ids(frame, None).tolist() == ["row-1", "row-2", "row-3"]


def test_id_column_keeps_text() -> None:
    frame = pd.DataFrame({"id": ["007", " 8 "], "prompt": ["a", "b"]})
    assert custom_ids(frame, "id").tolist() == ["007", "8"]


def test_duplicate_ids_name_rows() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "a"]})
    with pytest.raises(InputError, match=r"repeats values \(e.g. 'a'\) in rows 1 and 3"):
        custom_ids(frame, "id")


def test_empty_and_missing_ids() -> None:
    with pytest.raises(InputError, match="empty in row 2"):
        custom_ids(pd.DataFrame({"id": ["a", ""]}), "id")
    with pytest.raises(InputError, match="'nope' is not in the table"):
        custom_ids(pd.DataFrame({"id": ["a"]}), "nope")


def test_describe_rows() -> None:
    assert describe_rows([4]) == "row 4"
    assert describe_rows([1, 2]) == "rows 1 and 2"
    assert describe_rows(list(range(1, 9))) == "rows 1, 2, 3, 4, 5 and 3 more"


def test_batch_price_is_half_of_library_price() -> None:
    price = pricing.require_price("gpt-4o-mini")
    assert price.input_per_million == pytest.approx(0.15)
    assert price.cost(1_000_000, 1_000_000) == pytest.approx((0.15 + 0.60) / 2)
    assert price.cost(1_000_000, 0, batch=False) == pytest.approx(0.15)


def test_override_and_unknown_model() -> None:
    overrides = {"my-finetune": pricing.ModelPrice(1.0, 2.0)}
    assert pricing.require_price("my-finetune", overrides).cost(1e6, 1e6) == pytest.approx(1.5)
    with pytest.raises(InputError, match="Price overrides"):
        pricing.require_price("no-such-model-xyz")


def test_recipe_round_trip() -> None:
    recipe = Recipe(
        model="gpt-4.1-mini",
        template="Rate {review}",
        output_fields=(OutputField("label", "one of", ("good", "bad"), "overall"),),
    )
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    assert recipe.structured
