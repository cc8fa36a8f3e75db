"""IAM pieces every function role of the stack shares."""
from __future__ import annotations

from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from constructs import Construct


def mount_statement(file_system: efs.FileSystem, access_point: efs.AccessPoint) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="MountTheDatabase",
        actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        resources=[file_system.file_system_arn],
        conditions={"StringEquals": {"elasticfilesystem:AccessPointArn": access_point.access_point_arn}},
    )


def function_role(scope: Construct, construct_id: str, description: str,
                  statements: list[iam.PolicyStatement]) -> iam.Role:
    """A Lambda role: logs and VPC network interfaces (managed), and `statements` inline, so the
    grants exist before a function using it is created (Lambda checks an EFS mount's role then)."""
    return iam.Role(
        scope, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description,
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
            "service-role/AWSLambdaVPCAccessExecutionRole")],
        inline_policies={"aihub": iam.PolicyDocument(statements=statements)},
    )
