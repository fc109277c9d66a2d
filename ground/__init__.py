"""The ground layer: typed settings and metrics. Imports nothing of ours."""
