-- The count rows gain the slot column of the PostgreSQL migration (each PostgreSQL connection adds
-- to rows of its own there). SQLite has one writer at a time: every count stays in slot 0, and the
-- application numbers keep their counter rows in application_number_sequences.
DROP TRIGGER application_counts_on_update;
DROP TRIGGER application_counts_on_delete;
DROP TRIGGER application_counts_on_insert;

CREATE TABLE application_counts_with_slots (
    department_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    slot SMALLINT NOT NULL DEFAULT 0,
    count BIGINT NOT NULL,
    PRIMARY KEY (department_code, kind, status, slot)
);
INSERT INTO application_counts_with_slots (department_code, kind, status, slot, count)
SELECT department_code, kind, status, 0, count FROM application_counts;
DROP TABLE application_counts;
ALTER TABLE application_counts_with_slots RENAME TO application_counts;

CREATE TRIGGER application_counts_on_insert AFTER INSERT ON applications
WHEN NEW.submitted_at IS NOT NULL
BEGIN
    INSERT INTO application_counts (department_code, kind, status, slot, count)
    VALUES (COALESCE(NEW.department_code, ''), NEW.kind, NEW.status, 0, 1)
    ON CONFLICT (department_code, kind, status, slot) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER application_counts_on_delete AFTER DELETE ON applications
WHEN OLD.submitted_at IS NOT NULL
BEGIN
    UPDATE application_counts SET count = count - 1
    WHERE department_code = COALESCE(OLD.department_code, '') AND kind = OLD.kind
      AND status = OLD.status AND slot = 0;
END;

CREATE TRIGGER application_counts_on_update
AFTER UPDATE OF status, department_code, kind, submitted_at ON applications
WHEN NOT (OLD.status IS NEW.status AND OLD.department_code IS NEW.department_code
          AND OLD.kind IS NEW.kind AND (OLD.submitted_at IS NULL) = (NEW.submitted_at IS NULL))
BEGIN
    UPDATE application_counts SET count = count - 1
    WHERE OLD.submitted_at IS NOT NULL
      AND department_code = COALESCE(OLD.department_code, '') AND kind = OLD.kind
      AND status = OLD.status AND slot = 0;
    INSERT INTO application_counts (department_code, kind, status, slot, count)
    SELECT COALESCE(NEW.department_code, ''), NEW.kind, NEW.status, 0, 1
    WHERE NEW.submitted_at IS NOT NULL
    ON CONFLICT (department_code, kind, status, slot) DO UPDATE SET count = count + 1;
END;
