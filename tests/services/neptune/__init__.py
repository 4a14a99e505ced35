"""Tests of the Neptune-compatible graph server, through gremlinpython and boto3 neptunedata."""
