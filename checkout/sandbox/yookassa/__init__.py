"""YooKassa, emulated."""
