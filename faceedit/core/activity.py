"""When a latent dimension counts as active: one threshold for the reports and the editor.

Plain Python (no torch), so the editor's widgets may import it."""

ACTIVE_KL = 0.01  # nats: a dimension with less average KL than this carries (almost) no information
