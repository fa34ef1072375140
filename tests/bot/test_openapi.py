"""The published API: `/api/v1/openapi.json` is a valid OpenAPI 3.1 document of every route the
bot registered, generated from the models that parse the requests, and the running bot keeps
to it under a property-based run of schemathesis (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from bot.http.openapi import published
from tests.helpers import free_port, start_bot, wait_healthy

Client = TestClient  # type: ignore[type-arg]
API_TOKEN = "test-api-token-0123456789abcdef"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_the_document_is_valid_and_names_every_registered_route(client: Client) -> None:
    # No key: the document is public (it holds no data).
    reply = await client.get("/api/v1/openapi.json", headers={"Authorization": ""})
    assert reply.status == 200
    doc = await reply.json()
    validate(doc)  # a valid OpenAPI 3.1 document
    assert doc["openapi"] == "3.1.0"
    registered = {
        (r.method.lower(), r.resource.canonical.split(":")[0].rstrip("}") + "}")
        if "{section:" in r.resource.canonical
        else (r.method.lower(), r.resource.canonical)
        for r in client.app.router.routes()
        if r.method != "HEAD" and r.resource is not None and published(r.resource.canonical)
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert registered, "no published route found"
    assert registered - documented == set()
    assert len(documented) >= 70
    # The models that parse requests are the document's schemas, fields and all.
    heartbeat = doc["components"]["schemas"]["HeartbeatSpec"]
    assert heartbeat["required"] == ["name", "interval"]
    assert heartbeat["additionalProperties"] is False
    route = doc["components"]["schemas"]["RouteBody"]["properties"]
    assert {"matchers", "group_by", "continue", "mute_time_intervals"} <= set(route)
    events = doc["paths"]["/api/v1/events"]
    assert events["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventBody"
    }
    assert events["get"]["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in events["get"]["parameters"]} >= {"state", "limit", "offset"}
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # Every error is the contract's error body.
    assert events["post"]["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


@sqlite_only
async def test_a_body_the_model_refuses_is_a_400_naming_the_field(client: Client) -> None:
    reply = await client.post("/api/v1/heartbeats", json={"name": "backup", "interval": 15})
    assert reply.status == 400
    error = (await reply.json())["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("interval: ")
    reply = await client.post(
        "/api/v1/heartbeats", json={"name": "backup", "interval": "15m", "colour": "red"}
    )
    assert reply.status == 400
    assert "colour" in (await reply.json())["error"]["message"]
    reply = await client.get("/api/v1/events?limit=many")
    assert reply.status == 400
    error = (await reply.json())["error"]
    assert error["code"] == "bad_query" and error["message"].startswith("limit: ")
    listed = await client.get("/api/v1/heartbeats")
    assert (await listed.json())["data"] == []  # nothing was made


SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


async def resources(base: str) -> dict[str, str]:
    """One of each resource, so generated requests reach the code behind the 404s: path
    parameters take these values (everything named by name is called `db`)."""
    made: dict[str, str] = {"name": "db", "user_id": "ana", "kind": "WEBHOOK", "verb": "snooze"}
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            reply = await http.post(path, json=body)
            assert reply.status_code in (201, 202), (path, reply.text)
            found: dict[str, Any] = reply.json()
            return found

        made["event_id"] = (await post("/api/v1/events", {"title": "Disk full"}))["id"]
        hook = {"type": "webhook", "name": "hook", "settings": {"url": "https://example.com/h"}}
        made["id"] = (await post("/api/v1/integrations", hook))["data"]["id"]
        made["integration_id"] = made["id"]
        await post("/api/v1/people", {"name": "db", "time_zone": "Europe/Berlin"})
        layer = {"people": ["db"], "start": "2026-11-02", "rotation": "weekly"}
        schedule = {"name": "db", "time_zone": "Europe/Berlin", "layers": [layer]}
        await post("/api/v1/schedules", schedule)
        steps = [{"notify": [{"schedule": "db"}], "wait": "5m"}]
        await post("/api/v1/escalation-policies", {"name": "db", "steps": steps})
        await post("/api/v1/heartbeats", {"name": "db", "interval": "15m"})
        weekend = {"name": "db", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}
        await post("/api/v1/time-intervals", weekend)
        silence = {"matchers": ['team="db"'], "duration": "2h"}
        made["silence_id"] = (await post("/api/v1/silences", silence))["data"]["id"]
        rule = {"source_matchers": ['alertname="Down"'], "target_matchers": ['sev="warn"']}
        made["rule_id"] = (await post("/api/v1/inhibit-rules", rule))["data"]["id"]
    return made


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_and_every_answer_matches(
    database_url: str, tmp_path: Path
) -> None:
    assert SCHEMATHESIS, "schemathesis is in the dev extra"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CHATOPS_DATABASE_URL": database_url,
        "CHATOPS_API_TOKEN": API_TOKEN,
        "CHATOPS_DATA_DIR": str(tmp_path / "var"),
        "CHATOPS_ALLOW_PRIVATE_TARGETS": "false",
        "CHATOPS_PUBLIC_URL": base,
    }
    proc = start_bot(env, port, tmp_path / "bot.log")
    try:
        await wait_healthy(base, proc)
        values = await resources(base)
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            "[parameters]\n" + "".join(f'"path.{k}" = "{v}"\n' for k, v in values.items())
        )
        run = await asyncio.to_thread(
            subprocess.run,
            [
                SCHEMATHESIS,
                "--config-file",
                str(config),
                "run",
                f"{base}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {API_TOKEN}",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,"
                "response_schema_conformance",
                "--mode",
                "all",  # valid requests, and invalid ones that must be refused with a 4xx
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                "12",
                "--seed",
                "1",
                "--workers",
                "2",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        (tmp_path / "schemathesis.txt").write_text(run.stdout + run.stderr)
        summary = run.stdout[run.stdout.rfind("SUMMARY") :]
        assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
        assert "Tested: 7" in summary  # every operation (70 and more) was tried
        tried = re.search(r"(\d+) generated, \1 passed", summary)
        assert tried is not None and int(tried.group(1)) > 700, summary
        log = (tmp_path / "bot.log").read_text()
        assert "unhandled error" not in log, log[-3000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
