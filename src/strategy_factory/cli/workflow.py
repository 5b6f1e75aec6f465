"""``factory workflow``: run, resume and inspect multi-phase regime-adaptive workflows.

``run`` and ``resume`` record the workflow in the store (``--db``, default FACTORY_DB)
after every manifest save, as the server does, so ``list``, the API and the dashboard
see workflows run from the command line too. Their parameter discovery runs in this
process by default, or on a local pool (``--workers N``) or a Dask cluster
(``--executor dask --scheduler ADDR``, or those keys in the workflow YAML).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.evolve import DbOption, executor_settings
from strategy_factory.cli.output import (
    console,
    errors,
    moment,
    print_json,
    print_table,
    print_warning,
)
from strategy_factory.cli.report import PlotlyOption, announce, plotly_bundle

if TYPE_CHECKING:
    from strategy_factory.store import Store, WorkflowRecord
    from strategy_factory.workflow import WorkflowExecutor, Workspace

app = typer.Typer(
    help="Multi-phase workflows: discover → per-regime → ensemble replay → validate.",
    no_args_is_help=True,
)
ResultsOption = Annotated[
    Path | None,
    typer.Option(
        "--results", help="Folder of workspaces (default FACTORY_RESULTS, else ./results)."
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Processes of a local pool for discovery's chunks (default: in this process, "
        "on every core).",
    ),
]
ExecutorOption = Annotated[
    str | None,
    typer.Option("--executor", help="Where discovery's chunks run: local (default) or dask."),
]
SchedulerOption = Annotated[
    str | None, typer.Option(help="Dask scheduler address (default FACTORY_DASK_SCHEDULER).")
]


def _results(results: Path | None) -> Path:
    from strategy_factory.settings import get_settings

    # Absolute: the store records where the workspace is, for any process that reads it.
    return (results or get_settings().results).resolve()


def _announce(manifest: dict[str, Any]) -> None:
    """Print each phase as it starts and ends (the listener sees every manifest save)."""
    seen = _announce.__dict__.setdefault("seen", {})
    for entry in manifest["phases"]:
        key = (manifest["id"], entry["name"])
        if seen.get(key) != entry["state"] and entry["state"] in ("running", "done", "failed"):
            seen[key] = entry["state"]
            console.print(f"{entry['name']}: {entry['state']}", style="dim", highlight=False)
            warning = (entry.get("summary") or {}).get("warning")
            if warning:
                print_warning(f"{entry['name']}: {warning}")


def _finish(manifest: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(manifest)
        return
    _show(manifest)


@app.command("run")
def run(
    config_file: Annotated[Path, typer.Argument(help="The workflow YAML file.")],
    results: ResultsOption = None,
    db: DbOption = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a workflow from a YAML file and run all its phases (recorded in the store).

    The options --workers, --executor and --scheduler win over the file's keys of the
    same names.
    """
    from strategy_factory.store import create_store
    from strategy_factory.workflow import create_workflow
    from strategy_factory.workflow.config import read_workflow

    config, from_file = read_workflow(config_file)
    chunks = _executor(workers, executor, scheduler, from_file)
    try:
        # A cluster is connected (its workers' versions checked) and the store opened
        # before any workspace is made: a wrong address or --db leaves nothing behind.
        chunks()
        with create_store(db) as store:
            workspace = create_workflow(config, _results(results))
            shown = errors if as_json else console  # --json keeps stdout for the JSON
            shown.print(f"workflow {workspace.id} in {workspace.root}", highlight=False)
            manifest = _run_recorded(store, workspace, None, as_json, chunks)
    finally:
        chunks.close()
    _finish(manifest, as_json)


def _executor(
    workers: int | None,
    kind: str | None,
    scheduler: str | None,
    from_file: dict[str, Any] | None = None,
) -> WorkflowExecutor:
    """Where discovery's chunks run: the options over the file's keys (one model,
    :class:`~strategy_factory.execution.settings.ExecutorSettings`)."""
    from strategy_factory.workflow import WorkflowExecutor

    chosen = executor_settings(workers, kind, scheduler, from_file, "factory workflow")
    return WorkflowExecutor(chosen, on_refused=print_warning)


@app.command("resume")
def resume(
    workflow_id: str,
    from_phase: Annotated[
        str | None, typer.Option("--from", help="Rerun this phase and every later one.")
    ] = None,
    results: ResultsOption = None,
    db: DbOption = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Finish an interrupted workflow (finished work is kept), or rerun from a phase.

    Without --results, a workflow that is not in ./results (or FACTORY_RESULTS) is found
    through the workspace the store recorded for it, e.g. one started over the API. Its
    discovery may resume on another executor than it started on: the files are the same.
    """
    from strategy_factory.store import create_store

    chunks = _executor(workers, executor, scheduler)
    try:
        with create_store(db) as store:
            workspace = _workspace(workflow_id, results, db, store)
            manifest = _run_recorded(store, workspace, from_phase, as_json, chunks)
    finally:
        chunks.close()
    _finish(manifest, as_json)


def _run_recorded(
    store: Store,
    workspace: Workspace,
    from_phase: str | None,
    as_json: bool,
    chunks: WorkflowExecutor,
) -> dict[str, Any]:
    """Run the workflow, recording every manifest save in the store (and announcing it)."""
    from strategy_factory.workflow.recording import run_recorded

    listener = None if as_json else _announce
    return run_recorded(store, workspace, from_phase, listener, chunks)


def _workspace(
    workflow_id: str, results: Path | None, db: str | None, store: Store | None = None
) -> Workspace:
    """The workspace in the results folder, or else (no --results) where the store says."""
    from strategy_factory.errors import NotFoundError
    from strategy_factory.store import create_store
    from strategy_factory.workflow import Workspace
    from strategy_factory.workflow.workspace import MANIFEST

    folder = _results(results)
    if results is None and not (folder / workflow_id / MANIFEST).is_file():
        with contextlib.ExitStack() as stack:
            opened = store or stack.enter_context(create_store(db))
            with contextlib.suppress(NotFoundError):
                folder = Path(opened.workflows.get(workflow_id).workspace).parent
    return Workspace.open(folder, workflow_id)


@app.command("status")
def status(
    workflow_id: str, results: ResultsOption = None, db: DbOption = None, as_json: JsonFlag = False
) -> None:
    """A workflow's phases: state, progress, summary, and the files edited between phases.

    Read from its manifest (the source of truth), found as ``resume`` finds it.
    """
    _finish(_workspace(workflow_id, results, db).manifest(), as_json)


@app.command("list")
def list_workflows(
    state: Annotated[
        str | None,
        typer.Option(help="Only workflows in this state (pending, running, done, failed)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Workflows recorded in the store, newest first.

    From the store only, not the results folder: every ``factory workflow run``/``resume``
    and every workflow started over the API records itself there, whichever results
    folder or machine it ran in, and a folder scan would list only this machine's
    ./results. A workspace never recorded (copied in, or run with another --db) is still
    shown by ``factory workflow status ID --results FOLDER`` and is recorded by resuming it.
    """
    from strategy_factory.store import create_store

    with create_store(db) as store:
        found = store.workflows.recent(limit=limit, state=state)
    if as_json:
        print_json([_listed(w) for w in found])
        return
    print_table(
        "Workflows",
        ["id", "name", "state", "phases done", "created", "workspace"],
        [
            [
                w.id,
                w.name,
                w.state,
                f"{sum(p['state'] == 'done' for p in w.phases)}/{len(w.phases)}",
                moment(w.created_at),
                w.workspace,
            ]
            for w in found
        ],
    )


def _listed(workflow: WorkflowRecord) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "state": workflow.state,
        "created_at": workflow.created_at.isoformat(),
        "updated_at": workflow.updated_at.isoformat(),
        "workspace": workflow.workspace,
        "phases": [{k: p[k] for k in ("name", "type", "state")} for p in workflow.phases],
    }


@app.command("report")
def report(
    workflow_id: str,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default workflow-ID.html)."),
    ] = None,
    results: ResultsOption = None,
    db: DbOption = None,
    plotly: PlotlyOption = "full",
) -> None:
    """Write an interactive HTML report of a workflow from its files: phase timeline, best
    parameters and ensemble weights per regime, holdout equity with regimes and verdict.

    Without --results, a workflow that is not in ./results (or FACTORY_RESULTS) is found
    where the store recorded it, as ``status`` and ``resume`` find it."""
    from strategy_factory.workflow.report import write_workflow_report

    bundle = plotly_bundle(plotly)
    workspace = _workspace(workflow_id, results, db)
    target = output or Path(f"workflow-{workflow_id}.html")
    path, shown = write_workflow_report(workspace, target, bundle)
    for problem in shown.problems:
        print_warning(f"not shown: {problem}")
    announce(path, bundle)


def _show(manifest: dict[str, Any]) -> None:
    console.print(
        f"workflow {manifest['id']} ({manifest['name']}): {manifest['state']}", highlight=False
    )
    rows = []
    for entry in manifest["phases"]:
        progress = entry.get("progress") or {}
        shown = f"{progress['done']}/{progress['total']}" if progress else ""
        summary = entry.get("summary") or {}
        brief = ", ".join(
            f"{k} {_number(v)}" for k, v in summary.items() if k not in ("warning", "misses")
        )
        rows.append([entry["name"], entry["type"], entry["state"], shown, brief])
    print_table("Phases", ["phase", "type", "state", "progress", "summary"], rows)
    for entry in manifest["phases"]:
        summary = entry.get("summary") or {}
        if summary.get("warning"):
            print_warning(f"{entry['name']}: {summary['warning']}")
        if summary.get("misses"):
            print_warning(f"{entry['name']}: not passed: {'; '.join(summary['misses'])}")
        if entry.get("error"):
            print_warning(f"{entry['name']} failed: {entry['error']}")
    for edit in manifest.get("edits", []):
        print_warning(
            f"{edit['path']} was edited before {edit['used_by']} read it (used as edited)"
        )


def _number(value: Any) -> str:
    """A summary value for a table cell: floats to 3 significant digits."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)
