"""Reports commands: export, diff, excel, mail, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apiinv.cli.app import (
    REPORTS,
    ToolsArgument,
    app,
    command,
    parse_date,
    runtime_of,
)
from apiinv.errors import ExitStatus, UsageError
from apiinv.redact import printable


@app.command(rich_help_panel=REPORTS)
@command
def diff(
    ctx: typer.Context,
    from_date: Annotated[str, typer.Option("--from", help="The earlier date, YYYY-MM-DD.")],
    to_date: Annotated[str, typer.Option("--to", help="The later date, YYYY-MM-DD.")],
    tools: ToolsArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> int:
    """New, removed and changed endpoints between two dates (from the processed files)."""
    from apiinv.pipeline.assemble import diff_dates
    from apiinv.report.changes import render_json, render_text

    runtime = runtime_of(ctx)
    before, after = parse_date(from_date), parse_date(to_date)
    assert before is not None and after is not None  # both options are required
    store = runtime.store()
    simulated = [day for day in (before, after) if store.at(day).simulated]
    if len(simulated) == 1:
        raise UsageError(
            f"{simulated[0]} in {store.root} holds simulated data (apiinv demo) and "
            f"{after if simulated[0] == before else before} real data: they are not compared"
        )
    results = diff_dates(store.at(before), store.at(after), tools or None)
    if as_json:
        typer.echo(printable(render_json(results, before, after), json=True))
    else:
        typer.echo(printable(render_text(results), lines=True))
    return ExitStatus.OK


@app.command(rich_help_panel=REPORTS)
@command
def excel(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An .xlsx, .xlsm, .xlsb, .xls or .ods workbook.")],
    sheet: Annotated[str | None, typer.Option(help="Only this sheet (default: every sheet).")] = None,
    to: Annotated[
        str | None, typer.Option(help="Export as csv or json (default: describe the sheets).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output file (csv: one per sheet, named FILE-SHEET.csv when several).")
    ] = None,
) -> int:
    """Read a workbook: every sheet, header row found, cells trimmed, empty rows dropped, types kept."""
    from apiinv.inventory import excel_reader

    if to not in (None, "csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--to")
    sheets = excel_reader.read_workbook(file, sheet=sheet)
    if to is None:
        for book_sheet in sheets:
            typer.echo(
                printable(
                    f"{book_sheet.name}: {len(book_sheet.rows)} rows, header on row {book_sheet.header_row}: "
                    f"{', '.join(book_sheet.headers)}"
                )
            )
        return ExitStatus.OK
    for line in excel_reader.export(sheets, to, out, source=file):
        typer.echo(line, err=out is not None)
    return ExitStatus.OK


FormatsOption = Annotated[str, typer.Option("--format", help="Comma-separated: xlsx, json, csv.")]


@app.command("export", rich_help_panel=REPORTS)
@command
def export_reports(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    formats: FormatsOption = "xlsx,json",
) -> int:
    """Write the dated reports: per tool and combined, with changes and findings."""
    from apiinv.pipeline.export import describe, export_step, parse_formats

    runtime = runtime_of(ctx)
    cfg = runtime.config()
    selected = cfg.select(tools or ["all"])
    outcome = export_step(cfg, runtime.day(), [t.name for t in selected], parse_formats(formats))
    console = runtime.console()
    for line in describe(outcome):
        console.result(line)
    return ExitStatus.OK


@app.command(rich_help_panel=REPORTS)
@command
def mail(
    ctx: typer.Context,
    to: Annotated[list[str], typer.Option("--to", help="Recipient; repeat for several.")],
    subject: Annotated[str | None, typer.Option(help="Subject (default: date and counts).")] = None,
    only_on_change: Annotated[
        bool, typer.Option("--only-on-change", help="Send only when something is new, removed or changed.")
    ] = False,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt", help="Password-protect the workbook (password: APIINV_ATTACHMENT_PASSWORD)."
        ),
    ] = False,
) -> int:
    """E-mail the dated combined workbook with a digest (SMTP settings from the environment or .env)."""
    from apiinv.ops import mail as mailing

    runtime = runtime_of(ctx)
    day = runtime.day()
    report = day.manifest.get("report") or {}
    workbook = day.folder / report["workbook"] if report.get("workbook") else None
    if workbook is None or not workbook.is_file():
        raise UsageError(f"no workbook for {day} in {day.store.root}; run export first")
    if only_on_change and not mailing.has_changes(report["summary"]):
        runtime.console().progress(f"nothing new, removed or changed on {day}: not sent")
        return ExitStatus.OK
    planner = runtime.config().planner
    mailing.mail_report(
        report["summary"],
        report.get("digest"),
        str(day),
        workbook,
        to,
        runtime.env(),
        subject=subject,
        encrypt=encrypt,
        body=planner.defaults.mail_body if planner else None,
    )
    runtime.console().progress(f"mailed {workbook.name} to {', '.join(to)}" + (" (encrypted)" * encrypt))
    return ExitStatus.OK


@app.command(rich_help_panel=REPORTS)
@command
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> int:
    """What the runs did: per tool and step status, counts, durations, errors; the last run per schedule."""
    from apiinv.ops import status as run_status

    runtime = runtime_of(ctx)
    found = run_status.report(runtime.store(), runtime.run_date)
    if as_json:
        import orjson

        typer.echo(printable(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode(), json=True))
    else:
        typer.echo(run_status.render_text(found))
    return ExitStatus.OK
