"""Consistency checks of a posterior rebuilt from a file (:func:`uqlab.load`).

A file's checksums catch damage; these checks catch what checksums cannot (a format-1 file, or a
hand edit whose checksums were recomputed) before it turns into a reshape or broadcasting error
deep inside JAX: the stacked parameters against the model's ``init`` shapes, the chain count
against the number of draws, and one prediction at the training-input mean against the scaler's
widths.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_posterior"]


def _template(model):
    """Shapes of ``model.init(key)`` (abstract: nothing is computed), or None for other models."""
    if not (callable(getattr(model, "init", None)) and callable(getattr(model, "apply", None))):
        return None
    import jax

    return jax.eval_shape(model.init, jax.random.PRNGKey(0))


def _compare(where: str, field: str, saved, template, leading: int) -> None:
    """``saved``'s tree and leaf shapes (after ``leading`` stacked axes) equal ``template``'s."""
    import jax

    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(template)[0]]
    got, want = jax.tree_util.tree_leaves(saved), jax.tree_util.tree_leaves(template)
    if jax.tree_util.tree_structure(saved) != jax.tree_util.tree_structure(template):
        raise ValueError(f"{where}: the saved {field} do not have the model's parameter structure ({len(got)} arrays, "
                         f"the model has {len(want)})")
    for path, a, b in zip(paths, got, want):
        if tuple(np.shape(a)[leading:]) != tuple(b.shape):
            raise ValueError(f"{where}: {field}{path} has shape {np.shape(a)}, the model expects "
                             f"{'(S, ' * bool(leading)}{str(tuple(b.shape))[1:] if leading else tuple(b.shape)}")


def _check_particles(post, where: str) -> None:
    import jax

    leaves = jax.tree_util.tree_leaves(post.particles)
    if not leaves or any(np.ndim(a) == 0 for a in leaves):
        raise ValueError(f"{where}: expected particles stacked on a leading member axis, got {len(leaves)} arrays")
    sizes = {np.shape(a)[0] for a in leaves}
    if len(sizes) != 1:
        raise ValueError(f"{where}: the particles disagree on the number of members ({sorted(sizes)})")
    members, chains = sizes.pop(), post.num_chains
    if isinstance(chains, bool) or not isinstance(chains, int) or chains < 1 or members % chains:
        raise ValueError(f"{where}: num_chains={chains!r} does not divide the {members} saved draws")
    declared = getattr(post.method, "num_chains", None)
    if isinstance(declared, int) and declared != chains:
        raise ValueError(f"{where}: num_chains={chains} differs from the method's setting num_chains={declared}")
    for name, value in (post.sample_stats or {}).items():
        if np.shape(value)[:2] != (chains, members // chains):
            raise ValueError(f"{where}: sample_stats[{name!r}] has shape {np.shape(value)}, expected "
                             f"({chains}, {members // chains}, ...) for {chains} chains of {members // chains} draws")
    template = _template(post.model)
    if template is not None:
        _compare(where, "particles", post.particles, template, 1)


def check_posterior(post, where: str) -> None:
    """Raise one ``ValueError`` naming ``where`` if ``post`` is inconsistent with its model or scaler."""
    # by protocol, not isinstance: base imports serialization, which imports this module
    if hasattr(post, "particles") and hasattr(post, "num_chains"):  # ParticlePosterior and subclasses
        _check_particles(post, where)
    elif hasattr(post, "params") and hasattr(post, "num_passes"):  # DropoutPosterior
        template = _template(post.model)
        if template is not None:
            _compare(where, "params", post.params, template, 0)
    if post.scaler is None:
        return
    d_in, d_out = post.scaler.x_shift.shape[0], post.scaler.y_shift.shape[0]
    try:
        pred = post.predict(post.scaler.x_shift[None], num_samples=2)
    except Exception as err:  # any failure here means the parts of the file do not fit together
        raise ValueError(f"{where}: the loaded posterior cannot predict from {d_in} input column(s) (the scaler's "
                         f"width): {type(err).__name__}: {str(err).splitlines()[0][:300]}") from None
    if pred.shape != (1, d_out):
        raise ValueError(f"{where}: the model predicts {pred.shape[1]} output column(s), the scaler has {d_out}")
    if not np.all(np.isfinite(pred.loc)):
        raise ValueError(f"{where}: the loaded posterior predicts non-finite values at the training-input mean")
