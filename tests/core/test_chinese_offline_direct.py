"""The vLLM round trip's and the direct runs' sentences in Simplified Chinese: worded when they
are shown, so a report or an error kept in one language reads in the language of the moment."""

from __future__ import annotations

import pytest

from batchdash.api.gateway import Gateway
from batchdash.direct.progress import DirectProgress
from batchdash.errors import InputError, ResultsError
from batchdash.i18n import use_language
from batchdash.inputs.reading import read_table
from batchdash.jobs.offline import ImportReport, check_exportable
from batchdash.preflight.provider_checks import batch_api_problem
from batchdash.providers.profiles import OLLAMA, VLLM
from batchdash.recipe import Recipe
from batchdash.registry.holders import Holder
from batchdash.results.vllm_lines import openai_lines

PROGRESS = DirectProgress(
    rows=2000,
    answered=1200,
    failed=3,
    cancelled=0,
    in_flight=8,
    left=789,
    calls=1,
    concurrency=8,
    state="running",
)


def test_an_import_report_kept_in_english_reads_in_chinese_after_a_switch() -> None:
    report = ImportReport("job_1", "import:out.jsonl", 1200, 1190, 10, 1)
    with use_language("en"):
        described = report.describe()
        assert str(described) == (
            "Imported 1,200 results (1,190 answered, 10 with an error); 1 row of the exported "
            "file got no answer: export it again to run it."
        )
    with use_language("zh-CN"):
        assert str(described) == (
            "已导入 1,200 条结果（1,190 条已回答，10 条出错）；导出文件中有 1 行没有得到回答："
            "请重新导出以运行这些行。"
        )


@pytest.mark.parametrize(
    ("report", "chinese"),
    [
        (ImportReport("j", "import:a", 5, 5, 0, 0), "已导入 5 条结果（5 条已回答）。"),
        (
            ImportReport("j", "import:a", 5, 5, 0, 0, already_imported=True),
            "这些结果此前已导入（作为 import:a）；没有任何变化。",
        ),
    ],
)
def test_import_reports_in_chinese(report: ImportReport, chinese: str) -> None:
    with use_language("zh-CN"):
        assert str(report.describe()) == chinese


def test_direct_progress_in_chinese_and_english() -> None:
    described = PROGRESS.describe()
    with use_language("en"):
        assert str(described) == (
            "1,200 of 2,000 rows answered, 3 failed, 8 in flight, 8 at once, 1 call."
        )
    with use_language("zh-CN"):
        assert str(described) == (
            "2,000 行中已回答 1,200 行、3 行失败、8 行发送中、同时 8 个、1 次调用。"
        )


def test_errors_of_the_round_trip_are_chinese_when_shown_in_chinese() -> None:
    with pytest.raises(ResultsError) as empty:
        openai_lines(b"", "out.jsonl")
    with pytest.raises(InputError) as endpoint:
        check_exportable(Recipe(template="{review}", endpoint="/v1/responses"))
    with use_language("zh-CN"):
        assert str(empty.value) == (
            "out.jsonl 中没有结果行：请导入 vLLM 的 run-batch 为此任务写出的输出文件（即其 -o 文件）。"
        )
        assert str(endpoint.value).startswith(
            "vLLM 的 run-batch 只运行 Chat Completions 和 Embeddings，不运行 Responses："
        )
    with use_language("en"):
        assert str(empty.value) == (
            "out.jsonl holds no result lines: import the output file vLLM's run-batch wrote "
            "(its -o file) for this job."
        )


def test_local_servers_say_why_they_take_no_batches_in_chinese() -> None:
    problem = batch_api_problem(VLLM)
    assert problem is not None
    with use_language("zh-CN"):
        assert str(problem.message).startswith("vLLM serve 没有 Batch API，")
        assert str(OLLAMA.notes).startswith("没有 Batch API：请直接运行任务")
        assert str(Holder("app-1 boot ns", 1234, "", "run").describe()) == "app-1 上的进程 1234"
    with use_language("en"):
        assert str(OLLAMA.notes).startswith("No Batch API: run the job directly")


def test_other_core_refusals_are_chinese_when_shown_in_chinese() -> None:
    gateway = Gateway("sk-test-not-a-key-000000", "http://127.0.0.1:9/v1")
    with pytest.raises(InputError) as endpoint:
        gateway.call_direct("/v1/files", {})
    with pytest.raises(InputError) as headless:
        read_table(b"id,review\n", "reviews.csv")
    with use_language("zh-CN"):
        assert str(endpoint.value).startswith(
            "Batchdash 无法调用 '/v1/files'；请使用以下接口之一："
        )
        assert str(headless.value) == (
            "“reviews.csv”只有表头行，没有数据行。请在表头下添加行后重新上传。"
        )
    with use_language("en"):
        assert str(headless.value) == (
            "'reviews.csv' has a header row but no rows of data. Add rows under the header and "
            "upload it again."
        )
