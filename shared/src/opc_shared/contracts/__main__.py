from opc_shared.contracts import export_cli

export_cli()
