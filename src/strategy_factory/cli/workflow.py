"""``factory workflow``: run, resume and inspect multi-phase regime-adaptive workflows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from strategy_factory.cli.output import console, moment, print_json, print_table, print_warning
from strategy_factory.cli.report import PlotlyOption, announce, plotly_bundle

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


def _results(results: Path | None) -> Path:
    from strategy_factory.settings import get_settings

    return results or get_settings().results


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
    as_json: JsonFlag = False,
) -> None:
    """Create a workflow from a YAML file and run all its phases."""
    from strategy_factory.workflow import WorkflowConfig, create_workflow, run_workflow

    config = WorkflowConfig.from_yaml(config_file)
    workspace = create_workflow(config, _results(results))
    console.print(f"workflow {workspace.id} in {workspace.root}", highlight=False)
    _finish(run_workflow(workspace, listener=None if as_json else _announce), as_json)


@app.command("resume")
def resume(
    workflow_id: str,
    from_phase: Annotated[
        str | None, typer.Option("--from", help="Rerun this phase and every later one.")
    ] = None,
    results: ResultsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Finish an interrupted workflow (finished work is kept), or rerun from a phase."""
    from strategy_factory.workflow import Workspace, run_workflow

    workspace = Workspace.open(_results(results), workflow_id)
    manifest = run_workflow(workspace, from_phase, listener=None if as_json else _announce)
    _finish(manifest, as_json)


@app.command("status")
def status(workflow_id: str, results: ResultsOption = None, as_json: JsonFlag = False) -> None:
    """A workflow's phases: state, progress, summary, and the files edited between phases."""
    from strategy_factory.workflow import Workspace

    manifest = Workspace.open(_results(results), workflow_id).manifest()
    _finish(manifest, as_json)


@app.command("list")
def list_workflows(results: ResultsOption = None, as_json: JsonFlag = False) -> None:
    """Workflows in the results folder, newest first."""
    from strategy_factory.workflow import list_workspaces

    manifests = [w.manifest() for w in list_workspaces(_results(results))]
    if as_json:
        print_json([{k: m[k] for k in ("id", "name", "state", "created_at")} for m in manifests])
        return
    print_table(
        "Workflows",
        ["id", "name", "state", "phases done", "created"],
        [
            [
                m["id"],
                m["name"],
                m["state"],
                f"{sum(p['state'] == 'done' for p in m['phases'])}/{len(m['phases'])}",
                moment(datetime.fromisoformat(m["created_at"])),
            ]
            for m in manifests
        ],
    )


@app.command("report")
def report(
    workflow_id: str,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default workflow-ID.html)."),
    ] = None,
    results: ResultsOption = None,
    plotly: PlotlyOption = "full",
) -> None:
    """Write an interactive HTML report of a workflow from its files: phase timeline, best
    parameters and ensemble weights per regime, holdout equity with regimes and verdict."""
    from strategy_factory.workflow import Workspace
    from strategy_factory.workflow.report import write_workflow_report

    bundle = plotly_bundle(plotly)
    workspace = Workspace.open(_results(results), workflow_id)
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
