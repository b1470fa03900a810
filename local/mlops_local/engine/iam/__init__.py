"""IAM as AWS enforces it, for the calls the local runtime makes on behalf of the stack's roles.

- ``principals``: the credentials each function, state machine and job gets for its role, and who
  a set of credentials belongs to;
- ``policies``: the evaluation of identity and key policies for one request;
- ``requests``: what an API call asks IAM for (action, resource, condition keys), including the
  KMS permissions that S3, SQS, SNS and Lambda need on the caller's behalf.

The emulation ``engine.emulation.iam_enforcement`` puts them in front of every boto3 call.
"""
