"""The CloudWatch side of a stage: a dashboard and alarms over the metrics the functions embed
in their log lines (chalicelib/observability/emf.py, namespace `aihub/<stage>`), plus the Lambda
service's own throttles. Alarms notify one SNS topic; subscribe the on-call to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = cdk.Duration.minutes(5)


@dataclass(frozen=True)
class Thresholds:
    server_error_percent: float = 5  # of calls answered 5xx
    provider_error_percent: float = 20  # of upstream attempts failed (retried or not)
    throttles: float = 1  # Lambda invocations refused for concurrency, per 5 minutes
    db_write_p99_ms: float = 1000  # a commit of the writer thread (EFS round trips and lock waits)


def namespace(stage: str) -> str:
    return f"aihub/{stage}"


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, function_names: list[str],
                 thresholds: Thresholds = Thresholds()) -> None:
        super().__init__(scope, construct_id)
        ns = namespace(stage)

        def metric(name: str, statistic: str = "Sum", **dimensions: str) -> cw.Metric:
            return cw.Metric(namespace=ns, metric_name=name, statistic=statistic, period=PERIOD,
                             dimensions_map=dimensions or None)

        def percent(expression: str, label: str, **metrics: cw.IMetric) -> cw.MathExpression:
            return cw.MathExpression(expression=expression, using_metrics=metrics, label=label, period=PERIOD)

        def per_provider(name: str, statistic: str = "Sum") -> cw.MathExpression:
            return cw.MathExpression(
                expression=f"SEARCH('{{{ns},Provider}} MetricName=\"{name}\"', '{statistic}', 300)",
                label=name, period=PERIOD)

        server_errors = percent("100 * IF(requests > 0, errors / requests, 0)", "5xx %",
                                errors=metric("Errors5xx"), requests=metric("Requests"))
        provider_errors = percent("100 * IF(attempts > 0, failed / attempts, 0)", "provider errors %",
                                  failed=metric("ProviderErrors"), attempts=metric("Attempts"))
        throttles = cw.MathExpression(
            expression=" + ".join(f"FILL(t{i}, 0)" for i in range(len(function_names))),
            using_metrics={f"t{i}": cw.Metric(namespace="AWS/Lambda", metric_name="Throttles", statistic="Sum",
                                              period=PERIOD, dimensions_map={"FunctionName": name})
                           for i, name in enumerate(function_names)},
            label="Lambda throttles", period=PERIOD)
        db_write = metric("DbWriteLatency", "p99")

        self.stage = stage
        self.topic = sns.Topic(self, "AlarmTopic", display_name=f"aihub {stage} alarms")
        self.alarms: dict[str, cw.Alarm] = {}
        for key, source, threshold, description in (
            ("ServerErrorRate", server_errors, thresholds.server_error_percent,
             "Share of calls answered with a 5xx (the gateway's or a provider's, after failover)."),
            ("ProviderErrorRate", provider_errors, thresholds.provider_error_percent,
             "Share of upstream attempts that failed: a provider or its credentials are in trouble."),
            ("Throttles", throttles, thresholds.throttles,
             "Lambda refused invocations for concurrency: raise the reserved or account concurrency."),
            ("DatabaseWriteLatency", db_write, thresholds.db_write_p99_ms,
             "p99 commit time of the writer thread: EFS slow or the SQLite write lock contended."),
        ):
            self._alarm(key, source, threshold, description, evaluation_periods=3, datapoints_to_alarm=2)

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"aihub-{stage}",
                                      default_interval=cdk.Duration.hours(3))
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=3))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Calls", width=8, left=[metric("Requests"), metric("Errors4xx"), metric("Errors5xx"),
                                                         metric("Throttles")]),
            cw.GraphWidget(title="Error rates (%)", width=8, left=[server_errors, provider_errors]),
            cw.GraphWidget(title="Retries and failovers", width=8, left=[metric("Retries"), metric("Failovers")]),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Latency (ms)", width=12, left=[
                metric("Duration", "p50"), metric("Duration", "p99"),
                metric("TimeToFirstToken", "p50"), metric("TimeToFirstToken", "p99")]),
            cw.GraphWidget(title="Tokens and credits", width=12, left=[metric("InputTokens"), metric("OutputTokens")],
                           right=[metric("Credits")]),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Calls by provider", width=12, left=[per_provider("Requests")]),
            cw.GraphWidget(title="Failed attempts by provider", width=12, left=[per_provider("ProviderErrors")]),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Database writes", width=12, left=[metric("DbWriteLatency", "p50"), db_write],
                           right=[metric("DbQueueDepth", "Maximum")]),
            cw.GraphWidget(title="Lambda throttles", width=12, left=[throttles]),
        )

    def _alarm(self, key: str, source: cw.IMetric, threshold: float, description: str, *,
               evaluation_periods: int, datapoints_to_alarm: int) -> cw.Alarm:
        alarm = cw.Alarm(
            self, key, metric=source, threshold=threshold, evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_name=f"aihub-{self.stage}-{key}", alarm_description=description)
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[key] = alarm
        return alarm

    def watch_call_log(self, queue: sqs.IQueue, dead_letters: sqs.IQueue, *, oldest_seconds: int,
                       max_receives: int) -> None:
        """The queued mode's two ways of losing sight of a record: it was received `max_receives`
        times without being written and sits in the dead-letter queue (one is enough to page),
        or the writer has stopped keeping up."""
        minute = cdk.Duration.minutes(1)
        poison = dead_letters.metric_approximate_number_of_messages_visible(statistic="Maximum", period=minute)
        oldest = queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=minute)
        self._alarm("CallLogDeadLetters", poison, 1,
                    f"Call settlements received {max_receives} times without being written are in the dead-letter "
                    "queue: fix, then redrive (docs/DEPLOY.md).", evaluation_periods=1, datapoints_to_alarm=1)
        self._alarm("CallLogBacklog", oldest, oldest_seconds,
                    f"The oldest call settlement has waited {oldest_seconds} s or more: the writer is failing "
                    "or cannot keep up.", evaluation_periods=3, datapoints_to_alarm=2)
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Call log (seconds)", width=12, left=[oldest]),
            cw.GraphWidget(title="Call log messages", width=12, left=[
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=minute), poison]),
        )

    def watch_errors(self, functions: dict[str, lambda_.IFunction]) -> None:
        """Page on any error of the functions no client sees fail: `{key: function}`, one alarm
        `<key>Errors` each. The writer's errors are whole batches its database refused (a
        message failing alone is reported, not raised); the reconcile job's, a run that died."""
        for key, function in functions.items():
            errors = function.metric_errors(statistic="Sum", period=PERIOD)
            self._alarm(f"{key}Errors", errors, 1,
                        f"The {key.lower()} function failed (Lambda Errors > 0): read its log group.",
                        evaluation_periods=1, datapoints_to_alarm=1)
        self.dashboard.add_widgets(cw.GraphWidget(
            title="Queued-mode function errors", width=24,
            left=[function.metric_errors(statistic="Sum", period=PERIOD, label=key)
                  for key, function in functions.items()]))
