"""The generic training engine."""

from ganzoo.engine.config import TrainConfig
from ganzoo.engine.run import resume_run, start_run
from ganzoo.engine.trainer import Trainer

__all__ = ["TrainConfig", "Trainer", "resume_run", "start_run"]
