"""What can be checked of infra/ without the Bicep compiler: API versions, descriptions, the
files the Bicep loads, azure.yaml and its hooks, and what .funcignore lets into the package."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pathspec
import pytest
import yaml

from shared.adapters.azure_search_payloads import API_VERSION

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP = sorted(INFRA.glob("*.bicep"))
_RESOURCE = re.compile(r"^\s*resource\s+\w+\s+'(?P<type>[^'@]+)@(?P<version>[^']+)'")
_VERSION = re.compile(r"20\d\d-\d\d-\d\d(-preview)?")
_DECLARATION = re.compile(r"^(param|output)\s+(\w+)")


def bicep_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_there_is_one_bicep_file_per_concern() -> None:
    """main plus storage, eventgrid, functions, search, monitoring, rbac and user access."""
    assert {p.stem for p in BICEP} == {
        "main",
        "storage",
        "eventgrid",
        "functions",
        "search",
        "monitoring",
        "rbac",
        "useraccess",
    }


@pytest.mark.parametrize("path", BICEP, ids=lambda p: p.name)
def test_every_resource_names_its_type_and_api_version(path: Path) -> None:
    """Each `resource` line is `'Provider/type@YYYY-MM-DD'`."""
    lines = [line for line in bicep_lines(path) if re.match(r"^\s*resource\s", line)]
    for line in lines:
        found = _RESOURCE.match(line)
        assert found, f"{path.name}: {line.strip()!r} has no type@version"
        assert "/" in found["type"], f"{path.name}: {found['type']} is not a resource type"
        assert _VERSION.fullmatch(found["version"]), f"{path.name}: bad API version in {line!r}"


@pytest.mark.parametrize("path", BICEP, ids=lambda p: p.name)
def test_every_param_and_output_has_a_description(path: Path) -> None:
    """Each `param` and `output` is preceded by its decorators, one of them `@description`."""
    lines = bicep_lines(path)
    for number, line in enumerate(lines):
        declared = _DECLARATION.match(line)
        if not declared:
            continue
        decorators = []
        for previous in reversed(lines[:number]):
            if not previous.startswith("@"):
                break
            decorators.append(previous)
        assert any(d.startswith("@description(") for d in decorators), (
            f"{path.name}: {declared[1]} {declared[2]} has no @description"
        )


@pytest.mark.parametrize("path", BICEP, ids=lambda p: p.name)
def test_every_file_the_bicep_loads_or_calls_exists(path: Path) -> None:
    """`loadJsonContent(...)` files and module files exist next to the Bicep."""
    text = path.read_text()
    loaded = re.findall(r"loadJsonContent\('([^']+)'\)", text)
    modules = re.findall(r"^module\s+\w+\s+'([^']+)'", text, flags=re.MULTILINE)
    for relative in loaded + modules:
        assert (path.parent / relative).is_file(), f"{path.name} refers to missing {relative}"


def test_the_generated_json_is_what_the_bicep_loads() -> None:
    """The lifecycle policy and the event filter come from infra/generated/, not inline."""
    storage = (INFRA / "storage.bicep").read_text()
    eventgrid = (INFRA / "eventgrid.bicep").read_text()
    assert "loadJsonContent('generated/lifecycle-policy.json')" in storage
    assert "loadJsonContent('generated/event-filters.json')" in eventgrid


def test_the_function_app_settings_are_the_contract_s_without_keys() -> None:
    """App settings name the contract's variables and identity-based storage, and no secrets."""
    functions = (INFRA / "functions.bicep").read_text()
    settings = set(re.findall(r"\{ name: '([^']+)'", functions))
    assert {
        "ASCEND_STORAGE_ACCOUNT_URL",
        "ASCEND_SEARCH_ENDPOINT",
        "ASCEND_SEARCH_INDEX",
        "ASCEND_CONTAINER",
        "AzureWebJobsStorage__accountName",
    } <= settings
    assert (
        not {"ASCEND_STORAGE_CONNECTION_STRING", "ASCEND_SEARCH_API_KEY", "AzureWebJobsStorage"}
        & settings
    )
    assert "listKeys" not in "".join(p.read_text() for p in BICEP)
    assert "version: '3.11'" in functions
    assert "'FlexConsumption'" in functions


def test_the_user_access_condition_restricts_reads_to_the_user_s_folder() -> None:
    """The ABAC condition tests the blob path against projects/*/users/{user}/."""
    text = (INFRA / "useraccess.bicep").read_text()
    assert "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]" in text
    assert "StringLike \\'projects/*/users/${reader.user}/*\\'" in text
    assert "conditionVersion: '2.0'" in text


def test_azure_yaml_deploys_the_function_app_and_runs_the_hooks() -> None:
    """azure.yaml points azd at infra/main and the Python function service, with two hooks."""
    config = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert config["services"]["functions"] == {
        "project": ".",
        "language": "python",
        "host": "function",
    }
    for hook in ("postprovision", "postdeploy"):
        script = ROOT / config["hooks"][hook]["posix"]["run"]
        assert script.is_file()
        assert os.access(script, os.X_OK), f"{script} is not executable"


def test_the_index_hook_uses_the_adapter_s_api_version_and_the_generated_body() -> None:
    """The postprovision hook PUTs search-index.json at the same api-version the app speaks."""
    hook = (INFRA / "hooks" / "postprovision.sh").read_text()
    assert f'API_VERSION="{API_VERSION}"' in hook
    assert "infra/generated/search-index.json" in hook
    assert '--resource "https://search.azure.com"' in hook


# ---- the Functions package ------------------------------------------------------------------


def package_files() -> set[str]:
    """The repository files the Functions package holds, after .funcignore."""
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())
    files = set()
    for directory, subdirs, names in os.walk(ROOT):
        relative = Path(directory).relative_to(ROOT)
        subdirs[:] = [d for d in subdirs if not spec.match_file(f"{(relative / d).as_posix()}/")]
        files |= {
            (relative / n).as_posix()
            for n in names
            if not spec.match_file((relative / n).as_posix())
        }
    return files


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # `from query import jobs` imports the submodule query/jobs.py
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def module_file(name: str) -> str | None:
    """The repository file of a first-party module, or None for third-party ones."""
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(ROOT).as_posix()
    return None


def test_the_package_holds_only_what_runs() -> None:
    """No tests, bench, infra, build backend, node_modules, .venv or .ascend in the package."""
    files = package_files()
    assert {"function_app.py", "host.json", "requirements.txt"} <= files
    for excluded in (
        "tests/",
        "bench/",
        "infra/",
        "node_modules/",
        ".venv/",
        ".ascend/",
        "build_backend/",
    ):
        assert not [f for f in files if f.startswith(excluded)], f"{excluded} is packaged"


def test_everything_function_app_imports_is_in_the_package() -> None:
    """Every first-party module reachable from function_app.py (static imports) is packaged."""
    files = package_files()
    todo, seen = ["function_app.py"], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        assert current in files, f"{current} is imported but left out by .funcignore"
        for name in imported_modules(ROOT / current):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:depth]))
                if found:
                    todo.append(found)
    assert "shared/services.py" in seen  # the walk reached the composition root
