"""Create the sandbox's AWS resources in moto (idempotent).

- IAM OIDC provider for token.actions.githubusercontent.com
- role `github-deploy` (what `role-to-assume` names; trusts GitHub OIDC)
- role `lambda-ml-deploy-exec` (the function's execution role; trusts lambda.amazonaws.com)
- S3 bucket `lmd-sandbox-artifacts`

Usage: python3 seed.py <endpoint-url>
Prints SANDBOX_BUCKET=..., SANDBOX_ROLE_ARN=..., SANDBOX_DEPLOY_ROLE_ARN=... lines.
boto3 ships with moto, so this needs nothing else.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError

REGION = "us-east-1"
BUCKET = "lmd-sandbox-artifacts"
EXEC_ROLE = "lambda-ml-deploy-exec"
DEPLOY_ROLE = "github-deploy"
OIDC_HOST = "token.actions.githubusercontent.com"


def ignore_exists(call, *codes):
    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in codes:
            return None
        raise


def ensure_role(iam, name, trust, description):
    ignore_exists(
        lambda: iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=description,
        ),
        "EntityAlreadyExists",
    )
    return iam.get_role(RoleName=name)["Role"]["Arn"]


def main(endpoint):
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    iam = session.client("iam", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    account = session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]

    provider_arn = "arn:aws:iam::%s:oidc-provider/%s" % (account, OIDC_HOST)
    ignore_exists(
        lambda: iam.create_open_id_connect_provider(
            Url="https://" + OIDC_HOST,
            ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
        ),
        "EntityAlreadyExists",
    )
    deploy_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {OIDC_HOST + ":aud": "sts.amazonaws.com"},
                    "StringLike": {OIDC_HOST + ":sub": "repo:org/app:*"},
                },
            }
        ],
    }
    exec_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    deploy_arn = ensure_role(iam, DEPLOY_ROLE, deploy_trust, "Assumed by GitHub Actions (OIDC) to deploy")
    exec_arn = ensure_role(iam, EXEC_ROLE, exec_trust, "Execution role of the deployed functions")
    ignore_exists(
        lambda: iam.attach_role_policy(
            RoleName=EXEC_ROLE,
            PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        ),
        "NoSuchEntity",
    )
    ignore_exists(lambda: s3.create_bucket(Bucket=BUCKET), "BucketAlreadyOwnedByYou", "BucketAlreadyExists")
    s3.head_bucket(Bucket=BUCKET)
    print("SANDBOX_BUCKET=%s" % BUCKET)
    print("SANDBOX_ROLE_ARN=%s" % exec_arn)
    print("SANDBOX_DEPLOY_ROLE_ARN=%s" % deploy_arn)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: seed.py <endpoint-url>")
    main(sys.argv[1])
