"""The collaboration pulse: a monthly question to every member, reported to leaders anonymously."""
