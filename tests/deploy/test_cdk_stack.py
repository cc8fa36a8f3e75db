"""The CDK app synthesises offline, and its template is what docs/DEPLOY.md says it is."""
from __future__ import annotations

import importlib.util
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import ROOT, Synthesis

MOUNT = "/mnt/aihub"
WRITER = "chalicelib.calllog.lambda_writer.handler"
RECONCILE = "chalicelib.hotstate.reconcile.handler"
QUEUED_HANDLERS = (WRITER, RECONCILE)
VPC_MANAGED = json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                            ":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]]})
LWA_LAYER = ":753240598075:layer:LambdaAdapterLayerX86:"


def _ref(value: Any) -> str:
    """The logical id a {"Ref": X} / {"Fn::GetAtt": [X, ...]} points at."""
    return value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]


def _functions(s: Synthesis) -> dict[str, dict[str, Any]]:
    return {**s.resources("AWS::Serverless::Function"), **s.resources("AWS::Lambda::Function")}


def _access_point(s: Synthesis) -> str:
    (ap,) = s.resources("AWS::EFS::AccessPoint")
    return ap


def _front_functions(s: Synthesis) -> dict[str, dict[str, Any]]:
    """The API, maintenance and stream functions: the app itself, with the shared role."""
    return {k: v for k, v in _functions(s).items() if not v["Properties"]["Handler"].startswith(QUEUED_HANDLERS)}


def test_every_function_mounts_the_access_point_inside_the_vpc(prod):
    functions = _functions(prod)
    assert set(functions) >= {"APIHandler", "MaintenanceRun"} and len(functions) == 5
    assert {f["Properties"]["Handler"] for f in functions.values()} >= set(QUEUED_HANDLERS)
    private = {k for k, v in prod.resources("AWS::EC2::Subnet").items() if "private" in k}
    mount_targets = set(prod.resources("AWS::EFS::MountTarget"))
    for name, fn in functions.items():
        props = fn["Properties"]
        (fs,) = props["FileSystemConfigs"]
        assert fs["LocalMountPath"] == MOUNT
        assert _access_point(prod) in json.dumps(fs["Arn"]), name
        assert {_ref(s) for s in props["VpcConfig"]["SubnetIds"]} == private, name
        assert len(props["VpcConfig"]["SecurityGroupIds"]) == 1
        assert mount_targets <= set(fn.get("DependsOn", [])), f"{name} must wait for the mount targets"
        env = props["Environment"]["Variables"]
        assert env["AIHUB_DB"] == f"{MOUNT}/aihub.db" and env["AIHUB_DB_JOURNAL"] == "delete", name
        assert "AIHUB_SECRET" not in env and "AIHUB_ADMIN_KEY" not in env, "no secret in the template"
    for name, fn in _front_functions(prod).items():
        assert fn["Properties"]["Environment"]["Variables"]["AIHUB_SECRET_ID"] == "aihub/prod/master-secret", name


def test_api_function_and_schedule(prod):
    api = prod.json["Resources"]["APIHandler"]["Properties"]
    assert api["Handler"] == "app.app" and api["MemorySize"] >= 512 and api["Timeout"] >= 120
    assert int(api["Environment"]["Variables"]["AIHUB_READ_TIMEOUT"]) < api["Timeout"]
    assert prod.json["Resources"]["RestAPI"]["Properties"]["EndpointConfiguration"] == "REGIONAL"
    maintenance = prod.json["Resources"]["MaintenanceRun"]["Properties"]
    assert maintenance["Handler"] == "app.maintenance_run"
    (event,) = maintenance["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}
    assert "set-by-infra" not in json.dumps(prod.json), "a config.json placeholder survived"


def test_streaming_function_behind_the_web_adapter(prod):
    (name, fn) = prod.one("AWS::Lambda::Function", Handler="run.sh")
    props = fn["Properties"]
    env = props["Environment"]["Variables"]
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LWA_PORT"] == "8080" and env["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    api_env = prod.json["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert {k: env[k] for k in api_env} == api_env, "both fronts run with the same settings"
    (layer,) = props["Layers"]
    assert LWA_LAYER in json.dumps(layer) and "AWS::Region" in json.dumps(layer)
    assert props["Runtime"] == prod.json["Resources"]["APIHandler"]["Properties"]["Runtime"]
    assert props["Timeout"] == 900 and props["Architectures"] == ["x86_64"]

    _, url = prod.one("AWS::Lambda::Url")
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM" and url["Properties"]["AuthType"] == "NONE"
    assert _ref(url["Properties"]["TargetFunctionArn"]) == name
    permissions = {p["Properties"]["Action"]: p["Properties"] for p in prod.resources("AWS::Lambda::Permission").values()
                   if _ref(p["Properties"]["FunctionName"]) == name}
    assert permissions["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    # Since October 2025 a public URL also needs InvokeFunction, limited to calls through the URL.
    assert permissions["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    assert "StreamUrl" in prod.json["Outputs"]


def test_streaming_bundle_is_the_chalice_package_plus_server_and_start_script(prod):
    _, fn = prod.one("AWS::Lambda::Function", Handler="run.sh")
    with prod.asset_zip(fn) as bundle:
        names = set(bundle.namelist())
        run = bundle.getinfo("run.sh")
        assert stat.S_IMODE(run.external_attr >> 16) & 0o111, "run.sh must be executable"
        assert bundle.read("run.sh") == (ROOT / "infra" / "run.sh").read_bytes()
    assert {"app.py", "chalicelib/fronts/asgi_front.py", "uvicorn/__init__.py", "uvicorn/main.py"} <= names
    assert any(n.startswith("pydantic_core/") for n in names) and any(n.startswith("h11/") for n in names)
    assert not any(n.startswith(("tests/", "web/", "infra/")) for n in names)


def _role_statements(s: Synthesis, role_id: str) -> dict[str, dict[str, Any]]:
    """A role's inline statements by Sid, after checking what every role of the stack shares:
    assumed by Lambda only, the VPC-access managed policy, no wildcard action or resource, and
    the database mounted only through the access point."""
    props = s.json["Resources"][role_id]["Properties"]
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
    assert [json.dumps(m) for m in props["ManagedPolicyArns"]] == [VPC_MANAGED]
    (policy,) = props["Policies"]
    statements = {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}
    for st in statements.values():
        assert st["Effect"] == "Allow" and "NotAction" not in st and "NotResource" not in st
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert not any("*" in a for a in actions), (role_id, actions)
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in resources
    efs = statements["MountTheDatabase"]
    assert efs["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    (fs_id,) = s.resources("AWS::EFS::FileSystem")
    assert _ref(efs["Resource"]) == fs_id
    assert _access_point(s) in json.dumps(efs["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"])
    return statements


def _role_of(s: Synthesis, handler: str) -> str:
    (fn,) = [f for f in _functions(s).values() if f["Properties"]["Handler"] == handler]
    return _ref(fn["Properties"]["Role"])


def test_iam_grants_exactly_what_the_code_uses(prod):
    roles = prod.resources("AWS::IAM::Role")
    assert len(roles) == 3 and not prod.resources("AWS::IAM::Policy") and not prod.resources("AWS::IAM::ManagedPolicy")
    role_id = _role_of(prod, "app.app")
    statements = _role_statements(prod, role_id)
    assert set(statements) == {"MountTheDatabase", "ReadTheSecrets", "KeepHostedFiles", "CallBedrock",
                               "SendSettlements", "KeepHotState"}
    secrets = statements["ReadTheSecrets"]
    assert secrets["Action"] == "secretsmanager:GetSecretValue"
    assert sorted(_ref(r) for r in secrets["Resource"]) == sorted(prod.resources("AWS::SecretsManager::Secret"))
    files = statements["KeepHostedFiles"]
    assert files["Action"] == ["s3:GetObject", "s3:PutObject"]  # never list, delete or change the bucket
    (bucket_id,) = prod.resources("AWS::S3::Bucket")
    assert files["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/blobs/*"]]}
    bedrock = statements["CallBedrock"]
    assert bedrock["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert all(":foundation-model/*" in json.dumps(r) or ":inference-profile/*" in json.dumps(r)
               for r in bedrock["Resource"])
    for fn in _front_functions(prod).values():
        assert _ref(fn["Properties"]["Role"]) == role_id
    # The request path only sends to the call log and writes single items (a hold is a conditional
    # update and a transaction of Updates and a Put, a settlement one of a Delete and Updates, a
    # first use seeds the account's item): never a read of many, a Scan, a Query or a change to
    # the table itself. test_iam_from_code.py derives the same list from the code.
    (queue_id,) = [k for k, v in prod.resources("AWS::SQS::Queue").items() if "RedrivePolicy" in v["Properties"]]
    (table_id,) = prod.resources("AWS::DynamoDB::Table")
    assert statements["SendSettlements"]["Action"] == "sqs:SendMessage"
    assert statements["SendSettlements"]["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert statements["KeepHotState"]["Action"] == ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                                    "dynamodb:BatchGetItem"]
    assert statements["KeepHotState"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_writer_and_reconcile_have_roles_of_their_own(prod):
    (queue_id,) = [k for k, v in prod.resources("AWS::SQS::Queue").items() if "RedrivePolicy" in v["Properties"]]
    (table_id,) = prod.resources("AWS::DynamoDB::Table")
    api_role, writer_role, reconcile_role = (_role_of(prod, h) for h in ("app.app", WRITER, RECONCILE))
    assert len({api_role, writer_role, reconcile_role}) == 3
    # The writer drains the queue into SQLite: no table, no secret, no sending, no bucket.
    writer = _role_statements(prod, writer_role)
    assert set(writer) == {"MountTheDatabase", "DrainTheCallLog"}
    assert writer["DrainTheCallLog"]["Action"] == ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    assert writer["DrainTheCallLog"]["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # The reconcile job finds expired holds (the one Scan in the stack) and releases them, mirrors
    # recent credits (a transaction of an Update and a Put; an unseeded account's PutItem) and
    # reads the balances (BatchGetItem).
    reconcile = _role_statements(prod, reconcile_role)
    assert set(reconcile) == {"MountTheDatabase", "SweepHotState"}
    assert reconcile["SweepHotState"]["Action"] == [
        "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    assert reconcile["SweepHotState"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    scans = [role for role in prod.resources("AWS::IAM::Role") if "dynamodb:Scan" in json.dumps(prod.json["Resources"][role])]
    assert scans == [reconcile_role]


def test_storage_secrets_network_and_logs(prod):
    (fs,) = prod.resources("AWS::EFS::FileSystem").values()
    assert fs["Properties"]["Encrypted"] is True and fs["Properties"]["ThroughputMode"] == "elastic"
    assert fs["DeletionPolicy"] == "Retain", "prod keeps its database when the stack goes"
    (deny_anonymous,) = fs["Properties"]["FileSystemPolicy"]["Statement"]
    assert deny_anonymous["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    (ap,) = prod.resources("AWS::EFS::AccessPoint").values()
    assert ap["Properties"]["PosixUser"] == {"Gid": "1000", "Uid": "1000"}
    assert ap["Properties"]["RootDirectory"]["Path"] == "/aihub"
    (nfs,) = prod.resources("AWS::EC2::SecurityGroupIngress").values()
    assert nfs["Properties"]["FromPort"] == nfs["Properties"]["ToPort"] == 2049

    for secret in prod.resources("AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"] and secret["Properties"]["GenerateSecretString"]
    assert {s["Properties"]["Name"] for s in prod.resources("AWS::SecretsManager::Secret").values()} == {
        "aihub/prod/master-secret", "aihub/prod/admin-key"}

    assert len(prod.resources("AWS::EC2::NatGateway")) == 1, "one NAT gateway: see the cost table"
    log_groups = prod.resources("AWS::Logs::LogGroup")
    for name, fn in _functions(prod).items():
        group = log_groups[_ref(fn["Properties"]["LoggingConfig"]["LogGroup"])]
        assert group["Properties"]["RetentionInDays"] == 90, name


def test_hosted_files_bucket_is_private_encrypted_and_expiring(prod):
    ((bucket_id, bucket),) = prod.resources("AWS::S3::Bucket").items()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == "blobs/" and rule["ExpirationInDays"] == 7
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = prod.resources("AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for name, fn in _front_functions(prod).items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["AIHUB_BLOB_BUCKET"] == {"Ref": bucket_id}, name
        assert env["AIHUB_BLOB_TTL_DAYS"] == "7", "jobs expire with their files"
    endpoints = prod.resources("AWS::EC2::VPCEndpoint").values()
    # S3 and DynamoDB through free gateway endpoints, not the NAT; SQS has none (the NAT carries it).
    assert {e["Properties"]["VpcEndpointType"] for e in endpoints} == {"Gateway"}
    assert sorted(e["Properties"]["ServiceName"]["Fn::Join"][1][-1] for e in endpoints) == [".dynamodb", ".s3"]


def test_dev_stage_gets_the_same_shape_on_its_own_terms(dev):
    api = dev.json["Resources"]["APIHandler"]["Properties"]
    # .chalice/config.json's dev stage points at /tmp for local use; the stack puts it on EFS.
    assert api["Environment"]["Variables"]["AIHUB_DB"] == f"{MOUNT}/aihub.db"
    assert api["Environment"]["Variables"]["AIHUB_SECRET_ID"] == "aihub/dev/master-secret"
    (fs,) = dev.resources("AWS::EFS::FileSystem").values()
    assert fs["DeletionPolicy"] == "Delete"
    assert {g["Properties"]["RetentionInDays"] for g in dev.resources("AWS::Logs::LogGroup").values()} == {7}
    assert len(dev.resources("AWS::EC2::NatGateway")) == 2  # -c nat_gateways=2


def _integration_timeouts(s: Synthesis) -> list[int | None]:
    paths = s.json["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    return [op["x-amazon-apigateway-integration"].get("timeoutInMillis")
            for methods in paths.values() for op in methods.values() if "x-amazon-apigateway-integration" in op]


def test_api_gateway_timeout_is_29s_unless_raised(prod, dev):
    assert set(_integration_timeouts(prod)) == {None}  # API Gateway's default, 29 s
    timeouts = _integration_timeouts(dev)  # -c api_timeout_seconds=120
    assert len(timeouts) >= 20 and set(timeouts) == {120_000}


def test_templates_pass_cdk_validation_and_cfn_lint(prod, dev):
    for s in (prod, dev):
        report = json.loads((s.outdir / "validation-report.json").read_text())
        assert report.get("pluginReports", []) == []
    # cfn-lint checks every resource against CloudFormation's and SAM's schemas (a misspelt or
    # misplaced FileSystemConfigs or LoggingConfig would pass synthesis but fail the deploy).
    # W3005: CDK's own redundant DependsOn on the role, harmless.
    templates = [str(s.outdir / f"{s.stage}.template.json") for s in (prod, dev)]
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable",
                           "--regions", "us-east-1", "--ignore-checks", "W3005", "-t", *templates],
                          capture_output=True, text=True, timeout=120, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_same_facts_through_cdk_assertions(prod):
    from aws_cdk.assertions import Match

    t = prod.template
    t.resource_count_is("AWS::IAM::Role", 3)
    t.resource_count_is("AWS::Lambda::Url", 1)
    t.has_resource_properties("AWS::Lambda::Url", {"InvokeMode": "RESPONSE_STREAM", "AuthType": "NONE"})
    t.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "run.sh",
        "Layers": [Match.object_like({"Fn::Join": ["", Match.array_with([Match.string_like_regexp("LambdaAdapterLayerX86")])]})],
        "Environment": {"Variables": Match.object_like({
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap", "AWS_LWA_INVOKE_MODE": "response_stream",
            "AWS_LWA_PORT": "8080", "AWS_LWA_READINESS_CHECK_PATH": "/health"})},
        "FileSystemConfigs": [Match.object_like({"LocalMountPath": MOUNT})],
        "VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}),
    })
    for name in ("APIHandler", "MaintenanceRun"):
        t.has_resource(
            "AWS::Serverless::Function",
            {"Properties": Match.object_like({
                "FileSystemConfigs": [Match.object_like({"LocalMountPath": MOUNT})],
                "VpcConfig": Match.object_like({"SecurityGroupIds": Match.any_value()}),
                "Handler": "app.app" if name == "APIHandler" else "app.maintenance_run"}),
             "DependsOn": Match.array_with([Match.string_like_regexp("MountTarget")])})
    t.has_resource_properties("AWS::IAM::Role", {
        "Policies": [{"PolicyName": "aihub", "PolicyDocument": {"Statement": Match.array_with([
            Match.object_like({"Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]}),
            Match.object_like({"Action": "secretsmanager:GetSecretValue"}),
            Match.object_like({"Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]}),
        ]), "Version": "2012-10-17"}}],
    })


def test_api_gateway_own_answers_carry_the_security_headers(prod):
    responses = prod.json["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = responses[kind]["ResponseParameters"]["Headers"]
        assert headers["x-content-type-options"] == "'nosniff'" and headers["x-frame-options"] == "'DENY'"
        assert headers["referrer-policy"] == "'no-referrer'"


def test_dashboard_and_alarms_watch_what_the_functions_embed(prod, dev):
    from aws_cdk.assertions import Match

    from chalicelib.observability import emf

    alarms = {a["Properties"]["AlarmName"]: a["Properties"]
              for a in prod.resources("AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {f"aihub-prod-{k}" for k in
                           ("ServerErrorRate", "ProviderErrorRate", "Throttles", "DatabaseWriteLatency",
                            "CallLogDeadLetters", "CallLogBacklog", "WriterErrors", "ReconcileErrors")}
    (topic,) = prod.resources("AWS::SNS::Topic")
    embedded = {m["Name"] for m in emf.CALL_METRICS + emf.DB_METRICS}
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}] and alarm["OKActions"] == [{"Ref": topic}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        for query in alarm.get("Metrics", []):  # metric math: every metric it reads is one the code emits
            stat = query.get("MetricStat")
            if stat and stat["Metric"]["Namespace"] == "aihub/prod":
                assert stat["Metric"]["MetricName"] in embedded, (name, stat)
    db = alarms["aihub-prod-DatabaseWriteLatency"]
    assert (db["Namespace"], db["MetricName"], db["ExtendedStatistic"]) == ("aihub/prod", "DbWriteLatency", "p99")
    throttles = alarms["aihub-prod-Throttles"]["Metrics"]
    watched = [q["MetricStat"]["Metric"] for q in throttles if "MetricStat" in q]
    assert {m["Namespace"] for m in watched} == {"AWS/Lambda"} and len(watched) == 2  # API and stream functions
    assert {"Ref": "APIHandler"} in [m["Dimensions"][0]["Value"] for m in watched]

    # Each function embeds its metrics in the namespace the dashboard and alarms read.
    (stream,) = [f for f in prod.resources("AWS::Lambda::Function").values() if f["Properties"]["Handler"] == "run.sh"]
    stream_env = stream["Properties"]["Environment"]["Variables"]
    api_env = prod.json["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert stream_env["AIHUB_METRICS_NAMESPACE"] == api_env["AIHUB_METRICS_NAMESPACE"] == "aihub/prod"

    prod.template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "aihub-prod"})
    body = json.dumps(prod.json["Resources"][next(iter(prod.resources("AWS::CloudWatch::Dashboard")))]["Properties"])
    for name in ("Requests", "Errors5xx", "ProviderErrors", "TimeToFirstToken", "DbWriteLatency", "DbQueueDepth"):
        assert name in body
    # dev has its own namespace and alarm names: stages in one account do not mix.
    dev.template.has_resource_properties("AWS::CloudWatch::Alarm", {"AlarmName": "aihub-dev-ServerErrorRate",
                                                                   "Metrics": Match.any_value()})


def _queues(s: Synthesis) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(the call log, its dead-letter queue)."""
    queues = s.resources("AWS::SQS::Queue")
    (main,) = [(k, v) for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
    (dead,) = [(k, v) for k, v in queues.items() if k != main[0]]
    return main, dead


def test_call_log_queue_dead_letters_and_redrive(prod):
    (queue_id, queue), (dlq_id, dlq) = _queues(prod)
    props = queue["Properties"]
    # 20 receives: throttled receives (SQS's pollers outnumber the one writer) and those of
    # batches the database refused count too; a poison message waits 20 visibility timeouts.
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": 20}
    _, writer = prod.one("AWS::Lambda::Function", Handler=WRITER)
    # A batch may be invisible while the writer retries it: 6x the writer's timeout + the window.
    (mapping,) = prod.resources("AWS::Lambda::EventSourceMapping").values()
    window = mapping["Properties"]["MaximumBatchingWindowInSeconds"]
    assert props["VisibilityTimeout"] >= 6 * writer["Properties"]["Timeout"] + window
    for q in (queue, dlq):  # encrypted at rest, TLS only, kept 14 days, kept with the stage's data
        assert q["Properties"]["SqsManagedSseEnabled"] is True
        assert q["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert q["DeletionPolicy"] == "Retain"
    tls = {_ref(p["Properties"]["Queues"][0]): p["Properties"]["PolicyDocument"]["Statement"]
           for p in prod.resources("AWS::SQS::QueuePolicy").values()}
    for queue_ref in (queue_id, dlq_id):
        (deny,) = tls[queue_ref]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert prod.json["Outputs"]["CallLogDeadLetterQueueUrl"]["Value"] == {"Ref": dlq_id}


def test_writer_is_one_function_on_the_mount_fed_in_batches(prod):
    (queue_id, _), _ = _queues(prod)
    writer_id, writer = prod.one("AWS::Lambda::Function", Handler=WRITER)
    props = writer["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    (fs,) = props["FileSystemConfigs"]
    assert fs["LocalMountPath"] == MOUNT and _access_point(prod) in json.dumps(fs["Arn"])
    assert set(prod.resources("AWS::EFS::MountTarget")) <= set(writer["DependsOn"])
    api = prod.json["Resources"]["APIHandler"]["Properties"]
    assert props["VpcConfig"]["SubnetIds"] == api["VpcConfig"]["SubnetIds"]
    assert props["VpcConfig"]["SecurityGroupIds"] == api["VpcConfig"]["SecurityGroupIds"]
    assert props["Runtime"] == api["Runtime"]
    # The API function's own bundle, uploaded once.
    assert props["Code"]["S3Key"] == api["CodeUri"]["Key"]
    env = props["Environment"]["Variables"]
    assert env == {"AIHUB_DB": f"{MOUNT}/aihub.db", "AIHUB_DB_JOURNAL": "delete", "AIHUB_METRICS_NAMESPACE": "aihub/prod"}
    (mapping,) = prod.resources("AWS::Lambda::EventSourceMapping").values()
    m = mapping["Properties"]
    assert _ref(m["EventSourceArn"]) == queue_id and _ref(m["FunctionName"]) == writer_id
    assert m["BatchSize"] == 100 and m["MaximumBatchingWindowInSeconds"] == 1
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_handlers_named_by_the_stack_are_in_its_bundle(prod):
    _, writer = prod.one("AWS::Lambda::Function", Handler=WRITER)
    with prod.asset_zip(writer) as bundle:
        names = set(bundle.namelist())
    assert "app.py" in names and "chalicelib/billing/accounting.py" in names
    for handler in QUEUED_HANDLERS:
        module = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        if not (ROOT / module).exists():
            pytest.skip(f"{module} is built on another branch (issue 15): not merged yet")
        assert module in names


def test_hot_state_table_on_demand_with_ttl_and_recovery(prod):
    ((table_id, table),) = prod.resources("AWS::DynamoDB::Table").items()
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain", "prod keeps its balances when the stack goes"
    (queue_id, _), _ = _queues(prod)
    for name, fn in _front_functions(prod).items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["AIHUB_SETTLEMENTS"] == "sqs" and env["AIHUB_SETTLEMENTS_QUEUE_URL"] == {"Ref": queue_id}, name
        assert env["AIHUB_HOT_STATE"] == "dynamodb" and env["AIHUB_DYNAMODB_TABLE"] == {"Ref": table_id}, name


def test_reconcile_runs_on_a_schedule(prod):
    reconcile_id, reconcile = prod.one("AWS::Lambda::Function", Handler=RECONCILE)
    (rule,) = prod.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert _ref(target["Arn"]) == reconcile_id
    (permission,) = [p["Properties"] for p in prod.resources("AWS::Lambda::Permission").values()
                     if _ref(p["Properties"]["FunctionName"]) == reconcile_id]
    assert permission["Principal"] == "events.amazonaws.com" and permission["Action"] == "lambda:InvokeFunction"
    env = reconcile["Properties"]["Environment"]["Variables"]
    (table_id,) = prod.resources("AWS::DynamoDB::Table")
    assert env["AIHUB_HOT_STATE"] == "dynamodb" and env["AIHUB_DYNAMODB_TABLE"] == {"Ref": table_id}
    assert reconcile["Properties"]["FileSystemConfigs"][0]["LocalMountPath"] == MOUNT


def test_call_log_alarms_page_the_topic(prod):
    (queue_id, _), (dlq_id, _) = _queues(prod)
    (topic,) = prod.resources("AWS::SNS::Topic")
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in prod.resources("AWS::CloudWatch::Alarm").values()}
    poison = alarms["aihub-prod-CallLogDeadLetters"]
    assert (poison["Namespace"], poison["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert poison["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert poison["Threshold"] == 1 and poison["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert poison["EvaluationPeriods"] == 1, "one poison message is enough to page"
    backlog = alarms["aihub-prod-CallLogBacklog"]
    assert (backlog["Namespace"], backlog["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert backlog["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert backlog["Threshold"] == 300
    assert "received 20 times" in poison["AlarmDescription"]
    for alarm in (poison, backlog):
        assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_writer_and_reconcile_errors_page_the_topic(prod):
    """No client sees the writer or the reconcile job fail: any Lambda error of either pages."""
    (topic,) = prod.resources("AWS::SNS::Topic")
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in prod.resources("AWS::CloudWatch::Alarm").values()}
    for key, handler in (("Writer", WRITER), ("Reconcile", RECONCILE)):
        function_id, _ = prod.one("AWS::Lambda::Function", Handler=handler)
        alarm = alarms[f"aihub-prod-{key}Errors"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
        assert alarm["Period"] == 300 and alarm["EvaluationPeriods"] == 1 and alarm["DatapointsToAlarm"] == 1
        # Errors > 0: a count, so >= 1
        assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"] == [{"Ref": topic}] and alarm["OKActions"] == [{"Ref": topic}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_dev_stage_writes_sqlite_directly(dev):
    """dev is the small stage: no queue, writer, table or schedule to pay for; the functions say so."""
    for type_ in ("AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::Lambda::EventSourceMapping", "AWS::Events::Rule"):
        assert not dev.resources(type_), type_
    assert len(dev.resources("AWS::IAM::Role")) == 1 and len(_functions(dev)) == 3
    statements = _role_statements(dev, _role_of(dev, "app.app"))
    assert set(statements) == {"MountTheDatabase", "ReadTheSecrets", "KeepHostedFiles", "CallBedrock"}
    for name, fn in _functions(dev).items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["AIHUB_SETTLEMENTS"] == "local" and env["AIHUB_HOT_STATE"] == "sqlite", name
        assert "AIHUB_SETTLEMENTS_QUEUE_URL" not in env and "AIHUB_DYNAMODB_TABLE" not in env
    alarms = {a["Properties"]["AlarmName"] for a in dev.resources("AWS::CloudWatch::Alarm").values()}
    assert not any("CallLog" in a or "Writer" in a or "Reconcile" in a for a in alarms)


def test_the_bundle_carries_bytecode_for_the_runtime_and_no_stale_pyc(prod):
    """chalice package ships source only; /var/task is read-only, so without bytecode in the zip
    every cold start compiles every module it imports (hundreds of ms)."""
    _, writer = prod.one("AWS::Lambda::Function", Handler=WRITER)
    tag = sys.implementation.cache_tag
    with prod.asset_zip(writer) as bundle:
        names = set(bundle.namelist())
        pyc = bundle.read(f"chalicelib/gateway/__pycache__/pipeline.{tag}.pyc")
        httpx_pyc = f"httpx/__pycache__/_client.{tag}.pyc"
        assert httpx_pyc in names  # the dependencies too, not only the project
    # PEP 552: flags 0b01 = hash-based and not checked against the source (the zip's 1980 stamps)
    assert pyc[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(pyc[4:8], "little") == 0b01
    stale = [n for n in names if n.endswith(".pyc") and (f".{tag}." not in n or "/__pycache__/" not in f"/{n}")]
    assert stale == []
    sources = {n for n in names if n.endswith(".py") and n.startswith("chalicelib/")}
    compiled = {n.replace("__pycache__/", "").replace(f".{tag}.pyc", ".py") for n in names
                if n.startswith("chalicelib/") and n.endswith(".pyc")}
    assert sources == compiled
