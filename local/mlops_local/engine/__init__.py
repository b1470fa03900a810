"""The engine: provisions and runs any SAM template on an embedded AWS (moto), in process.

Template loading and intrinsic functions, provisioning, the in-process Lambda registry, event
routing (S3 -> EventBridge -> SQS -> Lambda, schedules), the job and endpoint lifecycles and the
shared process environment. ``moto_compat`` corrects moto where it differs from AWS, one module
per gap; ``emulation`` plays what AWS has and moto does not, one module per feature. Nothing here
knows this project's pipeline or runs its jobs: that is ``mlops_local.runtime`` and
``mlops_local.executors``.
"""
