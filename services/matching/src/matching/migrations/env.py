from matching.adapters.tables import metadata
from matching.settings import MatchingSettings
from opc_shared.migrations import run_env

run_env(metadata, MatchingSettings)
