-- Every call an integrator (a service account: the e-gov portal, another agency) makes on behalf
-- of an applicant, with both identities, recorded before the call is carried out. Never changed.
CREATE TABLE delegated_calls (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    client_id TEXT NOT NULL,
    applicant_pin TEXT NOT NULL,
    applicant_tin TEXT,
    login_method TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL
);
CREATE INDEX delegated_calls_by_client ON delegated_calls (client_id, at);
CREATE INDEX delegated_calls_by_applicant ON delegated_calls (applicant_pin, at);

CREATE FUNCTION delegated_calls_are_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the log of delegated calls is never changed or removed';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER delegated_calls_append_only
    BEFORE UPDATE OR DELETE ON delegated_calls
    FOR EACH ROW EXECUTE FUNCTION delegated_calls_are_append_only();
