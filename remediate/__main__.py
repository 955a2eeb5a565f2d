from remediate.cli import entry

entry()
