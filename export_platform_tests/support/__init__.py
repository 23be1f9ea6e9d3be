"""Helpers the tests share, each in a module named for what it helps with."""
