-- Submitting no longer locks a row that every other submission locks too (docs/BENCHMARKS.md).

-- 1. Application numbers come from a PostgreSQL sequence per prefix and year, made on demand,
-- instead of a row of application_number_sequences that each submission updated and so held
-- locked until its commit. nextval is not rolled back: a creation that fails after taking its
-- number leaves a gap. Numbers stay unique across instances; they are not gapless
-- (docs/DEPLOYMENT.md, "Application numbers").
CREATE FUNCTION next_application_number(number_prefix TEXT, number_year INTEGER)
RETURNS BIGINT AS $$
DECLARE
    sequence_name TEXT := format('application_number_%s_%s', lower(number_prefix), number_year);
    given BIGINT;
    highest BIGINT;
BEGIN
    -- nextval of NULL is NULL: no error (which would abort the caller's transaction) when the
    -- year's sequence does not exist yet.
    given := nextval(to_regclass(sequence_name));
    IF given IS NOT NULL THEN
        RETURN given;
    END IF;
    -- The first number of a prefix and year: one creator at a time, the others wait here. A
    -- waiter's catalog cache may not show the sequence the first one made and committed (an
    -- advisory lock does not refresh it), so it does not ask: CREATE ... IF NOT EXISTS looks
    -- afresh, and skips.
    PERFORM pg_advisory_xact_lock(hashtext(sequence_name));
    -- Continue after numbers that came another way (a data import, the benchmark's data set).
    SELECT COALESCE(max(split_part(number, '-', 3)::BIGINT), 0) INTO highest
    FROM applications
    WHERE number LIKE number_prefix || '-' || lpad(number_year::TEXT, 4, '0') || '-%';
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I START WITH %s', sequence_name, highest + 1);
    RETURN nextval(sequence_name::regclass);
END;
$$ LANGUAGE plpgsql;

DO $$
DECLARE
    counter RECORD;
BEGIN
    FOR counter IN SELECT prefix, year, last_value FROM application_number_sequences LOOP
        EXECUTE format('CREATE SEQUENCE %I START WITH %s',
            format('application_number_%s_%s', lower(counter.prefix), counter.year),
            counter.last_value + 1);
    END LOOP;
END
$$;

DROP TABLE application_number_sequences;

-- 2. The inbox's counts: each database connection adds to rows of its own (slot = its backend's
-- process id modulo 16), so two submissions to one department no longer wait for each other's
-- commit on one count row, within an instance or across instances. Readers sum the slots.
ALTER TABLE application_counts ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE application_counts DROP CONSTRAINT application_counts_pkey;
ALTER TABLE application_counts ADD PRIMARY KEY (department_code, kind, status, slot);

CREATE OR REPLACE FUNCTION application_counts_follow() RETURNS trigger AS $$
DECLARE
    own_slot SMALLINT := (pg_backend_pid() % 16)::SMALLINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO application_counts (department_code, kind, status, slot, count)
        SELECT COALESCE(department_code, ''), kind, status, own_slot, count(*)
        FROM new_rows WHERE submitted_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (department_code, kind, status, slot) DO UPDATE
        SET count = application_counts.count + EXCLUDED.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO application_counts (department_code, kind, status, slot, count)
        SELECT COALESCE(department_code, ''), kind, status, own_slot, -count(*)
        FROM old_rows WHERE submitted_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (department_code, kind, status, slot) DO UPDATE
        SET count = application_counts.count + EXCLUDED.count;
    ELSE
        INSERT INTO application_counts (department_code, kind, status, slot, count)
        SELECT department_code, kind, status, own_slot, sum(change)
        FROM (
            SELECT COALESCE(department_code, '') AS department_code, kind, status, -1 AS change
            FROM old_rows WHERE submitted_at IS NOT NULL
            UNION ALL
            SELECT COALESCE(department_code, ''), kind, status, 1
            FROM new_rows WHERE submitted_at IS NOT NULL
        ) AS changes
        GROUP BY 1, 2, 3 HAVING sum(change) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (department_code, kind, status, slot) DO UPDATE
        SET count = application_counts.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
