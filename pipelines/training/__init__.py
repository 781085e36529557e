"""Training: the loop, the registered unlearning objectives, the unlearning fine-tune."""
