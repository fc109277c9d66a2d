"""Domain facts shared by streams/ and connectors/; imports nothing of theirs."""
