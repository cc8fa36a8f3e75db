"""One stage of aihub on AWS.

- a VPC with private subnets (the Lambdas) and one NAT gateway (providers are on the internet);
- an EFS file system and access point holding the SQLite database, mounted at /mnt/aihub;
- the Chalice app (`chalice package` through chalice.cdk): API Gateway + the API function + the
  scheduled maintenance function, each patched with the EFS mount, its log group and a
  dependency on the mount targets;
- the streaming function: `aihub serve`'s ASGI app under uvicorn, on Lambda through the Lambda
  Web Adapter layer, behind a Function URL in RESPONSE_STREAM mode, mounting the same EFS;
- a private S3 bucket for the files aihub hosts (generated videos), encrypted, TLS only, its
  objects expired by a lifecycle rule, reached through a gateway endpoint (not the NAT);
- a CloudWatch dashboard and alarms (5xx rate, provider error rate, Lambda throttles, database
  write latency; queued: dead letters, backlog, writer and reconcile errors) over the metrics
  the functions embed in their logs and Lambda's own, notifying an SNS topic;
- two generated secrets (the master secret and the bootstrap admin key) and one execution
  role for the API, maintenance and stream functions that can do exactly what the code does:
  mount that access point, read those two secrets, put and get hosted files, call Bedrock, write
  logs and attach to the VPC (and, queued, send to the call log and use the hot-state table);
- in the queued mode (`hot_path`, default for test and prod): the call-log queue, its writer
  function, the DynamoDB hot-state table and the reconcile job (hot_path.py), each function
  with a role of its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .bundle import PrecompiledChalice, chalice_stage, stream_bundle
from .hot_path import FunctionPlacement, HotPath, HotPathSettings
from .monitoring import Monitoring, namespace
from .roles import function_role, mount_statement

MOUNT = "/mnt/aihub"
DB_PATH = f"{MOUNT}/aihub.db"
# Inside Lambda the app runs as this user; the access point maps every NFS call to it.
POSIX_ID = "1000"
# The Lambda Web Adapter's published x86_64 layer (awslabs/aws-lambda-web-adapter README).
LWA_ACCOUNT = "753240598075"
LWA_LAYER_VERSION = 26
STREAM_PORT = "8080"
BLOB_PREFIX = "blobs/"  # where chalicelib/blobs/s3.py keeps hosted files  # the adapter's default; Lambda reserves 9001 (runtime API) and 3000 (Insights)


@dataclass(frozen=True)
class StageSettings:
    log_retention: logs.RetentionDays
    keep_data: bool  # retain the file system, secrets and logs when the stack is deleted
    nat_gateways: int = 1  # one NAT for all AZs: ~$33/month each; 2 survive an AZ outage
    stream_timeout_minutes: int = 15  # a Function URL's maximum
    blob_days: int = 7  # hosted files (generated videos) are deleted after this many days
    # "queued": settlements through SQS to one writer, holds and counters in DynamoDB (many
    # concurrent calls); "direct": every function writes SQLite on EFS itself (a small stage:
    # nothing more to pay for or run, a few tens of calls per second at most; docs/DEPLOY.md).
    hot_path: str = "queued"
    queued: HotPathSettings = field(default_factory=HotPathSettings)


HOT_PATHS = ("direct", "queued")
STAGES: dict[str, StageSettings] = {
    "dev": StageSettings(logs.RetentionDays.ONE_WEEK, keep_data=False, hot_path="direct"),
    "test": StageSettings(logs.RetentionDays.TWO_WEEKS, keep_data=False),
    "prod": StageSettings(logs.RetentionDays.THREE_MONTHS, keep_data=True),
}


class AihubStack(cdk.Stack):
    def __init__(self, scope: Construct, stage: str, *, project_dir: Path, nat_gateways: int | None = None,
                 api_timeout_seconds: int | None = None, lwa_layer_version: int = LWA_LAYER_VERSION,
                 hot_path: str | None = None, **kwargs: object) -> None:
        # chalice.cdk packages the stage named by its scope (str(scope) == the stack's path), so the
        # construct id is the Chalice stage and the CloudFormation name carries the app's name.
        super().__init__(scope, stage, stack_name=f"aihub-{stage}", **kwargs)  # type: ignore[arg-type]
        settings = STAGES[stage]
        hot_path = hot_path or settings.hot_path
        if hot_path not in HOT_PATHS:
            raise ValueError(f"hot_path {hot_path!r}: one of {', '.join(HOT_PATHS)}")
        removal = cdk.RemovalPolicy.RETAIN if settings.keep_data else cdk.RemovalPolicy.DESTROY
        chalice_config = chalice_stage(project_dir, stage)
        cdk.Tags.of(self).add("app", "aihub")
        cdk.Tags.of(self).add("stage", stage)

        # Network. Private subnets with egress: the functions reach providers (and Secrets Manager,
        # Bedrock) through the NAT gateway; nothing reaches into the VPC.
        vpc = ec2.Vpc(
            self, "Vpc", max_azs=2,
            nat_gateways=settings.nat_gateways if nat_gateways is None else nat_gateways,
            restrict_default_security_group=False,  # nothing uses it; the fix needs a custom-resource Lambda
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ],
        )
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        functions_sg = ec2.SecurityGroup(self, "FunctionsSecurityGroup", vpc=vpc,
                                         description="aihub functions: egress to providers and EFS")
        cdk.Annotations.of(functions_sg).acknowledge_warning(
            "@aws-cdk/aws-ec2:ipv4IgnoreEgressRule", "all egress is open: providers may listen on any port")

        # Storage. Elastic throughput: SQLite's small synchronous writes would drain a small
        # file system's burst credits; elastic bills per GB moved instead.
        file_system = efs.FileSystem(
            self, "Data", vpc=vpc, vpc_subnets=private, encrypted=True,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE, throughput_mode=efs.ThroughputMode.ELASTIC,
            removal_policy=removal,
        )
        file_system.connections.allow_default_port_from(functions_sg, "NFS from the aihub functions")
        # With a file-system policy, EFS refuses anonymous (non-IAM) NFS clients: only a principal
        # whose own policy allows it (the functions' role) mounts, and only through a mount target.
        # The policy cannot name the role or access point: both depend on the file system.
        file_system.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            conditions={"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
        ))
        access_point = file_system.add_access_point(
            "AccessPoint", path="/aihub",
            create_acl=efs.Acl(owner_uid=POSIX_ID, owner_gid=POSIX_ID, permissions="750"),
            posix_user=efs.PosixUser(uid=POSIX_ID, gid=POSIX_ID),
        )

        # Secrets, generated by Secrets Manager (never in the template). The names come from the
        # Chalice config (AIHUB_SECRET_ID, AIHUB_ADMIN_KEY_ID), so both stay in one place.
        secret_name = chalice_config.environment.get("AIHUB_SECRET_ID", f"aihub/{stage}/master-secret")
        admin_name = chalice_config.environment.get("AIHUB_ADMIN_KEY_ID", f"aihub/{stage}/admin-key")
        master_secret = self._secret("MasterSecret", secret_name, "AIHUB_SECRET: encrypts provider credentials", 64, removal)
        admin_key = self._secret("AdminKey", admin_name, "AIHUB_ADMIN_KEY: the bootstrap admin bearer token", 48, removal)

        # Hosted files. Private: clients download through presigned URLs the functions sign.
        blobs = s3.Bucket(
            self, "Blobs", encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, removal_policy=removal,
            lifecycle_rules=[s3.LifecycleRule(
                id="ExpireHostedFiles", prefix=BLOB_PREFIX, expiration=cdk.Duration.days(settings.blob_days),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1))],
        )
        # Uploads of multi-megabyte videos go straight to S3, free, instead of through the NAT.
        vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)

        hot = HotPath(self, "HotPath", settings=settings.queued, removal=removal, vpc=vpc) if hot_path == "queued" else None
        role = self._execution_role(file_system, access_point, [master_secret, admin_key], blobs,
                                    hot.api_statements() if hot else [])
        database_env = {
            "AIHUB_DB": DB_PATH,
            "AIHUB_DB_JOURNAL": "delete",  # WAL is unsafe over NFS
            "AIHUB_METRICS_NAMESPACE": namespace(stage),  # the embedded metrics the dashboard reads
        }
        infra_env = {
            **database_env,
            **(hot.api_environment() if hot else {"AIHUB_SETTLEMENTS": "local", "AIHUB_HOT_STATE": "sqlite"}),
            "AIHUB_BLOB_BUCKET": blobs.bucket_name,
            "AIHUB_BLOB_TTL_DAYS": str(settings.blob_days),
            "AIHUB_SECRET_ID": secret_name,
            "AIHUB_ADMIN_KEY_ID": admin_name,
        }

        # The Chalice app. stage_config takes precedence over .chalice/config.json and replaces
        # its placeholders ("...-set-by-infra") with what this stack created.
        self.chalice = PrecompiledChalice(
            self, "Chalice", source_dir=str(project_dir), python_version=chalice_config.python_version,
            stage_config={
                "manage_iam_role": False,
                "iam_role_arn": role.role_arn,
                "subnet_ids": vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids,
                "security_group_ids": [functions_sg.security_group_id],
                "environment_variables": infra_env,
            },
        )
        package_dir = Path(self.chalice._sam_package_dir)  # chalice.cdk keeps no public handle on it
        sam = json.loads((package_dir / "sam.json").read_text())
        for logical_id, resource in sam["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            function = self.chalice.get_resource(logical_id)
            function.add_property_override("FileSystemConfigs", [
                {"Arn": access_point.access_point_arn, "LocalMountPath": MOUNT}])
            # Chalice's own log_retention_in_days emits a broken reference with a REST API
            # (aws/chalice#2079), so the log groups are made here and named in LoggingConfig.
            log_group = self._log_group(f"{logical_id}Logs", settings, removal)
            function.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
            # Lambda refuses an EFS config until the mount targets exist.
            function.node.add_dependency(file_system.mount_targets_available)

        if api_timeout_seconds:
            self._raise_integration_timeout(sam, api_timeout_seconds)
        self._secure_gateway_responses()

        # The streaming function: same code, same env, served by uvicorn behind the web adapter.
        bundle = stream_bundle(package_dir / "deployment.zip", package_dir / "stream.zip")
        stream = lambda_.Function(
            self, "StreamFunction",
            description="aihub streaming front (uvicorn behind the Lambda Web Adapter)",
            runtime=lambda_.Runtime(chalice_config.python_version, lambda_.RuntimeFamily.PYTHON),
            architecture=lambda_.Architecture.X86_64,
            handler="run.sh",
            code=lambda_.Code.from_asset(str(bundle)),
            layers=[lambda_.LayerVersion.from_layer_version_arn(
                self, "WebAdapter",
                f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{LWA_ACCOUNT}:layer:LambdaAdapterLayerX86:{lwa_layer_version}")],
            memory_size=512,
            timeout=cdk.Duration.minutes(settings.stream_timeout_minutes),
            # Immutable here: the grants above are exact; CDK's own for `filesystem` would add a
            # ClientMount on "*".
            role=role.without_policy_updates(),
            vpc=vpc, vpc_subnets=private, security_groups=[functions_sg],
            filesystem=lambda_.FileSystem.from_efs_access_point(access_point, MOUNT),
            log_group=self._log_group("StreamFunctionLogs", settings, removal),
            environment={
                **chalice_config.environment,
                **infra_env,
                "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
                "AWS_LWA_INVOKE_MODE": "response_stream",
                "AWS_LWA_PORT": STREAM_PORT,
                "AWS_LWA_READINESS_CHECK_PATH": "/health",
            },
        )
        # Public URL: aihub authenticates every call itself (bearer keys), as behind API Gateway.
        stream_url = stream.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE,
                                             invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM)

        monitoring = Monitoring(self, "Monitoring", stage=stage, function_names=[
            self.chalice.get_resource("APIHandler").ref, stream.function_name])
        if hot is not None:
            # The writer and the reconcile job run the API function's own bundle; they read no
            # secret and no setting beyond the database's.
            writer, reconcile = hot.add_functions(
                code=lambda_.Code.from_asset(str(package_dir / "deployment.zip")), runtime=stream.runtime,
                placement=FunctionPlacement(vpc, private, functions_sg, file_system, access_point, MOUNT),
                environment=database_env, log_group=lambda name: self._log_group(name, settings, removal))
            monitoring.watch_call_log(hot.queue, hot.dead_letters,
                                      oldest_seconds=settings.queued.oldest_message_alarm_seconds,
                                      max_receives=settings.queued.max_receive_count)
            monitoring.watch_errors({"Writer": writer, "Reconcile": reconcile})
            cdk.CfnOutput(self, "CallLogQueueUrl", value=hot.queue.queue_url)
            cdk.CfnOutput(self, "CallLogDeadLetterQueueUrl", value=hot.dead_letters.queue_url)
            cdk.CfnOutput(self, "HotStateTable", value=hot.table.table_name)

        cdk.CfnOutput(self, "StreamUrl", value=stream_url.url, description="streaming front (OpenAI base URL + v1/)")
        cdk.CfnOutput(self, "MasterSecretName", value=secret_name)
        cdk.CfnOutput(self, "AdminKeySecretName", value=admin_name)
        cdk.CfnOutput(self, "FileSystemId", value=file_system.file_system_id)
        cdk.CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="subscribe the on-call here")

    def _secure_gateway_responses(self) -> None:
        """API Gateway answers some requests without the app (an unknown path, throttling, a
        failed integration): they get the app's security headers too. Not the CSP: a static
        header value is written in single quotes, so one holding quotes ('none') cannot be
        given; those answers are small JSON errors, which nosniff keeps from being rendered."""
        from chalicelib.gateway.dispatch import SECURITY_HEADERS

        headers = {name: f"'{value}'" for name, value in SECURITY_HEADERS.items() if "'" not in value}
        self.chalice.get_resource("RestAPI").add_property_override("GatewayResponses", {
            kind: {"ResponseParameters": {"Headers": headers}} for kind in ("DEFAULT_4XX", "DEFAULT_5XX")})

    def _raise_integration_timeout(self, sam: dict, seconds: int) -> None:
        """API Gateway waits 29 s for the function by default. Regional REST APIs may wait longer
        once the account's "Maximum integration timeout" quota is raised (docs/DEPLOY.md)."""
        rest_api = self.chalice.get_resource("RestAPI")
        paths = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
        for path, methods in paths.items():
            for method, operation in methods.items():
                if "x-amazon-apigateway-integration" in operation:
                    key = path.replace(".", "\\.")  # "/v1/usage/calls.csv": a dot would split the override path
                    rest_api.add_property_override(
                        f"DefinitionBody.paths.{key}.{method}.x-amazon-apigateway-integration.timeoutInMillis",
                        seconds * 1000)

    def _secret(self, construct_id: str, name: str, description: str, length: int,
                removal: cdk.RemovalPolicy) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self, construct_id, secret_name=name, description=description, removal_policy=removal,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=length, exclude_punctuation=True, include_space=False),
        )

    def _log_group(self, construct_id: str, settings: StageSettings, removal: cdk.RemovalPolicy) -> logs.LogGroup:
        return logs.LogGroup(self, construct_id, retention=settings.log_retention, removal_policy=removal)

    def _execution_role(self, file_system: efs.FileSystem, access_point: efs.AccessPoint,
                        secrets: list[secretsmanager.Secret], blobs: s3.Bucket,
                        hot_path: list[iam.PolicyStatement]) -> iam.Role:
        statements = [
            mount_statement(file_system, access_point),
            iam.PolicyStatement(
                sid="ReadTheSecrets", actions=["secretsmanager:GetSecretValue"],
                resources=[secret.secret_arn for secret in secrets],
            ),
            # Hosted files: written once, read to presign (a presigned URL acts as this role).
            iam.PolicyStatement(
                sid="KeepHostedFiles", actions=["s3:GetObject", "s3:PutObject"],
                resources=[blobs.arn_for_objects(BLOB_PREFIX + "*")],
            ),
            # The Bedrock adapter calls converse, converse_stream and invoke_model; Converse is
            # authorised as InvokeModel and ConverseStream as InvokeModelWithResponseStream.
            iam.PolicyStatement(
                sid="CallBedrock",
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=[f"arn:{cdk.Aws.PARTITION}:bedrock:*::foundation-model/*",
                           f"arn:{cdk.Aws.PARTITION}:bedrock:*:{cdk.Aws.ACCOUNT_ID}:inference-profile/*"],
            ),
            *hot_path,
        ]
        return function_role(
            self, "FunctionRole",
            "aihub functions: EFS access point, two secrets, hosted files, Bedrock, logs, VPC ENIs"
            + (", call-log queue, hot-state table" if hot_path else ""), statements)
