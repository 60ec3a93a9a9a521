"""Discord embeds: answers, reports and stats (render), query-log views (logrender)."""
