"""Evaluation metrics. Each is a ``Metric`` subclass registered by name through the
``register_metrics`` hook (core ones in ``ganzoo.builtins``), so plugins add their own.

``ganzoo.metrics.evaluate`` runs them on a model and a reference dataset and records the
protocol beside every figure.
"""
