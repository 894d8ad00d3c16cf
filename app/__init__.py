"""Inkstone: a local novel-writing studio over the XVERSE-Ent models."""
