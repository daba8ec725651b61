"""The phases of one training step (StyleGAN2-ADA / GET3D lazy regularisation, spec §7.1)."""

from __future__ import annotations

import enum

__all__ = ["Phase", "phases_for_step"]


class Phase(enum.Enum):
    """One optimiser phase of a training step, in execution order."""

    GMAIN = "Gmain"
    """Generator adversarial loss on both branches + SDF regularisers (every step)."""
    GREG = "Greg"
    """GET3D's empty generator regularisation phase: an Adam step with zero gradients."""
    DMAIN = "Dmain"
    """Discriminator logistic loss on fakes and reals, both branches (every step)."""
    DREG = "Dreg"
    """Lazy R1 on real images, both branches, multiplied by the interval."""

    @property
    def is_generator(self) -> bool:
        return self in (Phase.GMAIN, Phase.GREG)


def phases_for_step(step: int, g_reg_interval: int, d_reg_interval: int, greg: bool = True) -> list[Phase]:
    """Phases run at ``step`` (0-based): Gmain, [Greg every ``g_reg_interval``], Dmain,
    [Dreg every ``d_reg_interval``]."""
    if step < 0:
        raise ValueError(f"step: expected >= 0, got {step}")
    out = [Phase.GMAIN]
    if greg and step % g_reg_interval == 0:
        out.append(Phase.GREG)
    out.append(Phase.DMAIN)
    if step % d_reg_interval == 0:
        out.append(Phase.DREG)
    return out
