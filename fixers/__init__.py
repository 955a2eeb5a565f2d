"""k8sfix's fixers, one module each; :mod:`remediate.registry` discovers them. Exports nothing."""
