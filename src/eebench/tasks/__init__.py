"""Task registry, data preparation and loading (torch-free; `datasets` and Pillow are imported only by the
tasks that read from the Hugging Face hub or image files)."""

from .prepare import prepare_task
from .registry import TASKS, get_task
from .spec import TaskSpec
from .storage import SPLITS, SplitData, load_info, load_split

__all__ = ["TASKS", "SPLITS", "SplitData", "TaskSpec", "get_task", "load_info", "load_split", "prepare_task"]
