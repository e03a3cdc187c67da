-- How many submitted applications each department has of each kind in each status, kept by
-- triggers in the same transaction as the change (see the PostgreSQL migration). SQLite has one
-- writer at a time, so the order of the two rows an update changes does not matter here.
CREATE TABLE application_counts (
    department_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (department_code, kind, status)
);

CREATE TRIGGER application_counts_on_insert AFTER INSERT ON applications
WHEN NEW.submitted_at IS NOT NULL
BEGIN
    INSERT INTO application_counts (department_code, kind, status, count)
    VALUES (COALESCE(NEW.department_code, ''), NEW.kind, NEW.status, 1)
    ON CONFLICT (department_code, kind, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER application_counts_on_delete AFTER DELETE ON applications
WHEN OLD.submitted_at IS NOT NULL
BEGIN
    UPDATE application_counts SET count = count - 1
    WHERE department_code = COALESCE(OLD.department_code, '') AND kind = OLD.kind
      AND status = OLD.status;
END;

CREATE TRIGGER application_counts_on_update
AFTER UPDATE OF status, department_code, kind, submitted_at ON applications
WHEN NOT (OLD.status IS NEW.status AND OLD.department_code IS NEW.department_code
          AND OLD.kind IS NEW.kind AND (OLD.submitted_at IS NULL) = (NEW.submitted_at IS NULL))
BEGIN
    UPDATE application_counts SET count = count - 1
    WHERE OLD.submitted_at IS NOT NULL
      AND department_code = COALESCE(OLD.department_code, '') AND kind = OLD.kind
      AND status = OLD.status;
    INSERT INTO application_counts (department_code, kind, status, count)
    SELECT COALESCE(NEW.department_code, ''), NEW.kind, NEW.status, 1
    WHERE NEW.submitted_at IS NOT NULL
    ON CONFLICT (department_code, kind, status) DO UPDATE SET count = count + 1;
END;

INSERT INTO application_counts (department_code, kind, status, count)
SELECT COALESCE(department_code, ''), kind, status, count(*)
FROM applications WHERE submitted_at IS NOT NULL
GROUP BY 1, 2, 3;
