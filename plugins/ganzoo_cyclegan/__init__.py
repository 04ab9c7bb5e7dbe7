"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation between two image domains with
ResNet generators, 70x70 PatchGAN discriminators, a cycle-consistency loss and a history pool of
generated images."""
