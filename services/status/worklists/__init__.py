"""The officers' worklists (stale, overdue, backlog): the queries and their HTTP routes."""
