"""Designs: architecture templates and users' designs (models arrive with the editor)."""
