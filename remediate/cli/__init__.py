"""The command line: the typer shell (:mod:`remediate.cli.main`) and what it runs
(:mod:`remediate.cli.commands`), which ties running and output together.
"""
