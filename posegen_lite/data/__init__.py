"""Datasets: the embedded synthetic renderer and readers of the real datasets' on-disk formats."""
