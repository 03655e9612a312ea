"""Training: TrainConfig, the run loop shared by every method, the GAN step and fit, VEEGAN."""
