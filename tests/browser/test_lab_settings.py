"""`make lab`'s project settings (notebooks/.jupyter/overrides.json) name real JupyterLab settings.

A misspelt key or value is silently ignored by JupyterLab, and the "get notified about Jupyter news?"
prompt would be back: check the overrides against the installed JupyterLab's own schemas.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


def test_overrides_are_valid_settings_that_turn_the_news_prompt_off() -> None:
    overrides = json.loads((ROOT / "notebooks" / ".jupyter" / "overrides.json").read_text())
    for plugin, settings in overrides.items():
        package, name = plugin.rsplit(":", 1)
        schema = json.loads((SCHEMAS / package / f"{name}.json").read_text())
        for key, value in settings.items():
            spec = schema["properties"].get(key)
            assert spec is not None, f"{plugin} has no setting {key!r}"
            allowed = spec.get("enum") or [choice["const"] for choice in spec.get("oneOf", []) if "const" in choice]
            if allowed:
                assert value in allowed, f"{plugin} {key}: {value!r} not in {allowed}"
            else:
                assert isinstance(value, {"boolean": bool, "string": str}[spec["type"]]), (plugin, key)
    # "false": never fetch news and never ask ("none", the default, asks on first start).
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"

