from compute_ledger.adapters.tables import metadata
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.migrations import run_env

run_env(metadata, ComputeLedgerSettings)
