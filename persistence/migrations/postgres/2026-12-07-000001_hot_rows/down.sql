CREATE OR REPLACE FUNCTION application_counts_follow() RETURNS trigger AS $$
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

-- The slots folded back into one row per department, kind and status.
CREATE TABLE application_counts_folded AS
SELECT department_code, kind, status, sum(count)::BIGINT AS count
FROM application_counts GROUP BY 1, 2, 3;
DELETE FROM application_counts;
ALTER TABLE application_counts DROP CONSTRAINT application_counts_pkey;
ALTER TABLE application_counts DROP COLUMN slot;
INSERT INTO application_counts SELECT * FROM application_counts_folded;
DROP TABLE application_counts_folded;
ALTER TABLE application_counts ADD PRIMARY KEY (department_code, kind, status);

CREATE TABLE application_number_sequences (
    prefix TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

DO $$
DECLARE
    made RECORD;
BEGIN
    FOR made IN
        SELECT sequencename, COALESCE(last_value, start_value - 1) AS last_value
        FROM pg_sequences
        WHERE schemaname = current_schema() AND sequencename ~ '^application_number_[a-z]+_[0-9]+$'
    LOOP
        INSERT INTO application_number_sequences (prefix, year, last_value)
        VALUES (upper(split_part(made.sequencename, '_', 3)),
                split_part(made.sequencename, '_', 4)::INTEGER, made.last_value);
        EXECUTE format('DROP SEQUENCE %I', made.sequencename);
    END LOOP;
END
$$;

DROP FUNCTION next_application_number(TEXT, INTEGER);
