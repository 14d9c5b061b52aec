from opc_shared.migrations import run_env
from subsidy.adapters.tables import metadata
from subsidy.settings import SubsidySettings

run_env(metadata, SubsidySettings)
