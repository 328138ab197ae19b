"""Test support: builders of realistic test data, fault injection."""
