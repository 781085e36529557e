"""Forget text the model writes about the target, reviewed by people."""
