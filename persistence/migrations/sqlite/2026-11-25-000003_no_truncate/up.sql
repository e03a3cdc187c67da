-- SQLite has no TRUNCATE (a DELETE without WHERE is refused by the row triggers).
SELECT 1;
