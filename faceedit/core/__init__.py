"""The torch layer: network, likelihoods, model file, latent maths, images, device. Imports no Qt."""
