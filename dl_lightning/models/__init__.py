"""Pure ``nn.Module`` networks (no Lightning): generator, discriminators, layers."""

from dl_lightning.models.discriminator import Discriminator, DiscriminatorConfig, PairDiscriminator
from dl_lightning.models.generator import Generator, GeneratorConfig

__all__ = ["Generator", "GeneratorConfig", "Discriminator", "PairDiscriminator", "DiscriminatorConfig"]
