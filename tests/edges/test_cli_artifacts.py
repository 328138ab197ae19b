"""`ascend jobs artifacts` and `ascend jobs download`: a job's files for its owner and admins,
streamed, checksum-verified and resumable, through the CLI on Azurite."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from query.artifacts import download, list_artifacts
from shared.adapters.azure_blob import AzureBlobStore
from shared.errors import StorageError
from shared.principal import Principal
from shared.settings import Settings
from tests.support.builders import write_job
from tests.support.cli import invoke_cli, point_cli_at

FILES = {"model.pkl": b"weights" * 50_000, "metrics.json": b'{"loss": 0.1}'}


@pytest.fixture
def job_id(
    blob_store: AzureBlobStore,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_index: object,
) -> str:
    """alice's completed job with two artifacts; the CLI acts as alice."""
    point_cli_at(settings, monkeypatch)
    return str(write_job(blob_store, artifacts=FILES))


def test_artifacts_lists_names_sizes_and_sha256(job_id: str) -> None:
    """`jobs artifacts --json` lists every artifact with its size and metadata's sha256."""
    code, out, _ = invoke_cli("jobs", "artifacts", job_id, "--json")
    assert code == 0
    rows = {r["name"]: r for r in map(orjson.loads, out.splitlines())}
    assert set(rows) == set(FILES)
    assert rows["model.pkl"]["size_bytes"] == len(FILES["model.pkl"])
    assert rows["model.pkl"]["sha256"] == hashlib.sha256(FILES["model.pkl"]).hexdigest()


def test_download_writes_every_artifact_with_its_exact_bytes(job_id: str, tmp_path: Path) -> None:
    """`jobs download JOB --dest D` writes D/NAME for each artifact, byte for byte."""
    code, _, err = invoke_cli("jobs", "download", job_id, "--dest", str(tmp_path))
    assert code == 0, err
    for name, data in FILES.items():
        assert (tmp_path / name).read_bytes() == data
    assert not list(tmp_path.glob("*.partial"))


def test_download_of_named_artifacts_only_and_an_unknown_name_is_a_usage_error(
    job_id: str, tmp_path: Path
) -> None:
    """Names choose the files; a name the job does not have exits 2 naming it."""
    dest = tmp_path / "out"
    code, _, _ = invoke_cli("jobs", "download", job_id, "metrics.json", "--dest", str(dest))
    assert code == 0
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == {
        "metrics.json": FILES["metrics.json"]
    }
    code, _, err = invoke_cli("jobs", "download", job_id, "nope.bin", "--dest", str(dest))
    assert code == 2
    assert "artifact 'nope.bin'" in err


def test_an_interrupted_download_resumes_and_a_finished_one_is_not_read_again(
    job_id: str, tmp_path: Path
) -> None:
    """A .partial file is continued from its length; a verified file is left as it is."""
    (tmp_path / "model.pkl.partial").write_bytes(FILES["model.pkl"][:1000])
    code, out, _ = invoke_cli("jobs", "download", job_id, "--dest", str(tmp_path), "--json")
    assert code == 0
    outcomes = {r["name"]: r["outcome"] for r in map(orjson.loads, out.splitlines())}
    assert outcomes == {"model.pkl": "resumed", "metrics.json": "downloaded"}
    assert (tmp_path / "model.pkl").read_bytes() == FILES["model.pkl"]
    _, again, _ = invoke_cli("jobs", "download", job_id, "--dest", str(tmp_path), "--json")
    assert {r["outcome"] for r in map(orjson.loads, again.splitlines())} == {"up to date"}


def test_a_corrupt_partial_file_fails_the_checksum_and_is_removed(
    job_id: str, tmp_path: Path, blob_store: AzureBlobStore
) -> None:
    """Resumed bytes that differ from the blob's fail the MD5 check: nothing is renamed."""
    (tmp_path / "model.pkl.partial").write_bytes(b"X" * 1000)
    [model] = [
        f
        for f in list_artifacts(blob_store, Principal.of("alice"), job_id)
        if f.name == "model.pkl"
    ]
    with pytest.raises(StorageError, match="does not match"):
        download(blob_store, model, tmp_path)
    assert not (tmp_path / "model.pkl").exists()
    assert not (tmp_path / "model.pkl.partial").exists()


def test_another_users_job_is_not_found_but_an_admin_may_download(
    job_id: str, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob gets 'not found' for alice's job; admin:frauddetect downloads it."""
    point_cli_at(settings, monkeypatch, user="bob")
    code, _, err = invoke_cli("jobs", "artifacts", job_id)
    assert code == 1
    assert "not found" in err
    point_cli_at(settings, monkeypatch, user="carol", roles="admin:frauddetect")
    code, _, _ = invoke_cli("jobs", "download", job_id, "--dest", str(tmp_path))
    assert code == 0
    assert (tmp_path / "metrics.json").read_bytes() == FILES["metrics.json"]


def test_an_archived_artifact_says_it_needs_rehydration(
    job_id: str, tmp_path: Path, blob_store: AzureBlobStore
) -> None:
    """An artifact in the Archive tier is not downloaded: the error says to rehydrate it."""
    first = list_artifacts(blob_store, Principal.of("alice"), job_id)[0]
    blob_store.set_tier(first.blob, "Archive")
    code, _, err = invoke_cli("jobs", "download", job_id, "--dest", str(tmp_path))
    assert code == 1
    assert "Archive tier" in err
