"""SRGAN (Ledig et al., 2017): x4 photo-realistic single-image super-resolution with an SRResNet
generator and a VGG-style discriminator; image-to-image, so the generators take LR images, not
latent vectors."""
