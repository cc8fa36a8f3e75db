"""Ideogram: image generation only (Ideogram 3.0 multipart endpoint and the legacy JSON one)."""
