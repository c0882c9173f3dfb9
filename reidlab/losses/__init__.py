"""Losses, one module per family: ``id`` (per-camera ID loss), ``adversarial`` (camera
discriminator losses for N-way, pairwise, partial-domain and pixel-wise PAM discriminators)."""

from reidlab.losses.adversarial import camera_ce, masked_pixel_ce, subset_adv_loss
from reidlab.losses.id import PerCameraClassifier, per_camera_id_loss

__all__ = ["PerCameraClassifier", "camera_ce", "masked_pixel_ce", "per_camera_id_loss",
           "subset_adv_loss"]
