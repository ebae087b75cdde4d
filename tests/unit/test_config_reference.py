"""Config help (issue 20 §4): every field of the schema is described, and docs/CONFIG.md is the
reference generated from the models."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import (
    LiveexecConfig,
    config_json_schema,
    config_reference_markdown,
    undescribed_properties,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "CONFIG.md"


def test_every_property_of_the_schema_has_a_description() -> None:
    assert undescribed_properties() == []


def test_an_undescribed_property_is_found_at_any_depth() -> None:
    schema = json.loads(config_json_schema())
    del schema["properties"]["mode"]["description"]
    schema["$defs"]["VenueConfig"]["properties"]["name"]["description"] = "  "
    assert undescribed_properties(schema) == ["LiveexecConfig.mode", "VenueConfig.name"]


def test_committed_reference_matches_the_models() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == config_reference_markdown(), (
        "run `liveexec config reference -o docs/CONFIG.md` (or `nox -s schemas`) and commit it"
    )


def test_the_reference_has_a_row_per_field_with_its_path_and_default() -> None:
    text = config_reference_markdown()
    schema = json.loads(config_json_schema())
    models = {"LiveexecConfig": schema, **schema["$defs"]}
    for name, model in models.items():
        for field in model.get("properties", {}):
            assert f"## {name}" in text
            assert f"| `{field}` |" in text, f"{name}.{field}"
    assert set(LiveexecConfig.model_fields) <= {
        line.split("`")[1] for line in text.splitlines() if line.startswith("| `")
    }
    assert "At: `venues[].fee_model`." in text
    assert "At: `risk.instruments.<key>`." in text
    assert "| `min_gap_ms` | number | `2.0` |" in text
    assert '| `kind` | `"currency_pair"` | required |' in text


def test_config_reference_command_writes_the_reference(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "CONFIG.md"
    result = CliRunner().invoke(app, ["config", "reference", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == config_reference_markdown()
    printed = CliRunner().invoke(app, ["config", "reference"])
    assert printed.exit_code == 0 and printed.output == config_reference_markdown()
