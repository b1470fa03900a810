"""The only place boto3 is called. Each adapter is a small class implementing one or more of the
interfaces in ``mlops_common.ports``; services receive them typed as those interfaces, so tests can
hand them in-memory fakes instead."""
