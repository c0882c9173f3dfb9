"""Models: backbones → spatial map X → temporal pooling → embedding f; discriminators, PAM part
masks and part discriminators (the GRL and the discriminators' layout: ``reidlab.layers``)."""

from reidlab.models.backbones import BACKBONE_NAMES, Backbone, build_backbone, imagenet_status

__all__ = ["BACKBONE_NAMES", "Backbone", "build_backbone", "imagenet_status"]
