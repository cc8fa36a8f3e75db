"""aihub's AWS CDK app (see docs/DEPLOY.md)."""
