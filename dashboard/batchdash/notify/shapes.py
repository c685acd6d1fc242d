"""The body each service's incoming webhook takes, chosen by the URL's host.

- Slack (hooks.slack.com): `{"text": ...}`.
- Microsoft Teams, the connector's webhook.office.com and the Workflows (Power Automate, Logic
  Apps) URLs: a message with one Adaptive Card, the one form both accept.
- Feishu / Lark custom bots: `{"msg_type": "text", "content": {"text": ...}}`.
- DingTalk custom robots and WeCom group robots: `{"msgtype": "text", "text": {"content": ...}}`.
- Any other URL: contract 12's plain JSON, `event`, `job_id`, `name`, `state`, `counts`,
  `cost_usd` and nothing else.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from batchdash.notify.wording import text

Service = Literal["slack", "teams", "feishu", "dingtalk", "wecom", "plain"]

#: Host names (exact, or a domain when written ".domain") of each service.
_HOSTS: dict[Service, tuple[str, ...]] = {
    "slack": ("hooks.slack.com",),
    "teams": (".webhook.office.com", ".logic.azure.com", ".powerplatform.com"),
    "feishu": ("open.feishu.cn", "open.larksuite.com"),
    "dingtalk": ("oapi.dingtalk.com",),
    "wecom": ("qyapi.weixin.qq.com",),
}

#: The fields of the plain body (contract 12).
PLAIN_FIELDS = ("event", "job_id", "name", "state", "counts", "cost_usd")


def service_of(url: str) -> Service:
    """The service a webhook URL belongs to; "plain" for any other."""
    host = (urlsplit(url.strip()).hostname or "").lower()
    for service, hosts in _HOSTS.items():
        if any(host.endswith(name) if name.startswith(".") else host == name for name in hosts):
            return service
    return "plain"


def body_for(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON body to post to `url` about the outbox's `payload`."""
    service = service_of(url)
    if service == "plain":
        return {name: payload.get(name) for name in PLAIN_FIELDS}
    message = text(payload)
    if service == "slack":
        return {"text": message}
    if service == "teams":
        return _teams_card(message)
    if service == "feishu":
        return {"msg_type": "text", "content": {"text": message}}
    return {"msgtype": "text", "text": {"content": message}}


def _teams_card(message: str) -> dict[str, Any]:
    heading, _newline, rest = message.partition("\n")
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": heading, "weight": "Bolder", "wrap": True},
                        {"type": "TextBlock", "text": rest, "wrap": True},
                    ],
                },
            }
        ],
    }
