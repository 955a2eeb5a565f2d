"""k8sfix's fixers, one module each; :mod:`remediate.run.registry` discovers them. Exports nothing."""
