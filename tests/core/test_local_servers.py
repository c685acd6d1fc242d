"""The local-server profiles against the sandbox imitating each server: models come from its
`models.list()`, the key check asks for them (a local server lists no batches), and a job
service refuses to send batches to it before anything is uploaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchdash.errors import InputError
from batchdash.jobs.service import JobService
from batchdash.providers.profiles import BY_NAME
from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from sandbox.profiles import DIALECTS
from tests.jobs_kit import reviews, sandbox

LOCAL = ("ollama", "llamacpp", "lmstudio", "vllm")


@pytest.mark.parametrize("name", LOCAL)
def test_models_come_from_the_server_and_the_key_check_needs_no_batches(
    tmp_path: Path, name: str
) -> None:
    profile = BY_NAME[name]
    with sandbox(tmp_path / "sandbox", profile=name) as box:
        gateway = box.gateway(can_list=profile.list)
        assert gateway.list_models() == sorted(DIALECTS[name].models)
        gateway.check_key()  # lists the models: the batch routes answer 404 there
        calls = box.log.calls
        assert not any(path.startswith("/v1/batches") for _method, path in calls)


def test_a_job_service_refuses_to_send_batches_to_a_local_server(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    with sandbox(tmp_path / "sandbox", profile="ollama") as box:
        service = JobService(registry, box.gateway(can_list=False), "s", provider=BY_NAME["ollama"])
        job_id = service.create_job(
            "Local", reviews(2), Recipe(model="qwen2.5:7b", template="{review}")
        )
        with pytest.raises(InputError, match=r"^Ollama has no Batch API"):
            service.submit(job_id)
        assert box.log.total == 0
        # A local server's calls cost nothing: the estimate says so.
        assert service.status(job_id).estimated_cost_usd == 0.0
    registry.close()
