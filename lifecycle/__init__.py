"""Lifecycle: retention and tier policy, the sweep (plan, apply), audit, admin bulk operations."""
