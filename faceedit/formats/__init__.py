"""Plain data on disk: latent files, the model catalog, exports (images, animations, frames). No torch, no Qt."""
