"""Registry service: the "3-day licence" agency workflow and the firm register."""
