-- Who read whose personal data from which registry, why and when. Never changed or removed.
CREATE TABLE personal_data_reads (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    -- applicant, operator, supervisor, admin, integrator, or system.
    reader_kind TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    -- An integrator's calls are on behalf of an applicant: both are kept.
    on_behalf_of TEXT,
    -- The PIN, TIN, subscriber code or property the data is about.
    subject TEXT NOT NULL,
    registry TEXT NOT NULL,
    -- What was read (main-information, subscriber-accounts, debt, …) and for which operation.
    data TEXT NOT NULL,
    purpose TEXT NOT NULL
);
CREATE INDEX personal_data_reads_by_subject ON personal_data_reads (subject, at);
CREATE INDEX personal_data_reads_by_reader ON personal_data_reads (reader_id, at);
CREATE INDEX personal_data_reads_by_time ON personal_data_reads (at, id);

CREATE FUNCTION personal_data_reads_are_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the personal data access log is never changed or removed';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER personal_data_reads_append_only
    BEFORE UPDATE OR DELETE ON personal_data_reads
    FOR EACH ROW EXECUTE FUNCTION personal_data_reads_are_append_only();
