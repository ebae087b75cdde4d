"""The JSON Schema of the config, generated from the models (committed under schemas/)."""

from __future__ import annotations

import json

from liveexec.config._models import LiveexecConfig

__all__ = ["config_json_schema"]

SCHEMA_ID = "https://liveexec.dev/schemas/liveexec-config.schema.json"


def config_json_schema() -> str:
    """The schema as stable, pretty-printed JSON text (ends with a newline)."""
    schema = LiveexecConfig.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
