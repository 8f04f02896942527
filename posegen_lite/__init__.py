"""posegen_lite: pose-guided person image generation for novel 3D view synthesis (the PG2 recipe).

Stage I (``skeleton``, ``camera``, ``posemaps``, ``lifting``): 3D keypoints → rotated → projected → pose maps.
Stage II (``models.g1``, ``losses``, ``train``): the U-Net G1 and its pose-masked L1.
Stage III (``models.g2``, ``models.discriminator``): refinement against a DCGAN discriminator.
"""

__version__ = "0.1.0"
