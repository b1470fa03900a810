"""A stand-in for the project's layer: shared code the fixture functions import."""

import os


def function_role() -> str:
    return os.environ["FUNCTION_ROLE"]
