from opc_shared.migrations import run_env
from compute_ledger.adapters.tables import metadata
from compute_ledger.settings import ComputeLedgerSettings

run_env(metadata, ComputeLedgerSettings)
