from opc_shared.migrations import run_env
from matching.adapters.tables import metadata
from matching.settings import MatchingSettings

run_env(metadata, MatchingSettings)
