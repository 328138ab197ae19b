"""Finding 10: deployment details checked against Microsoft's documentation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import function_app  # noqa: F401 - importing it sets the Python logger levels

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def test_the_custom_role_name_is_unique_in_the_tenant() -> None:
    """A role name built from the resource group's name collides across subscriptions."""
    rbac = (INFRA / "rbac.bicep").read_text()
    role_name = re.search(r"roleName: '([^']*)'", rbac)
    assert role_name is not None
    assert "uniqueString(resourceGroup().id)" in role_name[1]
    assert "resourceGroup().name" not in role_name[1]


def test_no_zone_redundant_sku_where_archive_is_used() -> None:
    """Archive exists only on LRS, GRS and RA-GRS accounts: ZRS/GZRS are not offered."""
    main = (INFRA / "main.bicep").read_text()
    allowed = re.search(r"@allowed\(\[([^\]]*)\]\)\s*param storageSku", main)
    assert allowed is not None
    assert "ZRS" not in allowed[1]


def test_the_name_prefix_is_lowercased_once_and_checked() -> None:
    """Resource names come from one checked, lower-cased prefix, never the raw parameter."""
    main = (INFRA / "main.bicep").read_text()
    names = main[main.index("var names = {") : main.index("}", main.index("var names = {"))]
    assert "namePrefix" not in names
    assert "var prefix = toLower(namePrefix)" in main
    assert "prefixValid ? prefix : json(" in main


def test_host_json_sets_no_python_logger_and_no_dead_concurrency_block() -> None:
    """logLevel keys are host categories; dynamic concurrency is for Blob/Queue/Service Bus."""
    host = json.loads((ROOT / "host.json").read_text())
    assert not [key for key in host["logging"]["logLevel"] if key.startswith("azure.")]
    assert "concurrency" not in host
    import logging

    level = logging.getLogger("azure.core.pipeline.policies.http_logging_policy").level
    assert level == logging.WARNING
