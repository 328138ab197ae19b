"""The MLflow side of `bench.peer`: a worker that loads the synthetic jobs into MLflow's SQLite
store and answers the questions with `MlflowClient.search_runs`, timing itself.

Runs in its own virtual environment (`make bench-peer`: MLflow and its ~90 packages never enter
the project's), started by `bench.peer` and spoken to in JSON Lines: one request on stdin, one
answer on stdout. Imports only MLflow and the standard library (and `bench.peer_data`, which is
standard library only).

A job is a run of experiment `ascend`: its ID is the run name, its creation time the start
time, its status the run status (`MLFLOW_STATUS`); each package a param (`torch` = `2.0.0`), as
`mlflow.autolog`-style code would log it; user, project, function, node, dependency and image
hashes are tags.

Loading: the first `client_slice` jobs through the supported client (`create_run`, `log_batch`,
`set_terminated`: three requests a run); that path's rate is reported, and the rest go straight
into MLflow's own tables (`runs`, `tags`, `params`) the way its SQLAlchemy store writes them,
since the client would take hours for 100,000 runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.peer_data import MLFLOW_STATUS, jobs

EXPERIMENT = "ascend"
MAX_RESULTS = 50_000  # MLflow's largest page


def run_fields(job: dict[str, Any]) -> dict[str, Any]:
    """The MLflow run of a job: name, user, status, times (ms), tags and params."""
    deps = job["dependencies"]
    params = {"python_version": deps["python_version"]}
    for text in deps["packages"]:
        name, _, version = text.partition("==")
        params[name] = version
    tags = {
        "mlflow.user": job["user"],
        "user": job["user"],
        "project": job["project"],
        "function_name": job["function_name"],
        "node_type": job["config"]["node_type"],
        "dep_hash": job["job_id"].split("-")[4],
        "image_hash": deps["hash"],
        "use_gpu": str(deps["use_gpu"]).lower(),
        **{f"tag.{k}": v for k, v in job["tags"].items()},
    }
    end = job["execution"].get("end_time")
    return {
        "name": job["job_id"],
        "user": job["user"],
        "status": MLFLOW_STATUS[job["status"]],
        "start": _ms(job["created_at"]),
        "end": _ms(end) if end else None,
        "tags": tags,
        "params": params,
    }


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class Peer:
    """MLflow over one SQLite file."""

    def __init__(self, db: Path) -> None:
        from mlflow import MlflowClient

        self.db = db
        self.client = MlflowClient(tracking_uri=f"sqlite:///{db}")
        found = self.client.get_experiment_by_name(EXPERIMENT)
        self.experiment = (
            found.experiment_id if found else self.client.create_experiment(EXPERIMENT)
        )

    def load(self, count: int, client_slice: int) -> dict[str, Any]:
        """All `count` jobs: the first `client_slice` through the client, the rest into the
        schema. Returns the rates of both paths."""
        stream = jobs(count)
        sliced = [run_fields(next(stream)) for _ in range(min(client_slice, count))]
        started = time.perf_counter()
        for run in sliced:
            self._through_client(run)
        client_seconds = time.perf_counter() - started
        started = time.perf_counter()
        rest = self._into_schema(run_fields(j) for j in stream)
        schema_seconds = time.perf_counter() - started
        return {
            "client_runs": len(sliced),
            "client_runs_per_s": round(len(sliced) / client_seconds, 1) if sliced else None,
            "schema_runs": rest,
            "schema_runs_per_s": round(rest / schema_seconds),
        }

    def _through_client(self, run: dict[str, Any]) -> None:
        from mlflow.entities import Param

        created = self.client.create_run(
            self.experiment, start_time=run["start"], tags=run["tags"], run_name=run["name"]
        )
        run_id = created.info.run_id
        self.client.log_batch(run_id, params=[Param(k, v) for k, v in run["params"].items()])
        if run["status"] in {"FINISHED", "FAILED", "KILLED"}:
            self.client.set_terminated(run_id, status=run["status"], end_time=run["end"])
        elif run["status"] == "SCHEDULED":
            self.client.update_run(run_id, status="SCHEDULED")

    def _into_schema(self, runs: Iterable[dict[str, Any]]) -> int:
        """Rows as `SqlAlchemyStore.create_run` + `log_batch` + `set_terminated` leave them."""
        conn = sqlite3.connect(self.db)
        location = conn.execute(
            "SELECT artifact_location FROM experiments WHERE experiment_id = ?", (self.experiment,)
        ).fetchone()[0]
        count = 0
        with conn:
            for run in runs:
                uuid = hashlib.md5(run["name"].encode(), usedforsecurity=False).hexdigest()
                conn.execute(
                    "INSERT INTO runs (run_uuid, name, source_type, source_name, "
                    "entry_point_name, user_id, status, start_time, end_time, source_version, "
                    "lifecycle_stage, artifact_uri, experiment_id) "
                    "VALUES (?, ?, 'UNKNOWN', '', '', ?, ?, ?, ?, '', 'active', ?, ?)",
                    (
                        uuid,
                        run["name"],
                        run["user"],
                        run["status"],
                        run["start"],
                        run["end"],
                        f"{location}/{uuid}/artifacts",
                        int(self.experiment),
                    ),
                )
                tags = {**run["tags"], "mlflow.runName": run["name"]}
                conn.executemany(
                    "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                    [(k, v, uuid) for k, v in tags.items()],
                )
                conn.executemany(
                    "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                    [(k, v, uuid) for k, v in run["params"].items()],
                )
                count += 1
        conn.close()
        return count

    def ask(self, filters: list[str], limit: int | None) -> tuple[float, list[str]]:
        """Seconds to fetch every run matching any of `filters` (newest first; at most `limit`),
        and their names."""
        started = time.perf_counter()
        names: dict[str, None] = {}
        for text in filters:
            for run in self._search(text, limit):
                names.setdefault(run.info.run_name, None)
        return time.perf_counter() - started, list(names)

    def _search(self, text: str, limit: int | None) -> Iterable[Any]:
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment],
                text,
                max_results=limit or MAX_RESULTS,
                order_by=["attributes.start_time DESC"],
                page_token=token,
            )
            yield from page
            token = page.token
            if limit is not None or not token:
                return


def serve() -> None:
    """Answer requests from stdin until it closes. Answers go to the stdout this process was
    started with; anything MLflow prints goes to stderr."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    peer: Peer | None = None
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "open":
            peer = Peer(Path(request["db"]))
            answer: dict[str, Any] = {"ok": True}
        elif op == "load" and peer is not None:
            answer = peer.load(request["count"], request["client_slice"])
        elif op == "ask" and peer is not None:
            seconds, names = peer.ask(request["filters"], request.get("limit"))
            answer = {"seconds": seconds, "ids": names if request.get("ids") else len(names)}
        else:
            answer = {"error": f"unknown or out-of-order request {op!r}"}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    serve()
