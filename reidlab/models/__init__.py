"""Models: backbones → spatial map X → temporal pooling → embedding f; discriminators, PAM part
masks and part discriminators (the GRL and the discriminators' layout: ``reidlab.layers``)."""

from reidlab.models.backbones import BACKBONE_NAMES, Backbone, build_backbone, imagenet_status
from reidlab.models.reid_net import ReIDNet, build_net

__all__ = ["BACKBONE_NAMES", "Backbone", "ReIDNet", "build_backbone", "build_net",
           "imagenet_status"]
