"""The YAML engine: bytes to positioned nodes, values as Kubernetes reads them, edits spliced into the
text and verified. It knows nothing of Kubernetes.
"""
