"""Subsidy service: subsidy programmes, policy versions, entitlements, claims, budgets and payouts."""
