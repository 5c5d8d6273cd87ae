"""Kernels: pure ``build(log density or loss, **hyper) -> Transform(init, update)`` per algorithm.

``init(position, key) -> State`` and ``update(key, state, batch) -> (State, Info)`` with State and
Info NamedTuples; ``batch`` is a dict the driver (:mod:`uqlab.inference.driver`) supplies: the
minibatch under ``"data"`` and schedule values (``"step_size"``, ``"stage"``, ...). Kernels never
jit themselves, never print, and never close over a dataset.
"""
