"""`aigne hub connect`: the access-key handshake of the AIGNE CLI (shared/aigne-hub-v2.md §5.8)."""
