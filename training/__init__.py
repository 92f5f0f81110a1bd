"""faceedit-train: train, sweep and evaluate β-VAE model files for FaceEdit."""
