"""The only place boto3 is called. Each adapter is a small class that services receive, so tests
can hand them in-memory fakes instead."""
