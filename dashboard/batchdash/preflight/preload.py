"""What a preflight loads on first use, loaded in a thread while the spreadsheet is read.

Reading a file mostly waits on Rust (calamine, Arrow's CSV reader) and zlib without holding
the GIL, so the token table (about 0.3 s) and the price list's import load meanwhile instead
of after it.
"""

from __future__ import annotations

import threading

from batchdash.preflight import limits, tokens
from batchdash.preflight.pricing import price_for
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import Recipe


def preload_in_background(recipe: Recipe, provider: ProviderProfile | None) -> threading.Thread:
    """Start loading the token table and price `plan_batch` will use for `recipe`; join the
    thread before planning. A failure is left for the plan's own calls to raise again."""

    def load() -> None:
        try:
            tokens.counting_for(recipe.model, provider.tokens if provider else None)
            price_for(recipe.model, provider=provider)
            limits.context_window(recipe.model)
        except Exception:  # the plan's own calls raise it again, in its words
            return

    loading = threading.Thread(target=load, name="preflight-preload", daemon=True)
    loading.start()
    return loading
