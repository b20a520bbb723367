"""The pure billing core: standard library only (a test enforces it).

Types, billing periods, proration, quantities, descriptions and the planner.
Nothing here touches the network, the database, the clock or Qt: every input
is a value and every output is a value, so the UI's live preview, the dry run
and the sync all call the same functions.
"""
