"""Torch and Pyro backends: methods for torch modules and Pyro models (torch loads only when they run)."""
