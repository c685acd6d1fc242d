"""Prices at the Batch API rate: half the synchronous price of the same model.

Synchronous prices come from the genai-prices library (an offline snapshot of every provider's
price list, maintained upstream); the analyst can override or add a model in Settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from batchdash.errors import InputError
from batchdash.i18n import _l

if TYPE_CHECKING:
    from batchdash.providers.profiles import ProviderProfile

#: The Batch API bills half the synchronous price (OpenAI Batch guide).
BATCH_DISCOUNT = 0.5

_PER = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    """Synchronous USD prices of one model, per million tokens."""

    #: USD per million input tokens.
    input_per_million: float
    #: USD per million output tokens.
    output_per_million: float
    #: Share of these prices a batch request costs (the provider's batch discount).
    batch_factor: float = BATCH_DISCOUNT

    @property
    def answers_free(self) -> bool:
        """Whether answers cost nothing, however long (a model on the analyst's own machine)."""
        return self.output_per_million == 0

    def cost(self, input_tokens: float, output_tokens: float, *, batch: bool = True) -> float:
        """USD for these tokens; at the batch price unless `batch` is False."""
        usd = (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / _PER
        return usd * self.batch_factor if batch else usd


@cache
def _library_price(model: str, provider_id: str = "openai") -> ModelPrice | None:
    if "moderation" in model:
        # OpenAI's moderation models are free (its pricing page), in batches as well.
        return ModelPrice(0.0, 0.0)
    import genai_prices  # imported on first use: 0.13 s

    try:
        calc = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=_PER, output_tokens=_PER),
            model,
            provider_id=provider_id,
        )
    except LookupError:
        return None
    return ModelPrice(float(calc.input_price), float(calc.output_price))


def price_for(
    model: str,
    overrides: Mapping[str, ModelPrice] | None = None,
    provider: ProviderProfile | None = None,
) -> ModelPrice | None:
    """The synchronous price of `model`: an override first, then the library (the provider's
    part of it; OpenAI's without a provider); None if unknown. With a provider, its batch
    discount applies; a provider the library does not know is priced by overrides only."""
    name = model.strip()
    price: ModelPrice | None
    if provider is not None and provider.direct_free:
        return ModelPrice(0.0, 0.0, batch_factor=1.0)  # a model on the analyst's own machine
    if overrides and name in overrides:
        price = overrides[name]
    elif not name or (provider is not None and provider.price_list is None):
        price = None
    else:
        listed_as = provider.price_list if provider and provider.price_list else "openai"
        price = _library_price(name, listed_as)
    if price is not None and provider is not None:
        price = replace(price, batch_factor=provider.batch_price_factor)
    return price


def direct_price(price: ModelPrice | None) -> ModelPrice | None:
    """What a request sent directly (not in a batch) pays: `price` without the batch discount
    (`price_for` already made it nothing on a server whose calls are free)."""
    return None if price is None else replace(price, batch_factor=1.0)


def require_price(model: str, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """Like `price_for`, but an unknown model is an InputError that says how to fix it."""
    price = price_for(model, overrides)
    if price is None:
        raise InputError(
            _l(
                "No price is known for the model '{model}'. Check the model name, or enter its price "
                "per million tokens under Settings > Price overrides.",
                model=model,
            )
        )
    return price
