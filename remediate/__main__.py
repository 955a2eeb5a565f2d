from remediate.cli.main import entry

entry()
