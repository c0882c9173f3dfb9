"""Models: backbones → spatial map X → temporal pooling → embedding f; GRL, discriminators,
PAM part masks and part discriminators, PCB part pooling."""

from reidlab.models.backbones import BACKBONE_NAMES, Backbone, build_backbone, imagenet_status

__all__ = ["BACKBONE_NAMES", "Backbone", "build_backbone", "imagenet_status"]
