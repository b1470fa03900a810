"""Pure pipeline rules: no AWS calls, no environment, no clock (callers pass ``now``)."""
