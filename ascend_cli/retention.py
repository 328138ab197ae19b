"""`ascend retention ...`: plan and apply the lifecycle sweep by hand; show and set policies.

`plan` and `apply` print one line per action (`--json`: `job_id, blob, action, tier, reason`, and
`outcome` for apply) and a summary on stderr. `--now` runs the sweep as of another date; `apply
--concurrency N --rate R` works on N jobs at once within R storage requests a second. Both need
`admin`, or `admin:P` together with `--project P`; so does setting a project's policy.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ascend_cli.common import (
    handle_errors,
    note,
    principal,
    print_jsonl,
    require_admin,
    say,
    services,
)
from ascend_cli.tables import new_table, print_table
from lifecycle.apply import Result
from lifecycle.native import native_policy_document
from lifecycle.outcome import PLANNED
from lifecycle.overrides import load_policy_book, reset_override, set_override
from lifecycle.plan import Action
from lifecycle.policy import RetentionPolicy, policy_from_json
from lifecycle.sweep import SweepSummary, plan_sweep, run_sweep
from shared.errors import AccessDenied, InvalidInput
from shared.jobid import is_valid_name

app = typer.Typer(
    help="Retention: what the lifecycle sweep would do, doing it, and the policies.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="The retention policy: the default table and per-project overrides.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now", help="Run as of this time (ISO 8601, e.g. 2026-03-14 or 2026-03-14T02:30:00Z)."
    ),
]
ProjectOption = Annotated[str | None, typer.Option("--project", help="Only this project.")]
CoolOption = Annotated[str | None, typer.Option("--cool", help="Days to Cool, or 'never'.")]
ArchiveOption = Annotated[str | None, typer.Option("--archive", help="Days to Archive or 'never'.")]
DeleteOption = Annotated[str | None, typer.Option("--delete", help="Days to deletion, or 'never'.")]

JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, nothing else.")]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        help="Jobs worked on at once (default: ASCEND_SWEEP_CONCURRENCY, 8).",
    ),
]
RateOption = Annotated[
    int | None,
    typer.Option(
        "--rate",
        min=1,
        max=20_000,
        help="At most this many storage requests a second (default: "
        "ASCEND_SWEEP_REQUESTS_PER_SECOND, 1000; an account takes 20,000).",
    ),
]
_err = Console(stderr=True, highlight=False)


@app.command("plan")
@handle_errors
def plan_command(
    now: NowOption = None, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """List what the sweep would do, one action per line; changes nothing."""
    moment, scope = parse_now(now), checked_project(project)
    _require_admin(scope)
    summary = SweepSummary()
    built = services()
    for job_plan, _ in plan_sweep(built.blobs, built.index, built.settings, moment, project=scope):
        _emit([a.as_json() for a in job_plan.actions], as_json)
        summary.add([Result(a, PLANNED) for a in job_plan.actions])
    note(summary.line(f"as of {moment:%Y-%m-%dT%H:%M:%SZ}: would do"))


@app.command("apply")
@handle_errors
def apply_command(  # noqa: PLR0917 - one parameter per CLI option
    now: NowOption = None,
    project: ProjectOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Really do it (default: a dry run, like plan).")
    ] = False,
    as_json: JsonOption = False,
    concurrency: ConcurrencyOption = None,
    rate: RateOption = None,
) -> None:
    """Carry the sweep out: tiers, compression, deletions; every action audited. A dry run
    (what plan prints) unless --yes."""
    if not yes:
        plan_command(now=now, project=project, as_json=as_json)
        note("dry run: nothing was changed; add --yes to apply")
        return
    moment, scope = parse_now(now), checked_project(project)
    who = _require_admin(scope)
    err = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("applying retention: {task.completed} actions"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("apply", total=None)

        def done(result: Result) -> None:
            bar.advance(task)
            _emit([result.as_json()], as_json)

        built = services()
        summary = run_sweep(
            built.blobs,
            built.index,
            built.settings,
            moment,
            project=scope,
            who=who,
            on_result=done,
            workers=concurrency,
            rate=rate,
        )
    note(summary.line(f"as of {moment:%Y-%m-%dT%H:%M:%SZ}: did"))
    if summary.outcomes.get("failed"):
        raise typer.Exit(1)


@policy_app.command("show")
@handle_errors
def policy_show(
    project_arg: Annotated[
        str | None,
        typer.Argument(
            metavar="[PROJECT]", help="The project (as set and reset take it).", show_default=False
        ),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the default policy and every override (or the policy that applies to one project)."""
    if project_arg and project and project_arg != project:
        raise InvalidInput(f"project {project_arg!r}", f"contradicts --project {project!r}")
    scope = checked_project(project_arg or project)
    require_admin("retention policy show", scope)  # admin information: admin, or admin:P for P
    book = load_policy_book(services().blobs)
    rows: list[tuple[str | None, str, RetentionPolicy]] = (
        [(scope, "override" if scope in book.overridden else "default", book.for_project(scope))]
        if scope
        else [(None, "default", book.default)] + [(p, "override", pol) for p, pol in book.overrides]
    )
    objects = [
        {"project": p, "source": src, **pol.as_json(), "table": pol.table()} for p, src, pol in rows
    ]
    if as_json:
        print_jsonl(objects)
        return
    for obj in objects:
        _policy_table(obj)


@policy_app.command("native")
@handle_errors
def policy_native() -> None:
    """Print the Azure lifecycle management policy for the default and the stored overrides
    (what `infra/` deploys is generated for the default alone)."""
    require_admin("retention policy native")
    document = native_policy_document(
        load_policy_book(services().blobs), container=services().settings.container
    )
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


@policy_app.command("set")
@handle_errors
def policy_set(  # noqa: PLR0917 - one parameter per CLI option
    project: Annotated[str, typer.Argument(help="The project whose policy to set.")],
    cool: CoolOption = None,
    archive: ArchiveOption = None,
    delete: DeleteOption = None,
    artifact: Annotated[
        list[str] | None,
        typer.Option(
            "--artifact", help="TYPE=DAYS or TYPE=never: retention of that artifact type."
        ),
    ] = None,
    accept_early_deletion: Annotated[
        bool,
        typer.Option(
            "--accept-early-deletion", help="Archive even what is deleted within 180 days."
        ),
    ] = False,
) -> None:
    """Set a project's override (admins of the project); refused with the reason if it makes
    no sense."""
    scope = checked_project(project) or project
    blobs = services().blobs
    current = load_policy_book(blobs).for_project(scope).as_json()
    changes: dict[str, Any] = {
        k: _days(k, v)
        for k, v in (("cool_after", cool), ("archive_after", archive), ("delete_after", delete))
        if v is not None
    }
    rules = {**current["artifact_delete_after"], **_artifact_rules(artifact or [])}
    data = {
        **current,
        **changes,
        "artifact_delete_after": rules,
        "accept_early_deletion": accept_early_deletion or current["accept_early_deletion"],
    }
    policy = policy_from_json(data, subject=f"policy for project {scope!r}")
    set_override(blobs, principal(), scope, policy)
    note(
        f"policy for project {scope} set: "
        + ", ".join(f"{r['stage']} from {r['from_days']} d" for r in policy.table())
    )


@policy_app.command("reset")
@handle_errors
def policy_reset(project: Annotated[str, typer.Argument(help="The project.")]) -> None:
    """Remove a project's override: the default policy applies again."""
    scope = checked_project(project) or project
    removed = reset_override(services().blobs, principal(), scope)
    note(f"project {scope}: " + ("override removed" if removed else "had no override"))


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC time (a date means its midnight UTC); the clock when absent."""
    if text is None:
        return services().clock.now()
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"--now {text!r}: not an ISO 8601 date or time") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not EARLIEST_NOW <= moment <= LATEST_NOW:  # policy ages subtract centuries at most
        raise typer.BadParameter(
            f"--now {text!r}: must lie between {EARLIEST_NOW:%Y} and {LATEST_NOW:%Y}"
        )
    return moment


EARLIEST_NOW = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_NOW = datetime(9000, 1, 1, tzinfo=UTC)


def checked_project(project: str | None) -> str | None:
    if project is not None and not is_valid_name(project):
        raise InvalidInput(f"--project {project!r}", "is not a project name (a-z, 0-9, _)")
    return project


def _require_admin(project: str | None) -> str:
    who = principal()
    if project is not None and who.can_administer(project):
        return who.user
    if project is None and who.is_admin:
        return who.user
    needed = f"admin or admin:{project}" if project else "admin (or admin:P with --project P)"
    raise AccessDenied(f"{who.user} may not run retention here: needs role {needed}")


def _days(name: str, value: str) -> int | None:
    if value.strip().lower() == "never":
        return None
    try:
        return int(value)
    except ValueError:
        flag = name.split("_", maxsplit=1)[0]
        raise InvalidInput(f"--{flag} {value!r}", "must be a number of days or 'never'") from None


def _artifact_rules(items: list[str]) -> dict[str, int | None]:
    rules: dict[str, int | None] = {}
    for item in items:
        kind, sep, value = item.partition("=")
        if not sep or not kind:
            raise InvalidInput(f"--artifact {item!r}", "must be TYPE=DAYS or TYPE=never")
        rules[kind.strip()] = _days("artifact", value)
    return rules


def _emit(objects: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_jsonl(objects)
        return
    for obj in objects:
        outcome = f" [{obj['outcome']}]" if "outcome" in obj else ""
        say(f"{obj['action']:<8} {obj['tier'] or '-':<7} {obj['blob']}  ({obj['reason']}){outcome}")


def _policy_table(obj: dict[str, Any]) -> None:
    title = f"project {obj['project']} ({obj['source']})" if obj["project"] else "default policy"
    say(title)
    table = new_table("STAGE", "FROM DAY", "UNTIL DAY", right=("FROM DAY", "UNTIL DAY"))
    for row in obj["table"]:
        table.add_row(
            row["stage"],
            str(row["from_days"]),
            "-" if row["until_days"] is None else str(row["until_days"]),
        )
    print_table(table)
    rules = obj["artifact_delete_after"]
    if rules:
        say(
            "artifact retention: "
            + ", ".join(
                f"{k}={'never' if v is None else f'{v} d'}" for k, v in sorted(rules.items())
            )
        )
    if obj["accept_early_deletion"]:
        say("accepts Archive's early-deletion charge")


__all__ = ["Action", "app"]
