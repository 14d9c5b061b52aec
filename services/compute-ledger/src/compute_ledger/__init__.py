"""Compute ledger service: vendors, usage, price tables, invoices, pools, quotas and periods for compute and tokens."""
