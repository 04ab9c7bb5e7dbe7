"""Datasets: readers registered by name, an in-memory image dataset and a resumable sampler."""

from ganzoo.data.dataset import ImageDataset, ShuffledBatches, load_dataset

__all__ = ["ImageDataset", "ShuffledBatches", "load_dataset"]
