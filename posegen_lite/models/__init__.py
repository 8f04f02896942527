"""Stage II and III networks: G1 (U-Net), G2 (refiner) and the DCGAN discriminator."""

from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config

__all__ = ["G1", "G1Config", "G2", "G2Config", "Discriminator", "DiscriminatorConfig"]
