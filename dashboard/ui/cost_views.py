"""Money figures on the pages: the preview's input cost, answers' bound and projection.

In Sandbox mode nothing is billed, so every figure says what the job *would* cost on the real
API. Figures shown together share one rounding (batchdash.money.usd_all).
"""

from __future__ import annotations

import streamlit as st

from batchdash.money import usd_all
from batchdash.preflight.cost import AnswerLimit, CostEstimate
from ui.text import plain

#: Labels of the estimate and the actual cost: (real API, sandbox).
ESTIMATE_LABEL = ("Estimated cost", "Would cost (estimate)")
ACTUAL_LABEL = ("Actual cost", "Would cost (actual)")
#: The same, short enough for a column of the Jobs table.
ESTIMATE_COLUMN = ("Estimate", "Would cost: est.")
ACTUAL_COLUMN = ("Actual cost", "Would cost: used")


def label(pair: tuple[str, str], sandbox: bool) -> str:
    """The real-API or the sandbox wording of a money label."""
    return pair[sandbox]


def limit_words(limit: AnswerLimit, model: str) -> str:
    """Where the answers' upper bound comes from, in words."""
    if limit.tokens is None:
        return f"no output limit is known for {plain(model)}; set Max output tokens to bound it"
    if limit.source == "max_output_tokens":
        return f"each answer at most {limit.tokens:,} tokens, as Max output tokens says"
    if limit.source == "model":
        return (
            f"each answer at most {limit.tokens:,} tokens, the most {plain(model)} writes; set "
            "Max output tokens for a tighter bound"
        )
    return (
        f"each answer at most {limit.tokens:,} tokens, the context window of {plain(model)} "
        "(its output limit is not known); set Max output tokens for a tighter bound"
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
        ]
    )
    would = "would cost" if sandbox else "costs"
    approx = "≈ " if estimate.approximate_input or estimated_input else ""
    rows = estimate.projected_from
    no_answers = estimate.answer_limit.source == "none"
    with st.container(horizontal=True):
        st.metric(
            "Input would cost" if sandbox else "Input cost",
            approx + input_text,
            border=True,
            help=(
                "The prompts' tokens, estimated (the model's tokenizer does not ship with "
                "Batchdash), at the Batch API price; at the normal price they would cost "
                f"{sync_text}."
                if not tokenizer_exact
                else (
                    "The prompts' tokens, estimated from a sample of rows until every row is "
                    "counted, at the Batch API price: half the "
                    if estimated_input
                    else "The prompts' tokens, counted exactly, at the Batch API price: half the "
                )
                + f"normal price, at which they would cost {sync_text}."
            )
            + (
                " The structured-output schema is counted as well as can be known: OpenAI "
                "bills it but does not publish how, so this figure is approximate."
                if estimate.approximate_input
                else ""
            ),
        )
        st.metric(
            "Answers would cost at most" if sandbox else "Answers cost at most",
            "nothing" if no_answers else max_text,
            border=True,
            help="Embeddings write no answer tokens."
            if no_answers
            else f"If every answer used its whole limit: {limit_words(estimate.answer_limit, model)}.",
        )
        if rows:
            title = f"projected from {rows} rows"
            st.metric(
                f"Would cost ({title})" if sandbox else f"Expected cost ({title})",
                f"≈ {expected_text}",
                border=True,
                help="The input plus the answers, each as long as the tried rows' answers "
                "on average.",
            )
    if no_answers:
        return
    words = limit_words(estimate.answer_limit, model)
    bound = f"up to {max_text} ({words})" if estimate.answers_max_usd is not None else f"({words})"
    if rows:
        st.caption(
            f"The job {would} about {expected_text}: {input_text} for the input and about "
            f"{answers_text} for the answers, projected from the {rows} tried rows' answer "
            f"lengths; if every answer used its whole limit, {bound}."
        )
    elif estimate.input_usd is not None:
        st.caption(
            f"The job {would} {approx}{input_text} for the input plus its answers, which are "
            f"billed by their length: {bound}. Try on 3 rows to see the answers' cost "
            "projected from their length."
        )
