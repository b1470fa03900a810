"""One use case per Lambda function: parse-free orchestration of domain rules and adapters.

Handlers call exactly one function here; every dependency is a parameter so tests can pass
in-memory fakes or moto-backed adapters.
"""
