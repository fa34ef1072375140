"""An integration's spec and record: REST's and the configuration file's names read into one
spec, the file's own refusals, and a record that never holds a secret. The unit beside
`bot/core/specs/integrations.py`."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.core.errors import InvalidRequest
from bot.core.integrations.documents import integration_document, integration_record
from bot.core.specs import parse
from bot.core.specs.integrations import IntegrationChange, IntegrationSpec
from bot.infra.secrets import Keyring
from storage.schema import Integration, utcnow


def test_the_file_and_rest_say_the_same_integration_in_their_own_words() -> None:
    by_file = parse(
        IntegrationSpec,
        {
            "name": "hooks",
            "type": "webhook",
            "enabled": False,
            "settings": {"url": "https://example.com/h"},
            "sync": {"enabled": True, "interval_minutes": 15, "direction": "inbound"},
        },
    )
    by_rest = parse(
        IntegrationSpec,
        {
            "name": "hooks",
            "type": "webhook",
            "is_active": False,
            "config": {"url": "https://example.com/h"},
            "sync_enabled": True,
            "sync_interval": 15,
            "sync_direction": "inbound",
        },
    )
    assert by_file == by_rest
    assert by_file.settings == {"url": "https://example.com/h"}
    assert (by_file.is_active, by_file.sync_enabled, by_file.sync_interval) == (False, True, 15)
    # a change names only what it changes
    assert IntegrationChange.model_validate({"enabled": True}).model_fields_set == {"is_active"}


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"sync": {"colour": "red"}}, "integrations[0]: sync.colour: not a field here"),
        ({"sync": "hourly"}, "integrations[0]: sync: a mapping of enabled, interval_minutes"),
        ({"sync": {"direction": "sideways"}}, "integrations[0].sync_direction: Input should be"),
        ({"colour": "red"}, "integrations[0].colour: not a field here"),
        ({"enabled": "yes"}, "integrations[0].enabled: expected true or false, got text"),
    ],
)
def test_a_wrong_entry_is_refused_at_its_place(entry: dict[str, object], said: str) -> None:
    given = {"name": "hooks", "type": "webhook", **entry}
    with pytest.raises(InvalidRequest) as refused:
        parse(IntegrationSpec, given, prefix="integrations[0].")
    assert said in str(refused.value)


def test_the_record_shows_settings_and_masks_every_secret() -> None:
    keyring = Keyring([Fernet.generate_key().decode()])
    secret_url = "https://hooks.example.com/services/T0/B0/very-secret-token"
    row = Integration(
        id="i1",
        tenant_id="acme",
        name="hooks",
        type="webhook",
        config={},
        credentials=keyring.encrypt({"url": secret_url, "secret": "s3cr3t-signing"}),
        is_active=True,
        provider_status="active",
        audience="tenant",
        capabilities=["notify"],
        sync_enabled=False,
        sync_interval=60,
        sync_direction="both",
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    record = integration_record(row, keyring)
    shown = str(record.model_dump())
    assert "very-secret-token" not in shown and "s3cr3t-signing" not in shown
    assert record.settings["url"].startswith("https://hooks.example.com")
    document = integration_document(record)
    assert "tenant" not in document  # the document is the tenant's own: no ids of it
    assert document["created_at"] == row.created_at.isoformat()
