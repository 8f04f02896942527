"""posegen_lite: pose-guided person image generation for novel 3D view synthesis (the PG2 recipe).

Stage I   (``skeleton``, ``camera``, ``posemaps``, ``lifting``): 3D keypoints → turned about the body axis →
          projected → 18 pose maps P_B and the body mask M_B.
Stage II  (``models.g1``, ``losses``, ``train``): the U-Net G1 and its pose-masked L1.
Stage III (``models.g2``, ``models.discriminator``, ``stages``): G2 refines against a DCGAN discriminator.
Data      (``data.synthetic`` — the embedded renderer; ``data.real`` — DeepFashion, Market-1501, Panoptic).
End to end: ``NovelViewSynthesizer`` (``synthesize.py``), the ``posegen`` CLI, the notebooks.
"""

from .camera import Camera, look_at, orbit_camera, project_pose, rotate_about_body_axis, viewpoint_rotation
from .checkpoints import CheckpointError
from .data.real import PanopticConfig, PanopticDataset, PG2Config, PG2Dataset
from .data.sample import SAMPLE_KEYS, make_sample
from .data.scenes import Scene
from .data.synthetic import SyntheticConfig, SyntheticPairs
from .datasets import DataSpec, build_dataset
from .evaluate import (
    EvalResult,
    G1G2Predictor,
    G1Predictor,
    IdentityBaseline,
    MeanImageBaseline,
    checkpoint_predictors,
    evaluate,
    markdown_table,
    refinement_report,
    write_results,
)
from .images import ImageError, load_image, save_image, to_tensor, to_uint8
from .lifting import lift_pose, mpjpe
from .losses import discriminator_loss, generator_adversarial_loss, masked_l1
from .models.discriminator import Discriminator, DiscriminatorConfig
from .models.g1 import G1, G1Config
from .models.g2 import G2, G2Config
from .posemaps import body_mask, draw_skeleton, pose_maps, pose_maps_and_mask
from .skeleton import JOINT_NAMES, LIMBS, NUM_JOINTS, reference_pose
from .synthesize import NovelViewSynthesizer, SynthesisResult
from .train import NonFiniteLossError, TrainConfig, TrainResult, export_weights, load_models, train

__version__ = "0.1.0"

__all__ = [
    "Camera", "look_at", "orbit_camera", "project_pose", "rotate_about_body_axis", "viewpoint_rotation",
    "CheckpointError", "PanopticConfig", "PanopticDataset", "PG2Config", "PG2Dataset", "SAMPLE_KEYS",
    "make_sample", "Scene", "SyntheticConfig", "SyntheticPairs", "DataSpec", "build_dataset", "ImageError",
    "load_image", "save_image", "to_tensor", "to_uint8", "lift_pose", "mpjpe", "discriminator_loss",
    "generator_adversarial_loss", "masked_l1", "Discriminator", "DiscriminatorConfig", "G1", "G1Config", "G2",
    "G2Config", "body_mask", "draw_skeleton", "pose_maps", "pose_maps_and_mask", "JOINT_NAMES", "LIMBS",
    "NUM_JOINTS", "reference_pose", "NovelViewSynthesizer", "SynthesisResult", "NonFiniteLossError",
    "TrainConfig", "TrainResult", "export_weights", "load_models", "train", "EvalResult", "G1G2Predictor",
    "G1Predictor", "IdentityBaseline", "MeanImageBaseline", "checkpoint_predictors", "evaluate", "markdown_table",
    "refinement_report", "write_results",
]  # fmt: skip
