"""Which key goes to which base URL, and which addresses a deployment admits."""

from __future__ import annotations

import pytest

from batchdash.api.destinations import (
    AddressPolicy,
    address_policy,
    parse_allowed,
    route,
    same_destination,
)

TEAM_URL = "https://gateway.example.com/v1"
OPEN = AddressPolicy(None)


def test_no_key_at_all_is_sandbox_mode() -> None:
    assert route("https://evil.example/v1", "", None, None, OPEN) is None


def test_the_configured_key_goes_to_the_configured_url() -> None:
    found = route(TEAM_URL + "/", "", "sk-team", TEAM_URL, OPEN)

    assert found is not None
    assert (found.base_url, found.api_key, found.key_source, found.refusal) == (
        TEAM_URL + "/",
        "sk-team",
        "configured",
        None,
    )


def test_the_configured_key_never_follows_another_url() -> None:
    found = route("http://evil.example/v1", "", "sk-team", TEAM_URL, OPEN)

    assert found is not None
    assert found.base_url == TEAM_URL
    assert found.refusal is not None and "only sent to" in found.refusal
    assert "evil.example" in found.refusal


def test_the_configured_key_without_a_url_goes_only_to_openai() -> None:
    for openai in (None, "https://api.openai.com/v1/"):
        found = route(openai, "", "sk-team", None, OPEN)
        assert found is not None and found.refusal is None
    moved = route("https://other.example/v1", "", "sk-team", None, OPEN)
    assert moved is not None and moved.base_url is None and moved.refusal


def test_an_own_key_goes_where_the_user_chose() -> None:
    found = route("http://127.0.0.1:9/v1", "sk-mine ", "sk-team", TEAM_URL, OPEN)

    assert found is not None
    assert (found.base_url, found.api_key, found.key_source, found.refusal) == (
        "http://127.0.0.1:9/v1",
        "sk-mine",
        "session",
        None,
    )


def test_a_url_that_cannot_be_used_keeps_the_configured_one_with_the_reason() -> None:
    found = route(None, "", "sk-team", TEAM_URL, OPEN, chosen_problem="Type a URL.")

    assert found is not None and (found.base_url, found.refusal) == (TEAM_URL, "Type a URL.")


@pytest.mark.parametrize(
    ("entry", "url", "admitted"),
    [
        ("https://gateway.example.com/v1", "https://gateway.example.com/v1", True),
        ("https://gateway.example.com/v1", "https://gateway.example.com/v1/", True),
        ("https://gateway.example.com/v1", "https://gateway.example.com/v1beta", False),
        ("https://gateway.example.com/v1", "http://gateway.example.com/v1", False),
        ("https://gateway.example.com", "https://gateway.example.com/openai/v1", True),
        ("gateway.example.com", "http://gateway.example.com:8080/v1", True),
        ("gateway.example.com:8080", "http://gateway.example.com/v1", False),
        ("https://*.openai.azure.com", "https://contoso.openai.azure.com/openai/v1/", True),
        ("https://*.openai.azure.com", "https://openai.azure.com.evil.example/v1", False),
        ("https://*.openai.azure.com", "https://evilopenai.azure.com/v1", False),
        ("gateway.example.com", "https://gateway.example.com.evil.example/v1", False),
        ("gateway.example.com", "https://gateway.example.com@evil.example/v1", False),
    ],
)
def test_an_allowed_address_admits_only_itself(entry: str, url: str, admitted: bool) -> None:
    addresses, unreadable = parse_allowed(entry)

    assert unreadable == ()
    assert AddressPolicy(addresses).admits(url) is admitted


def test_entries_that_cannot_be_read_are_named_and_admit_nothing() -> None:
    addresses, unreadable = parse_allowed("ftp://files.example, https://, ok.example, a*b.example")

    assert [address.host for address in addresses] == ["ok.example"]
    assert unreadable == ("ftp://files.example", "https://", "a*b.example")
    policy = address_policy("ftp://files.example", None, sign_in=False)
    assert policy.allowed == () and not policy.admits("ftp://files.example")


def test_sign_in_admits_only_the_configured_address_unless_the_operator_lists_more() -> None:
    shared = address_policy(None, TEAM_URL, sign_in=True)
    assert shared.admits(TEAM_URL) and not shared.admits("https://other.example/v1")
    assert address_policy(None, None, sign_in=True).admits(None)
    assert not address_policy(None, None, sign_in=True).admits("http://127.0.0.1:9/v1")
    assert address_policy(None, None, sign_in=False).admits("http://127.0.0.1:9/v1")
    listed = address_policy("other.example", TEAM_URL, sign_in=True)
    assert listed.admits("https://other.example/v1") and not listed.admits(TEAM_URL)


def test_a_refused_address_is_refused_for_any_key() -> None:
    policy = address_policy(TEAM_URL, TEAM_URL, sign_in=False)

    found = route("http://127.0.0.1:9/v1", "sk-mine", "sk-team", TEAM_URL, policy)

    assert found is not None
    assert found.base_url == TEAM_URL
    assert found.refusal is not None and "BATCHDASH_ALLOWED_BASE_URLS" in found.refusal


def test_same_destination_ignores_case_of_host_and_trailing_slashes() -> None:
    assert same_destination("HTTPS://Gateway.Example.com/v1/", TEAM_URL)
    assert same_destination(None, "https://api.openai.com/v1")
    assert not same_destination("https://gateway.example.com/v2", TEAM_URL)
