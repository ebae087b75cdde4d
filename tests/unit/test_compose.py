"""docker-compose.yml is validated here (these machines have no Docker engine to run it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def profiles_of(compose: dict[str, Any], profile: str) -> set[str]:
    return {name for name, svc in compose["services"].items() if profile in svc.get("profiles", [])}


def test_profiles_select_the_documented_services(compose: dict[str, Any]) -> None:
    assert profiles_of(compose, "backtest") == {"postgres", "jupyterlab"}
    assert profiles_of(compose, "live") == {"postgres", "redis", "node"}
    assert profiles_of(compose, "both") == {"postgres", "redis", "jupyterlab", "node"}


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in compose["services"]
            assert condition == {"condition": "service_healthy"}, name


def test_state_lives_in_named_volumes_and_notebooks_are_mounted(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "./notebooks:/app/notebooks" in services["jupyterlab"]["volumes"]
    assert set(compose["volumes"]) >= {"postgres-data", "redis-data"}


def test_ports_are_bound_to_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_][A-Z0-9_]*=", line)}
    assert used, "the compose file uses no variables?"
    assert used <= documented, f"undocumented in .env.example: {sorted(used - documented)}"
    block_has_comment = False
    for line in lines:
        if not line.strip():
            block_has_comment = False
        elif line.startswith("#"):
            block_has_comment = True
        else:
            assert block_has_comment, f"{line!r} has no comment in its block"


def test_secrets_are_required_not_defaulted() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert "${JUPYTER_TOKEN:?" in text
