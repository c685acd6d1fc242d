import pytest

from tests.openapi_schemas import request_schema_for, validate


def test_a_valid_batch_input_line_passes() -> None:
    line = {
        "custom_id": "row-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
    }
    validate("BatchRequestInput", line, spec="2025")
    validate(request_schema_for(line["url"]), line["body"])


def test_an_invalid_object_is_rejected() -> None:
    with pytest.raises(AssertionError, match="method"):
        validate("BatchRequestInput", {"custom_id": "x", "method": "GET"}, spec="2025")
    with pytest.raises(AssertionError, match="CreateChatCompletionRequest"):
        validate("CreateChatCompletionRequest", {"model": "gpt-4o-mini"})
