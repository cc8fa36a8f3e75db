"""The queued mode of a stage (issue 15): call settlements leave the request path through an SQS
queue drained by one writer function into the SQLite file on EFS, and holds, balances and
rate/spend counters live in a DynamoDB table, checked against the ledger by a scheduled job.

- `CallLog` queue (SSE, TLS only) with a dead-letter queue after 20 receives; the writer function
  (`chalicelib.calllog.lambda_writer.handler`, the API's code bundle, reserved concurrency 1,
  the same EFS mount) takes it in batches and reports the messages that fail alone;
- `HotState` table: partition key `pk`, on demand, TTL on `ttl`, point-in-time recovery;
- the reconcile function (`chalicelib.hotstate.reconcile.handler`) on an EventBridge schedule;
- a DynamoDB gateway endpoint (free), so the functions reach the table without the NAT. SQS has
  no gateway endpoint: its messages go through the NAT (see docs/DEPLOY.md for the cost choice).

Each function here has a role of its own with only what it does; the API and stream functions'
role gets `api_statements()`: send to the queue, and the item writes the request path makes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .roles import function_role, mount_statement

WRITER_HANDLER = "chalicelib.calllog.lambda_writer.handler"
RECONCILE_HANDLER = "chalicelib.hotstate.reconcile.handler"
# SQS keeps a message at most 14 days; a record must outlive any outage of the writer.
RETENTION = cdk.Duration.days(14)
# Every table action is one the code reaches (tests/deploy/test_iam_from_code.py derives them):
# TransactWriteItems has no IAM action of its own, it is authorised per item (Put: PutItem...).
# The request path: a conditional UpdateItem counts a request; a hold is a transaction of
# Updates and a Put, its settlement one of a Delete and Updates; an account's first use seeds
# its item (PutItem); a credit mirrored after a top-up is an Update and a Put. The scheduled
# maintenance (same role) reads what accounts can spend before their grants expire (BatchGetItem).
API_TABLE_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem"]
# The reconcile job: expired holds found by Scan and released (a settlement's transaction),
# recent credits mirrored (transaction, and the seed's PutItem), balances read by BatchGetItem.
RECONCILE_TABLE_ACTIONS = ["dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                           "dynamodb:DeleteItem"]
# What the Lambda service needs to run an SQS event source for the writer.
WRITER_QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


@dataclass(frozen=True)
class HotPathSettings:
    batch_size: int = 100  # messages per writer invocation: one SQLite transaction
    batch_window_seconds: int = 1  # how long SQS gathers a batch (a call's record waits at most this)
    writer_timeout_seconds: int = 30
    memory_mb: int = 512  # the writer's and the reconcile job's
    reconcile_every_minutes: int = 5
    oldest_message_alarm_seconds: int = 300  # the writer is behind (or failing) by this much
    # Receives before a message goes to the dead-letter queue. Not only the writer's failures
    # count: SQS's pollers (several, whatever the reserved concurrency) receive batches the one
    # writer instance cannot take, and each such throttled receive counts; so does every receive
    # of a batch whose database write failed (each waits out the visibility timeout). 20 rides
    # out those and a database outage of about an hour (20 x 181 s) before valid settlements
    # reach the DLQ; a poison message gets there after as long.
    max_receive_count: int = 20

    @property
    def visibility_timeout(self) -> cdk.Duration:
        # AWS's advice for an SQS event source: at least 6x the function's timeout (a throttled
        # or retried batch stays invisible meanwhile) plus the batching window.
        return cdk.Duration.seconds(6 * self.writer_timeout_seconds + self.batch_window_seconds)


@dataclass(frozen=True)
class FunctionPlacement:
    """Where the functions of the stack run and what they mount, shared by every function."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup
    file_system: efs.FileSystem
    access_point: efs.AccessPoint
    mount_path: str


class HotPath(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: HotPathSettings,
                 removal: cdk.RemovalPolicy, vpc: ec2.Vpc) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.dead_letters = sqs.Queue(
            self, "CallLogDeadLetters", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=RETENTION, removal_policy=removal)
        self.queue = sqs.Queue(
            self, "CallLog", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=RETENTION, visibility_timeout=settings.visibility_timeout, removal_policy=removal,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=settings.max_receive_count,
                                                  queue=self.dead_letters))
        self.table = dynamodb.Table(
            self, "HotState", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, time_to_live_attribute="ttl",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=removal)
        vpc.add_gateway_endpoint("DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)

    def api_environment(self) -> dict[str, str]:
        return {"AIHUB_SETTLEMENTS": "sqs", "AIHUB_SETTLEMENTS_QUEUE_URL": self.queue.queue_url,
                "AIHUB_HOT_STATE": "dynamodb", "AIHUB_DYNAMODB_TABLE": self.table.table_name}

    def api_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(sid="SendSettlements", actions=["sqs:SendMessage"],
                                resources=[self.queue.queue_arn]),
            iam.PolicyStatement(sid="KeepHotState", actions=API_TABLE_ACTIONS, resources=[self.table.table_arn]),
        ]

    def add_functions(self, *, code: lambda_.Code, runtime: lambda_.Runtime, placement: FunctionPlacement,
                      environment: dict[str, str], log_group: Callable[[str], logs.LogGroup],
                      ) -> tuple[lambda_.Function, lambda_.Function]:
        """The writer and the reconcile functions, from the API function's code bundle.
        `log_group(construct_id)` makes a log group with the stage's retention."""
        s = self.settings
        mount = mount_statement(placement.file_system, placement.access_point)
        writer_role = function_role(self, "WriterRole", "aihub call-log writer: drain the queue into the database",
                                    [mount, iam.PolicyStatement(sid="DrainTheCallLog", actions=WRITER_QUEUE_ACTIONS,
                                                                resources=[self.queue.queue_arn])])
        reconcile_role = function_role(
            self, "ReconcileRole", "aihub reconcile: compare hot-state balances with the ledger, sweep expired holds",
            [mount, iam.PolicyStatement(sid="SweepHotState", actions=RECONCILE_TABLE_ACTIONS,
                                        resources=[self.table.table_arn])])

        def function(construct_id: str, description: str, handler: str, role: iam.Role, timeout: cdk.Duration,
                     env: dict[str, str], **extra: object) -> lambda_.Function:
            return lambda_.Function(
                self, construct_id, description=description, runtime=runtime,
                architecture=lambda_.Architecture.X86_64, handler=handler, code=code,
                memory_size=s.memory_mb, timeout=timeout,
                # Immutable: the grants above are exact; CDK's own (for the mount, the event
                # source) would add wider ones.
                role=role.without_policy_updates(),
                vpc=placement.vpc, vpc_subnets=placement.subnets, security_groups=[placement.security_group],
                filesystem=lambda_.FileSystem.from_efs_access_point(placement.access_point, placement.mount_path),
                log_group=log_group(f"{construct_id}Logs"),
                environment=env, **extra)  # type: ignore[arg-type]

        writer = function(
            "WriterFunction", "aihub call-log writer: one SQLite transaction per SQS batch", WRITER_HANDLER,
            writer_role, cdk.Duration.seconds(s.writer_timeout_seconds), environment,
            # One writer: SQLite on EFS takes one transaction at a time anyway, and one process
            # never waits on another's lock.
            reserved_concurrent_executions=1)
        writer.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=s.batch_size, max_batching_window=cdk.Duration.seconds(s.batch_window_seconds),
            report_batch_item_failures=True))
        reconcile = function(
            "ReconcileFunction", "aihub reconcile: hot-state balances against the ledger, expired holds swept",
            RECONCILE_HANDLER, reconcile_role, cdk.Duration.minutes(2),
            {**environment, "AIHUB_HOT_STATE": "dynamodb", "AIHUB_DYNAMODB_TABLE": self.table.table_name})
        events.Rule(self, "ReconcileSchedule", description="aihub reconcile run",
                    schedule=events.Schedule.rate(cdk.Duration.minutes(s.reconcile_every_minutes)),
                    targets=[targets.LambdaFunction(reconcile, retry_attempts=0)])
        return writer, reconcile
