"""newsbot on Discord: the client, its cogs and how answers are rendered."""
