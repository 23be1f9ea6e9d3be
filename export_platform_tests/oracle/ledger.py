"""The bills and accounts exports recomputed from the journal and the chart of accounts.

Bills: an entry with one debit line pairs it with each credit line, one with one credit line pairs it
with each debit line, any other lists each line on its own side; rows by date, entry and line.
Accounts: a balance is debits less credits over the account and everything below it up to the month's
last day, flipped for credit-normal types; the export lists active accounts (and any root that carries
a balance); the trial balance lists the chart's leaves that are active or carry a balance.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.exact import money
from export_platform_tests.oracle.report import ExpectedReport, Row

ZERO = Decimal("0.00")
TYPES = ("assets", "liabilities", "equity", "income", "expenses")


def bill_rows(source: SourceOracle, month: str) -> tuple[list[Row], int]:
    """The rows, and how many entries they come from."""
    first, last = dt.date.fromisoformat(f"{month}-01"), source.month_bounds(month)[2]
    accounts = {a["id"]: a["name"] for a in source.rows(schema.accounts)}
    entries = {e["id"]: e for e in source.rows(schema.journal_entries) if first <= e["date"] <= last}
    lines = sorted(
        (line for line in source.rows(schema.journal_lines) if line["entry_id"] in entries),
        key=lambda line: line["id"],
    )
    rows = []
    for entry_id, entry in entries.items():
        own = [line for line in lines if line["entry_id"] == entry_id]
        debits = [line for line in own if line["amount"] > 0]
        credits = [line for line in own if line["amount"] <= 0]
        for line in own:
            is_debit = line["amount"] > 0
            if len(debits) == 1:
                if is_debit:
                    continue
                debit_account, credit_account = (
                    accounts[debits[0]["account_id"]],
                    accounts[line["account_id"]],
                )
            elif len(credits) == 1:
                if not is_debit:
                    continue
                debit_account, credit_account = (
                    accounts[line["account_id"]],
                    accounts[credits[0]["account_id"]],
                )
            else:
                name = accounts[line["account_id"]]
                debit_account, credit_account = (name, None) if is_debit else (None, name)
            rows.append(
                (
                    (entry["date"], entry_id, line["id"]),
                    {
                        "Date": entry["date"],
                        "Description": entry["description"],
                        "Debit Account": debit_account,
                        "Credit Account": credit_account,
                        "Amount": money(abs(line["amount"])),
                        "Currency": line["currency"],
                        "Reference ID": entry["reference_id"],
                    },
                )
            )
    return [row for _, row in sorted(rows, key=lambda pair: pair[0])], len({key[1] for key, _ in rows})


def expected_bills(source: SourceOracle, month: str) -> ExpectedReport:
    rows, entries = bill_rows(source, month)
    summary = [
        ("Journal entries", entries),
        ("Rows", len(rows)),
        ("Total debits (= total credits)", sum((r["Amount"] for r in rows if r["Debit Account"]), ZERO)),
    ]
    return ExpectedReport({"Bills": rows}, summary)


def chart_with_balances(source: SourceOracle, month: str) -> list[dict]:
    """Every account of the chart with its rolled-up balance in its normal sign, ordered by path."""
    last = source.month_bounds(month)[2]
    chart = source.rows(schema.accounts)
    dated = {e["id"] for e in source.rows(schema.journal_entries) if e["date"] <= last}
    own: dict[int, Decimal] = {}
    for line in source.rows(schema.journal_lines):
        if line["entry_id"] in dated:
            own[line["account_id"]] = own.get(line["account_id"], ZERO) + line["amount"]
    names = {a["id"]: a["name"] for a in chart}
    result = []
    for account in sorted(chart, key=lambda a: a["path"]):
        below = [a["id"] for a in chart if str(account["id"]) in a["path"].split("/")]
        debit_balance = sum((own.get(i, ZERO) for i in below), ZERO)
        normal = debit_balance if account["type"] in ("assets", "expenses") else -debit_balance
        result.append({**account, "balance": money(normal), "parent": names.get(account["parent_id"])})
    return result


def expected_accounts(source: SourceOracle, month: str) -> ExpectedReport:
    chart = chart_with_balances(source, month)
    listed = [a for a in chart if a["is_active"] or (a["depth"] == 0 and a["balance"] != 0)]
    rows = [
        {
            "Account Name": a["name"],
            "Account Type": a["type"],
            "Parent Account": a["parent"],
            "Currency": a["currency"],
            "Balance": a["balance"],
            "Is Active": a["is_active"],
            "Depth": a["depth"],
        }
        for a in listed
    ]
    parents = {a["parent"] for a in chart}
    trial = []
    for a in sorted(chart, key=lambda a: a["name"]):
        if a["name"] in parents or not (a["is_active"] or a["balance"]):
            continue
        debit_side = a["balance"] if a["type"] in ("assets", "expenses") else -a["balance"]
        trial.append(
            {
                "Account Name": a["name"],
                "Account Type": a["type"],
                "Debit": max(debit_side, ZERO),
                "Credit": max(-debit_side, ZERO),
            }
        )
    roots = {t: [a["balance"] for a in listed if a["depth"] == 0 and a["type"] == t] for t in TYPES}
    summary = [
        ("Accounts listed", len(listed)),
        ("Inactive accounts left out", len(chart) - len(listed)),
        *((t.title(), sum(roots[t], ZERO) if roots[t] else None) for t in TYPES),
        ("Trial balance debits", sum((r["Debit"] for r in trial), ZERO)),
        ("Trial balance credits", sum((r["Credit"] for r in trial), ZERO)),
    ]
    return ExpectedReport({"Accounts": rows, "Trial Balance": trial}, summary)
