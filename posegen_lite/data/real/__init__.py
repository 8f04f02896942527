"""Real datasets as users have them on disk: PG2's CSV layout (Market-1501, DeepFashion) and CMU Panoptic,
each as a format reader (``*_format.py``) and a torch ``Dataset`` yielding the pair-sample dict."""

from posegen_lite.data.real.panoptic import PanopticConfig, PanopticDataset
from posegen_lite.data.real.pg2 import PG2Config, PG2Dataset

__all__ = ["PanopticConfig", "PanopticDataset", "PG2Config", "PG2Dataset"]
