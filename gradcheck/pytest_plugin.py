"""pytest plugin (entry point ``pytest11``): fixtures for checking a user's own backprop."""
