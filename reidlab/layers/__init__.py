"""Layers below both ``models`` and ``losses`` (as fast-reid's ``layers``): the gradient-reversal
layer (``grl``) and the camera-subset layout of the discriminators (``domains``)."""
