"""One use case per Lambda function: orchestration of domain rules over ports, typed input in.

Handlers parse the event into a typed model and call exactly one function here with it. Every
dependency is a parameter typed as a port (``mlops_common.ports``), so tests can pass in-memory
fakes or moto-backed adapters. Services import no adapter.
"""
