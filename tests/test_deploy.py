"""What `deploy/` ships: Prometheus alerting rules (checked and unit-tested by promtool, from
Debian's `prometheus` package, where it is installed) and a Grafana dashboard, both naming
only metrics the bot exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.infra.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "chatops-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "chatops-rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "chatops-dashboard.json"
PROMTOOL = shutil.which("promtool")
METRIC = re.compile(r"\bchatops_[a-z_]+\b")


def exported() -> set[str]:
    """Every series name the bot's /metrics can show."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_rules_and_dashboard_name_only_metrics_the_bot_exports() -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {
        "HighFailureRate",
        "UnacknowledgedCritical",
        "DeliveriesStuck",
    }
    used = {m for r in rules for m in METRIC.findall(r["expr"])}
    used |= {m for e in expressions() for m in METRIC.findall(e)}
    assert used and used <= exported(), sorted(used - exported())


def test_the_dashboard_is_a_grafana_dashboard_whose_panels_do_not_overlap() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36 and dashboard["title"]
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        box = panel["gridPos"]
        assert 0 <= box["x"] and box["x"] + box["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        assert panel["targets"] and all(t["refId"] and t["expr"] for t in panel["targets"])
        assert panel["datasource"]["uid"] == "${datasource}"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_checks_the_rules_runs_their_unit_tests_and_parses_every_panel(
    tmp_path: Path,
) -> None:
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    panels = {  # each panel's query as a recording rule: promtool parses its PromQL
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"chatops:panel_{n}", "expr": e} for n, e in enumerate(expressions())
                ],
            }
        ]
    }
    recorded = tmp_path / "panels.yml"
    recorded.write_text(yaml.safe_dump(panels))
    parsed = subprocess.run(
        [PROMTOOL, "check", "rules", str(recorded)], capture_output=True, text=True
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
