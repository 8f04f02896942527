"""posegen_lite: pose-guided person image generation for novel 3D view synthesis (the PG2 recipe). The folders
follow the paper's stages, with arrows one way (each imports only those above it):

    images, device, allocator, resources   what every layer shares
    geometry/                   Stage I: skeleton, camera, lifting, pose maps and body mask, photo pose
    data/                       the embedded synthetic dataset and the real-dataset readers
    models/                     Stage II's G1, Stage III's G2 and discriminator, checkpoints and weights
    evaluation/, training/      metrics, protocol, baselines, reports; losses, steps, the loop, distributed
    pipelines/                  what a user calls: NovelViewSynthesizer (3D, 2D, photos), CrowdSynthesizer
    figures/                    matplotlib / plotly figures of poses, training, the body proxy, the networks
    app/, assignments/          front ends: demo, widget, notebook helpers, CLI; classroom checks

``import posegen_lite`` is light: the names below are imported on first use, so a user who only wants a novel
view never loads the training loop, the evaluation code, scikit-image or ``torch.distributed``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name → the module that defines it
_EXPORTS: dict[str, str] = {}


def _export(module: str, *names: str) -> None:
    for name in names:
        _EXPORTS[name] = f"posegen_lite.{module}"


_export("geometry.camera", "Camera", "look_at", "orbit_camera", "project_pose", "rotate_about_body_axis",
        "viewpoint_rotation")  # fmt: skip
_export("geometry.lifting", "lift_pose", "mpjpe")
_export("geometry.posemaps", "body_mask", "draw_skeleton", "pose_maps", "pose_maps_and_mask")
_export("geometry.skeleton", "JOINT_NAMES", "LIMBS", "NUM_JOINTS", "reference_pose")
_export("geometry.proxy", "OrthoCamera", "build_proxy", "correspond", "part_regions", "ray_cameras")
_export("geometry.warp", "ProxyMaps", "fill_uncovered", "proxy_maps", "source_maps")
_export("geometry.ray_cameras", "fit_orthographic")
_export("models.warping", "warp_image")
_export("allocator", "keep_freed_memory")
_export("images", "ImageError", "load_image", "save_image", "to_tensor", "to_uint8")
_export("data.sample", "SAMPLE_KEYS", "make_sample")
_export("data.synthetic.scenes", "Scene")
_export("data.synthetic.crowds", "CrowdConfig", "CrowdScene")
_export("data.synthetic", "SyntheticConfig", "SyntheticPairs")
_export("data.real", "PanopticConfig", "PanopticDataset", "PG2Config", "PG2Dataset")
_export("data.datasets", "DataSpec", "build_dataset")
_export("models.checkpoints", "CheckpointError")
_export("models.discriminator", "Discriminator", "DiscriminatorConfig")
_export("models.g1", "G1", "G1Config")
_export("models.g2", "G2", "G2Config")
_export("models.weights", "export_weights", "load_models")
_export("evaluation", "EvalResult", "G1G2Predictor", "G1Predictor", "IdentityBaseline", "MeanImageBaseline",
        "WarpBaseline", "checkpoint_predictors", "evaluate", "markdown_table", "refinement_report",
        "write_results", "error_budget", "result_ratio_interval")  # fmt: skip
_export("training.losses", "discriminator_loss", "generator_adversarial_loss", "masked_l1", "part_weighted_l1")
_export("training.losses", "gaussian_kl")
_export("training.loop", "NonFiniteLossError", "TrainConfig", "TrainResult", "train")
_export("training.config", "CVAETrainConfig")
_export("training.loop", "NonFiniteWeightsError")
_export("pipelines.synthesizer", "NovelViewSynthesizer", "SynthesisResult")
_export("pipelines.synthesizer", "TooFewJointsError")
_export("pipelines.crowd", "CrowdResult", "CrowdSynthesizer")

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562) and cache the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'posegen_lite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from posegen_lite.data.synthetic.scenes import Scene  # noqa: F401
    from posegen_lite.geometry.camera import Camera  # noqa: F401
    from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer, SynthesisResult  # noqa: F401
