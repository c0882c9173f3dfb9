"""The gradient-reversal layer lives in ``reidlab.layers.grl``; this name stays for the methods."""

from reidlab.layers.grl import grad_reverse  # noqa: F401
