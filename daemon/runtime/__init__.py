"""The composition root and the long-running process."""
