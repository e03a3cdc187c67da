-- How many submitted applications each department has of each kind in each status, kept by
-- triggers in the same transaction as the change: the inbox's total and its counts per status
-- read a few rows here instead of counting the department's applications, which grow without
-- end (docs/BENCHMARKS.md). Department '' stands for an application not routed to one.
CREATE TABLE application_counts (
    department_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (department_code, kind, status)
);

-- Statement triggers with transition tables: a statement that changes many applications (a
-- bulk load) changes each count once. Row triggers would update one count row once per
-- application, and PostgreSQL's row versions made inside one transaction make that quadratic.
-- The changed counts are written in key order, so that two transactions moving applications in
-- opposite directions wait for each other instead of deadlocking.
CREATE FUNCTION application_counts_follow() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO application_counts (department_code, kind, status, count)
        SELECT COALESCE(department_code, ''), kind, status, count(*)
        FROM new_rows WHERE submitted_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (department_code, kind, status) DO UPDATE
        SET count = application_counts.count + EXCLUDED.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO application_counts (department_code, kind, status, count)
        SELECT COALESCE(department_code, ''), kind, status, -count(*)
        FROM old_rows WHERE submitted_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (department_code, kind, status) DO UPDATE
        SET count = application_counts.count + EXCLUDED.count;
    ELSE
        INSERT INTO application_counts (department_code, kind, status, count)
        SELECT department_code, kind, status, sum(change)
        FROM (
            SELECT COALESCE(department_code, '') AS department_code, kind, status, -1 AS change
            FROM old_rows WHERE submitted_at IS NOT NULL
            UNION ALL
            SELECT COALESCE(department_code, ''), kind, status, 1
            FROM new_rows WHERE submitted_at IS NOT NULL
        ) AS changes
        GROUP BY 1, 2, 3 HAVING sum(change) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (department_code, kind, status) DO UPDATE
        SET count = application_counts.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER application_counts_on_insert
    AFTER INSERT ON applications REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_counts_follow();
CREATE TRIGGER application_counts_on_update
    AFTER UPDATE ON applications REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_counts_follow();
CREATE TRIGGER application_counts_on_delete
    AFTER DELETE ON applications REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_counts_follow();

INSERT INTO application_counts (department_code, kind, status, count)
SELECT COALESCE(department_code, ''), kind, status, count(*)
FROM applications WHERE submitted_at IS NOT NULL
GROUP BY 1, 2, 3;
