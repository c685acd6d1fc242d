"""Money figures on the pages: the preview's input cost, answers' bound and projection.

In Sandbox mode nothing is billed, so every figure says what the job *would* cost on the real
API. Figures shown together share one rounding (batchdash.money.usd_all).
"""

from __future__ import annotations

import streamlit as st

from batchdash.i18n import Message, _, _l
from batchdash.money import usd_all
from batchdash.preflight.cost import AnswerLimit, CostEstimate
from ui.text import plain

#: Labels of the estimate and the actual cost: (real API, sandbox).
ESTIMATE_LABEL = (_l("Estimated cost"), _l("Would cost (estimate)"))
ACTUAL_LABEL = (_l("Actual cost"), _l("Would cost (actual)"))
#: The same, short enough for a column of the Jobs table.
ESTIMATE_COLUMN = (_l("Estimate"), _l("Would cost: est."))
ACTUAL_COLUMN = (_l("Actual cost"), _l("Would cost: used"))


def label(pair: tuple[Message, Message], sandbox: bool) -> str:
    """The real-API or the sandbox wording of a money label, in the language in use."""
    return str(pair[sandbox])


def limit_words(limit: AnswerLimit, model: str) -> str:
    """Where the answers' upper bound comes from, in words."""
    if limit.tokens is None:
        return _(
            "no output limit is known for {model}; set Max output tokens to bound it",
            model=plain(model),
        )
    if limit.source == "max_output_tokens":
        return _(
            "each answer at most {tokens:,} tokens, as Max output tokens says", tokens=limit.tokens
        )
    if limit.source == "model":
        return _(
            "each answer at most {tokens:,} tokens, the most {model} writes; set Max output "
            "tokens for a tighter bound",
            tokens=limit.tokens,
            model=plain(model),
        )
    return _(
        "each answer at most {tokens:,} tokens, the context window of {model} (its output limit "
        "is not known); set Max output tokens for a tighter bound",
        tokens=limit.tokens,
        model=plain(model),
    )


def _input_help(sync_text: str, *, tokenizer_exact: bool, estimated_input: bool) -> str:
    """How the input cost is reached, and what it would be at the normal price."""
    if not tokenizer_exact:
        return _(
            "The prompts' tokens, estimated (the model's tokenizer does not ship with "
            "Batchdash), at the Batch API price; at the normal price they would cost {usd}.",
            usd=sync_text,
        )
    if estimated_input:
        return _(
            "The prompts' tokens, estimated from a sample of rows until every row is counted, "
            "at the Batch API price: half the normal price, at which they would cost {usd}.",
            usd=sync_text,
        )
    return _(
        "The prompts' tokens, counted exactly, at the Batch API price: half the normal price, "
        "at which they would cost {usd}.",
        usd=sync_text,
    )


def show_estimate(
    estimate: CostEstimate,
    model: str,
    *,
    sandbox: bool,
    synchronous_usd: float | None,
    estimated_input: bool = False,
    tokenizer_exact: bool = True,
) -> None:
    """Input cost, the answers' upper bound and the projected total, with one rounding.

    `estimated_input`: the input tokens are an estimate (from a sample while every row is
    counted, or because the model's tokenizer does not ship); the input figures say so with ≈.
    """
    input_text, max_text, expected_text, answers_text, sync_text = usd_all(
        [
            estimate.input_usd,
            estimate.answers_max_usd,
            estimate.expected_usd,
            estimate.answers_expected_usd,
            synchronous_usd,
        ],
        sums={2: (0, 3)},  # the caption gives the total and its two parts
    )
    approx = "≈ " if estimate.approximate_input or estimated_input else ""
    rows = estimate.projected_from
    no_answers = estimate.answer_limit.source == "none"
    with st.container(horizontal=True):
        st.metric(
            _("Input would cost") if sandbox else _("Input cost"),
            approx + input_text,
            border=True,
            help=_input_help(
                sync_text, tokenizer_exact=tokenizer_exact, estimated_input=estimated_input
            )
            + (
                " "
                + _(
                    "The structured-output schema is counted as well as can be known: OpenAI "
                    "bills it but does not publish how, so this figure is approximate."
                )
                if estimate.approximate_input
                else ""
            ),
        )
        st.metric(
            _("Answers would cost at most") if sandbox else _("Answers cost at most"),
            _("nothing") if no_answers else max_text,
            border=True,
            help=_("Embeddings write no answer tokens.")
            if no_answers
            else _(
                "If every answer used its whole limit: {words}.",
                words=limit_words(estimate.answer_limit, model),
            ),
        )
        if rows:
            st.metric(
                _("Would cost (projected from {rows} rows)", rows=rows)
                if sandbox
                else _("Expected cost (projected from {rows} rows)", rows=rows),
                f"≈ {expected_text}",
                border=True,
                help=_(
                    "The input plus the answers, each as long as the tried rows' answers on "
                    "average."
                ),
            )
    if no_answers:
        return
    words = limit_words(estimate.answer_limit, model)
    bound = (
        _("up to {usd} ({words})", usd=max_text, words=words)
        if estimate.answers_max_usd is not None
        else _("({words})", words=words)
    )
    if rows:
        projected = dict(
            total=expected_text, input=input_text, answers=answers_text, rows=rows, bound=bound
        )
        st.caption(
            _(
                "The job would cost about {total}: {input} for the input and about {answers} "
                "for the answers, projected from the {rows} tried rows' answer lengths; if "
                "every answer used its whole limit, {bound}.",
                **projected,
            )
            if sandbox
            else _(
                "The job costs about {total}: {input} for the input and about {answers} for "
                "the answers, projected from the {rows} tried rows' answer lengths; if every "
                "answer used its whole limit, {bound}.",
                **projected,
            )
        )
    elif estimate.input_usd is not None:
        st.caption(
            _(
                "The job would cost {input} for the input plus its answers, which are billed "
                "by their length: {bound}. Try on 3 rows to see the answers' cost projected "
                "from their length.",
                input=approx + input_text,
                bound=bound,
            )
            if sandbox
            else _(
                "The job costs {input} for the input plus its answers, which are billed by "
                "their length: {bound}. Try on 3 rows to see the answers' cost projected from "
                "their length.",
                input=approx + input_text,
                bound=bound,
            )
        )
