"""The stack's DynamoDB and SQS grants are exactly what each function's code calls, derived
from the code itself (tests/deploy/aws_calls.py), so a new call without its grant (AccessDenied
in production only) or a grant no code uses fails here."""
from __future__ import annotations

import ast
from typing import Any

from infra.stacks.hot_path import RECONCILE_HANDLER, WRITER_HANDLER
from tests.deploy import aws_calls
from tests.deploy.conftest import ROOT, Synthesis
from tests.deploy.test_cdk_stack import _role_of, _role_statements


def _granted(s: Synthesis, handler: str, services: tuple[str, ...] = ("dynamodb", "sqs")) -> set[str]:
    actions: set[str] = set()
    for st in _role_statements(s, _role_of(s, handler)).values():
        listed: Any = st["Action"]
        actions |= {a for a in ([listed] if isinstance(listed, str) else listed) if a.startswith(services)}
    return actions


def test_every_dynamodb_and_sqs_client_is_in_the_analysed_packages():
    makers = {str(p.relative_to(ROOT)) for p in (ROOT / "chalicelib").rglob("*.py")
              if aws_calls.client_service(ast.parse(p.read_text())) in ("dynamodb", "sqs")}
    assert makers == {"chalicelib/hotstate/dynamodb.py", "chalicelib/calllog/sqs.py"}


def test_the_analysis_reads_what_reconcile_calls():
    """The calls the review found ungranted are seen: BatchGetItem (balances), the Put of a
    mirrored credit's transaction and the seed's put_item (PutItem), besides Scan."""
    entries = [RECONCILE_HANDLER]
    assert aws_calls.unread_client_calls(entries) == []
    assert {"dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:Scan"} <= aws_calls.iam_actions(entries)


def test_api_role_grants_what_admission_settlement_and_credits_call(prod):
    entries = aws_calls.outside_entries()
    # The doors of the request path are among the entries the rest of the app uses.
    assert {"chalicelib.hotstate.admit", "chalicelib.hotstate.settle", "chalicelib.hotstate.mirror_ledger",
            "chalicelib.calllog.send"} <= set(entries)
    assert aws_calls.unread_client_calls(entries) == []
    assert _granted(prod, "app.app") == aws_calls.iam_actions(entries)


def test_reconcile_role_grants_what_the_reconcile_job_calls(prod):
    assert _granted(prod, RECONCILE_HANDLER) == aws_calls.iam_actions([RECONCILE_HANDLER])


def test_writer_role_has_no_data_grant_its_code_does_not_call(prod):
    """The writer's code calls no AWS service (SQLite only); its queue grants are the ones the
    Lambda service uses to run the SQS event source, and nothing else."""
    assert aws_calls.unread_client_calls([WRITER_HANDLER]) == []
    assert aws_calls.iam_actions([WRITER_HANDLER]) == set()
    assert _granted(prod, WRITER_HANDLER, ("dynamodb",)) == set()
    assert _granted(prod, WRITER_HANDLER, ("sqs",)) == {"sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                        "sqs:GetQueueAttributes"}
