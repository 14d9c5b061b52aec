"""Matching service: demands, supplier profiles, matches, teams and dispatch offers."""
