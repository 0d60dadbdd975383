"""Helpers shared by the tests: stack files, chart renders, Pod Security and
NetworkPolicy evaluation, Spark properties, recorded resource options."""
