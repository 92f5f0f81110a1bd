"""Plain data on disk: latent files, the model catalog (and project files). No torch at import, no Qt."""
