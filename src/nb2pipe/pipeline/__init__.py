"""The target-neutral pipeline model, its tags and its builder."""
